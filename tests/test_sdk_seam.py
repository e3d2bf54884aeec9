"""stp_ext.workspace.sdk_seam: one contract test per private name it reaches, and the fallbacks.

The contracts run against the installed databricks-sdk: a release that moves a name fails here,
by name, before a user sees the (slower, but working) public behaviour the fallback tests pin.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import requests

from stp_ext.workspace import sdk_seam


@pytest.fixture(scope="module")
def api_client() -> Any:
    """A real ApiClient of the installed SDK (a PAT: nothing is sent while it is built)."""
    from stp_ext.workspace.auth import _config_class

    core = sdk_seam.load_core()
    cfg = _config_class(core.Config)(host="http://127.0.0.1:9", token="dapi-x", retry_timeout_seconds=1)
    return core.ApiClient(cfg)


def _module(name: str) -> Any:
    sdk_seam.load_core()
    module = sdk_seam.loaded(name)
    assert module is not None, name
    return module


def _inner(api: Any) -> Any:
    return api._api_client


# name -> whether the installed SDK still has it, in the shape the seam relies on.
CONTRACTS: dict[str, Callable[[Any], bool]] = {
    "ApiClient._api_client": lambda api: _inner(api).__class__.__name__ == "_BaseClient",
    "_BaseClient._perform": lambda api: (
        {"method", "url", "query", "headers", "body"} <= set(inspect.signature(_inner(api)._perform).parameters)
    ),
    "_BaseClient._user_agent_base": lambda api: isinstance(_inner(api)._user_agent_base, str),
    "_BaseClient._session": lambda api: isinstance(_inner(api)._session, requests.Session),
    "_BaseClient._error_parser._error_customizers": lambda api: isinstance(
        _inner(api)._error_parser._error_customizers, list
    ),
    "_BaseClient._error_parser._error_parsers": lambda api: isinstance(_inner(api)._error_parser._error_parsers, list),
    "core._ErrorCustomizer": lambda api: callable(sdk_seam.load_core()._ErrorCustomizer.customize_error),
    "databricks.sdk._base_client._BaseClient": lambda api: (
        {"retry_timeout_seconds", "http_timeout_seconds", "clock"}
        <= set(inspect.signature(_module("databricks.sdk._base_client")._BaseClient).parameters)
    ),
    "Config._fix_host_if_needed": lambda api: callable(sdk_seam.load_core().Config._fix_host_if_needed),
    "Config._resolve_host_metadata": lambda api: callable(sdk_seam.load_core().Config._resolve_host_metadata),
    "Config._load_from_env": lambda api: callable(sdk_seam.load_core().Config._load_from_env),
    # Config calls these by their name in config.py's namespace, so rebinding them there is seen.
    "databricks.sdk.config.get_host_metadata": lambda api: (
        "client" in inspect.signature(_module("databricks.sdk.config").get_host_metadata).parameters
    ),
    # ... and no other OIDC discovery of a workspace or account: up to 0.100 it went through
    # get_workspace_endpoints on the SDK's 300 s budget, outside the bound (OAuth hung on a dead host).
    "databricks.sdk.config.get_endpoints_from_url": lambda api: (
        "get_endpoints_from_url(" in (source := inspect.getsource(_module("databricks.sdk.config").Config))
        and "get_workspace_endpoints(" not in source
        and "get_account_endpoints(" not in source
    ),
    "databricks.sdk.oauth.retrieve_token": lambda api: (
        "retrieve_token(" in inspect.getsource(_module("databricks.sdk.oauth").ClientCredentials.refresh)
    ),
    "databricks.sdk.oauth.Token": lambda api: sdk_seam.oauth_token_class().__name__ == "Token",
    "requests.Response._content": lambda api: "_content" in vars(requests.Response()),
}


def test_every_private_name_of_the_seam_has_a_contract() -> None:
    assert set(CONTRACTS) == set(sdk_seam.PRIVATE_NAMES)


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_the_installed_sdk_still_has(name: str, api_client: Any) -> None:
    assert CONTRACTS[name](api_client), f"databricks-sdk moved or changed {name}: see sdk_seam.PRIVATE_NAMES"


def test_the_accessors_find_every_name_in_this_release(api_client: Any) -> None:
    core = sdk_seam.load_core()
    assert sdk_seam.request_path(api_client) is not None
    assert sdk_seam.error_hooks(api_client, core) is not None
    assert sdk_seam.base_client_class() is not None
    assert all(sdk_seam.config_hooks_present(core.Config).values())


# -- A moved name: one debug line, the public behaviour, never a crash --------------------------------


def test_a_moved_name_gives_none_and_one_debug_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=sdk_seam.__name__)
    assert sdk_seam.request_path(object()) is None
    assert sdk_seam.error_hooks(object(), sdk_seam.load_core()) is None
    assert sdk_seam.rebind("databricks.sdk.oauth", "no_such_function", print) is False
    with sdk_seam.rebound("databricks.sdk.config", {"no_such_function": lambda original: original}) as done:
        assert done == {"no_such_function": False}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4
    assert all(line.startswith("databricks-sdk internals moved (") for line in lines)
    assert "using ApiClient.do with the SDK's retries" in lines[0]


def test_a_config_without_the_private_steps_builds_with_the_sdks_own(caplog: pytest.LogCaptureFixture) -> None:
    class Bare:
        """A Config of a release without the three steps."""

    caplog.set_level(logging.DEBUG, logger=sdk_seam.__name__)
    ours = sdk_seam.config_subclass(Bare, lambda c: None, lambda c: False, lambda c: False)
    assert isinstance(ours(), Bare) and ours.__name__ == "Bare"
    assert "Config._fix_host_if_needed, Config._resolve_host_metadata" in caplog.text


# The two with no fallback: Token is read from the module retrieve_token lives in, and _content is how
# requests itself caches a body (both pinned above).
WITH_FALLBACK = sorted(set(sdk_seam.PRIVATE_NAMES) - {"databricks.sdk.oauth.Token", "requests.Response._content"})


@pytest.mark.parametrize("moved", WITH_FALLBACK)
def test_a_command_works_on_the_sdks_public_behaviour_when_a_name_moves(
    moved: str, emulator: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release without ``moved``, simulated where the seam reads it: `get` still answers (OAuth M2M, so
    every hook is on the way: the probe, OIDC discovery, the token request, the request path, the errors)
    and --debug names the name and what is done instead, on one line."""
    from stp_ext.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    from stp_ext.workspace import auth

    real = sdk_seam._lookup
    monkeypatch.setattr(
        sdk_seam, "_lookup", lambda name, owner, attr: None if name == moved else real(name, owner, attr)
    )
    auth._config_class.cache_clear()  # built once per process: build it again in this "release"
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", DEFAULT_CLIENT_ID)
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    try:
        result = run("get", "-e", "-o", "json", "--debug")
    finally:
        auth._config_class.cache_clear()
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"partners": []}
    lines = [line for line in result.stderr.splitlines() if "databricks-sdk internals moved" in line]
    assert lines and all(f"moved ({moved} not found): " in line for line in lines), lines
