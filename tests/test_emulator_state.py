"""The emulator's state: --state persistence, file mode, refusing a bad file, concurrency, reset, no leaks."""

from __future__ import annotations

import base64
import dataclasses
import logging
import os
import sqlite3
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from emulator_client import PARTNERS, SECRETS, USER_TOKEN, RawClient, RunningEmulator, partner_body
from helpers import one_error

from stp_ext.emulator import Emulator, EmulatorStateError, RequestRecord

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "emulator.db"
    raw = os.urandom(48)
    with Emulator(state_path=state) as emu:
        client = RawClient(emu.port)
        partner_id = client.post(f"{PARTNERS}/create", partner_body()).json()["id"]
        assert client.create_scope("partner-connect", initial_manage_principal="users").status == 200
        assert client.put_secret("partner-connect", partner_id, "Basic dXNlcjpwYXNz").status == 200
        bytes_value = {"scope": "partner-connect", "key": "raw", "bytes_value": base64.b64encode(raw).decode()}
        assert client.post(f"{SECRETS}/put", bytes_value).status == 200
        assert client.put_acl("partner-connect", "someone@example.com", "WRITE").status == 200
        assert client.create_scope("doomed").status == 200
        assert client.post(f"{SECRETS}/scopes/delete", {"scope": "doomed"}).status == 200
        listed = client.get(f"{SECRETS}/list", scope="partner-connect").json()

    with Emulator(state_path=state) as emu:
        client = RawClient(emu.port)
        assert client.partners() == [{"id": partner_id, "name": "Test Partner"}]
        assert client.scope_names() == ["partner-connect"]
        assert client.secret_value("partner-connect", partner_id) == b"Basic dXNlcjpwYXNz"
        assert client.secret_value("partner-connect", "raw") == raw
        assert client.get(f"{SECRETS}/list", scope="partner-connect").json() == listed  # timestamps kept too
        assert client.acls("partner-connect") == {
            "users": "MANAGE",
            "someone@example.com": "WRITE",
        }
        # The rules hold across the restart: still one active partner, and the users' grant still works.
        reply = client.post(f"{PARTNERS}/create", partner_body())
        assert (reply.status, reply.error_code) == (400, "BAD_REQUEST")
        assert client.as_token(USER_TOKEN).secret_value("partner-connect", partner_id) == b"Basic dXNlcjpwYXNz"


def test_acknowledged_writes_survive_a_crash(tmp_path: Path) -> None:
    """Every answered write is committed: a SIGKILLed emulator (no close, no flush) loses none of them."""
    state = tmp_path / "emulator.db"
    running = RunningEmulator("--state", str(state))
    try:
        client = RawClient(running.port)
        # It names the Partner Connect page at start, and the page answers.
        assert running.info["partner_connect_page"] == running.info["host"] + "/partner-connect"
        assert client.get("/partner-connect").status == 200
        partner_id = client.post(f"{PARTNERS}/create", partner_body()).json()["id"]
        client.create_scope("partner-connect")
        for i in range(5):
            assert client.put_secret("partner-connect", f"k{i}", f"value {i}").status == 200
        assert client.put_acl("partner-connect", "users", "READ").status == 200
    finally:
        running.kill()
    assert running.process.returncode == -9
    with Emulator(state_path=state) as emu:
        client = RawClient(emu.port)
        assert client.partners() == [{"id": partner_id, "name": "Test Partner"}]
        assert [client.secret_value("partner-connect", f"k{i}") for i in range(5)] == [
            f"value {i}".encode() for i in range(5)
        ]
        assert client.acls("partner-connect")["users"] == "READ"


def test_two_emulators_on_one_state_file_are_one_workspace(tmp_path: Path) -> None:
    """Two CI jobs pointed at the same file: the one-active-partner rule holds across both."""
    state = tmp_path / "emulator.db"
    with Emulator(state_path=state) as first, Emulator(state_path=state) as second:
        a, b = RawClient(first.port), RawClient(second.port)
        assert a.create_scope("s").status == 200
        assert b.scope_names() == ["s"]
        assert b.create_scope("s").error_code == "RESOURCE_ALREADY_EXISTS"
        assert a.post(f"{PARTNERS}/create", partner_body()).status == 200
        assert b.post(f"{PARTNERS}/create", partner_body()).error_code == "BAD_REQUEST"
        assert len(b.partners()) == 1


