"""Logging setup and secret redaction.

Without ``--debug`` nothing from the libraries reaches the user: databricks-sdk
logs warnings (for example when host metadata cannot be read) that are noise
to a user who did not ask. With ``--debug`` everything is logged on stderr,
and every token or secret value this process has seen is replaced by
``***REDACTED***`` in every record, whatever logger it comes from.
"""

from __future__ import annotations

import logging
import re
import threading

REDACTED = "***REDACTED***"

_lock = threading.Lock()
_secrets: set[str] = set()

# Values that look like credentials even when we were not told about them:
# Authorization headers and Databricks PATs.
_PATTERNS = [
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer|basic)?\s*[^'\"\s,}]+"),
    re.compile(r"\bdapi[0-9a-f]{32}(?:-\d+)?\b"),
]


def register_secret(value: str | None) -> None:
    """Remember a value that must never be printed (a token, a secret)."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
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
