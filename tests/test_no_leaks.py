"""Secrets stay secret (DESIGN.md, principle 5): no token or credential in any output, ever.

Every command runs against an emulator with a distinctive admin token, with a
distinctive endpoint credential, in text, JSON and --debug output; neither
value, nor any encoding of it a workspace or a header would use, may appear
on stdout or stderr. Also: the emulator's state files (which hold the
secrets) are private, and tracebacks shown with --debug carry no token.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import error_lines, write_profiles

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN, Emulator
from stp_ext.sample_partner import SamplePartner
from stp_ext.servers.serving import LocalServer
from stp_ext.services.demo import DEMO_PASSWORD, DEMO_USER, demo_config

ADMIN_TOKEN = "dapi-LEAKCHECK-token-0001-7f3a9c2e"
USER_TOKEN = "dapi-LEAKCHECK-user-0002-51be77d0"
HEADER = "Bearer LEAKCHECK-partner-secret-5150"
BASIC_USER, BASIC_PASSWORD = "leak-user", "LEAKCHECK-password-8086"
SECRETS = "/api/2.0/secrets"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def forbidden(user: str, password: str, *values: str) -> list[str]:
    """Each value, and the forms it travels in: base64 (bytes_value, secrets/get) and Basic auth."""
    basic = "Basic " + b64(f"{user}:{password}")
    texts = [password, b64(f"{user}:{password}"), basic, b64(basic)]
    for value in values:
        texts += [value, b64(value), value.split()[-1]]
    return texts


FORBIDDEN = [*forbidden(BASIC_USER, BASIC_PASSWORD, HEADER, ADMIN_TOKEN, USER_TOKEN), "LEAKCHECK"]
MODES = {"text": ["-o", "text"], "json": ["-o", "json"], "debug": ["--debug", "-o", "text"]}


def assert_no_leak(result: Any, texts: list[str] = FORBIDDEN) -> None:
    for stream, output in (("stdout", result.stdout), ("stderr", result.stderr)):
        for text in texts:
            assert text not in output, f"{text!r} leaked on {stream}:\n{output}"


@pytest.fixture
def leak_emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(state_path=tmp_path / "state.db", admin_token=ADMIN_TOKEN, user_token=USER_TOKEN) as emu:
        config = write_profiles(tmp_path / "databrickscfg", {"leak": {"host": emu.url, "token": ADMIN_TOKEN}})
        monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
        yield emu


@pytest.fixture
def partner() -> Iterator[SamplePartner]:
    with SamplePartner(auth_header=HEADER) as sample:
        yield sample


def stored(emu: Emulator, key: str) -> bytes | None:
    """The secret as the emulator holds it (read from its database, not through any output)."""
    with emu.store.transaction() as db:
        row = db.execute("SELECT value FROM secrets WHERE scope = 'partner-connect' AND key = ?", (key,)).fetchone()
    return row[0] if row else None


@pytest.mark.parametrize("mode", MODES)
def test_no_command_prints_a_token_or_the_credential(
    mode: str, leak_emulator: Emulator, partner: SamplePartner, run: Any, tmp_path: Path
) -> None:
    config = tmp_path / "partner.json"
    config.write_text(json.dumps(demo_config(partner.url)))  # NON_ADMIN, served by the sample partner
    out, flags = MODES[mode], [*MODES[mode], "-p", "leak"]

    def step(code: int, *argv: str, stdin: str | None = None) -> Any:
        result = run(*argv, input=stdin)
        assert result.exit_code == code, (argv, result.stderr)
        assert_no_leak(result)
        return result

    step(0, "validate", "-f", str(config), *out)
    created = step(0, "create", "-f", str(config), "--auth-header-stdin", *flags, "-o", "json", stdin=HEADER)
    partner_id = json.loads(created.stdout)["id"]
    assert stored(leak_emulator, partner_id) == HEADER.encode()  # it was sent: the check is not vacuous
    step(0, "get", *flags)
    step(0, "update", "-f", str(config), "--yes", *flags)
    step(0, "secret", "status", "-f", str(config), *flags)
    step(0, "connect-test", "-f", str(config), "--auth-header-stdin", *out, stdin=HEADER)
    step(0, "doctor", "-f", str(config), *flags)
    basic = ["--basic-user", BASIC_USER, "--basic-password-stdin"]
    step(0, "secret", "put", *basic, "--non-admin", *flags, stdin=BASIC_PASSWORD)
    assert stored(leak_emulator, partner_id) == f"Basic {b64(f'{BASIC_USER}:{BASIC_PASSWORD}')}".encode()
    # Not the credential the partner takes: doctor's stored-credential row fails, and says so without it.
    step(1, "doctor", "-f", str(config), *flags)
    # The wrong credential: every scenario is refused, and the findings quote the partner's answers.
    step(1, "connect-test", "-f", str(config), *basic, *out, stdin=BASIC_PASSWORD)
    step(0, "secret", "delete", "--yes", *flags)
    step(0, "delete", "--yes", *flags)


@pytest.mark.parametrize("mode", MODES)
def test_demo_prints_no_token_or_credential(mode: str, run: Any) -> None:
    result = run("demo", *MODES[mode])
    assert result.exit_code == 0, result.stderr
    assert_no_leak(result, forbidden(DEMO_USER, DEMO_PASSWORD, DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN))


# -- tracebacks under --debug -------------------------------------------------------------


def test_a_workspace_error_traceback_carries_no_token(leak_emulator: Emulator, run: Any) -> None:
    leak_emulator.faults.arm(path_prefix="/api/", fail_next=1, status=500)
    result = run("get", "--debug", "-p", "leak")
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr  # --debug shows it
    assert_no_leak(result)


def test_an_unexpected_error_naming_the_token_is_redacted(
    leak_emulator: Emulator, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last line of defence: a bug whose message quotes the token (as SDK config dumps do)."""
    from stp_ext.services.partners import PartnerService

    def broken(self: Any) -> Any:
        raise RuntimeError(f"config dump: host={leak_emulator.url} token={ADMIN_TOKEN}")

    monkeypatch.setattr(PartnerService, "list", broken)
    for debug in ([], ["--debug"]):
        result = run("get", *debug, "-p", "leak")
        assert result.exit_code == 1
        errors = error_lines(result.stderr)
        assert errors == [f"Error: unexpected RuntimeError: config dump: host={leak_emulator.url} token=***REDACTED***"]
        assert ("Traceback" in result.stderr) == bool(debug)
        assert_no_leak(result)


