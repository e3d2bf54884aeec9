"""The I/O loop of one server: accepting connections up to the limit, the bounds' sweep, stopping.

An asyncio selector loop of its own (stdlib only), run in the thread that
serves: ``LocalServer.start`` gives it a daemon thread, ``serve_forever`` the
caller's. Accepting is ours (``add_reader`` on the listening socket, up to 64
connections per turn) so that past the connection limit the server simply
stops accepting, and resumes when a connection ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

from stp_ext.servers import limits
from stp_ext.servers.connection import Connection, Shared

log = logging.getLogger("stp_ext.servers")
ACCEPT_PER_TURN = 64  # a turn can take tens of milliseconds under load: one accept each would starve newcomers


class Loop:
    def __init__(self, listener: socket.socket, shared: Shared, *, request_timeout: float, idle_timeout: float) -> None:
        self.listener = listener
        self.shared = shared
        self.request_timeout = request_timeout
        self.idle_timeout = idle_timeout
        self.limit = limits.connection_limit()
        self.loop = asyncio.SelectorEventLoop()  # add_reader works on every platform's selector loop
        # asyncio's own handler prints to stderr: ours goes to the tool's log (nowhere without --debug).
        self.loop.set_exception_handler(_log_loop_error)
        shared.loop = self.loop
        shared.on_lost = self._below_limit
        if shared.writer is not None:
            shared.writer.deliver = self._deliver_group
        self._accepting = False
        self._pending: set[Any] = set()  # connections being set up (their tasks)
        listener.setblocking(False)

    def run(self) -> None:
        """Serve until ``stop`` (or an exception such as KeyboardInterrupt); then close every connection."""
        try:
            self._accept_on()
            self.loop.call_soon(self._sweep)
            self.loop.run_forever()
        finally:
            self._close_all()

    def stop(self) -> None:
        """From any thread: the loop ends at once (run's caller then closes everything)."""
        with contextlib.suppress(RuntimeError):  # already closed
            self.loop.call_soon_threadsafe(self.loop.stop)

    # -- accepting ------------------------------------------------------------------------------------

    def _accept_on(self) -> None:
        if not self._accepting:
            self._accepting = True
            self.loop.add_reader(self.listener.fileno(), self._accept)

    def _accept_off(self) -> None:
        if self._accepting:
            self._accepting = False
            self.loop.remove_reader(self.listener.fileno())

    def _below_limit(self) -> None:
        if not self._accepting and self._open() < self.limit and not self.loop.is_closed():
            self._accept_on()

    def _open(self) -> int:
        return len(self.shared.connections) + len(self._pending)

    def _accept(self) -> None:
        for _ in range(ACCEPT_PER_TURN):
            if self._open() >= self.limit:
                self._accept_off()  # the rest wait in the backlog until a connection ends
                return
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # out of descriptors, say: wait a moment rather than spin
                log.warning("serving: accept failed: %s", e)
                self._accept_off()
                self.loop.call_later(0.1, self._below_limit)
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = self.loop.create_task(self._connect(sock))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _connect(self, sock: socket.socket) -> None:
        shared = self.shared
        try:
            await self.loop.connect_accepted_socket(lambda: Connection(shared), sock)
        except OSError:
            sock.close()  # gone before it was set up

    def _deliver_group(self, answers: list[tuple[Any, bytes, bool]]) -> None:
        """From the group writer's thread: a committed group's answers, sent by the loop."""

        def send() -> None:
            for conn, data, close in answers:
                conn.group_answered(data, close)

        with contextlib.suppress(RuntimeError):  # the loop is closed: the server stopped
            self.loop.call_soon_threadsafe(send)

    # -- bounds and stopping --------------------------------------------------------------------------

    def _sweep(self) -> None:
        limits.sweep(self.shared.connections, self.request_timeout, self.idle_timeout)
        self.loop.call_later(limits.SWEEP_S, self._sweep)

    def _close_all(self) -> None:
        """Close the listener and every connection, stop the workers; the loop is then closed."""
        loop = self.loop
        self.shared.on_lost = lambda: None  # a connection closing now must not start accepting again
        self._accept_off()
        self.listener.close()
        self.shared.workers.stop()
        if self.shared.writer is not None:
            self.shared.writer.stop()
        for task in list(self._pending):
            task.cancel()
        for conn in list(self.shared.connections):
            if conn.handoff is not None:
                conn.handoff.gone.set()
            conn.transport.abort()
        try:
            loop.run_until_complete(asyncio.sleep(0))  # the transports' own close callbacks
            loop.run_until_complete(asyncio.sleep(0))
        finally:
            loop.close()


def _log_loop_error(loop: Any, context: dict[str, Any]) -> None:
    log.error("serving: %s", context.get("message", "error in the I/O loop"), exc_info=context.get("exception"))
