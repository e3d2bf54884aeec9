"""What retrying cannot fix fails at once; what it can is bounded; every answer is read within bounds.

Real sockets only: a closed port, a name under .invalid (RFC 6761: never
resolves), tiny raw-socket servers for a silent host, a TLS server with an
untrusted certificate and a TLS server spoken to in plain HTTP, and the
emulator's drip and huge fault modes for slow and large answers.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
import requests
from fake_clock import FakeClock
from helpers import free_port, get_failing

from stp_ext.connect import http as connect_http
from stp_ext.core.wire import TransportFailure, classify
from stp_ext.emulator import Emulator
from stp_ext.workspace.sdk_seam import load_core
from stp_ext.workspace.transport import bound_session

PARTNERS = "/api/2.0/partnerhub/self-test-partners"
RETRY_ENV = "DATABRICKS_STP_RETRY_TIMEOUT_SECONDS"
HTTP_ENV = "DATABRICKS_STP_HTTP_TIMEOUT_SECONDS"


@pytest.fixture(scope="module", autouse=True)
def _sdk_imported() -> None:
    load_core()  # its one-off import cost is not part of what is timed


@pytest.fixture
def defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped timeouts (conftest shortens them for other tests)."""
    monkeypatch.delenv(RETRY_ENV, raising=False)
    monkeypatch.delenv(HTTP_ENV, raising=False)