def test_without_state_nothing_survives() -> None:
    with Emulator() as emu:
        RawClient(emu.port).create_scope("s")
    with Emulator() as emu:
        assert RawClient(emu.port).scope_names() == []


def test_a_new_state_file_is_private(tmp_path: Path) -> None:
    state = tmp_path / "sub" / "dir" / "emulator.db"  # folders are created
    with Emulator(state_path=state) as emu:
        client = RawClient(emu.port)
        client.create_scope("s")
        client.put_secret("s", "k", "v")
        assert mode_of(state) == 0o600
        # Secrets sit in the write-ahead log until a checkpoint: it must be private too.
        for sidecar in state.parent.glob(state.name + "-*"):
            assert mode_of(sidecar) == 0o600, sidecar
    assert mode_of(state) == 0o600


@pytest.mark.parametrize("kind", ["empty", "existing state"])
def test_an_existing_0644_file_is_tightened(tmp_path: Path, kind: str) -> None:
    state = tmp_path / "emulator.db"
    if kind == "empty":
        state.touch()
    else:
        with Emulator(state_path=state) as emu:
            RawClient(emu.port).create_scope("kept")
    state.chmod(0o644)
    with Emulator(state_path=state) as emu:
        assert mode_of(state) == 0o600
        assert RawClient(emu.port).scope_names() == ([] if kind == "empty" else ["kept"])


