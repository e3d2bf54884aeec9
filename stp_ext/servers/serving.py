"""A WSGI app on a real socket, in a background thread or in the foreground.

Shared by the workspace emulator and the sample partner. Served by waitress
(see pyproject.toml for why): keep-alive HTTP/1.1, request bodies and headers
read in full by one I/O loop before a worker thread sees them, so a slow or
half-open client costs a socket, not a thread, and every body is capped.

What this module adds to waitress:

- we bind the socket ourselves, so a taken port is one ``Error:`` line;
- the loop runs in short polls we own: ``stop()`` and Ctrl-C end it within
  a fraction of a second, on Windows too;
- errors waitress answers by itself (400 bad framing, 413 body too large,
  431 headers too large) are JSON in the app's own error shape
  (``error_document``; the workspace's ``{"error_code", "message"}`` by
  default), never a text page or a traceback;
- a request with both Content-Length and Transfer-Encoding is answered and
  its connection closed (RFC 9112, 6.1: such a message may be smuggling one);
- a request must arrive whole within ``request_timeout`` seconds of its first
  byte (slowloris), and an idle keep-alive connection is closed after
  ``idle_timeout``;
- ``drop_connection()``: an app answers it to close the connection without a byte, as a
  crashing proxy would (the emulator's ``drop`` fault);
- ``raw_response()``: an app writes the wire itself (the sample partner's hostile faults);
- ``hold``: an app may have a request wait (a latency fault) without a thread
  waiting with it: the request is parked on a timer in the I/O loop and handed
  to a worker when it is due, so any number of delayed requests cost no worker;
- ``run_inline(method, path)``: the requests the app answers at once run in the
  I/O thread, so they are answered even when every worker is busy.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import logging
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

from stp_ext.core.errors import StpError

MAX_BODY_BYTES = 1024 * 1024  # both servers' APIs take small JSON documents
MAX_HEADER_BYTES = 64 * 1024
REQUEST_TIMEOUT_S = 30.0  # from a request's first byte to its last
IDLE_TIMEOUT_S = 60  # an idle keep-alive connection
THREADS = 32  # slow answers (latency faults, the slow partner) must not queue the others; started as needed
_POLL_S = 0.1  # how long one turn of the I/O loop may wait: bounds stop() and Ctrl-C

ErrorDocument = Callable[[int, str, str], dict[str, Any]]
# hold(method, path): None, or (seconds to park the request before it is served, a note for the app).
Hold = Callable[[str, str], "tuple[float, Any] | None"]
HELD = "stp.held"  # in the WSGI environ when a hold is given: the note it returned for this request


def workspace_error(status: int, code: str, message: str) -> dict[str, Any]:
    """A Databricks REST API error: ``{"error_code", "message"}``."""
    return {"error_code": code, "message": message}


# waitress's own log: the apps keep their own, and tracebacks never reach a terminal.
for _name in ("waitress", "waitress.queue"):
    logging.getLogger(_name).addHandler(logging.NullHandler())
    logging.getLogger(_name).propagate = False


def drop_connection() -> Iterator[bytes]:
    """A response body that closes the connection before its first byte (see ``DROP``)."""
    from waitress.channel import ClientDisconnected

    # waitress writes the status line with the first chunk; a ClientDisconnected
    # before it makes it close the connection having written nothing.
    raise ClientDisconnected("connection dropped on purpose")
    yield b""  # pragma: no cover - makes this a generator, so nothing runs before iteration


RAW_RESPONSE = "stp.raw_response"


def raw_response(environ: dict[str, Any], start_response: Any, chunks: Iterable[bytes]) -> Iterable[bytes]:
    """Send ``chunks`` on the wire as they are, with no status line or headers of ours, then close.

    For test peers that misbehave below HTTP (the sample partner's hostile
    faults: endless ``100 Continue``, headers a byte at a time). Each chunk is
    sent as the app yields it.
    """
    environ[RAW_RESPONSE] = True
    start_response("200 OK", [])
    return chunks


class LocalServer:
    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        request_timeout: float = REQUEST_TIMEOUT_S,
        idle_timeout: int = IDLE_TIMEOUT_S,
        threads: int = THREADS,
        run_inline: Callable[[str, str], bool] | None = None,
        never_inline: tuple[str, ...] = (),
        error_document: ErrorDocument = workspace_error,
        hold: Hold | None = None,
    ) -> None:
        self.app = app
        self.error_document = error_document  # (status, code, message) -> the JSON of an error answer
        self.host = host
        self.requested_port = port
        self.max_body_bytes = max_body_bytes
        self.request_timeout = request_timeout
        self.idle_timeout = idle_timeout
        self.threads = threads
        self.run_inline = run_inline
        # Path prefixes always answered by a worker: their app calls out (a Partner Connect click),
        # and the peer it calls may call this server back while the answer is pending.
        self.never_inline = never_inline
        self.hold = hold
        # Parked requests, (due, order, channel), served by the I/O loop's thread when due.
        self._timers: list[tuple[float, int, Any]] = []
        # Connections whose next pipelined request the loop answers itself, one per connection per
        # turn (round robin), once the client has read the previous answer. Loop thread only.
        self._pipelined: list[Any] = []
        self._loop_thread: int | None = None
        self._timers_lock = threading.Lock()
        self._order = itertools.count()
        self._server: Any = None
        self._port: int | None = None  # kept after stop(), so a URL can still be named
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self.stopping = threading.Event()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def url(self) -> str:
        return url_for(self.host, self.port)

    def bind(self) -> LocalServer:
        """Bind the port without serving yet (``start`` and ``serve_forever`` call it)."""
        if self._server is None:
            sock = listening_socket(self.host, self.requested_port)
            try:
                self._server = _make_server(self, sock)
            except BaseException:
                sock.close()
                raise
            self._port = int(sock.getsockname()[1])
        return self

    def start(self) -> LocalServer:
        """Serve in a daemon thread; returns once the port accepts connections."""
        self.bind()
        self._thread = threading.Thread(target=self._loop, name="stp-serving", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C (returns normally) or ``stop`` from another thread."""
        self.bind()
        try:
            self._loop()
        except KeyboardInterrupt:
            pass
        finally:
            self.stopping.set()
            self._close()

    def _loop(self) -> None:
        from waitress import wasyncore

        server = self._server
        use_poll = hasattr(select, "poll")  # select() cannot watch a descriptor past 1024 (POSIX)
        self._loop_thread = threading.get_ident()
        # Short turns of the loop, so stop() and Ctrl-C (Windows too) are seen within _POLL_S.
        while not self._halt.is_set():
            wait = self._serve_due(server)
            if self._serve_pipelined():
                wait = 0.0  # more answered than waiting: look at the sockets and come back
            wasyncore.loop(timeout=wait, use_poll=use_poll, map=server._map, count=1)

    def _serve_pipelined(self) -> bool:
        """Answer the next pipelined request of each connection whose client has read what it was sent.

        One request per connection per turn, in the loop's own thread: a client
        that pipelines thousands of requests gets its turn like everyone else,
        no worker thread (and no share of the interpreter lock) goes to it, and a
        client that does not read its answers gets no more until it does (so
        its unsent answers stay at one). True if any request was answered.
        """
        waiting, self._pipelined = self._pipelined, []
        answered = False
        for channel in waiting:
            if not channel.connected or not channel.requests:
                continue
            if channel.total_outbufs_len:
                self._pipelined.append(channel)  # the client has not read the last answer yet
                continue
            try:
                channel.service()  # puts the channel back in _pipelined if it has more (Server.add_task)
            except Exception:  # a bug must cost one connection, never the loop that serves them all
                logging.getLogger(__name__).exception("serving: a pipelined request failed")
                channel.will_close = True
            answered = True
        return answered

    def park(self, seconds: float, channel: Any) -> None:
        """Serve ``channel``'s next request in ``seconds``, on a worker; no thread waits meanwhile."""
        with self._timers_lock:
            heapq.heappush(self._timers, (time.monotonic() + seconds, next(self._order), channel))
        server = self._server
        if server is not None:
            with contextlib.suppress(OSError):
                server.pull_trigger()  # the loop may be waiting a whole turn: let it see the new deadline

    def _serve_due(self, server: Any) -> float:
        """Hand the parked requests that are due to the workers; how long the loop may wait for the next."""
        now = time.monotonic()
        due: list[Any] = []
        with self._timers_lock:
            while self._timers and self._timers[0][0] <= now:
                due.append(heapq.heappop(self._timers)[2])
            wait = min(_POLL_S, self._timers[0][0] - now) if self._timers else _POLL_S
        for channel in due:
            server.add_task(channel)
        return max(wait, 0.0)

    def stop(self) -> None:
        self.stopping.set()
        self._halt.set()
        if self._thread is not None:
            if self._server is not None:
                with contextlib.suppress(OSError):
                    self._server.pull_trigger()  # wake the loop now rather than at the end of its turn
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def _close(self) -> None:
        """Close the listener and every connection, stop the worker threads (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        for channel in list(server._map.values()):
            with contextlib.suppress(OSError):
                channel.close()
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)

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


# What a request line may start with: a method (an HTTP token) or the empty lines before one.
_REQUEST_START = frozenset(
    bytes([c]) for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~\r\n"
)


def _connection_limit() -> int:
    """As many connections as the open-file limit allows (raised to its hard limit), with room to spare.

    A slow client holds a connection: the more we can hold, the more slow
    clients it takes before anyone waits. Past the limit waitress stops
    accepting (new clients queue in the backlog) instead of failing accept().
    """
    try:
        import resource  # POSIX only
    except ImportError:
        return 500  # Windows: no poll(), and Python's select() there watches at most 512 sockets
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 10_000 if hard == resource.RLIM_INFINITY else min(hard, 10_000)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    limit = wanted if soft == resource.RLIM_INFINITY else soft
    return max(64, min(limit, 10_000) - 100)


def _app_path(path: str) -> str:
    """The request's path as the app gets it (PATH_INFO): leading slashes folded, as waitress does."""
    return "/" + path.lstrip("/") if path.startswith("/") else path


