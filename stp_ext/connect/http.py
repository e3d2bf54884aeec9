"""A tiny HTTP client for playing Databricks against a partner endpoint.

Built on ``http.client`` rather than a full client library because connect-test
must see the wire as Databricks does: no automatic redirects (a 302 is a
finding, not something to follow), a hard time budget per request, a cap on
how much of a body is read (a runaway body is a finding, not a memory
problem), and every transport failure turned into a ``TransportError`` with a
stable ``kind`` instead of a traceback.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# A connect answer is a few hundred bytes; a megabyte is already absurd.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
_CHUNK = 64 * 1024


class TransportError(Exception):
    """The request got no HTTP answer. ``kind`` names why, for a finding."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


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
        """The body parsed as JSON; raises ``ValueError`` when it is not."""
        return json.loads(self.body.decode("utf-8"))


def send(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> HttpResponse:
    """One request on a fresh connection; raises ``TransportError`` when there is no HTTP answer.

    ``timeout`` bounds the whole exchange, not each socket operation, so a
    server that trickles bytes cannot hold the test for longer.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError("bad_url", f"not an absolute http(s) URL: {url}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    started = time.monotonic()
    deadline = started + timeout
    try:
        conn.connect()
        # Keep the socket: http.client drops conn.sock once the response
        # owns the connection, and the deadline must still apply to the body.
        sock = conn.sock
        _set_remaining(sock, deadline)
        conn.request(method, target, body=body, headers=headers or {})
        _set_remaining(sock, deadline)
        response = conn.getresponse()
        data, truncated = _read_capped(response, sock, deadline, max_body_bytes)
        return HttpResponse(
            status=response.status,
            reason=response.reason,
            headers={name.lower(): value for name, value in response.getheaders()},
            body=data,
            truncated=truncated,
            elapsed_ms=(time.monotonic() - started) * 1000,
        )
    except TransportError:
        raise
    except Exception as e:
        raise _classify(e, url, timeout) from None
    finally:
        conn.close()


def _read_capped(
    response: http.client.HTTPResponse, sock: socket.socket, deadline: float, cap: int
) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        _set_remaining(sock, deadline)
        chunk = response.read1(_CHUNK)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            # Stop reading: the connection is closed by the caller, which is
            # what a careful client does with a runaway body.
            return b"".join(chunks)[:cap], True


def _set_remaining(sock: socket.socket, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise socket.timeout("out of time")
    sock.settimeout(remaining)


def _classify(error: Exception, url: str, timeout: float) -> TransportError:
    host = urlsplit(url).netloc
    # Order matters: SSL errors and timeouts are OSErrors too.
    if isinstance(error, (socket.timeout, TimeoutError)):
        return TransportError("timeout", f"no complete answer from {host} within {timeout:g} s")
    if isinstance(error, ssl.SSLCertVerificationError):
        detail = getattr(error, "verify_message", None) or error
        return TransportError("tls", f"TLS certificate of {host} not trusted: {detail}")
    if isinstance(error, ssl.SSLError):
        # .reason is set on errors from the ssl module, not on hand-made ones.
        detail = getattr(error, "reason", None) or error
        return TransportError("tls", f"TLS handshake with {host} failed: {detail}")
    if isinstance(error, ConnectionRefusedError):
        return TransportError("connection_refused", f"connection to {host} refused: nothing is listening")
    if isinstance(error, socket.gaierror):
        return TransportError("dns", f"cannot resolve the host of {url}: {error.strerror or error}")
    if isinstance(error, http.client.RemoteDisconnected):
        return TransportError("connection_error", f"{host} closed the connection without answering")
    if isinstance(error, http.client.HTTPException):
        return TransportError("protocol_error", f"{host} sent an answer that is not valid HTTP: {error!r}")
    if isinstance(error, OSError):
        return TransportError("connection_error", f"connection to {host} failed: {error.strerror or error}")
    return TransportError("connection_error", f"request to {host} failed: {type(error).__name__}: {error}")
