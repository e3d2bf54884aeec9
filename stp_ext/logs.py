"""Logging setup and secret redaction.

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
from typing import Any

REDACTED = "***REDACTED***"

_lock = threading.Lock()
_secrets: set[str] = set()
_MIN_SECRET_LENGTH = 4

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
    (re.compile("dapi"), re.compile(r"\bdapi[0-9a-f]{32}(?:-\d+)?\b")),
]


def register_secret(value: str | None) -> None:
    """Remember a value that must never be printed (a token, a secret), in every form it travels in."""
    if not value:
        return
    forms = secret_forms(value)
    with _lock:
        _secrets.update(forms)


def secret_forms(value: str) -> set[str]:
    """The texts a secret can show up as in an answer, a log or an exception.

    The whole value; without its scheme (``Bearer X`` -> ``X``: a workspace
    quotes the value it refuses); base64 of either (``bytes_value``, the
    Secrets API's ``get``); for Basic auth the decoded ``user:password`` and
    the password; and each of those JSON-escaped and repr-escaped, once or
    twice, as they appear inside a JSON body or a Python message. Forms shorter than 4
    characters are left out: redacting them would garble ordinary text.
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
    for text in list(plain):
        plain.add(base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii"))
    forms = set(plain)
    for _ in range(2):  # escaped once (a JSON body), and twice (that body quoted in a log line)
        forms |= {escaped for text in forms for escaped in _escaped(text)}
    return {form for form in forms if len(form) >= _MIN_SECRET_LENGTH}


def _escaped(text: str) -> tuple[str, ...]:
    return (json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1], repr(text)[1:-1])


def _b64decode(text: str) -> str | None:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    for word, pattern in _PATTERNS:
        if word.search(text):
            text = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from stp_ext.render.safe import clean_lines

        # Logged HTTP bodies and messages quote peers: never raw control characters on the terminal.
        message = record.getMessage()
        record.msg = clean_lines(redact(message))
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = clean_lines(redact(logging.Formatter().formatException(record.exc_info)))
            record.exc_info = None
        return True


_LIBRARY_LOGGERS = ("databricks", "urllib3", "werkzeug", "waitress", "stp_ext")


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
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if debug else logging.WARNING)
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