def _make_server(owner: LocalServer, sock: socket.socket) -> Any:
    # Imported here: `--help` and the commands that serve nothing never load waitress.
    from waitress.adjustments import Adjustments
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.server import TcpWSGIServer
    from waitress.task import ErrorTask, ThreadedTaskDispatcher, WSGITask
    from waitress.utilities import BadRequest

    # waitress ships no type hints: its classes are Any to mypy (ignore_missing_imports), so subclassing
    # them needs these ignores.
    class JsonErrorTask(ErrorTask):  # type: ignore[misc]
        """waitress's own error answers (bad framing, too large) as JSON, like the apps'."""

        def execute(self) -> None:
            error = self.request.error
            code = {400: "MALFORMED_REQUEST", 413: "REQUEST_TOO_LARGE", 431: "REQUEST_TOO_LARGE"}.get(
                error.code, "INTERNAL_ERROR"
            )
            message = (
                f"{error.reason}: {error.body}"
                if error.code != 413
                else (f"Request body too large: the limit is {owner.max_body_bytes} bytes")
            )
            body = json.dumps(owner.error_document(error.code, code, message)).encode()
            self.status = f"{error.code} {error.reason}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class Parser(HTTPRequestParser):  # type: ignore[misc]
        command: str | None = None  # waitress sets these once it has parsed the request line
        path: str | None = None
        framing_conflict = False  # Content-Length and Transfer-Encoding both: answer, then close
        held = False  # owner.hold has been asked about this request (once: it may count it)
        parked = False  # it waited on the loop's timer: a worker answers it
        held_note: Any = None  # what it answered, for the app (HELD)

        def parse_header(self, header_plus: bytes) -> None:
            super().parse_header(header_plus)
            # waitress reads such a body as chunked (as RFC 9112 says) but would keep the
            # connection open; whatever follows on it may be a request smuggled past a proxy.
            self.framing_conflict = self.chunked and "CONTENT_LENGTH" in self.headers

    class Task(WSGITask):  # type: ignore[misc]
        def get_environment(self) -> dict[str, Any]:
            environ: dict[str, Any] = super().get_environment()
            if owner.hold is not None:
                environ[HELD] = self.request.held_note
            return environ

        def build_response_header(self) -> bytes:
            if self.request.framing_conflict:
                self.set_close_on_finish()
            return bytes(super().build_response_header())

        def write(self, data: bytes) -> None:
            """The status line, headers and the first body bytes in one send: one syscall, one segment."""
            if self.environ is not None and self.environ.get(RAW_RESPONSE):
                self.wrote_header = True  # the app writes the wire itself (see raw_response)
                self.close_on_finish = True
                if data:
                    self.channel.write_soon(data)
                return
            if self.wrote_header or not data:
                super().write(data)
                return
            channel = self.channel
            chunks: list[bytes] = []
            channel.write_soon = chunks.append  # only this task writes to its channel now
            try:
                super().write(data)
            finally:
                del channel.write_soon
            if chunks:
                channel.write_soon(b"".join(chunks))

    class Dispatcher(ThreadedTaskDispatcher):  # type: ignore[misc]
        """Worker threads started when a request finds none idle, up to ``owner.threads``.

        waitress starts them all up front: 10 ms of CPU per server for 32 threads,
        paid by every emulator a test or the demo starts to answer a handful of requests.
        """

        def __init__(self) -> None:
            super().__init__()
            self.growing = threading.Lock()  # two growers could otherwise ask for fewer threads than run

        def add_task(self, task: Any) -> None:
            with self.growing:
                with self.lock:
                    running = len(self.threads) - self.stop_count
                    short = len(self.queue) >= running - self.active_count  # no thread left for this task
                if short and running < owner.threads:
                    self.set_thread_count(running + 1)
            super().add_task(task)

    class Channel(HTTPChannel):  # type: ignore[misc]
        parser_class = Parser
        task_class = Task
        error_task_class = JsonErrorTask
        request_started = 0.0  # when the first byte of the request being read came
        reading = False  # in received(): the loop thread holds this channel's request lock
        inline_pending = False  # a request to answer in the loop thread once received() is done

        def received(self, data: bytes) -> bool:
            if self.request is None and data:
                self.request_started = time.monotonic()
                if data[:1] not in _REQUEST_START and not self.requests and not self.will_close:
                    # Not HTTP at all (a TLS handshake, say): answer 400 at once and close,
                    # where waitress would wait for a header end that never comes.
                    with self.requests_lock:
                        request = self.parser_class(self.adj)
                        request.error = BadRequest("this server speaks plain HTTP/1.1")
                        request.completed = True
                        self.requests.append(request)
                        self.server.add_task(self)
                    return True
            self.reading = True
            try:
                result = bool(super().received(data))
            finally:
                self.reading = False
            if self.inline_pending:
                self.inline_pending = False
                self.service()
            return result

        def service(self) -> None:
            request = self.requests[0]
            if owner.hold is not None and not request.held and request.error is None:
                request.held = True
                held = owner.hold(request.command.upper(), _app_path(request.path))
                if held is not None:
                    seconds, request.held_note = held
                    if seconds > 0:
                        request.parked = True
                        # Parked: this thread goes back to work, the loop hands the request to a
                        # worker when it is due (it stays first in self.requests meanwhile, so the
                        # connection reads nothing more and answers stay in order).
                        owner.park(seconds, self)
                        return
            super().service()

    class Server(TcpWSGIServer):  # type: ignore[misc]
        channel_class = Channel

        def add_task(self, task: Any) -> None:
            """Run the app in the I/O thread when the owner says its answers are quick now.

            A handoff to a worker thread and back costs more than a quick answer
            itself; a slow answer (an armed latency fault, say) must not hold the
            loop, so it goes to the workers. A request the loop has just read
            runs inline (after ``received`` lets go of the channel's lock); the
            next of a client's pipelined requests waits its turn in the loop
            (``_serve_pipelined``), or goes to a worker when it was a worker that
            answered the one before.
            """
            if owner.run_inline is not None and task.requests and not task.requests[0].parked:
                request = task.requests[0]
                path = _app_path(request.path or "")
                # A request waitress refused (bad framing, not HTTP) has an answer of its own, always quick.
                quick = request.error is not None or (
                    owner.run_inline((request.command or "").upper(), path) and not path.startswith(owner.never_inline)
                )
                if quick:
                    if getattr(task, "reading", False):
                        task.inline_pending = True
                        return
                    if threading.get_ident() == owner._loop_thread:
                        owner._pipelined.append(task)  # the next of a client's pipelined requests
                        return
            super().add_task(task)

        def handle_accept(self) -> None:
            """Every waiting connection (up to 64) per turn of the loop, not one.

            A turn can take tens of milliseconds when hundreds of clients keep the
            loop busy; one accept per turn would leave a newcomer in the backlog
            for seconds behind them.
            """
            for _ in range(64):
                before = len(self._map)
                super().handle_accept()
                if len(self._map) == before or not self.readable():  # none left, or the connection limit
                    return

        def maintenance(self, now: float) -> None:
            super().maintenance(now)  # idle connections
            cutoff = time.monotonic() - owner.request_timeout
            unread = now - owner.idle_timeout  # now: time.time(), as waitress keeps last_activity
            for channel in list(self.active_channels.values()):
                request = channel.request
                if request is not None and not request.completed and channel.request_started < cutoff:
                    channel.will_close = True  # closed on the loop's next turn
                elif channel.requests and channel.total_outbufs_len and channel.last_activity < unread:
                    # Requests waiting behind answers the client has not read for idle_timeout:
                    # waitress keeps such a connection forever (it is not idle to it).
                    channel.will_close = True

    adj = Adjustments(
        threads=owner.threads,
        connection_limit=_connection_limit(),
        channel_timeout=owner.idle_timeout,
        cleanup_interval=1,
        max_request_body_size=owner.max_body_bytes,
        max_request_header_size=MAX_HEADER_BYTES,
        clear_untrusted_proxy_headers=False,  # the apps read no X-Forwarded-* header
        ident="",  # no Server header
        expose_tracebacks=False,
        asyncore_use_poll=True,
        # waitress parses every whole request in what one recv() brings before answering the first:
        # 8 KiB of pipelined requests is some 60 parses in one go, for each client, in one turn of the
        # loop (200 such clients: a second in which nobody else is answered). 2 KiB is some 15.
        recv_bytes=2048,
    )
    sockinfo = (sock.family, sock.type, sock.proto, sock.getsockname())
    return Server(owner.app, map={}, _sock=sock, adj=adj, bind_socket=False, sockinfo=sockinfo, dispatcher=Dispatcher())
