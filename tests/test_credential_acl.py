"""The endpoint credential's ACLs (issue 10.3, 10.4, 10.8), against the emulator over real HTTP.

`users` get READ and no more on scope partner-connect wherever the workspace has
fine-grained ACLs; `secret status` and `doctor` warn when they hold more, or when
an admin-only partner's credential is readable by them; `secret put --id` stores
only under the active partner's id unless --force.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_client import RawClient
from helpers import create_partner, write_profiles
from werkzeug.wrappers import Request, Response

from stp_ext.core.terminal import Terminal
from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN, Emulator
from stp_ext.servers.serving import LocalServer

SCOPE = "partner-connect"
SECRETS = "/api/2.0/secrets"


def test_non_admin_credential_is_read_only_for_users(workspace, run, partner_file):
    """Reported: the scope was created with `users` as MANAGE, so any user could overwrite the credential."""
    path = partner_file(supported_features=["NON_ADMIN"], auth_options=["AUTH_PAT"])
    partner_id = create_partner(run, path, "--auth-header-stdin", input="Bearer real")["id"]
    admin = RawClient(workspace.emulator.port)
    user = admin.as_token(DEFAULT_USER_TOKEN)
    assert admin.acls(SCOPE)["users"] == "READ"
    # A plain workspace user can read it (what Partner Connect needs for NON_ADMIN)...
    assert user.secret_value(SCOPE, partner_id) == b"Bearer real"
    # ...and can neither overwrite nor delete it.
    assert user.put_secret(SCOPE, partner_id, "Bearer evil").status == 403
    assert user.post(f"{SECRETS}/delete", {"scope": SCOPE, "key": partner_id}).status == 403
    assert user.put_acl(SCOPE, "users", "MANAGE").status == 403
    assert admin.secret_value(SCOPE, partner_id) == b"Bearer real"


def test_secret_put_lowers_users_manage_to_read(workspace, run, partner_file):
    """A scope made the old way (users MANAGE) is repaired by secret put --non-admin."""
    admin = RawClient(workspace.emulator.port)
    assert admin.create_scope(SCOPE, initial_manage_principal="users").status == 200
    partner_id = create_partner(run, partner_file(), "--no-secret")["id"]
    result = run("secret", "put", "--non-admin", "--no-auth-header", "-p", "emu", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["users_permission"] == "READ"
    assert admin.acls(SCOPE)["users"] == "READ"
    assert admin.secret_keys(SCOPE) == [partner_id]
    text = run("secret", "put", "--non-admin", "--no-auth-header", "-p", "emu")
    assert text.exit_code == 0 and "lowered" not in text.stdout  # idempotent: nothing to lower now


def test_status_and_doctor_warn_when_users_hold_manage(workspace, run, partner_file):
    admin = RawClient(workspace.emulator.port)
    admin.create_scope(SCOPE, initial_manage_principal="users")
    path = partner_file(supported_features=["NON_ADMIN"], auth_options=["AUTH_PAT"])
    partner_id = create_partner(run, path, "--no-secret")["id"]
    admin.put_secret(SCOPE, partner_id, "")

    status = run("secret", "status", "-f", str(path), "-p", "emu", "-o", "json")
    assert status.exit_code == 0, status.stderr  # users can READ: it works, but too widely
    row = next(c for c in json.loads(status.stdout) if c["check"] == "users can READ")
    assert row["ok"] is True
    assert "MANAGE" in row["warning"] and "overwrite" in row["warning"]
    assert "Warning:" in status.stderr and "MANAGE" in status.stderr

    doctor = run("doctor", "-f", str(path), "-p", "emu", "-o", "json")
    rows = {c["check"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert "MANAGE" in rows["users can READ (NON_ADMIN)"]["warning"]
    assert "Warning:" in doctor.stderr


def test_admin_only_partner_rows_say_what_is_checked(workspace, run, partner_file):
    """Reported: an admin-only partner's row read 'users can READ ✓ pass' with 'users has no permission'."""
    path = partner_file()  # admin-only
    create_partner(run, path, "--no-auth-header")
    clean = run("secret", "status", "-f", str(path), "-p", "emu", "-o", "json")
    assert clean.exit_code == 0, clean.stderr
    rows = {c["check"]: c for c in json.loads(clean.stdout)}
    assert "users can READ" not in rows
    assert rows["users cannot READ (admin-only)"]["ok"] is True
    assert "warning" not in rows["users cannot READ (admin-only)"]
    assert "Warning" not in clean.stderr

    RawClient(workspace.emulator.port).put_acl(SCOPE, "users", "READ")
    exposed = run("secret", "status", "-f", str(path), "-p", "emu")
    assert exposed.exit_code == 0
    assert "Warning:" in exposed.stderr and "admin-only" in exposed.stderr
    doctor = run("doctor", "-f", str(path), "-p", "emu", "-o", "json")
    warned = [c for c in json.loads(doctor.stdout)["checks"] if c.get("warning")]
    assert [c["check"] for c in warned] == ["users cannot READ (admin-only)"]


