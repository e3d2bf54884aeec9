"""Logging setup, secret redaction, and the escaping that makes any text one safe printable line.

Without ``--debug`` nothing from the libraries reaches the user: databricks-sdk
logs warnings (for example when host metadata cannot be read) that are noise
to a user who did not ask. With ``--debug`` everything is logged on stderr,
and every token or secret value this process has seen is replaced by
``***REDACTED***`` in every record, whatever logger it comes from.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import urllib.parse
from typing import Any

REDACTED = "***REDACTED***"

_lock = threading.Lock()
_secrets: set[str] = set()
# Forms shorter than this are redacted only from what a peer says (``redact_peer``): a 3-character
# password echoed back by a partner is hidden, but "abc" is not cut out of every table we print.
_short_secrets: set[str] = set()
_MIN_SECRET_LENGTH = 4
# Sorted longest first (a form inside a longer one must not leave the rest of it behind), rebuilt
# only when a secret is added: a redaction then costs one str.replace per form.
_ordered: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())

# Values that look like credentials even when we were not told about them: Authorization headers and
# Databricks PATs. Each pattern comes with the word it needs, found far faster than the pattern scans
# (neither starts with a literal the regex engine can seek): an 8 MB answer without either word is
# redacted in 0.08 s instead of 0.5 s.
_PATTERNS = [
    (
        re.compile("(?i)authorization"),
        # (An Authorization key, not "requires_authorization": true.)
        re.compile(
            r"(?i)((?<![\w-])authorization['\"]?\s*[:=]\s*['\"]?)(?!(?:true|false|null)\b)(bearer|basic)?\s*[^'\"\s,}]+"
        ),
    ),
    # A Basic credential quoted without its header name (an OAuth error echoing the request): the
    # scheme and a base64 run long enough to be one, not the word in "basic auth failed".
    (
        re.compile("(?i)basic"),
        re.compile(r"(?i)(\bbasic\s+)(?=[\w+/-]*(?:[0-9+/]|[a-z](?-i:[A-Z])))[A-Za-z0-9+/_-]{8,}={0,2}"),
    ),
    (re.compile("dapi"), re.compile(r"\bdapi[0-9a-f]{32}(?:-\d+)?\b")),
]


def register_secret(value: str | None) -> None:
    """Remember a value that must never be printed (a token, a secret), in every form it travels in."""
    if not value:
        return
    forms = secret_forms(value)
    _remember(forms)


def register_basic(user: str | None, password: str | None) -> None:
    """Remember a user and password that travel as ``Basic base64(user:password)`` (OAuth's client
    id and secret, Basic auth): the header, its decoded text and the password, in every form."""
    if not password:
        return
    register_secret(password)
    if user:
        token = base64.b64encode(f"{user}:{password}".encode("latin-1", "replace")).decode("ascii")
        register_secret(f"Basic {token}")
        register_secret(base64.b64encode(f"{user}:{password}".encode("utf-8", "surrogatepass")).decode("ascii"))


def _remember(forms: set[str]) -> None:
    global _ordered
    with _lock:
        if forms <= _secrets | _short_secrets:
            return
        _secrets.update(form for form in forms if len(form) >= _MIN_SECRET_LENGTH)
        _short_secrets.update(form for form in forms if len(form) < _MIN_SECRET_LENGTH)
        _ordered = (
            tuple(sorted(_secrets, key=len, reverse=True)),
            tuple(sorted(_short_secrets, key=len, reverse=True)),
        )


def saved_secrets() -> tuple[frozenset[str], frozenset[str]]:
    """What is registered now, for ``restore_secrets`` (tests: one process runs many commands)."""
    with _lock:
        return frozenset(_secrets), frozenset(_short_secrets)


def restore_secrets(saved: tuple[frozenset[str], frozenset[str]]) -> None:
    global _ordered
    with _lock:
        _secrets.clear()
        _secrets.update(saved[0])
        _short_secrets.clear()
        _short_secrets.update(saved[1])
        _ordered = (
            tuple(sorted(_secrets, key=len, reverse=True)),
            tuple(sorted(_short_secrets, key=len, reverse=True)),
        )


def secret_forms(value: str) -> set[str]:
    """The texts a secret can show up as in an answer, a log or an exception, at any length.

    The whole value; without its scheme (``Bearer X`` -> ``X``: a workspace
    quotes the value it refuses); for Basic auth the decoded ``user:password``
    and the password; each of those encoded as a peer may echo it (base64 and
    base64url, padded or not, URL-encoded, hex); and each of all these
    JSON-escaped and repr-escaped, once or twice, as they appear inside a JSON
    body or a Python message. ``register_secret`` keeps the forms shorter than
    4 characters apart: they are redacted only from peers' words.
    """
    plain = {value}
    scheme, _, rest = value.partition(" ")
    rest = rest.strip()
    if rest:
        plain.add(rest)
        if scheme.lower() == "basic":
            decoded = _b64decode(rest)
            if decoded:
                plain.add(decoded)
                plain.add(decoded.partition(":")[2])
    forms = set(plain)
    for text in plain:
        forms |= _encoded(text)
    for _ in range(2):  # escaped once (a JSON body), and twice (that body quoted in a log line)
        forms |= {escaped for text in forms for escaped in _escaped(text)}
    forms.discard("")
    return forms


def _encoded(text: str) -> set[str]:
    """``text`` as the encodings a peer may echo it in: base64 (standard and URL-safe, padded and
    not), percent-encoding (upper and lower case hex, ``+`` or ``%20`` for spaces), hex."""
    raw = text.encode("utf-8", "surrogatepass")
    out = set()
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        out.add(encoded.decode("ascii"))
        out.add(encoded.decode("ascii").rstrip("="))
    for quoted in (urllib.parse.quote(raw, safe=""), urllib.parse.quote_plus(raw, safe="")):
        out.add(quoted)
        out.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quoted))
    out.add(raw.hex())
    out.add(raw.hex().upper())
    return out


def _escaped(text: str) -> tuple[str, ...]:
    return (json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1], repr(text)[1:-1])


def _b64decode(text: str) -> str | None:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def redact(text: str) -> str:
    """``text`` with every known secret (in every form of 4 characters or more) and every
    credential-looking value replaced by ``***REDACTED***``."""
    secrets = _ordered[0]
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for word, pattern in _PATTERNS:
        if word.search(text):
            text = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + REDACTED, text)
    return text


def redact_peer(text: str) -> str:
    """``redact``, and also the secrets' short forms (a 3-character password): for everything a
    peer says (its errors, bodies, findings, and the logs and tracebacks that quote them), where
    a short password coming back is the password, not a word of ours."""
    text = redact(text)
    for secret in _ordered[1]:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


# C0 and C1 control characters, DEL, and the Unicode bidirectional controls
# (marks, embeddings, overrides, isolates) that can make text read differently
# from what it is ("Trojan source").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _shown_escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object) -> str:
    """``str(value)`` with every secret redacted and every control character shown escaped:
    always one printable line. Redacted before layout, so a table cannot fold a secret
    across lines where the stream-level filter would not recognise it."""
    return _UNSAFE.sub(_shown_escaped, redact(str(value)))


def clean_lines(value: str) -> str:
    """Like :func:`clean`, but keeps the line breaks of a multi-line text we print (a traceback, a log)."""
    return "\n".join(clean(line) for line in value.split("\n"))


def traceback_text(error: BaseException) -> str:
    """A traceback of ``error`` and its causes, for --debug, with every exception's message on one
    escaped line: a peer's words inside a message (a newline then ``Error: ...``) cannot start a
    line of their own. The frames are our code; only the messages quote peers."""
    import traceback

    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    chain: list[tuple[BaseException, str]] = []
    note = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, note))
        if current.__cause__ is not None:
            current, note = (
                current.__cause__,
                "\nThe above exception was the direct cause of the following exception:\n\n",
            )
        elif current.__context__ is not None and not current.__suppress_context__:
            current, note = (
                current.__context__,
                "\nDuring handling of the above exception, another exception occurred:\n\n",
            )
        else:
            current = None
    for exc, after in reversed(chain):
        frames = "".join(traceback.format_tb(exc.__traceback__))
        message = "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")
        head = "Traceback (most recent call last):\n" if frames else ""
        parts.append(f"{head}{frames}{clean(redact_peer(message))}\n")
        if after:
            parts.append(after)
    return "".join(parts)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Logged HTTP bodies and messages quote peers: never raw control characters on the terminal,
        # and their continuation lines indented, so a peer's "\nError: ..." cannot start a line.
        message = record.getMessage()
        record.msg = clean_lines(redact_peer(message)).replace("\n", "\n  ")
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = clean_lines(redact(traceback_text(record.exc_info[1]).rstrip("\n")))
            record.exc_info = None
        return True


_LIBRARY_LOGGERS = ("databricks", "urllib3", "werkzeug", "asyncio", "stp_ext")  # asyncio: the servers' loop


def configure_logging(debug: bool) -> None:
    """Route library and tool logs: nowhere by default, redacted to stderr with --debug.

    Called at every start of the CLI (tests run many invocations in one
    process, each with its own stderr), and again when --debug is parsed.
    """
    handler: logging.Handler
    if debug:
        handler = logging.StreamHandler()  # binds the current sys.stderr
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))
        handler.addFilter(RedactingFilter())
    else:
        # Without a handler, Python's last-resort handler would print warnings.
        handler = logging.NullHandler()
    route_library_logs(handler, logging.DEBUG if debug else logging.WARNING)


def route_library_logs(handler: logging.Handler, level: int) -> None:
    """Send the libraries' and our loggers to ``handler`` alone, from ``level`` up (and not to the root's)."""
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False


class RedactingStream:
    """A text stream that redacts whatever is written through it (the consoles' choke point).

    Everything the tool prints goes through render's consoles; wrapping their
    stream here means a secret a peer echoed cannot reach the terminal even
    if a message forgot to redact it. Redaction works on each write, and rich
    writes a whole rendering at once; text should still be redacted before
    it is laid out, since a table may fold a long value across lines.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding...: the stream's own
        return getattr(self._stream, name)
