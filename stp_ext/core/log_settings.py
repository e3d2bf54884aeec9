"""Logging as the Databricks CLI configures it: DATABRICKS_LOG_LEVEL, DATABRICKS_LOG_FILE, DATABRICKS_LOG_FORMAT.

The Databricks CLI (``--log-level``, ``--log-file``, ``--log-format``, each
also read from these variables) logs nothing by default; ``--debug`` is level
``debug`` on stderr. We do the same, with the same values:

* ``DATABRICKS_LOG_LEVEL``: ``trace`` (our ``debug``), ``debug``, ``info``,
  ``warn``, ``error`` or ``disabled`` (the default; ``--debug`` means ``debug``);
* ``DATABRICKS_LOG_FILE``: ``stderr`` (the default), ``stdout`` or a file,
  appended to (created 0600, never through a symbolic link);
* ``DATABRICKS_LOG_FORMAT``: ``text`` (the default) or ``json`` (one object a
  line: ``time``, ``level``, ``logger``, ``msg``).

Every record passes the one redaction filter ``--debug`` uses
(``stp_ext.core.logs.RedactingFilter``), wherever it goes.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any

from stp_ext.core.errors import InputError
from stp_ext.core.logs import RedactingFilter, configure_logging, route_library_logs

LEVEL_ENV = "DATABRICKS_LOG_LEVEL"
FILE_ENV = "DATABRICKS_LOG_FILE"
FORMAT_ENV = "DATABRICKS_LOG_FORMAT"

# The Databricks CLI's levels (libs/log/levels.go); Python has no trace, so it is debug.
LEVELS: dict[str, int | None] = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "disabled": None,
}
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


@dataclass(frozen=True)
class LogSettings:
    level: int | None  # None: nothing is logged
    file: str  # "stderr", "stdout" or a path
    format: str  # "text" or "json"


def from_environment(debug: bool) -> LogSettings:
    """The settings the variables ask for; ``--debug`` raises the level to debug. Bad values exit 2."""
    raw_level = os.environ.get(LEVEL_ENV, "").strip().lower() or "disabled"
    if raw_level not in LEVELS:
        raise InputError(
            f"{LEVEL_ENV}={raw_level!r} is not a log level",
            hint=f"Use one of: {', '.join(name for name in LEVELS if name != 'warning')} (or unset it).",
        )
    level = logging.DEBUG if debug else LEVELS[raw_level]
    log_format = os.environ.get(FORMAT_ENV, "").strip().lower() or "text"
    if log_format not in FORMATS:
        raise InputError(f"{FORMAT_ENV}={log_format!r} is not a log format", hint="Use text or json (or unset it).")
    log_file = os.environ.get(FILE_ENV, "").strip() or "stderr"
    return LogSettings(level=level, file=log_file, format=log_format)


class JsonFormatter(logging.Formatter):
    """One JSON object a line, as the Databricks CLI's ``--log-format json`` writes them."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_text:  # the traceback, already redacted by the filter
            document["error"] = record.exc_text
        return json.dumps(document)


# Log files we opened, closed when logging is configured again (tests run many commands in one process).
_opened: list[IO[str]] = []


def configure(debug: bool) -> None:
    """Route the libraries' and our logs as the variables (and ``--debug``) say; nothing by default."""
    settings = from_environment(debug)
    if settings.level is None or (settings.file == "stderr" and settings.format == "text" and debug):
        _close_opened()
        configure_logging(debug=debug)  # the default: nothing, or --debug's stderr log
        return
    stream = _open(settings.file)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter())
    route_library_logs(handler, settings.level)


def _open(target: str) -> IO[str]:
    _close_opened()
    if target == "stderr":
        return sys.stderr
    if target == "stdout":
        return sys.stdout
    path = os.path.expanduser(target)
    try:
        # Appended to, as the Databricks CLI does; 0600 and never through a link, though it holds no secret.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as e:
        raise InputError(
            f"cannot open {FILE_ENV}={target}: {e.strerror or e}",
            hint="Give a file in a folder you can write, or stderr.",
        ) from None
    stream = os.fdopen(descriptor, "a", encoding="utf-8", buffering=1)  # line-buffered: a crash keeps the log
    _opened.append(stream)
    return stream


def _close_opened() -> None:
    while _opened:
        _opened.pop().close()