def test_admin_note_only_for_admins(workspace, run, partner_file):
    path = partner_file(supported_features=["NON_ADMIN"], auth_options=["AUTH_PAT"])
    partner_id = create_partner(run, path, "--no-auth-header")["id"]
    as_admin = run("secret", "status", "-f", str(path), "-p", "emu")
    assert "admins read every secret scope" in " ".join(as_admin.stdout.split())
    # A non-admin: the lookup of the active partner needs an admin, and the hint says --id works.
    refused = run("secret", "status", "-f", str(path), "-p", "emu-user")
    assert refused.exit_code == 1
    assert "Workspace admin is required" in refused.stderr
    assert "--id" in refused.stderr.splitlines()[1]
    as_user = run("secret", "status", "--id", partner_id, "-f", str(path), "-p", "emu-user")
    assert as_user.exit_code == 0, as_user.stderr
    flat = " ".join(as_user.stdout.split())
    assert "admins read every secret scope" not in flat
    assert "non-admin user can read" in flat


def test_secret_delete_missing_says_so(workspace, run, partner_file):
    partner_id = create_partner(run, partner_file(), "--no-secret")["id"]
    result = run("secret", "delete", "-p", "emu", "-y")
    assert result.exit_code == 1
    first, hint = result.stderr.splitlines()[:2]
    assert first.startswith(f"Error: there is no secret {SCOPE}/{partner_id} to delete")
    assert "secret status" in hint and "--if-exists" in hint
    quiet = run("secret", "delete", "-p", "emu", "-y", "--if-exists", "-o", "json")
    assert quiet.exit_code == 0, quiet.stderr
    assert json.loads(quiet.stdout) == {"scope": SCOPE, "key": partner_id, "deleted": False}


def test_delete_if_exists_is_idempotent(workspace, run, partner_file):
    partner_id = create_partner(run, partner_file(), "--no-auth-header")["id"]
    first = run("delete", "--if-exists", "-y", "-p", "emu", "-o", "json")
    assert json.loads(first.stdout) == {"id": partner_id, "deleted": True, "secret_deleted": True}
    for args in ([], ["--id", partner_id]):
        again = run("delete", "--if-exists", "-y", "-p", "emu", "-o", "json", *args)
        assert again.exit_code == 0, again.stderr
        assert json.loads(again.stdout)["deleted"] is False
    assert run("delete", "-y", "-p", "emu").exit_code == 1  # without the flag, nothing to delete is an error
    text = run("delete", "--if-exists", "-y", "-p", "emu")
    assert text.exit_code == 0 and "Nothing to delete" in text.stdout


def test_secret_put_id_must_be_the_active_partner(workspace, run, partner_file):
    """Reported: a typo in --id stored the credential under a key nothing reads, exit 0."""
    partner_id = create_partner(run, partner_file(), "--no-secret")["id"]
    typo = partner_id[:-1] + ("0" if partner_id[-1] != "0" else "1")
    workspace.emulator.clear_log()
    result = run("secret", "put", "--id", typo, "--auth-header-stdin", "-p", "emu", input="Bearer x")
    assert result.exit_code == 1
    assert f"{typo} is not the active self-testing partner ({partner_id}" in result.stderr
    assert "--force" in result.stderr
    assert not any(p.startswith(SECRETS) for _, p, _ in workspace.requests())  # nothing stored
    forced = run("secret", "put", "--id", typo, "--force", "--auth-header-stdin", "-p", "emu", input="Bearer x")
    assert forced.exit_code == 0, forced.stderr
    assert RawClient(workspace.emulator.port).secret_keys(SCOPE) == [typo]
    right = run("secret", "put", "--id", partner_id, "--auth-header-stdin", "-p", "emu", input="Bearer x")
    assert right.exit_code == 0, right.stderr


