"""The only module that prints.

Two consoles: stdout for results (a table, a panel, or one JSON document) and
stderr for everything else (errors, warnings, progress). ``-o json`` prints
exactly one JSON document on stdout and nothing else there. Rich is imported
lazily so ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

OUTPUT_FORMATS = ("text", "json")


def _console(stream: Any) -> Console:
    from rich.console import Console

    # Consoles are built per use so that they follow whatever sys.stdout/stderr
    # is now (click's CliRunner swaps them). Rich honours NO_COLOR and disables
    # colour and animation when the stream is not a terminal.
    return Console(file=stream, soft_wrap=False, highlight=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@dataclass
class Column:
    header: str
    style: str | None = None
    no_wrap: bool = False


@dataclass
class Renderer:
    """Renders results for humans (rich) or scripts (JSON)."""

    output: str = "text"
    debug: bool = False
    _spinner_depth: int = field(default=0, repr=False)

    @property
    def is_json(self) -> bool:
        return self.output == "json"

    @property
    def out(self) -> Console:
        return _console(sys.stdout)

    @property
    def err(self) -> Console:
        return _console(sys.stderr)

    # -- results (stdout) -------------------------------------------------

    def json(self, document: Any) -> None:
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
        sys.stdout.flush()

    def table(
        self,
        columns: Sequence[Column | str],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
        caption: str | None = None,
        empty: str | None = None,
    ) -> None:
        from rich.table import Table

        if not rows and empty is not None:
            self.out.print(empty)
            return
        table = Table(title=title, title_justify="left", caption=caption, caption_justify="left", header_style="bold")
        for column in columns:
            if isinstance(column, str):
                column = Column(column)
            table.add_column(column.header, style=column.style, no_wrap=column.no_wrap, overflow="fold")
        for row in rows:
            table.add_row(*(self._cell(value) for value in row))
        self.out.print(table)

    def panel(self, body: str, *, title: str | None = None, style: str = "green") -> None:
        from rich.panel import Panel

        self.out.print(Panel(body, title=title, title_align="left", border_style=style, expand=False))

    def line(self, text: str = "") -> None:
        """One line of human output on stdout (text mode only; markup allowed)."""
        self.out.print(text)

    @staticmethod
    def _cell(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "[green]✓ pass[/]" if value else "[red]✗ fail[/]"
        return value if hasattr(value, "__rich_console__") else str(value)

    # -- diagnostics (stderr) ---------------------------------------------

    def error(self, message: str, hint: str | None = None) -> None:
        # Plain writes, not rich: the Error line must survive any terminal and
        # never be wrapped, so scripts can grep it.
        sys.stderr.write(f"Error: {message}\n")
        if hint:
            sys.stderr.write(f"{hint}\n")
        sys.stderr.flush()

    def warning(self, message: str) -> None:
        # soft_wrap: a warning may carry a command to copy; it must stay on one line.
        self.err.print(f"[yellow]Warning:[/] {_escape(message)}", markup=True, soft_wrap=True)

    def findings_on_stderr(self, findings: Sequence[Any]) -> None:
        """Config findings (objects with severity/field/message/hint) as lines on stderr."""
        for finding in findings:
            colour = "red" if finding.severity == "error" else "yellow"
            hint = f" [dim]({_escape(finding.hint)})[/]" if finding.hint else ""
            self.err.print(
                f"[{colour}]{finding.severity}[/] {_escape(finding.field)}: {_escape(finding.message)}{hint}",
                markup=True,
            )

    def note(self, message: str) -> None:
        """A human remark on stderr: never pollutes JSON on stdout."""
        self.err.print(message)

    @contextlib.contextmanager
    def status(self, message: str) -> Iterator[None]:
        """A spinner on stderr while we wait on the network; only on a terminal."""
        console = self.err
        if self._spinner_depth or not console.is_terminal or self.debug or os.environ.get("CI"):
            yield
            return
        self._spinner_depth += 1
        try:
            with console.status(message, spinner="dots"):
                yield
        finally:
            self._spinner_depth -= 1
