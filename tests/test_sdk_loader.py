"""The fast databricks-sdk import: only core is loaded, the full package still works, failures fall back."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from helpers import free_port


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# One fresh interpreter for the fast path's claims (each interpreter costs half a second of CPU).
# The order matters: Config.attributes() is asked first of our subclass, the deferred modules are
# read next, and the whole package is imported last.
FAST_PATH = """
import json, sys
from stp_ext.workspace.sdk_seam import load_core
core = load_core()
heavy = ("cryptography", "google.protobuf", "databricks.sdk.service.provisioning")
facts = {
    "config_module": core.Config.__module__,
    "api_client": core.ApiClient.__name__,
    "services": [m for m in sys.modules if m.startswith("databricks.sdk.service.")],
    "heavy_loaded": sorted(m for m in heavy if m in sys.modules),
}
from stp_ext.workspace.auth import _config_class
facts["subclass_first_knows_token"] = "token" in {a.name for a in _config_class(core.Config).attributes()}
# Still there for the auth types that use them, loaded on first use:
from google.auth import impersonated_credentials
from databricks.sdk import azure
facts["deferred_usable"] = [impersonated_credentials.Credentials.__name__, callable(azure.add_workspace_id_header)]
facts["deferred_loaded"] = ["cryptography" in sys.modules, "databricks.sdk.service.provisioning" in sys.modules]
# Last, as it loads everything: the whole package still imports over the fast path's modules.
from databricks.sdk import WorkspaceClient, AccountClient
import databricks.sdk
from databricks.sdk.service.workspace import SecretScope  # noqa: F401 - the import is the claim
facts["full_package"] = [WorkspaceClient.__name__, AccountClient.__name__]
facts["full_package_same"] = [databricks.sdk.WorkspaceClient is WorkspaceClient, databricks.sdk.core is core]
print(json.dumps(facts))
"""


@pytest.fixture(scope="module")
def fast_path() -> dict[str, Any]:
    return dict(json.loads(_python(FAST_PATH)))


def test_core_loads_without_the_service_modules(fast_path: dict[str, Any]) -> None:
    assert fast_path["config_module"] == "databricks.sdk.config"
    assert fast_path["api_client"] == "ApiClient"
    assert "databricks.sdk.service.jobs" not in fast_path["services"]
    assert len(fast_path["services"]) < 5  # core pulls in a couple of small modules; the package has over 50


def test_our_config_class_built_first_still_knows_every_setting(fast_path: dict[str, Any]) -> None:
    """Config.attributes() caches on the first class asked: asking our subclass first once lost them all."""
    assert fast_path["subclass_first_knows_token"] is True


def test_google_and_azure_auth_modules_load_only_when_used(fast_path: dict[str, Any]) -> None:
    """A PAT, a profile or OAuth M2M does not pay for cryptography, protobuf or the Azure service module."""
    assert fast_path["heavy_loaded"] == []
    assert fast_path["deferred_usable"] == ["Credentials", True]
    assert fast_path["deferred_loaded"] == [True, True]


def test_full_package_still_importable_after_the_fast_path(fast_path: dict[str, Any]) -> None:
    """In the fast path's interpreter (a fresh one costs half a second of CPU before the 2 s import)."""
    assert fast_path["full_package"] == ["WorkspaceClient", "AccountClient"]
    assert fast_path["full_package_same"] == [True, True]


def test_falls_back_to_the_normal_import_when_the_fast_path_fails_and_reuses_it():
    """One interpreter for both, as each pays for the whole package (3 s of CPU): after the fallback
    the SDK is imported the normal way, which is also what a caller that imported it first leaves."""
    out = _python(
        """
        import importlib.util, sys
        real = importlib.util.module_from_spec
        def broken(spec):
            raise RuntimeError("simulated")
        importlib.util.module_from_spec = broken
        from stp_ext.workspace.sdk_seam import load_core
        core = load_core()
        importlib.util.module_from_spec = real
        print(core.Config.__name__, "databricks.sdk.service.jobs" in sys.modules)
        import databricks.sdk
        print(load_core() is databricks.sdk.core is core)
        """
    )
    # The normal import ran the package __init__, which imports every service.
    assert out.splitlines() == ["Config True", "True"]


def test_reason_phrase_customizer_is_installed():
    """Pins the SDK internals that the error-message precedence relies on."""
    from stp_ext.workspace.auth import _bounded_host_metadata_probe, _config_class
    from stp_ext.workspace.client import Timeouts, Workspace, WorkspaceInfo
    from stp_ext.workspace.sdk_seam import load_core

    core = load_core()
    with _bounded_host_metadata_probe():  # nothing listens there; older SDKs would retry for 300 s
        cfg = _config_class(core.Config)(
            host="http://127.0.0.1:9", token="dapi-x", retry_timeout_seconds=1, http_timeout_seconds=1
        )
    api = core.ApiClient(cfg)
    Workspace(api, WorkspaceInfo("h", "pat", None, "test"), Timeouts(1, 1))
    customizers = api._api_client._error_parser._error_customizers
    assert type(customizers[-1]).__name__ == "ReasonPhrase"


def test_host_metadata_probe_is_one_bounded_attempt_during_config_construction():
    """Older SDKs (the ones for Python 3.9) probe with a 300 s budget; every SDK would back off and retry."""
    import sys
    import time

    from stp_ext.workspace.auth import _bounded_host_metadata_probe
    from stp_ext.workspace.sdk_seam import load_core

    load_core()
    config_module = sys.modules["databricks.sdk.config"]
    original = config_module.get_host_metadata
    closed = f"http://127.0.0.1:{free_port()}"
    with _bounded_host_metadata_probe() as probe:
        started = time.monotonic()
        with pytest.raises(ValueError, match="Failed to fetch host metadata"):
            config_module.get_host_metadata(closed)
        elapsed = time.monotonic() - started
    assert config_module.get_host_metadata is original
    assert probe.failure is not None  # kept, so the error can say the host was not reached
    assert elapsed < 0.5  # one attempt: no back-off sleep


def test_the_sdk_names_oauth_bounding_rebinds_exist_and_are_used():
    """Pins what stp_ext.workspace.oauth_token and the construction-time wrappers rely on (issue 22.1):
    M2M's token source calls ``retrieve_token`` by its module name, and Config calls
    ``get_endpoints_from_url`` by its name in config.py, with a ``client`` keyword."""
    import inspect
    import sys

    from stp_ext.workspace import oauth_token
    from stp_ext.workspace.auth import _bound_oauth_token_requests
    from stp_ext.workspace.sdk_seam import load_core

    load_core()
    oauth = sys.modules["databricks.sdk.oauth"]
    config = sys.modules["databricks.sdk.config"]
    assert "retrieve_token(" in inspect.getsource(oauth.ClientCredentials.refresh)
    assert "get_endpoints_from_url(" in inspect.getsource(config.Config)
    assert "client" in inspect.signature(oauth.get_endpoints_from_url).parameters
    saved = oauth.retrieve_token
    try:
        _bound_oauth_token_requests(1.0)
        assert oauth.retrieve_token is oauth_token.retrieve_token
    finally:
        vars(oauth)["retrieve_token"] = saved
