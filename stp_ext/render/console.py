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
from typing import IO, TYPE_CHECKING, Any, cast

from stp_ext.core import wording
from stp_ext.core.logs import RedactingStream, redact
from stp_ext.core.terminal import Terminal
from stp_ext.render.safe import clean, text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

OUTPUT_FORMATS = ("text", "json")


# A table of 40,000 rows took rich 34 s and 491 MB; nobody reads past the first screens.
MAX_SHOWN = 50


def more_findings(hidden: Sequence[Any]) -> str:
    """The line that stands for the findings not shown (the JSON output lists them all)."""
    errors = sum(1 for f in hidden if f.severity == "error")
    kinds = f"{wording.plural(errors, 'error')}, {wording.plural(len(hidden) - errors, 'warning')}"
    return f"… and {len(hidden)} more ({kinds}); -o json lists them all"


def _console(stream: Any, width: int | None = None) -> Console:
    from rich.console import Console  # deferred: rich (~40 ms) loads when something is printed, not for --help

    # Consoles are built per use so that they follow whatever sys.stdout/stderr
    # is now (click's CliRunner swaps them). Rich honours NO_COLOR and disables
    # colour and animation when the stream is not a terminal.
    # The stream redacts too (stp_ext.core.logs): whatever a view printed without clean().
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
        """A table when every cell fits the terminal unwrapped; otherwise each row stacked as
        ``label: value`` lines (stp_ext.render.layout): no cell is ever wrapped or split."""
        # deferred: rich and the layout (~27 ms together) load when something is laid out, not for --help
        from rich.table import Table

        from stp_ext.render import layout

        if not rows and empty is not None:
            self.line(empty)
            return
        specs = [Column(column) if isinstance(column, str) else column for column in columns]
        cells = [[_as_text(value) for value in row] for row in rows]
        # A column empty in every row (no profile had an error) says nothing: leave it out.
        shown = [i for i in range(len(specs)) if i == 0 or not cells or any(row[i].plain.strip() for row in cells)]
        specs = [specs[i] for i in shown]
        cells = [[row[i] for i in shown] for row in cells]
        console = _console(sys.stdout)
        width = console.width
        if title:
            self._print_lines(console, layout.wrap(text((title, "italic")), width))
        natural = sum(
            max([len(column.header), *(layout.cell_width(row[index]) for row in cells)]) + 3
            for index, column in enumerate(specs)
        )
        if natural + 1 <= width:  # 3 per column (padding and a rule) and the last rule
            table = Table(header_style="bold")
            for column in specs:
                table.add_column(column.header, style=column.style, no_wrap=True, overflow="ignore")
            for row_cells in cells:
                table.add_row(*row_cells)
            console.print(table)
        else:
            if title:
                console.print()  # the title apart from the first record
            self._print_lines(console, layout.stacked([c.header for c in specs], cells, width))
            if caption:
                console.print()
        if caption:
            self._print_lines(console, layout.wrap(text((caption, "dim")), width))

    def panel(self, lines: Sequence[Any], *, title: str, style: str = "green") -> None:
        """Lines (our Text, or plain data) in a box when they fit; else the title and the lines, unboxed."""
        # deferred: rich and the layout (~27 ms together) load when something is laid out, not for --help
        from rich.panel import Panel
        from rich.text import Text

        from stp_ext.render import layout

        if isinstance(lines, str):
            lines = lines.split("\n")  # one string: its line breaks are ours, its text is data
        body = Text("\n").join(_as_text(line) for line in lines)
        console = _console(sys.stdout)
        # 4: the borders and padding; the title sits in the top border with a few cells of frame.
        if max(layout.cell_width(body) + 4, len(title) + 6) <= console.width:
            console.print(Panel(body, title=text(title), title_align="left", border_style=style, expand=False))
            return
        self._print_lines(console, layout.wrap(text((title, f"bold {style}")), console.width))
        indented = Text("\n").join(Text("  ") + _as_text(line) for line in lines)
        self._print_lines(console, layout.wrap(indented, console.width, hang=4))

    def line(self, *pieces: Any) -> None:
        """One line on stdout from pieces (see ``safe.text``), broken only at spaces to fit the
        terminal: ids, URLs and commands stay whole, so they stay copyable."""
        # deferred: rich and the layout (~27 ms together) load when something is laid out, not for --help
        from stp_ext.render import layout

        console = _console(sys.stdout)
        self._print_lines(console, layout.wrap(text(*pieces), console.width))

    @staticmethod
    def _print_lines(console: Console, lines: Sequence[Text]) -> None:
        for one in lines:
            console.print(one, soft_wrap=True)  # already fitted; rich must not fold it again

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
        # Fitted like a line: a command it carries moves to a line of its own, whole.
        # deferred: rich and the layout (~27 ms together) load when something is laid out, not for --help
        from stp_ext.render import layout

        console = _console(sys.stderr)
        self._print_lines(console, layout.wrap(text(("Warning:", "yellow"), " ", message), console.width))

    def note(self, *pieces: Any) -> None:
        """A human remark on stderr: never pollutes JSON on stdout."""
        # deferred: rich and the layout (~27 ms together) load when something is laid out, not for --help
        from stp_ext.render import layout

        console = _console(sys.stderr)
        self._print_lines(console, layout.wrap(text(*pieces), console.width))

    def findings_on_stderr(self, findings: Sequence[Any]) -> None:
        """Config findings (objects with severity/field/message/hint) as lines on stderr."""
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
