"""The server core both local servers share (stp_ext/servers), with small WSGI apps over raw sockets.

What the emulator and sample partner tests do not reach on their own: 100 Continue,
HEAD, header names with "_", a chunked body's length, answers kept in order on a
pipelined connection, the worker pool's bound, an app's crash, and stop() while a
worker is busy. Every socket has a timeout, every loop a count.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_client import raw_exchange

from stp_ext.servers.serving import LocalServer


def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """What the app was given: method, path, query, body, and the X-* headers."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    seen = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "query": environ["QUERY_STRING"],
        "body": body.decode(),
        "length": environ.get("CONTENT_LENGTH"),
        "headers": sorted(k for k in environ if k.startswith("HTTP_X")),
    }
    answer = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
    return [answer]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(echo, run_inline=lambda method, path: True) as local:
        yield local


def body_of(answer: bytes) -> Any:
    return json.loads(answer.partition(b"\r\n\r\n")[2])


def test_expect_100_continue_is_answered_before_the_body_is_sent(server: LocalServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"  # curl waits a second for this
        sock.sendall(b"{}")
        assert body_of(sock.recv(65536))["body"] == "{}"


def test_head_gets_the_headers_and_no_body(server: LocalServer) -> None:
    answer = raw_exchange(server.port, b"HEAD /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=5)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"Content-Length: " in head and body == b""


def test_a_chunked_body_reaches_the_app_whole_with_its_length_and_underscored_names_do_not(
    server: LocalServer,
) -> None:
    request = (
        b"POST /p%20q?a=1 HTTP/1.1\r\nHost: x\r\nX-Dash: 1\r\nX_Dash: spoofed\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: t\r\n\r\n"
    )
    seen = body_of(raw_exchange(server.port, request, timeout=5))
    assert seen == {
        "method": "POST",
        "path": "/p q",
        "query": "a=1",
        "body": "abcde",
        "length": "5",
        "headers": ["HTTP_X_DASH"],  # X_Dash would have posed as X-Dash: dropped
    }


def test_pipelined_requests_are_answered_in_order(server: LocalServer) -> None:
    requests = b"".join(f"GET /{n} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for n in range(50))
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(requests + b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):  # the last request closes the connection
            received += chunk
    paths = [
        json.loads(part.split(b"\r\n\r\n", 1)[1].split(b"HTTP/1.1", 1)[0])["path"]
        for part in received.split(b"HTTP/1.1 200 OK")[1:]
    ]
    assert paths == [f"/{n}" for n in range(50)] + ["/last"]


def test_a_crashing_app_answers_json_500_in_the_error_shape_and_serves_on() -> None:
    def crash(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("a bug")

    with LocalServer(crash, run_inline=lambda method, path: True) as local:
        for _ in range(2):
            answer = raw_exchange(local.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
            assert answer.startswith(b"HTTP/1.1 500 ") and body_of(answer)["error_code"] == "INTERNAL_ERROR"


def test_slow_answers_take_at_most_the_pool_size_and_stop_ends_them_at_once() -> None:
    """Four threads for ten slow requests: four run at a time, none waits for the others' ends to start."""
    release = threading.Event()
    running: list[int] = []
    peak = [0]
    lock = threading.Lock()

    def slow(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with lock:
            running.append(1)
            peak[0] = max(peak[0], len(running))
        release.wait(10)
        with lock:
            running.pop()
        start_response("200 OK", [("Content-Length", "2")])
        return [b"{}"]

    local = LocalServer(slow, threads=4).start()
    socks = [socket.create_connection(("127.0.0.1", local.port), timeout=5) for _ in range(10)]
    try:
        for sock in socks:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + 5
        while len(running) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        assert peak[0] == 4
        release.set()
        assert all(sock.recv(1024).startswith(b"HTTP/1.1 200 ") for sock in socks)
        release.clear()
        for sock in socks[:2]:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # two workers busy again
        time.sleep(0.1)
        started = time.monotonic()
        local.stop()
        assert time.monotonic() - started < 0.5
        assert socks[0].recv(1024) == b""  # closed, unanswered
    finally:
        release.set()
        for sock in socks:
            sock.close()


@pytest.mark.parametrize(
    "line",
    [b"Host", b"Host : x", b" folded: y", b"A: b\nc", b"A: b\rc", b"A: b\x00", b": b", b"X\xe9: 1"],
    ids=["no colon", "space before colon", "folded", "bare LF", "bare CR", "NUL", "no name", "non-token name"],
)
def test_a_malformed_header_line_is_a_400_even_after_the_same_name_was_accepted(
    server: LocalServer, line: bytes
) -> None:
    """Header names a connection has seen are remembered: the line around them is still checked."""
    ok = raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nConnection: close\r\n\r\n", timeout=5)
    assert ok.startswith(b"HTTP/1.1 200 ")
    answer = raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + line + b"\r\n\r\n", timeout=5)
    assert answer.startswith(b"HTTP/1.1 400 ") and body_of(answer)["error_code"] == "MALFORMED_REQUEST", answer
