"""A tiny HTTP client for playing Databricks against a partner endpoint.

Built on ``http.client`` rather than a full client library because connect-test
must see the wire as Databricks does: no automatic redirects (a 302 is a
finding, not something to follow), a hard time budget per request, a cap on
how much of a body is read (a runaway body is a finding, not a memory
problem), and every transport failure turned into a ``TransportFailure`` with a
stable ``kind`` instead of a traceback. The reader and the failure names are
the tool's one HTTP vocabulary, ``stp_ext.core.wire``, shared with workspace calls.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import ipaddress
import json
import os
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from stp_ext.core.wire import TransportFailure, classify, read_capped

# A connect answer is a few hundred bytes; a megabyte is already absurd.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


@dataclass
class HttpResponse:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""
    truncated: bool = False  # the body was longer than the cap; only the cap was read
    elapsed_ms: float = 0.0

    @property
    def content_type(self) -> str:
        """The media type alone, lower-cased: ``application/json; charset=utf-8`` -> ``application/json``."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` when it is not (or is nested absurdly deep)."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except RecursionError:
            raise ValueError("the JSON is nested too deeply to read") from None


class Cancel:
    """Ends every request of one run at once (Ctrl-C).

    Open sockets are shut down, which wakes a thread blocked reading them;
    requests started afterwards fail at once. Shared by the threads of a run.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.cancelled = False

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def register(self, sock: socket.socket) -> None:
        with self._lock:
            if self.cancelled:
                _shut(sock)
                raise TransportFailure("cancelled", "interrupted")
            self._sockets.add(sock)

    def unregister(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)


class _Deadline:
    """The time budget of one exchange, enforced whole.

    Each socket operation gets the time left, and a watchdog shuts the
    socket down when the budget is spent: a peer that sends a byte now and
    then (a status line a byte at a time, ``100 Continue`` every few seconds)
    cannot stretch the exchange past ``timeout``.
    """

    def __init__(self, timeout: float, cancel: Cancel | None) -> None:
        self.deadline = time.monotonic() + timeout
        self.cancel = cancel
        self.expired = False
        self._sock: socket.socket | None = None
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.expired = True
            raise socket.timeout("out of time")
        if self.cancel is not None and self.cancel.cancelled:
            raise TransportFailure("cancelled", "interrupted")
        return left

    def guard(self, sock: socket.socket) -> None:
        """Watch ``sock`` (replacing any socket watched before: TLS wraps the plain one)."""
        if self._sock is not None and self.cancel is not None:
            self.cancel.unregister(self._sock)
        self._sock = sock
        if self.cancel is not None:
            self.cancel.register(sock)
        if self._timer is None:
            self._timer = threading.Timer(self.remaining(), self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _expire(self) -> None:
        self.expired = True
        if self._sock is not None:
            _shut(self._sock)

    def release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._sock is not None and self.cancel is not None:
            self.cancel.unregister(self._sock)


def send(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    cancel: Cancel | None = None,
) -> HttpResponse:
    """One request on a fresh connection; raises ``TransportFailure`` when there is no HTTP answer.

    ``timeout`` bounds the whole exchange (connect, TLS, request, status line,
    headers, body), not each socket operation, so a server that trickles
    bytes cannot hold the test for longer. ``cancel`` ends it early.
    """
    target = _Target.of(url)
    started = time.monotonic()
    budget = _Deadline(timeout, cancel)
    conn: http.client.HTTPConnection | None = None
    try:
        conn = _open(target, budget)
        response = _exchange(conn, method, target.path, body, headers or {}, budget, max_body_bytes)
        response.elapsed_ms = (time.monotonic() - started) * 1000
        return response
    except TransportFailure:
        raise
    except Exception as e:
        raise _failure(e, budget, timeout) from None
    finally:
        budget.release()
        if conn is not None:
            conn.close()


@dataclass(frozen=True)
class _Target:
    """Where a URL sends a request: scheme, host, port and the request target (path and query)."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def of(cls, url: str) -> _Target:
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:  # an unclosed [IPv6 literal, a port out of range
            raise TransportFailure("bad_url", f"not a valid URL ({e}): {url}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportFailure("bad_url", f"not an absolute http(s) URL: {url}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.scheme, parts.hostname, port, path)


