"""One client connection: an asyncio protocol that reads requests whole, in order, and answers each.

A request is answered one of three ways, decided when its last byte is in:

- **in the loop**, when the app says its answer is quick (``run_inline``):
  no thread hand-off, so the control API and health answer even when every
  worker is busy;
- **parked** on a loop timer when ``hold`` says so (a latency fault): no
  thread waits meanwhile; then it goes to a worker;
- **by a worker** otherwise (``workers.py``).

One request per connection at a time, in order: while one is answered the
connection reads nothing more; the next pipelined request waits for the next
turn of the loop (so a client pipelining thousands gets its turn like
everyone else) and for the client to have read the previous answer (the
write buffer's limit is 0: anything unsent pauses the connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from stp_ext.servers.http11 import Head, HttpError, RequestReader
from stp_ext.servers.workers import Handoff, Workers
from stp_ext.servers.wsgi import HELD, ErrorDocument, Site, answer, environ_for, error_answer

LINGER_S = 2.0  # after a refusal: how long the rest of what the client sends is read and dropped
READ_BYTES = 64 * 1024  # one read of one connection: what a paused connection may hold beyond a request

Hold = Callable[[str, str], "tuple[float, Any] | None"]


class Shared:
    """What every connection of one server uses: the app, its hooks, the loop, the workers."""

    def __init__(
        self,
        app: Any,
        site: Site,
        workers: Workers,
        *,
        max_body: int,
        error_document: ErrorDocument,
        quick: Callable[[str, str], bool],
        hold: Hold | None,
        grouped: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.app = app
        self.site = site
        self.workers = workers
        self.max_body = max_body
        self.error_document = error_document
        self.quick = quick  # (method, PATH_INFO): answer in the loop
        self.hold = hold
        self.grouped = grouped  # (method, PATH_INFO): a durable write, answered by the group writer
        self.writer: Any = None  # the GroupWriter (group.py), when grouped is given
        self.loop: Any = None  # set when the loop is made
        self.connections: set[Connection] = set()
        self.on_lost: Callable[[], None] = lambda: None  # the listener resumes accepting below the limit
        self.read_buffer = memoryview(bytearray(READ_BYTES))  # one for all: the loop reads one socket at a time


class Connection(asyncio.BufferedProtocol):
    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.transport: Any = None
        self.buffer = bytearray()  # received, not yet consumed by a request
        self.reader = RequestReader(shared.max_body)
        self.started = 0.0  # when the first byte of the request being read came; 0: none being read
        self.last = time.monotonic()  # the last byte read or answer finished: the idle timeout counts from it
        self.busy = False  # an answer is parked on a timer or in a worker's hands
        self.closing = False  # answered for the last time: what comes is dropped
        self.closed = False
        self.reading = True
        self.scheduled = False  # the next request's turn is already on the loop
        self.unread_since = 0.0  # when the client stopped reading its answers; 0 while it reads
        self.waiting_writes: list[threading.Event] = []  # workers waiting for the client to read
        self.handoff: Handoff | None = None
        self.timer: Any = None
        self.continued = False  # 100 Continue sent for the request being read
        self.peer = ""

    # -- asyncio's callbacks ----------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(high=0)  # pause_writing as soon as anything is left unsent
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else ""
        self.shared.connections.add(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.shared.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        if self.closing:
            return  # lingering: read and dropped
        self.last = time.monotonic()
        self.buffer += self.shared.read_buffer[:nbytes]
        if self.busy or self.scheduled:
            self._pause_reading()  # the request being answered comes first
        else:
            self.advance()

    def eof_received(self) -> bool:
        return False  # the transport closes: a half-closed client gets no more answers

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = self.closing = True
        self.shared.connections.discard(self)
        if self.handoff is not None:
            self.handoff.gone.set()
        self._release_writers()
        if self.timer is not None:
            self.timer.cancel()
        self.shared.on_lost()

    def pause_writing(self) -> None:
        self.unread_since = time.monotonic()

    def resume_writing(self) -> None:
        self.unread_since = 0.0
        self._release_writers()
        if not self.busy and self.buffer and not self.scheduled:
            self._next_turn()

    # -- reading requests -----------------------------------------------------------------------------

    def advance(self) -> None:
        """Read the next request the buffer holds and answer it, if it is whole; else read on."""
        self.scheduled = False
        if self.closing or self.busy or self.unread_since:
            return  # resume_writing calls again once the client has read its answers
        if not self.buffer and not self.reader.started:
            self._resume_reading()
            return
        if not self.started:
            self.started = time.monotonic()
        try:
            head = self.reader.read_head(self.buffer)
            body = None if head is None else self._body(head)
        except HttpError as error:
            self.refuse(error)
            return
        if head is None or body is None:
            self._resume_reading()
            return
        self.started = 0.0
        self.continued = False
        self.dispatch(head, body)

    def _body(self, head: Head) -> bytes | None:
        body = self.reader.read_body(self.buffer)
        if body is None and head.expect and not self.continued:
            self.continued = True  # curl waits a second for this before it sends a body
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return body

    def refuse(self, error: HttpError) -> None:
        """Answer a request the server refuses itself (JSON, in the app's error shape), then close."""
        self.transport.write(error_answer(error, self.shared.error_document))
        self.close_gracefully()

    # -- answering ------------------------------------------------------------------------------------

    def dispatch(self, head: Head, body: bytes) -> None:
        shared = self.shared
        environ = environ_for(shared.site, head, body, self.peer)
        path = environ["PATH_INFO"]
        if shared.hold is not None:
            held = shared.hold(head.method, path)
            environ[HELD] = None if held is None else held[1]
            if held is not None and held[0] > 0:
                # Parked: no thread waits; the connection reads nothing more, so answers stay in order.
                self.busy = True
                self._pause_reading()
                self.timer = shared.loop.call_later(held[0], self.to_worker, environ, head)
                return
        if shared.grouped is not None and shared.grouped(head.method, path):
            self.busy = True  # answered with its group, once the group is durable (group.py)
            self._pause_reading()
            shared.writer.submit(self, environ, head)
        elif shared.quick(head.method, path):
            self.answered(answer(shared.app, environ, self, head, shared.error_document))
        else:
            self.to_worker(environ, head)

    def write(self, data: bytes) -> bool:
        """The loop's own writes (an inline answer)."""
        if self.closed:
            return False
        self.transport.write(data)
        return True

    def to_worker(self, environ: dict[str, Any], head: Head) -> None:
        self.timer = None
        if self.closed:
            return
        self.busy = True
        self._pause_reading()
        shared = self.shared
        handoff = self.handoff = Handoff(shared.loop.call_soon_threadsafe, self._deliver)

        def task() -> None:
            close = answer(shared.app, environ, handoff, head, shared.error_document)
            with contextlib.suppress(RuntimeError):  # the loop is closed: the server stopped
                shared.loop.call_soon_threadsafe(self._worker_done, close)

        shared.workers.submit(task)

    def _deliver(self, data: bytes, ready: threading.Event) -> None:
        """In the loop: a worker's bytes to the socket; ``ready`` is set once the client reads."""
        if self.closed:
            ready.set()
            return
        self.transport.write(data)
        if self.unread_since:
            self.waiting_writes.append(ready)
        else:
            ready.set()

    def group_answered(self, data: bytes, close: bool) -> None:
        """In the loop: this connection's write is durable; its answer goes out now."""
        if self.closed:
            return
        self.transport.write(data)
        self.busy = False
        self.answered(close)

    def _worker_done(self, close: bool) -> None:
        self.busy = False
        self.handoff = None
        self.answered(close)

    def answered(self, close: bool) -> None:
        if self.closed:
            return
        if close:
            self.close_gracefully()
            return
        self.last = time.monotonic()
        if self.buffer:
            self._next_turn()
        else:
            self._resume_reading()

    def _next_turn(self) -> None:
        """The next pipelined request on the loop's next turn: every other connection goes first."""
        self.scheduled = True
        self._pause_reading()
        self.shared.loop.call_soon(self.advance)

    # -- closing --------------------------------------------------------------------------------------

    def close_gracefully(self) -> None:
        """Close after what was written is sent; what the client still sends is read and dropped.

        Closing with unread bytes would reset the connection, and a reset may
        destroy the answer before the client reads it.
        """
        if self.closing:
            return
        self.closing = True
        self.buffer.clear()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._resume_reading()
            self.timer = self.shared.loop.call_later(LINGER_S, self.transport.abort)
        else:
            self.transport.close()

    def abort(self) -> None:
        """Close now, answering nothing (a timeout, or the server stopping)."""
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def _release_writers(self) -> None:
        waiting, self.waiting_writes = self.waiting_writes, []
        for ready in waiting:
            ready.set()

    def _pause_reading(self) -> None:
        if self.reading and not self.closed:
            self.reading = False
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if not self.reading and not self.closed:
            self.reading = True
            self.transport.resume_reading()
