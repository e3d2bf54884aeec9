"""stp_ext.workspace.sdk_seam: one contract test per private name it reaches, and the fallbacks.

The contracts run against the installed databricks-sdk: a release that moves a name fails here,
by name, before a user sees the (slower, but working) public behaviour the fallback tests pin.
"""

from __future__ import annotations

import inspect
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
    "databricks.sdk.config.get_endpoints_from_url": lambda api: (
        "get_endpoints_from_url(" in inspect.getsource(_module("databricks.sdk.config").Config)
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


def test_without_the_request_path_a_command_still_works_end_to_end(env_auth: Any, run: Any, monkeypatch) -> None:
    """The SDK's public ApiClient.do (with its own retries) carries the command instead."""
    monkeypatch.setattr(sdk_seam, "request_path", lambda api_client: None)
    result = run("get", "-e", "-o", "json")
    assert result.exit_code == 0, result.stderr