def _open(target: _Target, budget: _Deadline) -> http.client.HTTPConnection:
    """A connection to ``target``, connected (and TLS-shaken) within the budget, its socket guarded."""
    sock = _connect(target.host, target.port, budget)
    if target.scheme != "https":
        conn = http.client.HTTPConnection(target.host, target.port)
    else:
        context = ssl.create_default_context()
        sock = context.wrap_socket(sock, server_hostname=target.host, do_handshake_on_connect=False)
        budget.guard(sock)
        sock.settimeout(budget.remaining())
        sock.do_handshake()
        conn = http.client.HTTPSConnection(target.host, target.port, context=context)
    conn.sock = sock  # connected and guarded: http.client uses it as is
    return conn


def _exchange(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    budget: _Deadline,
    max_body_bytes: int,
) -> HttpResponse:
    """Send the request and read the whole answer, every wait bounded by what is left of the budget."""
    sock = conn.sock
    sock.settimeout(budget.remaining())
    conn.request(method, path, body=body, headers=headers)
    sock.settimeout(budget.remaining())
    response = conn.getresponse()
    read = read_capped(
        response.read1, budget.deadline, max_body_bytes, before_read=lambda: sock.settimeout(budget.remaining())
    )
    if budget.expired:  # the watchdog cut the body short: an end of data that is not the answer's end
        raise socket.timeout("out of time")
    return HttpResponse(
        status=response.status,
        reason=response.reason,
        headers={name.lower(): value for name, value in response.getheaders()},
        body=read.data,
        truncated=read.truncated,
    )


def _failure(error: Exception, budget: _Deadline, timeout: float) -> TransportFailure:
    if budget.cancel is not None and budget.cancel.cancelled:
        return TransportFailure("cancelled", "interrupted")
    if budget.expired:  # whatever the socket said when the watchdog shut it: the budget ran out
        return classify(socket.timeout("out of time"), timeout)
    return classify(error, timeout)


def _connect(host: str, port: int, budget: _Deadline) -> socket.socket:
    """A connected socket, waiting in short slices so that a cancel or the deadline ends the wait."""
    error: OSError | None = None
    for family, kind, protocol, _, address in _resolve(host, port, budget):
        sock = socket.socket(family, kind, protocol)
        try:
            budget.guard(sock)
            sock.setblocking(False)
            code = sock.connect_ex(address)
            while code in (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK, errno.EAGAIN):
                _, writable, failed = select.select([], [sock], [sock], min(0.1, budget.remaining()))
                if writable or failed:
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code == 0:
                sock.setblocking(True)
                return sock
            error = OSError(code, os.strerror(code))  # ECONNREFUSED makes a ConnectionRefusedError
        except BaseException:
            sock.close()
            raise
        sock.close()
    raise error or OSError(f"no address for {host}")


def _resolve(host: str, port: int, budget: _Deadline) -> list[Any]:
    """getaddrinfo within the budget: a stuck resolver must not outlast the timeout or Ctrl-C.

    getaddrinfo cannot be interrupted, so a host name is resolved on a daemon
    thread that is abandoned when the budget runs out; an IP literal needs no
    lookup and is resolved here.
    """
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except Exception as e:  # handed to the waiting thread, which raises it
            outcome["error"] = e
        finally:
            done.set()

    threading.Thread(target=lookup, name=f"resolve {host}", daemon=True).start()
    while not done.wait(min(0.1, budget.remaining())):
        pass
    if "error" in outcome:
        raise outcome["error"]
    return list(outcome["addresses"])


def _shut(sock: socket.socket) -> None:
    # OSError: already closed or never connected, so nothing is blocked on it.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
