"""Serve the sample partner over HTTP: in a background thread (tests, demo) or in the foreground.

``SamplePartner(port=0).start()`` binds a free port, so tests never collide;
``.url`` is then the base URL to put in front of ``/connect``.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from stp_ext.errors import StpError
from stp_ext.sample_partner.app import LogFunction, SamplePartnerApp
from stp_ext.sample_partner.faults import check_fault


class _QuietHandler(WSGIRequestHandler):
    """werkzeug logs every request on stderr by itself; the app logs through ``log`` instead."""

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class SamplePartner:
    """The reference Partner Connect endpoint on a real socket.

    ``auth_header``: the exact Authorization value to accept ("" accepts any
    request, as a partner that asked for no header). ``hostnames``: where
    redirect_uri points (a comma-separated string or a list); by default this
    server itself. ``fault``: a name from ``faults.FAULT_NAMES``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        auth_header: str = "",
        hostnames: str | Iterable[str] | None = None,
        fault: str | None = None,
        *,
        slow_seconds: float = 30.0,
        log: LogFunction | None = None,
    ) -> None:
        if isinstance(hostnames, str):
            hostnames = hostnames.split(",")
        self.host = host
        self.requested_port = port
        self._stopping = threading.Event()
        self.app = SamplePartnerApp(
            auth_header=auth_header,
            hostnames=hostnames,
            fault=check_fault(fault),
            slow_seconds=slow_seconds,
            stopping=self._stopping,
            log=log,
        )
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> Any:
        return self.app.state

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sample partner is not started")
        return int(self._server.port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def bind(self) -> SamplePartner:
        """Bind the port without serving yet (``start`` and ``serve_forever`` call it)."""
        if self._server is None:
            sock = _listening_socket(self.host, self.requested_port)
            try:
                # werkzeug duplicates the descriptor (socket.fromfd), so ours is closed after.
                self._server = make_server(
                    self.host,
                    self.requested_port,
                    self.app,
                    threaded=True,
                    request_handler=_QuietHandler,
                    fd=sock.fileno(),
                )
            finally:
                sock.close()
        return self

    def start(self) -> SamplePartner:
        """Serve in a daemon thread; returns self once the port accepts connections."""
        self.bind()
        assert self._server is not None
        # shutdown() waits for the loop's next poll: a short interval makes stop()
        # (once per test) near-instant, at the cost of idle wake-ups nobody notices.
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
            self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()  # wakes requests sleeping in the slow fault
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=5)
            self._server.server_close()
        self._thread = None

    def __enter__(self) -> SamplePartner:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _listening_socket(host: str, port: int) -> socket.socket:
    """Bind ourselves and hand werkzeug the descriptor.

    werkzeug's own bind prints to stderr and calls sys.exit(1) when the port
    is taken; binding here turns that into one ``Error:`` line instead.
    """
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
