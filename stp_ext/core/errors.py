"""Domain errors and exit codes.

Services raise these; the CLI maps them to one ``Error:`` line, an optional
next-step hint and an exit status in a single place (``stp_ext.cli.main``).
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit statuses; a contract for scripts (docs/cli.md)."""

    OK = 0
    FAILURE = 1  # the workspace or a partner endpoint refused or failed, a check failed, network
    USAGE = 2  # bad usage or bad input caught locally; nothing was sent
    HANGUP = 129  # 128 + SIGHUP: the terminal closed or the SSH session dropped; reported as an interruption
    INTERRUPTED = 130


class StpError(Exception):
    """An error the user can act on: a message, an optional next step, an exit status."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(StpError):
    """Bad input caught locally (a file, an option); nothing was sent."""

    exit_code = ExitCode.USAGE


class ConfigFileError(InputError):
    """The partner config file cannot be read or parsed at all."""


class AuthConfigError(InputError):
    """The auth options or config file cannot give a workspace to talk to."""


class WorkspaceError(StpError):
    """The workspace answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        status: int | None = None,
        error_code: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.error_code = error_code


class OutcomeUnknownError(WorkspaceError):
    """A change was sent and no answer came back: it may or may not have been made."""


class NotFoundError(WorkspaceError):
    """The thing asked for does not exist in the workspace."""


class CheckFailed(StpError):
    """A check command ran and at least one check failed (exit 1, no traceback)."""


class PartialFailure(StpError):
    """A multi-step command stopped half-way; ``done`` lists what was done."""

    def __init__(self, message: str, hint: str | None = None, *, done: list[str] | None = None) -> None:
        super().__init__(message, hint)
        self.done = done or []


class Interrupted(StpError):
    """The user interrupted (Ctrl-C, SIGTERM, SIGHUP); the message says what was done by then."""

    exit_code = ExitCode.INTERRUPTED
