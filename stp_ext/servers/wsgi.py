"""The WSGI side of the server core: a parsed request to an environ, an app's answer to bytes on the wire.

``answer(app, environ, sink, ...)`` runs the app and writes its answer through
``sink`` (the connection itself in the I/O loop, a hand-off from a worker
thread): status line, headers and the first body bytes in one write, one
syscall, one segment. Two answers are not HTTP: ``drop_connection()`` (close
without a byte, as a crashing proxy would) and ``raw_response()`` (the app
writes the wire itself).
"""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, Protocol

from stp_ext.servers.http11 import Head, HttpError, split_target

log = logging.getLogger("stp_ext.servers")

ErrorDocument = Callable[[int, str, str], "dict[str, Any]"]
HELD = "stp.held"  # in the WSGI environ when a hold is given: the note it returned for this request
RAW_RESPONSE = "stp.raw_response"
_ERROR_CODES = {400: "MALFORMED_REQUEST", 413: "REQUEST_TOO_LARGE", 431: "REQUEST_TOO_LARGE"}


def workspace_error(status: int, code: str, message: str) -> dict[str, Any]:
    """A Databricks REST API error: ``{"error_code", "message"}``."""
    return {"error_code": code, "message": message}


class DropConnection(Exception):
    """Raised by an answer's body: close the connection having written nothing."""


def drop_connection() -> Iterator[bytes]:
    """A response body that closes the connection before its first byte (the emulator's ``drop`` fault)."""
    raise DropConnection("connection dropped on purpose")
    yield b""  # pragma: no cover - makes this a generator, so nothing runs before iteration


def raw_response(environ: dict[str, Any], start_response: Any, chunks: Iterable[bytes]) -> Iterable[bytes]:
    """Send ``chunks`` on the wire as they are, with no status line or headers of ours, then close.

    For test peers that misbehave below HTTP (the sample partner's hostile
    faults: endless ``100 Continue``, headers a byte at a time). Each chunk is
    sent as the app yields it.
    """
    environ[RAW_RESPONSE] = True
    start_response("200 OK", [])
    return chunks


class Sink(Protocol):
    def write(self, data: bytes) -> bool:
        """Send ``data``; False once the connection is gone (the app's body is then abandoned)."""


class Site:
    """What every environ of one server shares: its port and host."""

    def __init__(self, host: str, port: int) -> None:
        self.base = {
            "SCRIPT_NAME": "",
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
        }


def environ_for(site: Site, head: Head, body: bytes, peer: str) -> dict[str, Any]:
    path, query = split_target(head.target)
    environ: dict[str, Any] = head.headers  # made for this request alone: it becomes the environ
    environ.update(site.base)
    environ["REQUEST_METHOD"] = head.method
    environ["PATH_INFO"] = path
    environ["QUERY_STRING"] = query
    environ["REQUEST_URI"] = environ["RAW_URI"] = head.target
    environ["SERVER_PROTOCOL"] = head.version
    environ["REMOTE_ADDR"] = peer
    environ["wsgi.input"] = io.BytesIO(body)
    if body or "CONTENT_LENGTH" in environ:
        environ["CONTENT_LENGTH"] = str(len(body))  # a chunked body's length too, as the apps read it
    return environ


_date_cache: list[Any] = [0, ""]


def _date() -> str:
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0], _date_cache[1] = now, formatdate(now, usegmt=True)
    return str(_date_cache[1])


def head_bytes(version: str, status: str, headers: list[tuple[str, str]], close: bool) -> bytes:
    lines = [f"{version} {status}\r\n"]
    for name, value in headers:
        lines.append(f"{name}: {value}\r\n")
    lines.append(f"Date: {_date()}\r\n")
    if close:
        lines.append("Connection: close\r\n")
    lines.append("\r\n")
    text = "".join(lines)
    stray = text.replace("\r\n", "")
    if "\n" in stray or "\r" in stray:
        raise ValueError("a header the app set holds a line break")
    return text.encode("latin-1")


def error_answer(error: HttpError, error_document: ErrorDocument, version: str = "HTTP/1.1") -> bytes:
    """What the server answers by itself (bad framing, too large): JSON in the app's error shape, then close."""
    code = _ERROR_CODES.get(error.status, "MALFORMED_REQUEST")
    message = error.message if error.status == 413 else f"{error.reason}: {error.message}"
    body = json.dumps(error_document(error.status, code, message)).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    return head_bytes(version, f"{error.status} {error.reason}", headers, close=True) + body


class Answer:
    """What an app answered: its status and headers (once start_response is called)."""

    __slots__ = ("headers", "status")

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status, self.headers = status, list(headers)
        return _no_write

    def length(self) -> str | None:
        for name, value in self.headers:
            if name == "Content-Length" or name.lower() == "content-length":
                return value
        return None


def _no_write(data: bytes) -> None:
    raise NotImplementedError("write() of start_response: return the body instead")


def answer(app: Any, environ: dict[str, Any], sink: Sink, head: Head, error_document: ErrorDocument) -> bool:
    """Run ``app`` on one request and send its answer; whether the connection must be closed after it."""
    reply = Answer()
    close = not head.keep_alive or head.conflict
    try:
        body = app(environ, reply.start_response)
    except Exception:
        log.exception("serving: the app failed on %s", head.method)
        sink.write(internal_error(error_document, head.version))
        return True
    try:
        if environ.get(RAW_RESPONSE):
            _send_raw(body, sink)
            return True
        return _send(body, reply, sink, head, close)
    except DropConnection:
        return True
    except Exception:
        log.exception("serving: an answer's body failed on %s", head.method)
        return True
    finally:
        closer = getattr(body, "close", None)
        if closer is not None:
            closer()


def _send(body: Iterable[bytes], reply: Answer, sink: Sink, head: Head, close: bool) -> bool:
    headers = reply.headers
    if isinstance(body, (list, tuple)):
        data = b"".join(body)
        if reply.length() is None:
            headers = [*headers, ("Content-Length", str(len(data)))]
        sink.write(head_bytes(head.version, reply.status, headers, close) + (b"" if head.method == "HEAD" else data))
        return close
    chunks = iter(body)
    first = next(chunks, b"")  # an error before the first byte is still a clean answer (or a drop)
    close = close or reply.length() is None  # no length: the body ends when the connection does
    wire = head_bytes(head.version, reply.status, headers, close)
    if head.method == "HEAD":
        sink.write(wire)
        return close
    if not sink.write(wire + first):
        return True
    for chunk in chunks:
        if chunk and not sink.write(chunk):
            return True
    return close


def _send_raw(body: Iterable[bytes], sink: Sink) -> None:
    for chunk in body:
        if chunk and not sink.write(chunk):
            return


def internal_error(error_document: ErrorDocument, version: str) -> bytes:
    body = json.dumps(error_document(500, "INTERNAL_ERROR", "Internal error in the local server")).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    return head_bytes(version, f"500 {HTTPStatus(500).phrase}", headers, close=True) + body
