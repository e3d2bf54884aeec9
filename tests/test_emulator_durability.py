"""The emulator's state under crashes and damage, and its failures staying quiet and JSON.

Complements test_emulator_state.py: an acknowledged write survives SIGKILL, a
damaged or foreign SQLite file is refused at start-up (never reset), a handler
failure is a JSON 500 with nothing secret in the log, a dropped connection
leaves no traceback on stderr.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from emulator_client import SECRETS, RawClient, raw_exchange

from stp_ext.emulator import Emulator, EmulatorStateError

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# Started in a child process so that it can be killed mid-flight, like a CI runner losing a job.
CHILD = """
import sys, time
from stp_ext.emulator import Emulator
emu = Emulator(state_path=sys.argv[1]).start()
print(emu.port, flush=True)
time.sleep(60)
"""


@POSIX
def test_an_acknowledged_write_survives_sigkill(tmp_path: Path) -> None:
    state = tmp_path / "emulator.db"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(state)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        client = RawClient(port)
        assert client.create_scope("partner-connect").status == 200
        assert client.put_secret("partner-connect", "k", "Basic dXNlcjpwYXNz").status == 200
    finally:
        os.kill(child.pid, signal.SIGKILL)  # no clean shutdown, no checkpoint
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    with Emulator(state_path=state) as emu:
        assert RawClient(emu.port).secret_value("partner-connect", "k") == b"Basic dXNlcjpwYXNz"


def test_a_damaged_database_is_refused_untouched(tmp_path: Path) -> None:
    state = tmp_path / "emulator.db"
    with Emulator(state_path=state) as emu:
        client = RawClient(emu.port)
        client.create_scope("s")
        for n in range(50):
            client.put_secret("s", f"k{n}", "x" * 200)
    data = bytearray(state.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    assert len(data) > 3 * page_size
    data[2 * page_size : 3 * page_size] = b"\xa5" * page_size  # scribble over one whole page
    state.write_bytes(bytes(data))

    with pytest.raises(EmulatorStateError) as caught:
        Emulator(state_path=state)
    assert str(state) in caught.value.message
    assert state.read_bytes() == bytes(data)


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    state = tmp_path / "notes.db"
    with sqlite3.connect(state) as db:
        db.execute("CREATE TABLE notes (body TEXT)")
        db.execute("INSERT INTO notes VALUES ('mine')")
    db.close()
    with pytest.raises(EmulatorStateError, match="notes") as caught:
        Emulator(state_path=state)
    assert str(state) in caught.value.message
    with sqlite3.connect(state) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert tables == ["notes"]
    db.close()


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmulatorStateError, match=str(tmp_path)):
        Emulator(state_path=tmp_path)


def test_a_handler_failure_is_a_json_500_without_secrets_in_the_log(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    client = RawClient(emulator.port)
    assert client.create_scope("s").status == 200
    emulator.store.close()  # what a request arriving during stop() meets
    caplog.set_level(logging.DEBUG)

    reply = client.put_secret("s", "k", "hunter2-secret-value")
    assert reply.status == 500
    assert reply.content_type.startswith("application/json")
    assert reply.error_code == "INTERNAL_ERROR"
    assert "internal error on POST /api/2.0/secrets/put" in caplog.text
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err, repr(emulator.request_log)):
        assert "hunter2" not in text
    assert emulator.request_log[-1].status == 500


def test_a_dropped_connection_leaves_no_traceback(emulator: Emulator, capfd: pytest.CaptureFixture[str]) -> None:
    emulator.faults.arm(fail_next=1, mode="drop")
    assert raw_exchange(emulator.port, b"GET /api/2.0/secrets/scopes/list HTTP/1.1\r\nHost: x\r\n\r\n") == b""
    assert RawClient(emulator.port).get(f"{SECRETS}/scopes/list").status == 200
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


# -- group commit: many durable writes, one transaction and one sync -------------------------------------


def test_concurrent_durable_writes_are_committed_in_groups_each_on_disk_when_answered(tmp_path: Path) -> None:
    """Each 200 is in the file when it arrives (read by another connection); a failing write fails alone."""
    state = tmp_path / "state.db"
    emu = Emulator(state_path=state)
    groups: list[int] = []
    store_group = emu.store.group

    def counting(since: float) -> Any:
        groups.append(1)
        return store_group(since)

    emu._server.group = counting  # before start: the server takes its hooks when it binds
    with emu:
        client = RawClient(emu.port)
        assert client.create_scope("s").status == 200

        def put(n: int) -> tuple[int, int]:
            scope = "missing" if n % 5 == 0 else "s"  # every fifth write fails (no such scope)
            reply = client.post(f"{SECRETS}/put", {"scope": scope, "key": f"k{n}", "string_value": "v"})
            if reply.status == 200:
                with sqlite3.connect(state) as other:  # durable before answered
                    found = other.execute("SELECT COUNT(*) FROM secrets WHERE key = ?", (f"k{n}",)).fetchone()[0]
                assert found == 1, n
            return n, reply.status

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = dict(pool.map(put, range(80)))
    assert all(status == (404 if n % 5 == 0 else 200) for n, status in statuses.items()), statuses
    assert 0 < len(groups) < 81  # some writes shared a group (the scope's creation had one of its own)
    with sqlite3.connect(state) as other:
        assert other.execute("SELECT COUNT(*) FROM secrets").fetchone()[0] == 64
