"""The handle of a local server, shared by the workspace emulator and the sample partner.

Both wrap a ``LocalServer`` around their WSGI app; what only forwards to it (where it listens,
bind, start, serve, stop, ``with``) is written here once. A subclass sets ``_server`` in its
``__init__`` and extends ``stop`` or ``serve_forever`` where it holds more (a state file, a
stop event).
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from stp_ext.servers.serving import LocalServer

H = TypeVar("H", bound="Hosted")


class Hosted:
    """A server handle: where it listens, and its life from bind to stop (a context manager)."""

    _server: LocalServer

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    def bind(self: H) -> H:
        """Bind the port without serving yet (``start`` and ``serve_forever`` call it)."""
        self._server.bind()
        return self

    def start(self: H) -> H:
        """Serve in a daemon thread; returns self once the port accepts connections."""
        self._server.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C) or ``stop`` is called from another."""
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self: H) -> H:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