class Listener:
    """Accepts connections and counts them; answers with ``reply`` (bytes) after the request, or never."""

    def __init__(self, reply: bytes | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.reply = reply
        self.tls = tls
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.settimeout(2)
            with contextlib.suppress(OSError, ssl.SSLError):
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                if self.reply is not None:
                    conn.recv(65536)
                    conn.sendall(self.reply)
                    conn.close()
                    continue
            self._held.append(conn)  # silent: keep it open, never answer

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._held:
            conn.close()
        self.sock.close()


@contextlib.contextmanager
def listening(reply: bytes | None = None, tls: ssl.SSLContext | None = None) -> Iterator[Listener]:
    listener = Listener(reply, tls)
    try:
        yield listener
    finally:
        listener.close()


# -- fail at once -----------------------------------------------------------------------------


def test_a_closed_port_fails_on_the_first_try(defaults: None, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """It took 9.7 s, then 0.4 s (a 0.3 s retry; the legacy CLI: 0.21 s): now one attempt, no pause."""
    host = f"http://127.0.0.1:{free_port()}"
    clock = FakeClock()
    _result, elapsed, first = get_failing(partial(run, clock=clock), host, monkeypatch)
    assert first == f"Error: cannot reach {host}: connection refused (is the port right, is the service up?)"
    assert clock.slept == []  # not retried: nothing listens there
    assert elapsed < 1


def test_an_unknown_host_fails_at_once(defaults: None, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    result, elapsed, first = get_failing(run, "https://no-such-workspace.invalid/?o=1", monkeypatch)
    assert first == "Error: cannot use https://no-such-workspace.invalid: the host name does not resolve (DNS)"
    assert "Is the host name spelled right?" in result.stderr
    assert elapsed < 1


def test_https_to_a_plain_http_port_fails_at_once(
    defaults: None, run: Any, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = f"https://127.0.0.1:{emulator.port}"
    result, elapsed, first = get_failing(run, host, monkeypatch)
    assert first == f"Error: cannot use {host}: the TLS handshake failed: the server does not speak HTTPS on that port"
    assert "http:// instead of https://" in result.stderr
    assert elapsed < 1


def test_plain_http_to_a_tls_port_fails_at_once(defaults: None, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # What a TLS server sends to a plain HTTP request: a TLS alert record (protocol version).
    with listening(reply=b"\x15\x03\x03\x00\x02\x02\x46") as server:
        host = f"http://127.0.0.1:{server.port}"
        result, elapsed, first = get_failing(run, host, monkeypatch)
        accepted = server.accepted
    assert first == f"Error: cannot use {host}: it answered in TLS to a plain HTTP request"
    assert "Use https://" in result.stderr
    assert accepted == 1
    assert elapsed < 1


def test_an_untrusted_certificate_fails_at_once(
    defaults: None, run: Any, monkeypatch: pytest.MonkeyPatch, untrusted_tls: ssl.SSLContext
) -> None:
    with listening(reply=b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", tls=untrusted_tls) as server:
        host = f"https://127.0.0.1:{server.port}"
        result, elapsed, first = get_failing(run, host, monkeypatch)
        accepted = server.accepted
    # OpenSSL's reason follows: which check failed (self-signed, expired, another host's name).
    assert first == f"Error: cannot use {host}: its TLS certificate is not trusted (self-signed certificate)"
    assert "REQUESTS_CA_BUNDLE" in result.stderr
    assert accepted == 1
    assert elapsed < 1


def _both_roads(url: str, seconds: float) -> tuple[TransportFailure, TransportFailure]:
    """The failure of a workspace call (requests, through the workspace's bounded session) and of
    connect-test's client (http.client) sending to the same ``url``."""
    with requests.Session() as session:
        bound_session(session, seconds)
        try:
            session.get(url, timeout=seconds)
        except requests.RequestException as e:
            workspace = classify(e)
    try:
        connect_http.send("GET", url, timeout=seconds)
    except TransportFailure as e:
        connect = e
    return workspace, connect


@pytest.mark.parametrize(
    ("shape", "kind"),
    [
        ("closed port", "connection_refused"),
        ("https to plain", "scheme"),
        ("plain to tls", "scheme"),
        ("untrusted", "tls"),
        ("silent", "timeout"),
    ],
)
def test_one_failure_has_one_name_on_both_roads(
    shape: str, kind: str, emulator: Emulator, untrusted_tls: ssl.SSLContext
) -> None:
    """Workspace calls and connect-test name and word each transport failure alike (one vocabulary)."""
    replies = {"plain to tls": (b"\x15\x03\x03\x00\x02\x02\x46", None), "untrusted": (b"", untrusted_tls)}
    with listening(*replies.get(shape, (None, None))) as server:
        url = {
            "closed port": f"http://127.0.0.1:{free_port()}/",
            "https to plain": f"https://127.0.0.1:{emulator.port}/",
        }.get(shape, f"{'https' if shape == 'untrusted' else 'http'}://127.0.0.1:{server.port}/")
        # Time enough for a TLS handshake on a busy machine; a silent host costs the whole of it.
        workspace, connect = _both_roads(url, 0.3 if shape == "silent" else 5)
    assert workspace.kind == connect.kind == kind
    if shape != "silent":  # connect-test names its time budget: "no complete answer within 0.3 s (timed out)"
        assert workspace.message == connect.message
        assert workspace.hint == connect.hint


# -- bounded -------------------------------------------------------------------------------------


def test_a_silent_host_costs_one_http_timeout_and_one_retry_at_most(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HTTP_ENV, "0.5")
    monkeypatch.setenv(RETRY_ENV, "6")
    with listening() as server:
        host = f"http://127.0.0.1:{server.port}"
        _, elapsed, first = get_failing(run, host, monkeypatch)
        assert server.accepted == 2  # one retry, because a whole HTTP timeout still fitted
    assert first.startswith(f"Error: cannot reach {host}: no answer (timed out) (gave up after 1.")
    assert 1.0 <= elapsed < 1.6

    monkeypatch.setenv(RETRY_ENV, "0.4")  # a second timeout would not fit in the budget
    with listening() as server:
        __, elapsed, first = get_failing(run, f"http://127.0.0.1:{server.port}", monkeypatch)
        assert server.accepted == 1
    assert elapsed < 1.1


def test_a_dripping_answer_is_cut_at_the_http_timeout(
    env_auth: Emulator, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 40-byte answer at 1 byte/s with a 2 s HTTP timeout took 37.6 s."""
    monkeypatch.setenv(HTTP_ENV, "1")
    monkeypatch.setenv(RETRY_ENV, "1")
    body = {"partners": [], "padding": "x" * 14}  # 40 bytes of JSON
    env_auth.faults.arm(path_prefix=f"{PARTNERS}/get", fail_next=1, mode="drip", status=200, body=body, drip_ms=200)
    started = time.monotonic()
    result = run("get", "-e")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"Error: cannot reach {env_auth.url}: the answer was still arriving after the HTTP timeout")
    assert elapsed < 1 + 0.2 + 0.5  # the timeout, one drip, a margin


def test_a_slow_drip_within_the_timeout_is_read_whole(env_auth: Emulator, run: Any) -> None:
    env_auth.faults.arm(path_prefix=f"{PARTNERS}/get", fail_next=1, mode="drip", status=200, drip_ms=20)
    result = run("get", "-e", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"partners": []}


def test_a_huge_answer_is_refused_at_the_size_bound(
    env_auth: Emulator, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 100 MB answer used 1.18 GB and 70 s; reading stops at 16 MiB."""
    import resource

    from stp_ext.workspace.transport import MAX_BODY_BYTES

    monkeypatch.setenv(HTTP_ENV, "20")
    env_auth.faults.arm(path_prefix=f"{PARTNERS}/get", fail_next=1, mode="huge", status=200, size_bytes=100_000_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result = run("get", "-e")
    elapsed = time.monotonic() - started
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"Error: cannot use {env_auth.url}: the answer is larger than 16 MiB"
    assert MAX_BODY_BYTES == 16 * 1024 * 1024
    assert grown_kib < 3 * MAX_BODY_BYTES / 1024  # the bytes kept, a copy to join them, slack: not 100 MB
    assert elapsed < 10
