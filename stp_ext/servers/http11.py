"""HTTP/1.1 request framing: a connection's bytes to whole requests, every size capped.

Pure functions and small state machines, no sockets: ``RequestReader`` takes
what a connection received and hands back one whole request at a time (head
parsed, body read in full), or raises ``HttpError`` for what the server
answers itself (400 bad framing, 413 body too large, 431 headers too large).
What it refuses is refused before the body is read: a declared length past
the cap, a chunk size past what is left of it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

MAX_BODY_BYTES = 1024 * 1024  # both servers' APIs take small JSON documents
MAX_HEADER_BYTES = 64 * 1024
_MAX_CHUNK_LINE = 1024  # a chunk-size line with its extensions

# What a request line may start with: a method (an HTTP token) or the empty lines before one.
REQUEST_START = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~\r\n")
_TOKEN_CHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_METHOD = re.compile(_TOKEN_CHARS.encode())
_TOKEN = re.compile(_TOKEN_CHARS)
_ENVIRON_KEYS: dict[str, str] = {}  # header name as sent -> its environ key
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_DIGITS = re.compile(r"[0-9]{1,20}")
REASONS = {400: "Bad Request", 413: "Request Entity Too Large", 431: "Request Header Fields Too Large"}


class HttpError(Exception):
    """A request the server answers itself, then closes the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = REASONS.get(status, "Bad Request")
        self.message = message


def bad(message: str) -> HttpError:
    return HttpError(400, message)


class Head:
    """A request's line and headers, as the WSGI environ wants them (names ``HTTP_*``, latin-1)."""

    __slots__ = ("chunked", "conflict", "expect", "headers", "keep_alive", "length", "method", "target", "version")

    def __init__(self, method: str, target: str, version: str, headers: dict[str, str]) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.length: int | None = None
        self.chunked = False
        self.conflict = False  # Content-Length and Transfer-Encoding both: answered, then closed
        connection = headers.get("HTTP_CONNECTION")
        if version == "HTTP/1.1":
            self.keep_alive = connection is None or "close" not in connection.lower()
        else:
            self.keep_alive = connection is not None and "keep-alive" in connection.lower()
        expect = headers.get("HTTP_EXPECT")
        self.expect = expect is not None and expect.lower() == "100-continue" and version == "HTTP/1.1"


def parse_head(block: bytes, max_body: int) -> Head:
    """The request line and headers (``block`` without its final blank line); HttpError for bad ones."""
    line, _, fields = block.partition(b"\r\n")
    parts = line.split(b" ")
    if len(parts) != 3 or not _METHOD.fullmatch(parts[0]) or not parts[1]:
        raise bad("Malformed request line")
    if parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise bad("Unsupported HTTP version")
    headers = _headers(fields.decode("latin-1")) if fields else {}
    head = Head(parts[0].decode("ascii").upper(), parts[1].decode("latin-1"), parts[2].decode("ascii"), headers)
    _frame_body(head, max_body)
    return head


def _headers(fields: str) -> dict[str, str]:
    """Header lines (checked) to environ keys: ``Content-Type`` -> CONTENT_TYPE, ``X-A`` -> HTTP_X_A."""
    headers: dict[str, str] = {}
    keys = _ENVIRON_KEYS
    if "\x00" in fields or "\n" in fields.replace("\r\n", "\r"):
        raise bad("Malformed header line")  # a NUL, a bare LF (checked once for all lines)
    for line in fields.split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon or "\r" in value:
            raise bad("Malformed header line")  # no colon; a bare CR
        value = value.strip(" \t")
        key = keys.get(name)  # a name seen before, already checked
        if key is None:
            if not _TOKEN.fullmatch(name):
                # No name, whitespace before the colon (a smuggling trick), a folded line.
                raise bad("Malformed header line")
            key = _environ_key(name)
        if not key:
            continue  # HTTP_X_Y must mean X-Y: a header spelled with "_" could pose as another
        if key in headers:
            if key == "CONTENT_LENGTH":
                if headers[key] != value:
                    raise bad("Conflicting Content-Length headers")
                continue
            value = f"{headers[key]}, {value}"
        headers[key] = value
    return headers


def _environ_key(name: str) -> str:
    """``X-Api-Key`` -> HTTP_X_API_KEY; "" for a name with "_". Remembered for the names seen most."""
    upper = name.upper()
    if "_" in upper:
        key = ""
    elif upper in ("CONTENT-TYPE", "CONTENT-LENGTH"):
        key = upper.replace("-", "_")
    else:
        key = "HTTP_" + upper.replace("-", "_")
    if len(_ENVIRON_KEYS) < 256:  # a client inventing names cannot grow it
        _ENVIRON_KEYS[name] = key
    return key


