"""Multi-step commands that stop half-way: say what was done and what was not, and how to finish.

Each test fails one step with an injected 500, then runs the exact
``Finish with:`` command from stderr (same stdin credential) and checks the
workspace over raw HTTP: the job is complete, and running the command again
changes nothing.
"""

from __future__ import annotations

import base64
import json
import shlex
from typing import Any

import pytest
from emulator_client import RawClient
from helpers import error_lines

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN, Emulator

PARTNERS = "/api/2.0/partnerhub/self-test-partners"
SECRETS = "/api/2.0/secrets"
SCOPE = "partner-connect"
HEADER = "Bearer partner-token-42"
BASIC = "Basic " + base64.b64encode(b"svc team:pa ss").decode()


def call(emu: Emulator, method: str, path: str, body: Any = None, token: str = DEFAULT_ADMIN_TOKEN) -> tuple[int, Any]:
    reply = RawClient(emu.port, token).request(method, path, *([] if body is None else [body]))
    return reply.status, json.loads(reply.body or b"{}")


def partners(emu: Emulator) -> list[str]:
    return [p["id"] for p in call(emu, "GET", f"{PARTNERS}/get")[1].get("partners", [])]


def secret(emu: Emulator, key: str, token: str = DEFAULT_ADMIN_TOKEN) -> str | int:
    """The stored value, or the status when it cannot be read with ``token``."""
    status, body = call(emu, "GET", f"{SECRETS}/get?scope={SCOPE}&key={key}", token=token)
    return base64.b64decode(body["value"]).decode() if status == 200 else status


def users_permission(emu: Emulator) -> str | None:
    status, body = call(emu, "GET", f"{SECRETS}/acls/get?scope={SCOPE}&principal=users")
    return body["permission"] if status == 200 else None


def admin_scope(emu: Emulator) -> None:
    """A scope made by an admin, without an ACL for `users`: the ACL step must then run."""
    assert call(emu, "POST", f"{SECRETS}/scopes/create", {"scope": SCOPE})[0] == 200


def new_partner(emu: Emulator, config: Any) -> str:
    status, body = call(emu, "POST", f"{PARTNERS}/create", json.loads(config.read_text()))
    assert status == 200
    return body["id"]


def error_and_finish(result: Any) -> tuple[str, list[str]]:
    """The Error line, and the finishing command as argv (without the program name)."""
    lines = result.stderr.splitlines()
    errors = error_lines(result.stderr)
    finish = [line for line in lines if line.startswith("Finish with: ")]
    assert len(errors) == 1 and len(finish) == 1, result.stderr
    assert "Traceback" not in result.stderr
    argv = shlex.split(finish[0].removeprefix("Finish with: "))
    assert argv[0] == "databricks-stp"
    return errors[0], argv[1:]


def state(emu: Emulator, key: str) -> tuple[Any, ...]:
    return partners(emu), secret(emu, key), secret(emu, key, DEFAULT_USER_TOKEN), users_permission(emu)


# -- create with a credential ------------------------------------------------------------

# step -> (failing path, NON_ADMIN, pre-existing scope, what was done, what was not)
CREATE_STEPS = {
    "scope": (
        f"{SECRETS}/scopes/create",
        True,
        False,
        [],
        ["store the secret partner-connect/{id}", "grant 'users' READ on scope 'partner-connect'"],
    ),
    "put": (f"{SECRETS}/put", False, False, ["secret scope 'partner-connect' created"], ["store the secret"]),
    "acl": (
        f"{SECRETS}/acls/put",
        True,
        True,
        ["secret scope 'partner-connect' already existed", "secret partner-connect/{id} stored"],
        ["grant 'users' READ on scope 'partner-connect'"],
    ),
}
CREDENTIALS = {
    "scope": (["--auth-header-stdin"], HEADER + "\n", HEADER),
    "put": (["--basic-user", "svc team", "--basic-password-stdin"], "pa ss\n", BASIC),  # quoted in the command
    "acl": (["--auth-header-stdin"], HEADER, HEADER),
}


