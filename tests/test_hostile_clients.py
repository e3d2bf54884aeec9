"""Hostile clients of our servers (the emulator and the sample partner), over raw sockets.

Each test first does what the report did to the real server, as a user runs
it, then checks it kept answering everyone else, with bounded memory and no
traceback. Every socket has a timeout, so a regression fails, never hangs.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_client import ADMIN_TOKEN, SECRETS, RawClient, raw_exchange
from helpers import rss_kib

from stp_ext.emulator import Emulator
from stp_ext.emulator.state import EmulatorStateError, Store
from stp_ext.servers.serving import LocalServer

MiB = 1024 * 1024


class RunningServer:
    """``databricks-stp <command> --port 0 -o json ...`` in a child process; its stderr is kept."""

    def __init__(self, *argv: str, url_key: str) -> None:
        command = [sys.executable, "-m", "stp_ext", *argv, "--port", "0", "-o", "json"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watchdog = threading.Timer(20, self.process.kill)  # never hang on a server that does not start
        watchdog.start()
        assert self.process.stdout is not None
        text = ""
        try:
            while True:
                line = self.process.stdout.readline()
                if not line:
                    raise AssertionError(f"the server exited: {self.stop()}")
                text += line
                try:
                    self.info = json.loads(text)
                    break
                except ValueError:
                    continue
        finally:
            watchdog.cancel()
        self.port = int(self.info[url_key].rsplit(":", 1)[1])

    def rss_kib(self) -> int | None:
        return rss_kib(self.process.pid)

    def stop(self) -> str:
        """Stop it; return what it wrote on stderr."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return err


@pytest.fixture(params=["emulator", "sample-partner"])
def server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    if request.param == "emulator":
        running = RunningServer("emulator", url_key="host")
    else:
        running = RunningServer("sample-partner", "--no-auth-header", url_key="url")
    running.name = request.param  # type: ignore[attr-defined]
    yield running
    running.stop()


def post_path(server: RunningServer) -> str:
    return f"{SECRETS}/put" if server.name == "emulator" else "/connect"  # type: ignore[attr-defined]


def answers(port: int) -> int:
    """The status of one ordinary request, on a fresh connection, within 5 s."""
    head = raw_exchange(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout=5)
    return int(head.split(b" ", 2)[1])


def refusal(server: RunningServer, body: dict[str, Any]) -> tuple[str, str]:
    """An error answer's code and message, in the server's own error shape (workspace or partner API)."""
    if server.name == "emulator":  # type: ignore[attr-defined]
        return body["error_code"], body["message"]
    return body["error_reason"], body["debugging_message"]


def status_and_json(answer: bytes) -> tuple[int, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


# -- request bodies are capped (issue 13.1) --------------------------------------------------------


def test_a_chunk_size_of_2_to_the_64_then_close_costs_no_memory(server: RunningServer) -> None:
    """The reported request: 150 bytes, then the client goes away. RSS grew ~1 GB/s before."""
    before = server.rss_kib()
    request = (
        f"POST {post_path(server)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n"
    ).encode()
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(request + b"x" * 1000)
    time.sleep(1.0)
    assert answers(server.port) in (200, 404, 405)
    after = server.rss_kib()
    if before is not None and after is not None:
        assert after - before < 20 * 1024, (before, after)


def test_a_chunked_body_past_the_limit_is_refused_with_413_json(server: RunningServer) -> None:
    before = server.rss_kib()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"POST {post_path(server)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n".encode()
        )
        piece = b"x" * 65536
        try:
            for _ in range(4 * MiB // len(piece)):  # 4 MiB, four times the limit
                sock.sendall(piece)
        except OSError:
            pass  # the server answered and closed: expected
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    status, body = status_and_json(answer)
    assert status == 413 and refusal(server, body)[0] in ("REQUEST_TOO_LARGE", "bad_request"), body
    after = server.rss_kib()
    if before is not None and after is not None:
        assert after - before < 20 * 1024, (before, after)
    assert answers(server.port) in (200, 404, 405)


@pytest.mark.slow
def test_sixteen_concurrent_oversized_bodies_cost_little_memory(server: RunningServer) -> None:
    """Reported: 16 concurrent 100 MB bodies took 2.25 GB. Each is now cut off at the 1 MiB cap."""
    before = server.rss_kib()

    def upload(_: int) -> int:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                f"POST {post_path(server)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n".encode()
            )
            piece = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"  # 64 KiB chunks
            try:
                for _ in range(64):  # 4 MiB each
                    sock.sendall(piece)
            except OSError:
                pass  # refused and closed: expected
            try:
                return int(sock.recv(65536).split(b" ", 2)[1])
            except (OSError, IndexError, ValueError):
                return 0

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(upload, range(16)))
    assert statuses.count(413) >= 14, statuses  # a reset may now and then beat the answer to the client
    after = server.rss_kib()
    if before is not None and after is not None:
        assert after - before < 48 * 1024, (before, after)
    assert answers(server.port) in (200, 404, 405)


def test_a_declared_length_past_the_limit_is_refused_before_reading(server: RunningServer) -> None:
    answer = raw_exchange(
        server.port,
        f"POST {post_path(server)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * MiB}\r\n\r\n{{}}".encode(),
        timeout=5,
    )
    status, body = status_and_json(answer)
    assert status == 413 and "1048576" in refusal(server, body)[1]


# -- slow clients (issue 13.6) ---------------------------------------------------------------------


