"""A WSGI app on a real socket, in a background thread or in the foreground: ``LocalServer``.

Shared by the workspace emulator and the sample partner: one server core, so
one security surface. An asyncio protocol per connection (stdlib only) in
small pieces:

- ``http11.py``: a connection's bytes to whole requests; body and header caps
  (413, 431), bad framing (400), a request with both Content-Length and
  Transfer-Encoding read as chunked and its connection closed after the answer
  (RFC 9112, 6.1: what follows may be a smuggled request);
- ``wsgi.py``: the environ, the app's answer to bytes (status line, headers and
  body in one write), the server's own errors as JSON in the app's error shape
  (``error_document``; the workspace's ``{"error_code", "message"}`` by default),
  ``drop_connection()`` and ``raw_response()``;
- ``connection.py``: one connection: requests in order, one at a time; quick
  answers (``run_inline``) in the loop, so they are answered even when every
  worker is busy; a ``hold`` (a latency fault) parked on a loop timer, no
  thread waiting; the rest handed to a worker; pipelined requests answered one
  per connection per turn, and only once the client has read the last answer;
- ``limits.py``: the connection limit, the whole-request deadline (slowloris),
  the idle keep-alive and unread-answer timeouts;
- ``workers.py``: the bounded pool of worker threads and their hand-off to the loop;
- ``group.py``: group commit, the one writer thread that answers durable writes a
  group at a time and sends their answers once the group is durable;
- ``loop.py``: accepting, the bounds' sweep, stopping.

This module: binding (a taken port is one ``Error:`` line), the thread, and
``stop()`` and Ctrl-C within a fraction of a second.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from stp_ext.core.errors import StpError
from stp_ext.servers.connection import Hold, Shared
from stp_ext.servers.group import Group, GroupWriter
from stp_ext.servers.http11 import MAX_BODY_BYTES, MAX_HEADER_BYTES
from stp_ext.servers.limits import IDLE_TIMEOUT_S, REQUEST_TIMEOUT_S
from stp_ext.servers.loop import Loop
from stp_ext.servers.workers import Workers
from stp_ext.servers.wsgi import (
    HELD,
    RAW_RESPONSE,
    DropConnection,
    ErrorDocument,
    Site,
    drop_connection,
    raw_response,
    workspace_error,
)

THREADS = 32  # slow answers (a click calling a partner, the slow partner) must not queue the others

__all__ = [
    "HELD",
    "IDLE_TIMEOUT_S",
    "MAX_BODY_BYTES",
    "MAX_HEADER_BYTES",
    "RAW_RESPONSE",
    "REQUEST_TIMEOUT_S",
    "THREADS",
    "DropConnection",
    "ErrorDocument",
    "Hold",
    "LocalServer",
    "drop_connection",
    "listening_socket",
    "raw_response",
    "url_for",
    "workspace_error",
]


class LocalServer:
    """``app`` served on ``host:port`` (0: a free port), until ``stop`` or Ctrl-C.

    ``run_inline(method, path)``: True when the app answers at once, so the
    loop answers it itself; ``never_inline``: path prefixes always answered by
    a worker (their app calls out, and the peer it calls may call this server
    back); ``hold(method, path)``: None, or (seconds to park the request, a
    note the app finds under ``HELD`` in its environ); ``grouped(method, path)``:
    a durable write, answered by one writer thread inside ``group(since)`` with
    the others that waited meanwhile, and sent once that group is durable
    (group commit, ``group.py``).
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        request_timeout: float = REQUEST_TIMEOUT_S,
        idle_timeout: float = IDLE_TIMEOUT_S,
        threads: int = THREADS,
        run_inline: Callable[[str, str], bool] | None = None,
        never_inline: tuple[str, ...] = (),
        error_document: ErrorDocument = workspace_error,
        hold: Hold | None = None,
        grouped: Callable[[str, str], bool] | None = None,
        group: Group | None = None,
    ) -> None:
        self.app = app
        self.error_document = error_document
        self.host = host
        self.requested_port = port
        self.max_body_bytes = max_body_bytes
        self.request_timeout = request_timeout
        self.idle_timeout = idle_timeout
        self.threads = threads
        self.run_inline = run_inline
        self.never_inline = never_inline
        self.hold = hold
        self.grouped = grouped if group is not None else None
        self.group = group
        self._loop: Loop | None = None
        self._port: int | None = None  # kept after stop(), so a URL can still be named
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def url(self) -> str:
        return url_for(self.host, self.port)

    def quick(self, method: str, path: str) -> bool:
        """Whether the loop answers this request itself (see ``run_inline``)."""
        return self.run_inline is not None and self.run_inline(method, path) and not path.startswith(self.never_inline)

    def bind(self) -> LocalServer:
        """Bind the port without serving yet (``start`` and ``serve_forever`` call it)."""
        if self._loop is None:
            sock = listening_socket(self.host, self.requested_port)
            port = int(sock.getsockname()[1])
            shared = Shared(
                self.app,
                Site(self.host, port),
                Workers(self.threads),
                max_body=self.max_body_bytes,
                error_document=self.error_document,
                quick=self.run_inline if self.run_inline is not None and not self.never_inline else self.quick,
                hold=self.hold,
                grouped=self.grouped,
            )
            if self.group is not None:
                shared.writer = GroupWriter(self.app, self.group, self.error_document)
            self._loop = Loop(sock, shared, request_timeout=self.request_timeout, idle_timeout=self.idle_timeout)
            self._port = port
        return self

    def start(self) -> LocalServer:
        """Serve in a daemon thread; returns at once (the port already accepts connections)."""
        self.bind()
        self._thread = threading.Thread(target=self._run, name="stp-serving", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C (returns normally) or ``stop`` from another thread."""
        self.bind()
        with contextlib.suppress(KeyboardInterrupt):
            self._run()

    def _run(self) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            loop.run()
        finally:
            self.stopping.set()
            self._loop = None

    def stop(self) -> None:
        self.stopping.set()
        loop, thread = self._loop, self._thread
        if loop is not None:
            loop.stop()
        if thread is not None:
            thread.join(timeout=5)
            self._thread = None
        elif loop is not None and not loop.loop.is_running():
            loop.listener.close()  # bound, never served
            loop.loop.close()
            self._loop = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def url_for(host: str, port: int) -> str:
    """A URL a client on this machine can use: a wildcard address is reached on loopback."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if sys.platform != "win32":
            # Rebinding right after a restart must work (on Windows this flag means port sharing).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as e:
        sock.close()
        raise StpError(
            f"cannot listen on {host}:{port}: {e.strerror or e}",
            hint="Choose another --port, or 0 for a free one.",
        ) from None
    return sock