@pytest.fixture
def fake_tty(mocker: Any) -> None:
    """Stdin counts as a terminal: the real Terminal's click prompts then read the runner's input."""
    mocker.patch.object(Terminal, "stdin_is_tty", return_value=True)


def test_secret_put_checks_partner_before_prompting(workspace, run, fake_tty):
    result = run("secret", "put", "-p", "emu", input="Bearer typed\nBearer typed\n")
    assert result.exit_code == 1
    assert "no active self-testing partner" in result.stderr
    assert "Authorization header value" not in result.stderr  # never asked for a value it could not store


def test_secret_put_prompt_asks_twice(workspace, run, partner_file, fake_tty):
    partner_id = create_partner(run, partner_file(), "--no-secret")["id"]
    result = run("secret", "put", "-p", "emu", input="Bearer one\nBearer typo\nBearer two\nBearer two\n")
    assert result.exit_code == 0, result.stderr
    assert "Repeat for confirmation" in result.stderr
    assert "do not match" in result.stderr
    assert RawClient(workspace.emulator.port).secret_value(SCOPE, partner_id) == b"Bearer two"
    assert "Bearer" not in result.stdout + result.stderr.replace("Bearer two", "")  # never echoed


class StandardTier:
    """A workspace below Premium in front of the emulator: no fine-grained secret ACLs.

    Its answers are the real ones: scopes only with initial_manage_principal=users, ACL puts refused.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        data = Request(environ).get_data()
        environ["wsgi.input"] = io.BytesIO(data)  # the emulator reads the body again
        path = environ["PATH_INFO"]
        refused = None
        if path == f"{SECRETS}/scopes/create":
            body = json.loads(data or b"{}")
            if body.get("initial_manage_principal") != "users":
                refused = (
                    "Premium Tier is disabled in this workspace. Secret scopes can only be created with "
                    'initial_manage_principal "users".'
                )
        elif path == f"{SECRETS}/acls/put":
            refused = "Premium Tier is disabled in this workspace. ACLs cannot be set."
        if refused is None:
            return self.app(environ, start_response)
        response = Response(json.dumps({"error_code": "BAD_REQUEST", "message": refused}), 400)
        response.content_type = "application/json"
        return response(environ, start_response)


@pytest.fixture
def standard_tier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    emulator = Emulator(port=0)
    server = LocalServer(StandardTier(emulator.app)).start()
    config = write_profiles(tmp_path / "cfg", {"std": {"host": server.url, "token": DEFAULT_ADMIN_TOKEN}})
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    try:
        yield emulator
    finally:
        server.stop()
        emulator.store.close()


def test_standard_tier_falls_back_to_users_manage_and_says_so(standard_tier, run, partner_file):
    path = partner_file(supported_features=["NON_ADMIN"], auth_options=["AUTH_PAT"])
    result = run("create", "-f", str(path), "-p", "std", "--no-auth-header", "-o", "json")
    assert result.exit_code == 0, result.stderr
    secret = json.loads(result.stdout)["secret"]
    assert secret["users_permission"] == "MANAGE" and secret["users_read"] is True
    assert any("Premium" in w for w in secret["warnings"])
    assert "Warning:" in result.stderr and "no fine-grained secret ACLs" in result.stderr


def test_secret_put_as_a_non_admin_is_told_about_force(workspace, run, partner_file):
    partner_id = create_partner(run, partner_file(), "--no-secret")["id"]
    result = run("secret", "put", "--id", partner_id, "--no-auth-header", "-p", "emu-user")
    assert result.exit_code == 1
    error, hint = result.stderr.splitlines()[:2]
    assert "Workspace admin is required" in error
    assert f"If {partner_id} is the active partner's id, add --force" in hint
