"""The HTTP edge's one vocabulary: what a transport failure is called, what it says, whether a retry helps;
and the one reader of an answer body, capped in size and bound to a deadline.

Both roads out of the tool use it: workspace calls (``requests`` under
databricks-sdk, ``stp_ext.workspace.transport``) and connect-test
(``http.client``, ``stp_ext.connect.http``). ``classify`` reads an exception
and its chain of causes by type, stdlib types first and ``requests``/urllib3
types by name, so this module imports neither library: connect-test and the
offline commands never load them.

The kinds (``KINDS``) are stable names: connect-test reports them as check
names in its JSON and JUnit output, and the workspace client retries by them.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from stp_ext.core.logs import redact_peer

# How a read (GET, HEAD) may be retried after a failure of a kind; a write never is when it may
# have been acted on (``maybe_acted_on``): repeating it is not ours to decide.
NEVER = "never"  # retrying cannot fix it (a typo, a certificate, nothing listening)
ONCE = "once"  # a silent peer: one more whole timeout, if the budget holds it
BACKOFF = "backoff"  # a connection lost on the way: retried with back-off within the budget


@dataclass(frozen=True)
class Kind:
    name: str
    retry: str  # NEVER, ONCE or BACKOFF
    maybe_acted_on: bool  # sent, and no answer came: a write's outcome is unknown


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("dns", NEVER, False),
        Kind("tls", NEVER, False),
        Kind("scheme", NEVER, False),  # HTTPS spoken to a plain HTTP port, or the reverse
        # A refused connection was retried for 0.3 s once; that made a closed port fail 2x slower than
        # the legacy CLI, which fails at once, and nothing listening on a port seldom starts within 0.3 s.
        Kind("connection_refused", NEVER, False),
        Kind("connect_timeout", ONCE, False),
        Kind("timeout", ONCE, True),
        Kind("connection_error", BACKOFF, True),
        Kind("protocol_error", BACKOFF, True),
        Kind("too_large", NEVER, False),  # an answer came, too large to read: it says what is wrong
        Kind("bad_url", NEVER, False),
        Kind("cancelled", NEVER, True),
        Kind("other", NEVER, False),
    )
}

_CHUNK = 64 * 1024


class TransportFailure(Exception):
    """A request that got no usable HTTP answer: ``kind`` (a name of ``KINDS``) says why, ``message`` in
    words a user can act on (no host: the caller says which request), ``hint`` the next step if any."""

    def __init__(self, kind: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.hint = hint

    @property
    def retry(self) -> str:
        return KINDS.get(self.kind, KINDS["other"]).retry

    @property
    def maybe_acted_on(self) -> bool:
        return KINDS.get(self.kind, KINDS["other"]).maybe_acted_on


class AnswerTooLarge(Exception):
    """The answer's body is larger than the cap."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"the answer is larger than {size_text(cap)}")


class AnswerTooSlow(TimeoutError):
    """The answer kept coming, too slowly to end before the deadline."""


@dataclass(frozen=True)
class Body:
    chunks: tuple[bytes, ...]  # joined only when read: a caller that refuses a truncated body never copies it
    truncated: bool  # longer than the cap: ``data`` is its first ``cap`` bytes, the rest was not read

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def read_capped(
    read1: Callable[[int], bytes], deadline: float, cap: int, before_read: Callable[[], None] | None = None
) -> Body:
    """A whole answer body read within ``deadline`` (``time.monotonic()``) and ``cap`` bytes.

    ``read1(n)`` returns as soon as some bytes arrived (``b""`` at the end), so
    the deadline is checked between small reads instead of after one that waits
    for a whole buffer; ``before_read`` bounds each wait (a socket timeout set to
    what is left). Past the cap it stops reading: the caller closes the
    connection, as a careful client does with a runaway body. Raises
    ``AnswerTooSlow`` when the deadline passes first.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise AnswerTooSlow(f"the answer was still arriving after the HTTP timeout ({size} bytes so far)")
        if before_read is not None:
            before_read()
        chunk = read1(_CHUNK)
        if not chunk:
            return Body(tuple(chunks), False)
        size += len(chunk)
        if size > cap:
            chunks.append(chunk[: len(chunk) - (size - cap)])
            return Body(tuple(chunks), True)
        chunks.append(chunk)


def size_text(size: int) -> str:
    """1048576 -> "1 MiB", 262144 -> "256 KiB", 1000 -> "1000 bytes"."""
    for unit, name in ((1024 * 1024, "MiB"), (1024, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} bytes"


def classify(error: BaseException, timeout: float | None = None) -> TransportFailure:
    """What went wrong, in words a user can act on; its ``kind`` decides whether a retry can help.

    ``timeout``: the time budget of the request, named in a timeout's message when given.
    """
    if isinstance(error, TransportFailure):
        return error
    chain = _chain(error)
    for rule in _RULES:
        failure = rule(chain, timeout)
        if failure is not None:
            return failure
    return TransportFailure("other", redact_peer(str(error))[:200] or type(error).__name__)


def _chain(error: BaseException) -> list[BaseException]:
    """The exception, its wrapped reasons (urllib3 keeps them in args and .reason) and causes."""
    seen: list[BaseException] = []
    todo = [error]
    while todo:
        current = todo.pop()
        if any(current is known for known in seen):
            continue
        seen.append(current)
        for nested in (getattr(current, "reason", None), current.__cause__, current.__context__, *current.args):
            if isinstance(nested, BaseException):
                todo.append(nested)
    return seen


def _first(chain: list[BaseException], kind: type[BaseException]) -> BaseException | None:
    return next((e for e in chain if isinstance(e, kind)), None)


def _names(chain: list[BaseException]) -> set[str]:
    return {type(e).__name__ for e in chain}


def _lowered(chain: list[BaseException]) -> str:
    """The chain's words, lower-cased, without what the peer sent (a status line that is not HTTP,
    quoted again by the exceptions wrapping it): a peer's bytes must not choose the kind."""
    text = " ".join(str(e) for e in chain).lower()
    for sent in (e for e in chain if isinstance(e, http.client.HTTPException)):
        for quoted in {str(sent), repr(sent), *(repr(arg) for arg in sent.args)}:
            if quoted:
                text = text.replace(quoted.lower(), " ")
    return text


