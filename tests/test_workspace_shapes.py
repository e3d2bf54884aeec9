"""Valid JSON of the wrong shape from the workspace: one clear line naming the field, exit 1.

Each answer comes from the emulator's "json" fault mode, over real HTTP, in
place of the real answer to the one request named.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, Emulator

PARTNERS = "/api/2.0/partnerhub/self-test-partners"
SECRETS = "/api/2.0/secrets"
ME = "/api/2.0/preview/scim/v2/Me"

# (command, the request answered wrongly, the answer, what the message names)
SHAPES = [
    ("get", f"{PARTNERS}/get", [], "JSON that is not an object"),
    ("get", f"{PARTNERS}/get", "partners", "JSON that is not an object"),
    ("get", f"{PARTNERS}/get", None, "JSON that is not an object"),
    ("get", f"{PARTNERS}/get", {"partners": "x"}, 'partners that is not a list ("x")'),
    ("get", f"{PARTNERS}/get", {"partners": {}}, "partners that is not a list ({})"),
    ("get", f"{PARTNERS}/get", {"partners": [1]}, "partners[0] that is not an object (1)"),
    ("get", f"{PARTNERS}/get", {"partners": [{"id": None}]}, "partners[0].id that is not a string (null)"),
    ("get", f"{PARTNERS}/get", {"partners": [{"id": [], "name": "n"}]}, "partners[0].id that is not a string ([])"),
    ("get", f"{PARTNERS}/get", {"partners": [{"name": "n"}]}, "partners[0].id that is not a string (null)"),
    ("doctor", ME, [], "JSON that is not an object"),
    ("doctor", ME, {"userName": "a", "groups": "admins"}, 'groups that is not a list ("admins")'),
    ("doctor", ME, {"userName": None, "groups": [1]}, "groups[0] that is not an object (1)"),
    ("secret status", f"{SECRETS}/list", {"secrets": "x"}, 'secrets that is not a list ("x")'),
    ("secret status", f"{SECRETS}/list", {"secrets": [{"key": 5}]}, "secrets[0].key that is not a string (5)"),
    ("secret status", f"{SECRETS}/acls/get", {"permission": 5}, "permission that is not a string (5)"),
    ("delete", f"{PARTNERS}/get", {"partners": [{"id": 5}]}, "partners[0].id that is not a string (5)"),
]


def _api(emu: Emulator, path: str, body: dict[str, Any]) -> dict[str, Any]:
    import urllib.request

    request = urllib.request.Request(
        emu.url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {DEFAULT_ADMIN_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"{}")


@pytest.mark.parametrize(("command", "path", "answer", "named"), SHAPES, ids=lambda v: json.dumps(v)[:40])
def test_a_wrong_shape_is_one_clear_line(
    env_auth: Emulator, run: Any, partner_file: Any, command: str, path: str, answer: Any, named: str
) -> None:
    config = partner_file()
    partner_id = _api(env_auth, f"{PARTNERS}/create", json.loads(config.read_text()))["id"]
    _api(env_auth, f"{SECRETS}/scopes/create", {"scope": "partner-connect"})
    _api(env_auth, f"{SECRETS}/put", {"scope": "partner-connect", "key": partner_id, "string_value": "Bearer x"})
    env_auth.clear_log()
    env_auth.faults.arm(path_prefix=path, fail_next=1, mode="json", status=200, body=answer)
    argv = {"get": ["get"], "doctor": ["doctor"], "secret status": ["secret", "status", "-f", str(config)]}.get(
        command, ["delete", "--yes"]
    )
    result = run(*argv, "-e", "-o", "json")
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: ")
    message = lines[0]
    if command == "doctor":  # the failed row carries the message; the Error line names the row
        assert lines[0] == "Error: 1 check failed: authenticated"
        message = next(c["detail"] for c in json.loads(result.stdout)["checks"] if c["ok"] is False)
    assert f"answered GET {path} with {named}" in message
    # Nothing made up from a wrong answer is sent on: no delete of partner "5".
    assert not [r for r in env_auth.request_log if r.method == "DELETE"]