@pytest.mark.parametrize("step", CREATE_STEPS)
def test_create_stopped_at_a_secret_step_finishes_with_the_printed_command(
    step: str, workspace: Any, run: Any, partner_file: Any
) -> None:
    emu = workspace.emulator
    path, non_admin, pre_scope, done, not_done = CREATE_STEPS[step]
    flags, stdin, stored = CREDENTIALS[step]
    config = partner_file(supported_features=["NON_ADMIN"] if non_admin else [], auth_options=["AUTH_PAT"])
    if pre_scope:
        admin_scope(emu)
    emu.faults.arm(path_prefix=path, fail_next=1, status=500)

    result = run("create", "-f", str(config), *flags, "-p", "emu", "-o", "json", input=stdin)
    assert result.exit_code == 1
    partner_id = json.loads(result.stdout)["id"]  # scripts learn the id even when a later step failed
    error, finish = error_and_finish(result)
    assert error.startswith(f"Error: partner {partner_id} was created, but ")
    assert "Injected fault: HTTP 500" in error
    done_part, _, not_done_part = error.partition("Not done:")
    for item in [f"partner {partner_id} created", *done]:
        assert item.format(id=partner_id) in done_part
    for item in not_done:
        assert item.format(id=partner_id) in not_done_part
    assert finish == ["secret", "put", "--id", partner_id, *(["--non-admin"] if non_admin else []), *flags, "-p", "emu"]

    # Half-done, as the message says.
    assert partners(emu) == [partner_id]
    assert secret(emu, partner_id) == (stored if step == "acl" else 404)

    emu.faults.clear()
    finished = run(*finish, input=stdin)
    assert finished.exit_code == 0, finished.stderr
    complete = state(emu, partner_id)
    assert complete[:2] == ([partner_id], stored)
    if non_admin:  # what Partner Connect needs for NON_ADMIN: a plain user can read the credential
        assert complete[2] == stored
        assert complete[3] in ("READ", "MANAGE")

    again = run(*finish, input=stdin)
    assert again.exit_code == 0, again.stderr
    assert state(emu, partner_id) == complete


# -- delete with its secret ----------------------------------------------------------------


def test_delete_stopped_at_the_secret_finishes_with_the_printed_command(
    env_auth: Emulator, run: Any, partner_file: Any
) -> None:
    emu = env_auth
    partner_id = new_partner(emu, partner_file())
    admin_scope(emu)
    call(emu, "POST", f"{SECRETS}/put", {"scope": SCOPE, "key": partner_id, "string_value": HEADER})
    emu.faults.arm(path_prefix=f"{SECRETS}/delete", fail_next=1, status=500)

    result = run("delete", "--yes", "-e", "-o", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"id": partner_id, "deleted": True, "secret_deleted": False}
    error, finish = error_and_finish(result)
    assert error.startswith(f"Error: partner {partner_id} was deleted but its secret was not: ")
    assert "Injected fault: HTTP 500" in error
    assert finish == ["secret", "delete", "--id", partner_id, "-e"]
    assert (partners(emu), secret(emu, partner_id)) == ([], HEADER)

    emu.faults.clear()
    finished = run(*finish)
    assert finished.exit_code == 0, finished.stderr
    assert (partners(emu), secret(emu, partner_id)) == ([], 404)

    # Again: nothing left to delete. It says so (exit 1, as `secret delete` does) and changes nothing.
    again = run(*finish)
    assert again.exit_code == 1
    assert again.stderr.startswith(f"Error: there is no secret {SCOPE}/{partner_id} to delete")
    assert (partners(emu), secret(emu, partner_id)) == ([], 404)


# -- secret put with the ACL step ------------------------------------------------------------


def test_secret_put_stopped_at_the_acl_finishes_with_the_printed_command(
    workspace: Any, run: Any, partner_file: Any
) -> None:
    emu = workspace.emulator
    partner_id = new_partner(emu, partner_file(supported_features=["NON_ADMIN"], auth_options=["AUTH_PAT"]))
    admin_scope(emu)
    emu.faults.arm(path_prefix=f"{SECRETS}/acls/put", fail_next=1, status=500)

    # No --id: the id is looked up, and the finishing command names it.
    result = run("secret", "put", "--non-admin", "--auth-header-stdin", "-p", "emu", input=HEADER)
    assert result.exit_code == 1
    error, finish = error_and_finish(result)
    done_part, _, not_done_part = error.partition("Not done:")
    assert "granting 'users' READ on scope 'partner-connect' failed: Injected fault: HTTP 500" in done_part
    assert f"secret partner-connect/{partner_id} stored" in done_part
    assert "grant 'users' READ on scope 'partner-connect'" in not_done_part
    assert finish == ["secret", "put", "--id", partner_id, "--non-admin", "--auth-header-stdin", "-p", "emu"]
    assert (secret(emu, partner_id), secret(emu, partner_id, DEFAULT_USER_TOKEN)) == (HEADER, 403)

    emu.faults.clear()
    finished = run(*finish, input=HEADER)
    assert finished.exit_code == 0, finished.stderr
    complete = state(emu, partner_id)
    assert complete == ([partner_id], HEADER, HEADER, "READ")

    again = run(*finish, input=HEADER)
    assert again.exit_code == 0, again.stderr
    assert state(emu, partner_id) == complete


def test_secret_put_that_did_nothing_is_a_plain_error(workspace: Any, run: Any) -> None:
    """Nothing was done: no 'Not done' list, no finishing command, only the failure and exit 1."""
    workspace.emulator.faults.arm(path_prefix=f"{SECRETS}/scopes/create", fail_next=1, status=500)
    result = run("secret", "put", "--id", "ABC", "--force", "--no-auth-header", "-p", "emu")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "Error: creating secret scope 'partner-connect' failed: Injected fault: HTTP 500"
    )
    assert "Finish with" not in result.stderr
