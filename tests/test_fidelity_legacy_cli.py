"""The legacy `databricks-cli` 0.18 package, a client nobody here wrote, against the emulator.

That client drops the port from the host, so it is routed through the
emulator as an HTTP proxy: it then sends absolute-form request targets
(``GET http://127.0.0.1/api/2.0/...``), which the emulator must accept.
Every command is checked on the emulator's side too, over raw HTTP.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from emulator_client import SECRETS, RawClient

from stp_ext.emulator import ADMIN, DEFAULT_ADMIN_TOKEN, Emulator

LEGACY = Path(sys.executable).parent / ("databricks.exe" if sys.platform == "win32" else "databricks")
if importlib.util.find_spec("databricks_cli") is None or not LEGACY.exists():
    pytest.skip(
        f"the legacy databricks-cli package (console script {LEGACY}) is not installed", allow_module_level=True
    )


@pytest.fixture
def legacy(emulator: Emulator, tmp_path: Path) -> Any:
    """Run `databricks secrets ...` of the legacy CLI against the emulator."""
    home = tmp_path / "home"  # no ~/.databrickscfg to read
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_") and "PROXY" not in k.upper()}
    env.update(
        HOME=str(home),
        DATABRICKS_HOST="http://127.0.0.1",
        DATABRICKS_TOKEN=DEFAULT_ADMIN_TOKEN,
        HTTP_PROXY=emulator.url,
        http_proxy=emulator.url,
        NO_PROXY="",
        no_proxy="",
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LEGACY), "secrets", *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    return run


@pytest.fixture
def admin(emulator: Emulator) -> RawClient:
    return RawClient(emulator.port)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done.stdout


def test_scope_lifecycle(legacy: Any, admin: RawClient, emulator: Emulator) -> None:
    ok(legacy("create-scope", "--scope", "partner-connect", "--initial-manage-principal", "users"))
    assert admin.scope_names() == ["partner-connect"]
    assert admin.acls("partner-connect") == {"users": "MANAGE"}
    # The request went through the emulator as a proxy, to the path the client meant.
    assert (emulator.request_log[0].path, emulator.request_log[0].status) == (f"{SECRETS}/scopes/create", 200)

    listed = json.loads(ok(legacy("list-scopes", "--output", "JSON")))
    assert listed == {"scopes": [{"name": "partner-connect", "backend_type": "DATABRICKS"}]}
    table = ok(legacy("list-scopes"))
    assert "partner-connect" in table and "DATABRICKS" in table

    ok(legacy("delete-scope", "--scope", "partner-connect"))
    assert admin.scope_names() == []


def test_secret_put_list_delete(legacy: Any, admin: RawClient) -> None:
    admin.create_scope("s")
    ok(legacy("put", "--scope", "s", "--key", "k", "--string-value", "Basic dXNlcjpwYXNz"))
    assert admin.secret_value("s", "k") == b"Basic dXNlcjpwYXNz"

    listed = json.loads(ok(legacy("list", "--scope", "s", "--output", "JSON")))
    assert [item["key"] for item in listed["secrets"]] == ["k"]
    assert isinstance(listed["secrets"][0]["last_updated_timestamp"], int)

    ok(legacy("delete", "--scope", "s", "--key", "k"))
    assert admin.secret_keys("s") == []


def test_acl_put_list_get_delete(legacy: Any, admin: RawClient) -> None:
    admin.create_scope("s")
    ok(legacy("put-acl", "--scope", "s", "--principal", "users", "--permission", "READ"))
    assert admin.acls("s") == {ADMIN.user_name: "MANAGE", "users": "READ"}

    listed = json.loads(ok(legacy("list-acls", "--scope", "s", "--output", "JSON")))
    assert {(i["principal"], i["permission"]) for i in listed["items"]} == {
        (ADMIN.user_name, "MANAGE"),
        ("users", "READ"),
    }
    got = json.loads(ok(legacy("get-acl", "--scope", "s", "--principal", "users", "--output", "JSON")))
    assert got == {"principal": "users", "permission": "READ"}

    ok(legacy("delete-acl", "--scope", "s", "--principal", "users"))
    assert admin.acls("s") == {ADMIN.user_name: "MANAGE"}


def test_creating_an_existing_scope_fails(legacy: Any, admin: RawClient) -> None:
    admin.create_scope("s")
    admin.put_secret("s", "k", "v")
    done = legacy("create-scope", "--scope", "s")
    assert done.returncode != 0
    assert "RESOURCE_ALREADY_EXISTS" in done.stdout + done.stderr
    assert admin.secret_keys("s") == ["k"]