BAD_FILES = {
    "text": b"this is not a database, it is my notes\n" * 20,
    "binary": bytes(range(256)) * 16,
    "truncated sqlite header": b"SQLite format 3\x00" + b"\x00" * 40,
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_file_that_is_not_a_state_database_is_refused_untouched(tmp_path: Path, kind: str) -> None:
    state = tmp_path / "bad.db"
    state.write_bytes(BAD_FILES[kind])
    with pytest.raises(EmulatorStateError) as caught:
        Emulator(state_path=state)
    assert str(state) in caught.value.message
    assert state.read_bytes() == BAD_FILES[kind]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.db"]  # no -wal/-journal left behind


def test_a_state_file_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "emulator.db"
    with Emulator(state_path=state) as emu:
        RawClient(emu.port).create_scope("s")
    with sqlite3.connect(state) as db:
        db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(EmulatorStateError, match="999"):
        Emulator(state_path=state)


def test_the_cli_refuses_a_bad_state_file_with_one_error_line(tmp_path: Path) -> None:
    state = tmp_path / "bad.db"
    content = b"not a database\n" * 10
    state.write_bytes(content)
    done = subprocess.run(
        [sys.executable, "-m", "stp_ext", "emulator", "--port", "0", "--state", str(state)],
        capture_output=True,
        text=True,
        timeout=30,  # were the file accepted, the emulator would serve: fail instead of hanging
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "bad.db" in one_error(done.stderr)
    assert state.read_bytes() == content


def test_sixteen_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    state = tmp_path / "emulator.db"
    per_thread = 8
    with Emulator(state_path=state) as emu:
        client = RawClient(emu.port)
        client.create_scope("s")

        def writer(n: int) -> list[int]:
            return [client.put_secret("s", f"t{n}-k{i}", f"value {n}/{i}").status for i in range(per_thread)]

        with ThreadPoolExecutor(16) as pool:
            statuses = [s for batch in pool.map(writer, range(16)) for s in batch]
        assert statuses == [200] * 16 * per_thread
        expected = {f"t{n}-k{i}": f"value {n}/{i}".encode() for n in range(16) for i in range(per_thread)}
        assert sorted(client.secret_keys("s")) == sorted(expected)
        with ThreadPoolExecutor(16) as pool:
            values = dict(zip(expected, pool.map(lambda key: client.secret_value("s", key), expected)))
        assert values == expected
    with Emulator(state_path=state) as emu:
        assert len(RawClient(emu.port).secret_keys("s")) == 16 * per_thread


SENTINEL = "s3cr3t-SENTINEL-value-7f1d"


def test_secret_values_stay_out_of_logs_and_the_request_log(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    client = RawClient(emulator.port)
    encoded = base64.b64encode(SENTINEL.encode()).decode()
    client.create_scope("s")
    assert client.put_secret("s", "k", SENTINEL).status == 200
    assert client.post(f"{SECRETS}/put", {"scope": "s", "key": "b", "bytes_value": encoded}).status == 200
    assert client.secret_value("s", "k") == SENTINEL.encode()
    # Failing calls must not echo the value either.
    failing = [
        client.put_secret("s", "bad key!", SENTINEL),
        client.post(f"{SECRETS}/put", {"scope": "s", "key": "k", "string_value": SENTINEL, "bytes_value": encoded}),
        client.put_secret("no-such-scope", "k", SENTINEL),
        client.as_token(USER_TOKEN).put_secret("s", "k", SENTINEL),
        client.as_token("dapi-wrong").put_secret("s", "k", SENTINEL),
        client.post(f"{SECRETS}/put", '{"scope": "s", "key": "k", "string_value": "' + SENTINEL),
        client.get(f"{SECRETS}/get", scope="s", key="k", junk=SENTINEL),  # a value in a query string
    ]
    assert [r.status for r in failing[:-1]] == [400, 400, 404, 403, 403, 400]
    for reply in failing[:-1]:
        assert SENTINEL.encode() not in reply.body and encoded.encode() not in reply.body

    records = emulator.request_log
    assert [f.name for f in dataclasses.fields(RequestRecord)] == ["method", "path", "status"]
    assert all(r.path.startswith(SECRETS) and "?" not in r.path for r in records)
    over_http = client.get("/_emulator/requests").body.decode()
    out, err = capfd.readouterr()
    for text in (repr(records), over_http, caplog.text, out, err):
        assert SENTINEL not in text
        assert encoded not in text


def test_reset_wipes_everything(tmp_path: Path) -> None:
    state = tmp_path / "emulator.db"
    with Emulator(state_path=state) as emu:
        client = RawClient(emu.port)
        client.post(f"{PARTNERS}/create", partner_body())
        client.create_scope("s")
        client.put_secret("s", "k", "v")
        emu.faults.arm(latency_ms=5000, path_prefix="/api/2.0/nothing")
        reply = client.post("/_emulator/reset", {})
        assert (reply.status, reply.json()) == (200, {})
        assert emu.faults.describe()["latency_ms"] == 0
        assert client.partners() == []
        assert client.scope_names() == []
        api_calls = [r for r in client.get("/_emulator/requests").json()["requests"] if r["path"].startswith("/api")]
        assert api_calls == [
            {"method": "GET", "path": f"{PARTNERS}/get", "status": 200},
            {"method": "GET", "path": f"{SECRETS}/scopes/list", "status": 200},
        ]
        # A fresh workspace: a partner can be created again, a scope of the same name starts empty.
        assert client.post(f"{PARTNERS}/create", partner_body()).status == 200
        assert client.create_scope("s").status == 200
        assert client.secret_keys("s") == []
    with Emulator(state_path=state) as emu:
        assert RawClient(emu.port).secret_keys("s") == []  # the wipe itself was durable


def test_reset_needs_post(emulator: Emulator) -> None:
    client = RawClient(emulator.port)
    client.create_scope("s")
    assert client.get("/_emulator/reset").status in (404, 405)
    assert client.scope_names() == ["s"]


def test_the_request_log_over_http_matches_the_python_api(emulator: Emulator) -> None:
    client = RawClient(emulator.port)
    client.create_scope("s")
    client.get(f"{SECRETS}/list", scope="nope")
    over_http = client.get("/_emulator/requests").json()["requests"]
    assert over_http == [dataclasses.asdict(r) for r in emulator.request_log[: len(over_http)]]
    assert over_http[:2] == [
        {"method": "POST", "path": f"{SECRETS}/scopes/create", "status": 200},
        {"method": "GET", "path": f"{SECRETS}/list", "status": 404},
    ]