# Each rule names one kind, or passes (None); the first that names one wins. Order matters: TLS errors
# and timeouts are OSErrors too, and a refused connection reads "connection error" in requests' words.


def _our_bounds(chain: list[BaseException], timeout: float | None) -> TransportFailure | None:
    too_large = _first(chain, AnswerTooLarge)
    if too_large is not None:
        return TransportFailure("too_large", str(too_large), "An API answers a few KiB: is the host the right service?")
    too_slow = _first(chain, AnswerTooSlow)
    return TransportFailure("timeout", str(too_slow)) if too_slow is not None else None


def _dns(chain: list[BaseException], timeout: float | None) -> TransportFailure | None:
    unresolved = "NameResolutionError" in _names(chain) or "name or service not known" in _lowered(chain)
    if unresolved or _first(chain, socket.gaierror):
        return TransportFailure("dns", "the host name does not resolve (DNS)", "Is the host name spelled right?")
    return None


def _tls(chain: list[BaseException], timeout: float | None) -> TransportFailure | None:
    tls = _first(chain, ssl.SSLError)
    if tls is None and "SSLError" not in _names(chain):
        return None
    lowered = _lowered(chain)
    if "wrong_version_number" in lowered or "wrong version number" in lowered or "record layer" in lowered:
        return TransportFailure(
            "scheme",
            "the TLS handshake failed: the server does not speak HTTPS on that port",
            "Does the URL need http:// instead of https://, or another port?",
        )
    if isinstance(tls, ssl.SSLCertVerificationError) or "certificate" in lowered:
        why = getattr(tls, "verify_message", None)
        return TransportFailure(
            "tls",
            "its TLS certificate is not trusted" + (f" ({why})" if why else ""),
            "If a proxy re-signs TLS, point REQUESTS_CA_BUNDLE at its CA certificate.",
        )
    reason = getattr(tls, "reason", None)  # set on errors from the ssl module, not on hand-made ones
    return TransportFailure("tls", "the TLS handshake failed" + (f" ({reason})" if reason else ""))


def _tls_answer(chain: list[BaseException], timeout: float | None) -> TransportFailure | None:
    text = " ".join(str(e) for e in chain)
    if "\\x15\\x03" in text or "\x15\x03" in text:  # a TLS alert record where an HTTP status line belongs
        return TransportFailure("scheme", "it answered in TLS to a plain HTTP request", "Use https:// in the URL.")
    return None


def _timeouts(chain: list[BaseException], timeout: float | None) -> TransportFailure | None:
    names = _names(chain)
    if names & {"ConnectTimeout", "ConnectTimeoutError"}:
        return TransportFailure("connect_timeout", "no answer to the connection (timed out)")
    timed_out = _first(chain, TimeoutError) or names & {"Timeout", "ReadTimeout", "ReadTimeoutError"}
    if timed_out or "timed out" in _lowered(chain):
        within = f"no complete answer within {timeout:g} s" if timeout is not None else "no answer"
        return TransportFailure("timeout", f"{within} (timed out)")
    return None


def _refused(chain: list[BaseException], timeout: float | None) -> TransportFailure | None:
    if _first(chain, ConnectionRefusedError) or "refused" in _lowered(chain):
        return TransportFailure("connection_refused", "connection refused (is the port right, is the service up?)")
    return None


def _dropped(chain: list[BaseException], timeout: float | None) -> TransportFailure | None:
    closed = (http.client.RemoteDisconnected, http.client.IncompleteRead, ConnectionResetError, BrokenPipeError)
    names = _names(chain)
    if any(_first(chain, kind) for kind in closed) or names & {"ChunkedEncodingError", "ProtocolError"}:
        return TransportFailure("connection_error", "the connection was closed without an answer")
    garbled = _first(chain, http.client.HTTPException)
    if garbled is not None:
        shown = redact_peer(repr(garbled))[:200]
        return TransportFailure("protocol_error", f"the answer is not valid HTTP: {shown}")
    if "ConnectionError" in names:  # requests' own, which wraps what urllib3 could not name
        return TransportFailure("connection_error", "the connection was closed without an answer")
    # A plain OSError from the socket (unreachable network...), not requests' exceptions, OSErrors too.
    failed = next((e for e in chain if isinstance(e, OSError) and type(e).__module__ == "builtins"), None)
    if isinstance(failed, OSError):
        return TransportFailure("connection_error", f"the connection failed: {failed.strerror or failed}")
    return None


_RULES = (_our_bounds, _dns, _tls, _tls_answer, _timeouts, _refused, _dropped)