# -- state files -------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_state_files_holding_secrets_are_private(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.touch(mode=0o644)  # an existing file is tightened too
    old = os.umask(0o022)  # a usual umask, under which new files would be 0644
    try:
        with Emulator(state_path=path, admin_token=ADMIN_TOKEN, user_token=USER_TOKEN) as emu:
            for method, route, body in (
                ("POST", "scopes/create", {"scope": "partner-connect"}),
                ("POST", "put", {"scope": "partner-connect", "key": "K", "string_value": HEADER}),
            ):
                request = urllib.request.Request(
                    f"{emu.url}{SECRETS}/{route}",
                    data=json.dumps(body).encode(),
                    method=method,
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    assert response.status == 200
            files = [p for p in tmp_path.iterdir() if p.name.startswith("state.db")]
            assert {p.name for p in files} >= {"state.db", "state.db-wal"}  # the secret sits in the WAL now
            assert b"LEAKCHECK" in b"".join(p.read_bytes() for p in files)
            for file in files:
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    finally:
        os.umask(old)


def _echoing_partner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A partner that quotes the Authorization header it got, in its body and a header."""
    got = environ.get("HTTP_AUTHORIZATION", "")
    body = {"error_reason": "unauthorized", "display_message": f"bad header {got}", "debugging_message": got}
    start_response("401 UNAUTHORIZED", [("Content-Type", "application/json"), ("X-Echo", got)])
    return [json.dumps(body).encode()]


@pytest.mark.parametrize("mode", MODES)
def test_connect_test_does_not_repeat_a_credential_the_partner_echoes(mode: str, run: Any, tmp_path: Path) -> None:
    with LocalServer(_echoing_partner) as server:
        config = tmp_path / "partner.json"
        config.write_text(json.dumps(demo_config(server.url)))
        result = run("connect-test", "-f", str(config), "--auth-header-stdin", *MODES[mode], input=HEADER)
    assert result.exit_code == 1
    assert "unauthorized" in result.stdout + result.stderr  # the refusal is reported...
    assert_no_leak(result)  # ...without the credential it quoted
