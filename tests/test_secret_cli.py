"""The endpoint credential: create with a credential, secret put/status/delete, ACLs, round trips."""

from __future__ import annotations

import base64
import json

import pytest
from emulator_client import RawClient
from helpers import create_partner

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN

BASIC = "Basic " + base64.b64encode(b"u:p").decode()
SECRETS = "/api/2.0/secrets"


def _secret_value(emulator, key, token=DEFAULT_ADMIN_TOKEN):
    reply = RawClient(emulator.port, token).get(f"{SECRETS}/get", scope="partner-connect", key=key)
    return reply.status, (base64.b64decode(reply.json()["value"]).decode() if reply.status == 200 else reply.json())


def test_create_with_basic_auth_non_admin(workspace, run, partner_file):
    path = partner_file(supported_features=["NON_ADMIN"], auth_options=["AUTH_PAT"])
    workspace.emulator.clear_log()
    created = create_partner(run, path, "--basic-user", "u", "--basic-password-stdin", input="p\n")
    partner_id = created["id"]
    # The round trips: create, scope create, put, and users READ (not MANAGE) by ACL; no host-metadata
    # probe, which a personal access token does not need.
    assert [p for _, p, _ in workspace.requests()] == [
        "/api/2.0/partnerhub/self-test-partners/create",
        f"{SECRETS}/scopes/create",
        f"{SECRETS}/put",
        f"{SECRETS}/acls/put",
    ]
    assert created["secret"] == {
        "scope": "partner-connect",
        "key": partner_id,
        "scope_created": True,
        "users_read": True,
        "users_permission": "READ",
        "warnings": [],
    }
    assert _secret_value(workspace.emulator, partner_id) == (200, BASIC)
    # A non-admin user can read the scope: the ACL Partner Connect relies on.
    status, value = _secret_value(workspace.emulator, partner_id, DEFAULT_USER_TOKEN)
    assert (status, value) == (200, BASIC)

    status_result = run("secret", "status", "-f", str(path), "-p", "emu", "-o", "json")
    assert status_result.exit_code == 0, status_result.stderr
    checks = json.loads(status_result.stdout)
    assert [c["ok"] for c in checks] == [True, True, True]
    assert {c["check"] for c in checks} == {"scope exists", "secret present", "users can READ"}

    deleted = run("delete", "-p", "emu", "-y", "-o", "json")
    assert json.loads(deleted.stdout) == {"id": partner_id, "deleted": True, "secret_deleted": True}
    assert _secret_value(workspace.emulator, partner_id)[0] == 404
    assert json.loads(run("get", "-p", "emu", "-o", "json").stdout) == {"partners": []}


def test_non_admin_user_cannot_read_until_acl(workspace, run, partner_file):
    """An admin-made scope hides a missing ACL from admins; secret put --non-admin repairs it."""
    partner_id = create_partner(run, partner_file(), "--auth-header-stdin", input="Bearer abc\n")["id"]
    assert _secret_value(workspace.emulator, partner_id)[1] == "Bearer abc"  # one trailing newline dropped
    assert _secret_value(workspace.emulator, partner_id, DEFAULT_USER_TOKEN)[0] == 403

    red = run("secret", "status", "--non-admin", "-p", "emu")
    assert red.exit_code == 1
    assert red.stderr.startswith("Error: 1 of 3 checks failed: users can READ")
    assert "--non-admin" in red.stderr

    workspace.emulator.clear_log()
    fixed = run(
        "secret", "put", "--id", partner_id, "--non-admin", "--auth-header-stdin", "-p", "emu", input="Bearer abc"
    )
    assert fixed.exit_code == 0, fixed.stderr
    paths = [p for _, p, _ in workspace.requests(SECRETS)]
    assert paths == [f"{SECRETS}/scopes/create", f"{SECRETS}/put", f"{SECRETS}/acls/get", f"{SECRETS}/acls/put"]
    assert _secret_value(workspace.emulator, partner_id, DEFAULT_USER_TOKEN) == (200, "Bearer abc")
    assert run("secret", "status", "--non-admin", "-p", "emu").exit_code == 0


def test_no_auth_header_stores_empty_value(workspace, run, partner_file):
    partner_id = create_partner(run, partner_file(), "--no-auth-header")["id"]
    assert _secret_value(workspace.emulator, partner_id) == (200, "")


def test_create_off_terminal_without_credential_warns_with_next_step(workspace, run, partner_file):
    result = run("create", "-f", str(partner_file()), "-p", "emu")
    assert result.exit_code == 0
    assert "no endpoint credential was stored" in result.stderr
    assert "databricks-stp secret put --id" in result.stderr


