"""No one client can freeze or bloat the emulator (issue 22, items 4 and 7).

Each test first does what the report did, scaled to a test's time where the
report's figures would take minutes, then checks that everyone else, the
control API included, is still answered within a bound. Every socket has a
timeout and every loop a count, so a regression fails, never hangs.
"""

from __future__ import annotations

import socket

from emulator_client import RawClient, raw_exchange

from stp_ext.emulator import Emulator
from stp_ext.emulator.app import LOGGED_PATH_CHARS


def read_answers(sock: socket.socket, count: int) -> list[bytes]:
    """``count`` answers' status lines from a kept-alive connection (each body read by its Content-Length)."""
    statuses, buffer = [], b""
    for _ in range(count):
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            assert chunk, "the server closed the connection"
            buffer += chunk
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        )
        while len(buffer) < length:
            chunk = sock.recv(65536)
            assert chunk, "the server closed the connection"
            buffer += chunk
        buffer = buffer[length:]
        statuses.append(head.split(b"\r\n", 1)[0])
    return statuses


# -- the request log is bounded in bytes ------------------------------------------------------------


def test_long_paths_cannot_bloat_the_request_log() -> None:
    """Reported: 11,000 requests with 64 KB paths took the log to 700 MB, and GET /_emulator/requests to a 500."""
    with Emulator(request_log_bytes=256 * 1024) as emu:
        path = "/api/" + "a" * 60_000
        with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
            for _ in range(10):  # 300 requests, pipelined 30 at a time
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() * 30)
                assert all(b" 404 " in status for status in read_answers(sock, 30))
        reply = RawClient(emu.port).get("/_emulator/requests")
        assert reply.status == 200
        log = reply.json()
        assert len(reply.body) <= 256 * 1024 + 4096  # the log's byte budget, and a little JSON around it
        kept = [r["path"] for r in log["requests"]]
        assert 100 < len(kept) < 300 and log["dropped"] == 300 - len(kept)
        assert all(p.startswith("/api/aaa") and p.endswith("(+58981 characters)") for p in kept)
        assert all(len(p) < LOGGED_PATH_CHARS + 32 for p in kept)


# -- the control API answers only a caller on this machine ------------------------------------------


def test_the_control_api_refuses_other_hosts_in_the_target_and_malformed_hosts(emulator: Emulator) -> None:
    """Reported: an absolute-form target naming another host, and ``Host: [::1]evil.example``, were obeyed."""

    def reset(target: str, host: str) -> int:
        request = (
            f"POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\nConnection: close\r\n\r\n{}"
        )
        return int(raw_exchange(emulator.port, request.encode(), timeout=5).split(b" ", 2)[1])

    client = RawClient(emulator.port)
    assert client.create_scope("kept").status == 200
    refused = [
        ("http://evil.example/_emulator/reset", "127.0.0.1"),
        (f"http://evil.example:{emulator.port}/_emulator/reset", f"127.0.0.1:{emulator.port}"),
        ("/_emulator/reset", "[::1]evil.example"),
        ("/_emulator/reset", "127.0.0.1:80:80"),
        ("/_emulator/reset", "127.0.0.1:evil"),
        ("/_emulator/reset", "127.0.0.1@evil.example"),
        ("/_emulator/reset", ""),
    ]
    for target, host in refused:
        assert reset(target, host) == 403, (target, host)
    assert client.scope_names() == ["kept"]  # nothing was reset
    for target, host in [
        (f"http://127.0.0.1:{emulator.port}/_emulator/reset", "evil.example"),  # the target's host wins
        ("/_emulator/reset", f"[::1]:{emulator.port}"),
        ("/_emulator/reset", "localhost."),
    ]:
        assert client.create_scope("again").status == 200
        assert reset(target, host) == 200, (target, host)
        assert client.scope_names() == []
