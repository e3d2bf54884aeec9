"""The printer every view uses: stdout for results, stderr for everything else.

Stdout carries a table, a panel, a few lines, or exactly one JSON document
(``-o json``) and nothing else. Stderr carries errors, warnings, notes and
spinners. Data reaches the terminal only through :mod:`stp_ext.render.safe`:
plain ``str`` arguments here are data (cleaned, never read as markup); styled
lines are ``Text`` built by the views. Rich is imported lazily so ``--help``
stays fast.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal, cast

from stp_ext.logs import RedactingStream, redact
from stp_ext.render.safe import clean, text
from stp_ext.terminal import Terminal

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text

OUTPUT_FORMATS = ("text", "json")


def _console(stream: Any, width: int | None = None) -> Console:
    from rich.console import Console

    # Consoles are built per use so that they follow whatever sys.stdout/stderr
    # is now (click's CliRunner swaps them). Rich honours NO_COLOR and disables
    # colour and animation when the stream is not a terminal.
    # The stream redacts too (stp_ext.logs): whatever a view printed without clean().
    redacting = cast("IO[str]", RedactingStream(stream))  # a duck-typed text stream: write/flush/isatty
    return Console(file=redacting, soft_wrap=False, highlight=False, markup=False, emoji=False, width=width)


def _as_text(value: Any) -> Any:
    """A table cell or panel line: our Text as is, anything else as cleaned plain data."""
    if value is None:
        return text("")
    if isinstance(value, bool):
        return text(("✓ pass", "green")) if value else text(("✗ fail", "red"))
    if hasattr(value, "__rich_console__"):
        return value
    return text(str(value))


@dataclass
class Column:
    header: str
    style: str | None = None
    # no_wrap: the cells are ids or commands to copy: never wrapped or split,
    # the table grows wider than the terminal instead.
    no_wrap: bool = False


@dataclass
class Renderer:
    """Renders results for humans (rich) or scripts (JSON)."""

    output: str = "text"
    debug: bool = False
    terminal: Terminal = field(default_factory=Terminal)
    _spinner_depth: int = field(default=0, repr=False)

    @property
    def is_json(self) -> bool:
        return self.output == "json"

    # -- results (stdout) -------------------------------------------------

    def json(self, document: Any) -> None:
        # ensure_ascii: every control or invisible character of the data is a \\u escape.
        sys.stdout.write(redact(json.dumps(document, indent=2, sort_keys=False, default=str)) + "\n")
        sys.stdout.flush()

    def table(
        self,
        columns: Sequence[Column | str],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
        caption: str | None = None,
        empty: str | Text | None = None,
    ) -> None:
        from rich.table import Table

        if not rows and empty is not None:
            self.line(empty)
            return
        table = Table(
            title=_as_text(title) if title else None,
            title_justify="left",
            caption=_as_text(caption) if caption else None,
            caption_justify="left",
            header_style="bold",
        )
        specs = [Column(column) if isinstance(column, str) else column for column in columns]
        for column in specs:
            overflow: Literal["ignore", "fold"] = "ignore" if column.no_wrap else "fold"
            table.add_column(column.header, style=column.style, no_wrap=column.no_wrap, overflow=overflow)
        cells = [[_as_text(value) for value in row] for row in rows]
        for row_cells in cells:
            table.add_row(*row_cells)
        self._print_whole(table, need=self._table_width(specs, cells))

    @staticmethod
    def _table_width(specs: Sequence[Column], cells: Sequence[Sequence[Any]]) -> int:
        """The narrowest width that keeps every no_wrap cell whole (rich would squeeze those too)."""
        from rich.measure import Measurement

        console = _console(sys.stdout)
        options = console.options.update_width(100_000)
        total = 0
        for index, column in enumerate(specs):
            width = len(column.header)
            for row in cells:
                measured = Measurement.get(console, options, row[index])
                width = max(width, measured.maximum if column.no_wrap else measured.minimum)
            total += width + 2  # one space of padding either side
        return total + len(specs) + 1  # the vertical rules

    def panel(self, lines: Sequence[Any], *, title: str, style: str = "green") -> None:
        """Lines (our Text, or plain data) in a box; widened rather than split."""
        from rich.panel import Panel
        from rich.text import Text

        if isinstance(lines, str):
            lines = lines.split("\n")  # one string: its line breaks are ours, its text is data
        body = Text("\n").join(_as_text(line) for line in lines)
        self._print_whole(Panel(body, title=text(title), title_align="left", border_style=style, expand=False))

    def line(self, *pieces: Any) -> None:
        """One line on stdout from pieces (see ``safe.text``); never wrapped, so commands stay copyable."""
        _console(sys.stdout).print(text(*pieces), soft_wrap=True)

    def _print_whole(self, renderable: RenderableType, need: int | None = None) -> None:
        # A table or panel is drawn at least as wide as its ids and commands
        # need: a terminal that is narrower soft-wraps the line, which copy
        # and paste undo, while a split id could not be pasted back.
        from rich.measure import Measurement

        console = _console(sys.stdout)
        if need is None:
            need = Measurement.get(console, console.options.update_width(100_000), renderable).minimum
        if need > console.width:
            console = _console(sys.stdout, width=need)
        console.print(renderable)

    # -- diagnostics (stderr) ---------------------------------------------

    def error(self, message: str, hint: str | None = None) -> None:
        # Plain writes, not rich: the Error line is one line whatever it
        # quotes (a newline in a workspace message cannot forge a second one)
        # and is never wrapped, so scripts can grep it.
        sys.stderr.write(f"Error: {clean(message)}\n")
        if hint:
            sys.stderr.write(f"{clean(hint)}\n")
        sys.stderr.flush()

    def warning(self, message: str) -> None:
        # soft_wrap: a warning may carry a command to copy; it must stay on one line.
        _console(sys.stderr).print(text(("Warning:", "yellow"), " ", message), soft_wrap=True)

    def note(self, *pieces: Any) -> None:
        """A human remark on stderr: never pollutes JSON on stdout."""
        _console(sys.stderr).print(text(*pieces), soft_wrap=True)

    def findings_on_stderr(self, findings: Sequence[Any]) -> None:
        """Config findings (objects with severity/field/message/hint) as lines on stderr."""
        from stp_ext.render.views.validate import MAX_SHOWN, more_findings

        console = _console(sys.stderr)
        for finding in findings[:MAX_SHOWN]:
            colour = "red" if finding.severity == "error" else "yellow"
            pieces: list[Any] = [(finding.severity, colour), " ", finding.field, ": ", finding.message]
            if finding.hint:
                pieces += [" ", (f"({finding.hint})", "dim")]
            console.print(text(*pieces))
        if len(findings) > MAX_SHOWN:
            console.print(text(more_findings(findings[MAX_SHOWN:])))

    @contextlib.contextmanager
    def status(self, message: str) -> Iterator[None]:
        """A spinner on stderr while we wait on the network (the terminal decides whether to show one)."""
        if self._spinner_depth or self.debug:
            yield
            return
        self._spinner_depth += 1
        try:
            with self.terminal.spinner(message):
                yield
        finally:
            self._spinner_depth -= 1