def test_secret_put_uses_active_partner_and_file(workspace, run, partner_file):
    path = partner_file(supported_features=["NON_ADMIN"])
    partner_id = create_partner(run, path, "--no-secret")["id"]
    result = run(
        "secret",
        "put",
        "-f",
        str(path),
        "--basic-user",
        "u",
        "--basic-password-stdin",
        "-p",
        "emu",
        "-o",
        "json",
        input="p",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["users_read"] is True
    assert _secret_value(workspace.emulator, partner_id, DEFAULT_USER_TOKEN) == (200, BASIC)


def test_secret_put_is_idempotent(workspace, run, partner_file):
    partner_id = create_partner(run, partner_file(), "--no-auth-header")["id"]
    for value in ("Bearer one", "Bearer two"):
        result = run("secret", "put", "--id", partner_id, "--auth-header-stdin", "-p", "emu", input=value)
        assert result.exit_code == 0, result.stderr
    assert _secret_value(workspace.emulator, partner_id)[1] == "Bearer two"


def test_secret_put_without_input_off_terminal(workspace, run):
    result = run("secret", "put", "--id", "A" * 32, "-p", "emu")
    assert result.exit_code == 2
    assert "no credential given" in result.stderr
    assert workspace.requests() == []


@pytest.mark.parametrize(
    "args",
    [
        ["--basic-user", "u", "--no-auth-header"],
        ["--basic-password-stdin"],
        ["--auth-header-stdin", "--no-auth-header"],
        ["--basic-user", "a:b", "--basic-password-stdin"],
    ],
)
def test_conflicting_credential_options(workspace, run, partner_file, args):
    result = run("create", "-f", str(partner_file()), "-p", "emu", *args, input="x")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert workspace.requests() == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [("Bearer a\tb\n\n", "a control character (U+0009 at position 9)"), ("Bearer €uro", "U+20AC at position 8")],
)
@pytest.mark.parametrize("command", [["create", "-f", "{config}"], ["secret", "put", "--id", "ABC", "--force"]])
def test_a_credential_that_cannot_travel_in_a_header_is_refused_before_anything_is_sent(
    workspace, run, partner_file, value, shown, command
):
    """Reported: `Bearer €uro` was stored, then failed every connect-test case (issue 22.5)."""
    args = [arg.format(config=partner_file()) for arg in command]
    result = run(*args, "-p", "emu", "--auth-header-stdin", input=value)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("Error: the Authorization header from stdin contains ")
    assert shown in result.stderr and "nothing was sent" in result.stderr
    assert "€" not in result.stderr  # part of the secret: never shown
    assert workspace.requests() == []


def test_a_non_ascii_basic_password_is_sent_encoded(workspace, run, partner_file):
    result = run(
        "create", "-f", str(partner_file()), "-p", "emu", "--basic-user", "svc", "--basic-password-stdin",
        input="pässwörd-€\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr


def test_secret_status_when_missing(workspace, run, partner_file):
    create_partner(run, partner_file(), "--no-secret")
    result = run("secret", "status", "-p", "emu", "-o", "json")
    assert result.exit_code == 1
    checks = {c["check"]: c["ok"] for c in json.loads(result.stdout)}
    assert checks["scope exists"] is False and checks["secret present"] is False
    assert result.stderr.startswith("Error: ")


def test_secret_delete(workspace, run, partner_file):
    partner_id = create_partner(run, partner_file(), "--no-auth-header")["id"]
    result = run("secret", "delete", "-p", "emu", "-y", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"scope": "partner-connect", "key": partner_id, "deleted": True}
    again = run("secret", "delete", "-p", "emu", "-y")
    assert again.exit_code == 1  # nothing to delete: say so


def test_delete_keep_secret(workspace, run, partner_file):
    partner_id = create_partner(run, partner_file(), "--no-auth-header")["id"]
    result = run("delete", "--keep-secret", "-p", "emu", "-y", "-o", "json")
    assert json.loads(result.stdout) == {"id": partner_id, "deleted": True, "secret_deleted": False}
    assert _secret_value(workspace.emulator, partner_id)[0] == 200


def test_delete_round_trips(workspace, run, partner_file):
    partner_id = create_partner(run, partner_file(), "--no-auth-header")["id"]
    workspace.emulator.clear_log()
    assert run("delete", "--id", partner_id, "-p", "emu", "-y").exit_code == 0
    assert len(workspace.requests()) == 2  # delete partner, delete secret (a PAT needs no metadata probe)


def test_secret_value_never_printed(workspace, run, partner_file):
    value = "Bearer super-secret-value-123"
    result = run("create", "-f", str(partner_file()), "-p", "emu", "--auth-header-stdin", "--debug", input=value)
    assert result.exit_code == 0, result.stderr
    assert "super-secret-value-123" not in result.stdout + result.stderr
    status = run("secret", "status", "-p", "emu", "--debug")
    assert "super-secret-value-123" not in status.stdout + status.stderr
