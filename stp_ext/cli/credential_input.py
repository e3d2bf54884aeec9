"""Credential options shared by `create`, `secret put`, `connect-test` and `sample-partner`.

A secret value is never accepted as a command-line argument (it would land in
shell history and `ps`): it comes from stdin when a flag asks for it, or from
a hidden prompt on a terminal.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from stp_ext.core import auth_header
from stp_ext.core.auth_header import AuthHeader
from stp_ext.core.errors import InputError
from stp_ext.core.inputs import decode_utf8, read_stdin
from stp_ext.core.terminal import Terminal

F = TypeVar("F", bound=Callable[..., Any])

# A secret value is at most 128 KiB (the Secrets API's limit); two more bytes for the newline
# `echo` adds. A longer input is refused here, before anything is sent (auth_header names the limit).
MAX_STDIN_BYTES = auth_header.MAX_VALUE_BYTES + 2


# How the credential options read per command: stored (create, secret put),
# sent (connect-test) or accepted (sample-partner). The option names are the same.
_CREDENTIAL_USE = {
    "store": ("Store", "an empty value is stored"),
    "send": ("Send", "none is sent"),
    "accept": ("Accept only", "requests without one are accepted"),
}


def credential_options_for(use: str) -> Callable[[F], F]:
    """The credential options, their help worded for what the command does with the credential."""
    verb, empty = _CREDENTIAL_USE[use]

    def apply(f: F) -> F:
        decorators = [
            click.option(
                "--auth-header-stdin",
                is_flag=True,
                help="Read the exact Authorization header value from stdin (one trailing newline is dropped).",
            ),
            click.option(
                "--basic-user",
                metavar="USER",
                help=f"{verb} Basic auth for USER; the password comes from --basic-password-stdin or a prompt.",
            ),
            click.option(
                "--basic-password-stdin",
                is_flag=True,
                help="Read the Basic auth password from stdin (with --basic-user).",
            ),
            click.option(
                "--no-auth-header",
                is_flag=True,
                help=f"The partner expects no Authorization header ({empty}).",
            ),
        ]
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


credential_options = credential_options_for("store")


@dataclass
class CredentialInput:
    auth_header_stdin: bool = False
    basic_user: str | None = None
    basic_password_stdin: bool = False
    no_auth_header: bool = False

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> CredentialInput:
        """Pop the credential options out of a command's keyword arguments."""
        return cls(
            auth_header_stdin=kwargs.pop("auth_header_stdin", False),
            basic_user=kwargs.pop("basic_user", None),
            basic_password_stdin=kwargs.pop("basic_password_stdin", False),
            no_auth_header=kwargs.pop("no_auth_header", False),
        )

    @property
    def given(self) -> bool:
        return any((self.auth_header_stdin, self.basic_user, self.basic_password_stdin, self.no_auth_header))

    def check_stdin_free(self, config_path: str | None) -> None:
        """Stdin holds one thing: refuse ``-f -`` with a credential read from stdin too, before reading either."""
        if config_path == "-" and (self.auth_header_stdin or self.basic_password_stdin):
            raise InputError(
                "the config file and the credential cannot both come from stdin",
                hint="Give the config file by its path (-f partner.json) and pipe in only the credential.",
            )

    def flags(self) -> str:
        """These options as command-line text, for a command that finishes a job (never a value)."""
        if self.no_auth_header:
            return " --no-auth-header"
        if self.auth_header_stdin:
            return " --auth-header-stdin"
        if self.basic_user:
            stdin = " --basic-password-stdin" if self.basic_password_stdin else ""
            return f" --basic-user {shlex.quote(self.basic_user)}{stdin}"
        return ""

    def check(self) -> None:
        """Reject contradictory options before anything is read or sent."""
        chosen = [
            name
            for name, on in (
                ("--auth-header-stdin", self.auth_header_stdin),
                ("--basic-user", bool(self.basic_user)),
                ("--no-auth-header", self.no_auth_header),
            )
            if on
        ]
        if len(chosen) > 1:
            raise InputError(f"{' and '.join(chosen)} cannot be used together", hint="Choose one credential.")
        if self.basic_password_stdin and not self.basic_user:
            raise InputError("--basic-password-stdin needs --basic-user USER")

    def check_readable(self, terminal: Terminal) -> None:
        """Fail before anything is sent when the value would need a prompt and there is no terminal."""
        self.check()
        if self.basic_user and not self.basic_password_stdin and not terminal.stdin_is_tty():
            raise InputError(
                "no password for --basic-user",
                hint="Pipe it in with --basic-password-stdin, or run on a terminal to be prompted.",
            )
        if not self.given and not terminal.stdin_is_tty():
            raise InputError(
                "no credential given and no terminal to prompt on",
                hint="Use --auth-header-stdin, --basic-user USER --basic-password-stdin, or --no-auth-header.",
            )

    def read(self, *, prompt: bool, warn: Callable[[str], None], terminal: Terminal | None = None) -> AuthHeader | None:
        """The credential the options describe, or None when none was given and we may not prompt.

        ``prompt``: ask on a terminal (hidden input) when no option was given.
        ``terminal``: where to ask (the command environment's; a fake in tests).
        """
        self.check()
        terminal = terminal or Terminal()
        if self.no_auth_header:
            return auth_header.none()
        if self.auth_header_stdin:
            text = _read_stdin("the Authorization header value", terminal)
            header, warnings = auth_header.from_text(text)
            for message in warnings:
                warn(message)
            return header
        if self.basic_user:
            if self.basic_password_stdin:
                # Any text: Basic auth sends it base64-encoded, so it need not be a header value itself.
                password = auth_header.without_line_end(_read_stdin("the password", terminal))
                return auth_header.basic(self.basic_user, password)
            if not terminal.stdin_is_tty():
                raise InputError(
                    "no password for --basic-user",
                    hint="Pipe it in with --basic-password-stdin, or run on a terminal to be prompted.",
                )
            typed = terminal.hidden_prompt(f"Password for {self.basic_user}", repeat=True)
            _refuse_blank(typed, f"the password for {self.basic_user}")
            return auth_header.basic(self.basic_user, typed)
        if prompt and terminal.stdin_is_tty():
            value = terminal.hidden_prompt("Authorization header value Databricks should send (hidden)", repeat=True)
            _refuse_blank(value, "the Authorization header value")
            return auth_header.from_text(value)[0]
        return None


def _refuse_blank(value: str, what: str) -> None:
    """An empty or all-space answer at the hidden prompt is Enter pressed by mistake, not a credential.

    Stored, every check but the partner's own would pass (stdin refuses an empty value too).
    """
    if not value.strip():
        raise InputError(
            f"{what} typed at the prompt is empty{' (only spaces)' if value else ''}; nothing was stored",
            hint="Type the value your endpoint accepts; for a partner that takes no Authorization header, "
            "use --no-auth-header.",
        )


def _read_stdin(what: str, terminal: Terminal) -> str:
    if terminal.stdin_is_tty():
        terminal.say(f"Reading {what} from stdin; end with Ctrl-D.")
    raw = read_stdin(
        limit=MAX_STDIN_BYTES,
        too_big=f"{what} on stdin is larger than 128 KiB, the most a workspace secret holds; nothing was sent",
        too_big_hint=f"Pipe in only {what}.",
    )
    data = decode_utf8(raw, "stdin")
    if data == "":
        raise InputError(f"stdin was empty; expected {what}", hint="Pipe the value in, e.g. from a file.")
    return data
