"""A WSGI app on a real socket, in a background thread or in the foreground.

Shared by the workspace emulator and the sample partner: bind (port 0 picks a
free port), serve threaded, stop promptly. We bind the socket ourselves and
hand werkzeug the descriptor: werkzeug's own bind prints to stderr and calls
``sys.exit(1)`` when the port is taken, where we want one ``Error:`` line.
"""

from __future__ import annotations

import socket
import sys
import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from stp_ext.errors import StpError


class QuietHandler(WSGIRequestHandler):
    """werkzeug logs every request on stderr by itself; our apps keep their own log."""

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class LocalServer:
    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        handler: type[WSGIRequestHandler] = QuietHandler,
    ) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.handler = handler
        self._server: BaseWSGIServer | None = None
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
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def bind(self) -> LocalServer:
        """Bind the port without serving yet (``start`` and ``serve_forever`` call it)."""
        if self._server is None:
            sock = listening_socket(self.host, self.requested_port)
            try:
                # werkzeug duplicates the descriptor (socket.fromfd), so ours is closed after.
                self._server = make_server(
                    self.host,
                    self.requested_port,
                    self.app,
                    threaded=True,
                    request_handler=self.handler,
                    fd=sock.fileno(),
                )
                self._port = int(self._server.port)
            finally:
                sock.close()
        return self

    def start(self) -> LocalServer:
        """Serve in a daemon thread; returns once the port accepts connections."""
        self.bind()
        assert self._server is not None
        # shutdown() waits for the loop's next poll: a short interval makes stop() near-instant.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C) or ``stop`` is called from another."""
        self.bind()
        assert self._server is not None
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self.stopping.set()

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=5)
            self._server.server_close()
            self._server = None
        self._thread = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if sys.platform != "win32":
            # Same as werkzeug/http.server: rebinding right after a restart must work.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise StpError(
            f"cannot listen on {host}:{port}: {e.strerror or e}",
            hint="Choose another --port, or 0 for a free one.",
        ) from None
    return sock