@pytest.fixture
def many_sockets() -> Iterator[None]:
    try:
        import resource
    except ImportError:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if wanted < 1200:
        pytest.skip(f"the open-file limit ({hard}) is below what this test needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.slow
def test_a_thousand_half_open_connections_do_not_stop_the_server(server: RunningServer, many_sockets: None) -> None:
    held: list[socket.socket] = []
    try:
        for i in range(1000):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            # Half a request: headers that never end.
            sock.sendall(f"POST {post_path(server)} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-{i}: ".encode())
            held.append(sock)
        started = time.monotonic()
        assert answers(server.port) in (200, 404, 405)
        assert time.monotonic() - started < 5
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.5)
    assert answers(server.port) in (200, 404, 405)
    err = server.stop()
    assert "Traceback" not in err, err


def test_a_request_that_never_ends_is_closed_after_the_request_timeout() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Length", "2")])
        return [b"{}"]

    with LocalServer(app, request_timeout=1) as local, socket.create_connection(("127.0.0.1", local.port)) as sock:
        sock.settimeout(10)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and nothing more
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server, without an answer
        assert time.monotonic() - started < 5


# -- malformed requests are 400s, never 500s (issue 13.13) -------------------------------------------


def test_malformed_requests_are_400_json() -> None:
    with Emulator() as emu:
        auth = f"Authorization: Bearer {ADMIN_TOKEN}\r\n"
        cases = {
            "empty path segment": f"GET //get HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n",
            "bad chunk header": "POST /api/2.0/secrets/put HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"{auth}Transfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n",
            "two Content-Lengths": "POST /api/2.0/secrets/put HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"{auth}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}",
            "deeply nested JSON": "POST /api/2.0/secrets/put HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"{auth}Content-Type: application/json\r\nContent-Length: 200000\r\n\r\n" + "[" * 200_000,
        }
        for name, request in cases.items():
            status, body = status_and_json(raw_exchange(emu.port, request.encode(), timeout=5))
            assert status == 400, (name, body)
            assert body["error_code"] in ("MALFORMED_REQUEST", "INVALID_PARAMETER_VALUE"), (name, body)
        assert all(r.status != 500 for r in emu.request_log)


def test_a_tls_handshake_gets_a_prompt_answer_not_a_wait() -> None:
    with Emulator() as emu:
        started = time.monotonic()
        answer = raw_exchange(emu.port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64, timeout=5)
        assert answer.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")) and time.monotonic() - started < 2


# -- the control API is not reachable from a web page (issue 13.13) -----------------------------------


def test_a_cross_site_text_plain_post_cannot_reset_the_emulator() -> None:
    with Emulator() as emu:
        client = RawClient(emu.port)
        assert client.create_scope("kept").status == 200
        forged = client.request("POST", "/_emulator/reset", "{}", headers={"Content-Type": "text/plain"})
        assert forged.status == 415
        from_page = client.request(
            "POST", "/_emulator/faults", {"fail_next": 1}, headers={"Origin": "https://evil.example"}
        )
        assert from_page.status == 403
        rebound = client.request("POST", "/_emulator/reset", {}, headers={"Host": "evil.example:8765"})
        assert rebound.status == 403
        other_local_page = client.request("GET", "/_emulator/requests", headers={"Origin": "http://localhost:3000"})
        assert other_local_page.status == 403
        assert client.scope_names() == ["kept"]  # nothing was reset
        assert client.get("/_emulator/faults").json()["fail_next"] == 0  # nothing was armed
        own_page = client.request("POST", "/_emulator/reset", {}, headers={"Origin": f"http://127.0.0.1:{emu.port}"})
        assert own_page.status == 200
        assert client.scope_names() == []


# -- --state touches nothing it refuses (issue 13.4) ---------------------------------------------------


def test_a_refused_state_file_keeps_its_mode_and_content(tmp_path: Path) -> None:
    notes = tmp_path / "notes.json"
    notes.write_text('{"my": "notes"}')
    notes.chmod(0o644)
    with pytest.raises(EmulatorStateError):
        Store(notes)
    assert stat.S_IMODE(notes.stat().st_mode) == 0o644
    assert notes.read_text() == '{"my": "notes"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.json"]  # no -wal, -shm or journal left


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO (POSIX)")
def test_a_state_path_that_is_not_a_regular_file_is_refused_untouched(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo, 0o644)
    with pytest.raises(EmulatorStateError, match="not a regular file"):
        Store(fifo)
    assert stat.S_IMODE(fifo.stat().st_mode) == 0o644
    # The CLI: one Error: line, exit 2, and the same (this is how `--state /dev/null` was reported).
    done = subprocess.run(
        [sys.executable, "-m", "stp_ext", "emulator", "--port", "0", "--state", str(fifo)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and done.stderr.startswith("Error:") and "Traceback" not in done.stderr
    assert stat.S_IMODE(fifo.stat().st_mode) == 0o644


def test_an_accepted_state_file_is_made_private(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    Store(state).close()
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    state.chmod(0o644)
    Store(state).close()  # ours, accepted: tightened (it holds secret values)
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


# -- Ctrl-C ends a foreground server within a second --------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_stops_the_server_within_a_second(server: RunningServer) -> None:
    import signal

    held = socket.create_connection(("127.0.0.1", server.port), timeout=5)  # an idle keep-alive client
    held.sendall(f"POST {post_path(server)} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())  # and a half request
    started = time.monotonic()
    server.process.send_signal(signal.SIGINT)
    err = server.stop()
    held.close()
    assert time.monotonic() - started < 1.5
    assert server.process.returncode in (0, 130), err  # 130: the CLI's exit status for an interrupt
    assert "Traceback" not in err, err