def _frame_body(head: Head, max_body: int) -> None:
    """How the body is delimited (RFC 9112, 6): chunked, a length, or none."""
    headers = head.headers
    encoding = headers.get("HTTP_TRANSFER_ENCODING")
    declared = headers.get("CONTENT_LENGTH")
    if encoding is not None:
        if encoding.strip().lower() != "chunked":
            raise bad("Unsupported Transfer-Encoding (only chunked is)")
        head.chunked = True
        # Both: the length is ignored (RFC 9112, 6.1) and the connection closed after the answer,
        # since whatever follows on it may be a request smuggled past a proxy.
        head.conflict = declared is not None
        headers.pop("CONTENT_LENGTH", None)
        return
    if declared is not None:
        if not _DIGITS.fullmatch(declared):
            raise bad("Invalid Content-Length")
        head.length = int(declared)
        if head.length > max_body:
            raise too_large(max_body)


def too_large(max_body: int) -> HttpError:
    return HttpError(413, f"Request body too large: the limit is {max_body} bytes")


class ChunkedBody:
    """A chunked body, decoded as its bytes come; the decoded size capped."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.parts: list[bytes] = []
        self.size = 0
        self.left = 0  # bytes of the current chunk still to come, then its CRLF
        self.state = "size"  # size, data, crlf, trailer, done

    def feed(self, buffer: bytearray) -> bool:
        """Consume what ``buffer`` holds of the body; True once it is whole."""
        while self.state != "done":
            if self.state == "data":
                taken = bytes(buffer[: self.left])
                del buffer[: len(taken)]
                self.parts.append(taken)
                self.left -= len(taken)
                if self.left:
                    return False
                self.state = "crlf"
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                if len(buffer) > _MAX_CHUNK_LINE:
                    raise bad("Malformed chunked body")
                return False
            line = bytes(buffer[:line_end])
            del buffer[: line_end + 2]
            self._line(line)
        return True

    def _line(self, line: bytes) -> None:
        if self.state == "crlf":
            if line:
                raise bad("Malformed chunked body")
            self.state = "size"
        elif self.state == "size":
            size_text = line.split(b";", 1)[0].strip(b" \t")
            if not _HEX.fullmatch(size_text):
                raise bad("Malformed chunk size")
            size = int(size_text, 16)
            if self.size + size > self.max_body:
                raise too_large(self.max_body)
            self.size += size
            self.left = size
            self.state = "data" if size else "trailer"
        elif not line:  # trailer: fields, ignored, up to the blank line
            self.state = "done"

    def body(self) -> bytes:
        return b"".join(self.parts)


class RequestReader:
    """One connection's requests, one at a time: ``read(buffer)`` consumes a whole request or nothing of use."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.head: Head | None = None
        self._chunked: ChunkedBody | None = None

    @property
    def started(self) -> bool:
        """A head has been read and its body is still coming."""
        return self.head is not None

    def read_head(self, buffer: bytearray) -> Head | None:
        """The head, once whole (consumed from ``buffer``); None while it is still coming."""
        if self.head is not None:
            return self.head
        while buffer.startswith(b"\r\n"):  # empty lines before a request line are allowed (RFC 9112, 2.2)
            del buffer[:2]
        if buffer and buffer[0] not in REQUEST_START:
            raise bad("This server speaks plain HTTP/1.1")
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEADER_BYTES:
                raise HttpError(431, f"Request headers too large: the limit is {MAX_HEADER_BYTES} bytes")
            return None
        if end > MAX_HEADER_BYTES:
            raise HttpError(431, f"Request headers too large: the limit is {MAX_HEADER_BYTES} bytes")
        block = bytes(buffer[:end])
        del buffer[: end + 4]
        self.head = parse_head(block, self.max_body)
        if self.head.chunked:
            self._chunked = ChunkedBody(self.max_body)
        return self.head

    def read_body(self, buffer: bytearray) -> bytes | None:
        """The whole body of the request whose head was read (consumed), or None while it is still coming."""
        if self._chunked is not None:
            if not self._chunked.feed(buffer):
                return None
            body = self._chunked.body()
        else:
            length = (self.head.length if self.head is not None else 0) or 0
            if len(buffer) < length:
                return None
            body = bytes(buffer[:length])
            del buffer[:length]
        self.head = None
        self._chunked = None
        return body


def split_target(target: str) -> tuple[str, str]:
    """PATH_INFO and QUERY_STRING from a request target (origin or absolute form), as WSGI gives them.

    The path is percent-decoded to bytes and handed over as latin-1 text;
    leading slashes are folded into one (``//get`` -> ``/get``), as waitress did.
    """
    target = target.partition("#")[0]
    path, _, query = target.partition("?")
    if not path.startswith("/") and "://" in path:  # absolute form, through a proxy: http://host/path
        path = "/" + path.partition("://")[2].partition("/")[2]
    if "%" in path:
        path = unquote_to_bytes(path).decode("latin-1")
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    return path, query
