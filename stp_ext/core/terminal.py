"""The terminal seam: everything a command asks of a human at a terminal.

Commands never call ``isatty``, ``click.confirm`` or ``click.prompt``
themselves; they ask the ``Terminal`` on their command environment. That
keeps the rule "prompt only on a terminal, never block a script on stdin" in
one place, and lets tests put a :class:`FakeTerminal` in its place
(``cli.main(..., terminal=FakeTerminal(...))``) to answer confirmations and
hidden prompts, or to play a script with no terminal at all.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import click

from stp_ext.core.logs import clean


class Terminal:
    """The real terminal of this process (stdin for input, stderr for questions and spinners)."""

    def stdin_is_tty(self) -> bool:
        try:
            return sys.stdin.isatty()
        except (AttributeError, ValueError):  # replaced or closed stdin
            return False

    def stderr_is_tty(self) -> bool:
        try:
            return sys.stderr.isatty()
        except (AttributeError, ValueError):
            return False

    def confirm(self, question: str) -> bool:
        """Ask yes/no on stderr; the default (Enter) is no."""
        return bool(click.confirm(question, default=False, err=True))

    def hidden_prompt(self, label: str, *, repeat: bool = False) -> str:
        """Read a value without echoing it (a password, a header).

        ``repeat``: ask twice; a typo in a hidden value would otherwise be
        stored, and found only when the tile fails.
        """
        value: str = click.prompt(
            label,
            hide_input=True,
            err=True,
            default="",
            show_default=False,
            confirmation_prompt="Repeat for confirmation" if repeat else False,
        )
        return value

    def ask(self, label: str, default: str | None, check: Callable[[str], Any]) -> Any:
        """Ask for a visible value; ``check`` returns the value to keep or raises click.BadParameter,
        and then the message is shown and the question asked again."""
        return click.prompt(label, default=default, value_proc=check, err=True)

    def say(self, message: str) -> None:
        """A one-line remark to the human at the terminal (stderr)."""
        sys.stderr.write(clean(message) + "\n")
        sys.stderr.flush()

    @contextlib.contextmanager
    def spinner(self, message: str) -> Iterator[None]:
        """A spinner on stderr while we wait; only on a terminal, never in CI."""
        if not self.stderr_is_tty() or os.environ.get("CI"):
            yield
            return
        from rich.console import Console  # deferred: rich (~40 ms) stays out of --help

        console = Console(file=sys.stderr, highlight=False)
        with console.status(clean(message), spinner="dots"):
            yield


@dataclass
class FakeTerminal(Terminal):
    """A scripted terminal for tests: ``tty`` says whether stdin is one; answers are used in order.

    Every question asked is recorded in ``asked`` (confirmations and prompts
    alike) so a test can assert that nothing was asked off a terminal. A
    question with no scripted answer fails the test loudly.
    """

    tty: bool = True
    answers: list[bool] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # answers to ask(), in order
    asked: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    spinners: list[str] = field(default_factory=list)

    def stdin_is_tty(self) -> bool:
        return self.tty

    def stderr_is_tty(self) -> bool:
        return self.tty

    def confirm(self, question: str) -> bool:
        self.asked.append(question)
        if not self.answers:
            raise AssertionError(f"unexpected confirmation: {question}")
        return self.answers.pop(0)

    def hidden_prompt(self, label: str, *, repeat: bool = False) -> str:
        self.asked.append(label)
        if not self.secrets:
            raise AssertionError(f"unexpected prompt: {label}")
        return self.secrets.pop(0)

    def ask(self, label: str, default: str | None, check: Callable[[str], Any]) -> Any:
        """Answers come from ``replies`` ("" takes the default); a refused one is recorded in ``said``."""
        self.asked.append(label)
        while self.replies:
            reply = self.replies.pop(0)
            try:
                return check(reply if reply or default is None else default)
            except click.BadParameter as e:
                self.said.append(f"Error: {e.format_message()}")
        raise AssertionError(f"unexpected question: {label}")

    def say(self, message: str) -> None:
        self.said.append(message)

    @contextlib.contextmanager
    def spinner(self, message: str) -> Iterator[None]:
        self.spinners.append(message)
        yield
