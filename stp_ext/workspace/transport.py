"""The transport under ``Workspace.do``: one bounded reader for every answer, and what a failure means.

databricks-sdk's ApiClient sends through a ``requests`` session. The adapter
mounted here reads every answer itself, whatever the call site: at most
``MAX_BODY_BYTES``, and all of it within the HTTP timeout, however slowly it
drips (requests' own timeout only bounds each wait for the next bytes). A
response hook remembers the status and Retry-After of the last answer, which
the SDK's error classes do not keep.

``classify`` turns a ``requests`` exception into a ``NetworkFailure`` whose
``kind`` decides the retry: dns, tls and scheme (retrying cannot fix them),
refused (nothing was sent), connect_timeout (nothing was sent), timeout and
dropped (the request may have been acted on), too_large, other.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
import requests.adapters

from stp_ext.workspace.sdk_seam import settle_body

logger = logging.getLogger(__name__)

# The largest answer read from a workspace. The APIs used here answer a few KiB
# (a secret scope lists at most 1000 keys); 16 MiB leaves room and keeps a
# runaway answer from taking the machine's memory.
MAX_BODY_BYTES = 16 * 1024 * 1024
_CHUNK = 64 * 1024


class ResponseTooLarge(requests.exceptions.RequestException):
    """The answer is larger than MAX_BODY_BYTES."""


class ResponseTooSlow(requests.exceptions.ReadTimeout):
    """The answer kept coming, too slowly to finish within the HTTP timeout."""


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None


class NetworkFailure(Exception):
    """A request that got no usable HTTP answer; ``kind`` decides whether to retry."""

    def __init__(self, kind: str, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.hint = hint


class BoundedAdapter(requests.adapters.HTTPAdapter):
    """Reads each whole answer within ``total_seconds`` and ``max_bytes``."""

    def __init__(self, total_seconds: float, max_bytes: int = MAX_BODY_BYTES) -> None:
        super().__init__()
        self.total_seconds = total_seconds
        self.max_bytes = max_bytes

    # requests' HTTPAdapter.send names each keyword; we pass them all through unchanged.
    def send(self, request: Any, stream: bool = False, **kwargs: Any) -> Any:  # type: ignore[override]
        started = time.monotonic()
        response = super().send(request, stream=True, **kwargs)
        if stream:  # the caller reads the body itself (the SDK's raw downloads; not used here)
            return response
        try:
            body = read_bounded(response.raw, started + self.total_seconds, self.max_bytes)
        except BaseException:
            response.close()
            raise
        settle_body(response, body)  # later reads of .content return it
        release = getattr(response.raw, "release_conn", None)
        if callable(release):
            release()
        return response


def read_bounded(raw: Any, deadline: float, max_bytes: int) -> bytes:
    """All of a urllib3 response body, or ResponseTooSlow / ResponseTooLarge.

    ``read1`` returns as soon as some bytes arrived, so the deadline is checked
    between small reads (each bounded by the socket timeout) instead of after
    a read that waits for a whole buffer.
    """
    read1 = getattr(raw, "read1", None)
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise ResponseTooSlow(f"the answer was still arriving after the HTTP timeout ({size} bytes so far)")
        chunk = read1(_CHUNK, decode_content=True) if callable(read1) else raw.read(8192, decode_content=True)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise ResponseTooLarge(f"the answer is larger than {max_bytes // (1024 * 1024)} MiB")
        chunks.append(chunk)


def bound_session(session: Any, total_seconds: float) -> Any:
    """Mount the bounded reader and the answer hook on the SDK's session; None if it is not a Session."""
    if not isinstance(session, requests.Session):
        return None
    adapter = BoundedAdapter(total_seconds)
    session.mount("https://", adapter)
    session.mount("http://", adapter)

    # Per thread: requests of one session may run at once (`get --all-profiles`, doctor), and each
    # retry must read its own answer's Retry-After. The hook runs in the thread that sent the request.
    answers = threading.local()
    # Our own attribute on the SDK's session (read back by last_answer()): mypy cannot know it.
    session.stp_answers = answers  # type: ignore[attr-defined]

    def remember(response: Any, *args: Any, **kwargs: Any) -> Any:
        answers.last = Answer(response.status_code, response.headers.get("Retry-After"))
        return response

    session.hooks.setdefault("response", []).append(remember)
    return session


def last_answer(session: Any) -> Answer | None:
    """The last answer this thread got on ``session``."""
    return getattr(getattr(session, "stp_answers", None), "last", None)


def _chain(error: BaseException) -> list[BaseException]:
    """The exception, its wrapped reasons (urllib3 keeps them in args and .reason) and causes."""
    seen: list[BaseException] = []
    todo = [error]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        for nested in (getattr(current, "reason", None), current.__cause__, current.__context__, *current.args):
            if isinstance(nested, BaseException):
                todo.append(nested)
    return seen


def classify(error: BaseException) -> NetworkFailure:
    """What went wrong, in words a user can act on, and whether a retry can help (``kind``)."""
    chain = _chain(error)
    text = " ".join(str(e) for e in chain)
    lowered = text.lower()
    names = {type(e).__name__ for e in chain}
    if isinstance(error, ResponseTooLarge):
        return NetworkFailure("too_large", str(error), "A workspace API answers a few KiB; is it a workspace?")
    if isinstance(error, ResponseTooSlow):
        return NetworkFailure("timeout", str(error))
    if "NameResolutionError" in names or "gaierror" in names or "name or service not known" in lowered:
        return NetworkFailure("dns", "the host name does not resolve (DNS)", "Is the host name spelled right?")
    if isinstance(error, requests.exceptions.SSLError) or "SSLError" in names:
        if "wrong_version_number" in lowered or "wrong version number" in lowered or "record layer" in lowered:
            return NetworkFailure(
                "scheme",
                "the TLS handshake failed: the server does not speak HTTPS on that port",
                "Does the URL need http:// instead of https://, or another port?",
            )
        if "certificate" in lowered:
            return NetworkFailure(
                "tls",
                "its TLS certificate is not trusted",
                "If a proxy re-signs TLS, point REQUESTS_CA_BUNDLE at its CA certificate.",
            )
        return NetworkFailure("tls", "the TLS handshake failed")
    if "\\x15\\x03" in text or "\x15\x03" in text:  # a TLS alert record where an HTTP status line belongs
        return NetworkFailure(
            "scheme", "it answered in TLS to a plain HTTP request", "Use https:// in the workspace URL."
        )
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return NetworkFailure("connect_timeout", "no answer to the connection (timed out)")
    if isinstance(error, requests.exceptions.Timeout) or "timed out" in lowered:
        return NetworkFailure("timeout", "no answer (timed out)")
    if "ConnectionRefusedError" in names or "refused" in lowered:
        return NetworkFailure("refused", "connection refused (is the port right, is the service up?)")
    if isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return NetworkFailure("dropped", "the connection was closed without an answer")
    from stp_ext.core.logs import redact_peer

    return NetworkFailure("other", redact_peer(str(error))[:200] or type(error).__name__)
