"""The legacy `databricks-cli` 0.18 package, a client nobody here wrote, against the emulator.

That client drops the port from the host, so it is routed through the
emulator as an HTTP proxy: it then sends absolute-form request targets
(``GET http://127.0.0.1/api/2.0/...``), which the emulator must accept.
Every command is checked on the emulator's side too, over raw HTTP.

Its own click command runs in this process, configured by the environment as
in a shell: a subprocess would add half a second of start-up to every command.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from emulator_client import SECRETS, RawClient
from helpers import cli_runner

from stp_ext.emulator import ADMIN, DEFAULT_ADMIN_TOKEN, Emulator

if importlib.util.find_spec("databricks_cli") is None:
    pytest.skip("the legacy databricks-cli package is not installed", allow_module_level=True)


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def legacy(emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `databricks secrets ...` of the legacy CLI against the emulator."""
    for name in list(os.environ):
        if "PROXY" in name.upper():
            monkeypatch.delenv(name)
    # No config file to read (clean_env already removed every DATABRICKS_* variable).
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))
    monkeypatch.setenv("DATABRICKS_HOST", "http://127.0.0.1")
    monkeypatch.setenv("DATABRICKS_TOKEN", DEFAULT_ADMIN_TOKEN)
    monkeypatch.setenv("HTTP_PROXY", emulator.url)
    monkeypatch.setenv("http_proxy", emulator.url)

    from databricks_cli.cli import cli  # here, not at the top: a worker that runs none of these never loads it

    def run(*args: str) -> Done:
        result = cli_runner().invoke(cli, ["secrets", *args], catch_exceptions=False)
        return Done(result.exit_code, result.stdout, result.stderr)

    return run


def ok(done: Done) -> str:
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
