"""Fitting output to the terminal's width without ever splitting what a user copies.

Lines break only at spaces, so a host, URL, id, principal, enum value or flag
(none has a space) is never split. A command (``databricks-stp ...``, the
Databricks CLI's ``databricks auth|labs|...``, or anything in backticks) is
one unit though it has spaces: it moves to a line of its own rather than
break. A unit wider than the whole line is shown whole on a line of its own
(the terminal may soft-wrap it; copy and paste undo that, a split value they
could not).

Tables are drawn as tables only when every cell fits unwrapped; otherwise
each record is stacked as ``label: value`` lines (:func:`stacked`), which fit
any width.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from stp_ext.render.safe import WHOLE

# Spans that must stay on one line although they contain spaces.
_BACKTICKED = r"`[^`\n]+`"
# A command runs to the end of its sentence: up to "; ", ", ", " (", ")", ". " or a final ".".
_COMMAND = (
    r"(?<![\w./-])(?:databricks-stp|databricks (?:auth|labs|configure|secrets|account))\b"
    r"(?:(?![;,] |\s\(|\)|\.(?:\s|$)|`).)*"
)
_UNITS = re.compile(f"{_BACKTICKED}|{_COMMAND}|\\S+")

# Hanging indents wider than this waste the narrow screens they are meant for.
MAX_HANG = 16


def cell_width(value: Text) -> int:
    """The width of the widest of ``value``'s own lines, in terminal cells."""
    return max((cell_len(line) for line in value.plain.split("\n")), default=0)


def units(plain: str, whole: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """(start, end) of each piece that must stay whole, in order; the gaps between are spaces.

    ``whole``: spans marked by ``safe.whole`` (data kept whole though it has spaces).
    """
    spans = [match.span() for match in _UNITS.finditer(plain)]
    for start, end in whole:
        if start >= end:
            continue
        inside = [s for s in spans if s[0] < end and s[1] > start]
        # The whole span, spaces at its ends included (a name "A " is shown as given).
        merged = (min([start, *(s[0] for s in inside)]), max([end, *(s[1] for s in inside)]))
        spans = sorted([s for s in spans if s not in inside] + [merged])
    return spans


def _whole_spans(line: Text, start: int, end: int) -> list[tuple[int, int]]:
    """The ``safe.whole`` spans of ``line`` within [start, end), relative to ``start``."""
    return [
        (max(span.start, start) - start, min(span.end, end) - start)
        for span in line.spans
        if isinstance(span.style, Style) and span.style.meta.get(WHOLE) and span.start < end and span.end > start
    ]


def wrap(line: Text, width: int, *, hang: int | None = None) -> list[Text]:
    """``line`` broken at spaces into lines no wider than ``width`` (see the module's rules).

    Our own line breaks are kept. Continuation lines are indented by the
    line's own indent plus two, or by ``hang`` when given (a ``label: value``).
    """
    out: list[Text] = []
    offset = 0
    for own_line in line.plain.split("\n"):
        piece = line[offset : offset + len(own_line)]
        offset += len(own_line) + 1
        lead = len(own_line) - len(own_line.lstrip(" "))
        indent = min(hang if hang is not None else lead + 2, MAX_HANG)
        spans = units(own_line, _whole_spans(line, offset - len(own_line) - 1, offset - 1))
        if not spans:
            out.append(piece)
            continue
        current: Text | None = None
        used = previous_end = 0
        for start, end in spans:
            size = cell_len(own_line[start:end])
            gap = end - previous_end - (end - start)  # the spaces as written (aligned columns keep theirs)
            previous_end = end
            if current is None:  # the first unit keeps the line's own indent, unless only it would fit
                flush = cell_len(own_line[:end]) > width >= size
                current = piece[start:end] if flush else piece[:end]
                used = size if flush else cell_len(own_line[:end])
            elif used + gap + size <= width:
                current.append_text(piece[start - gap : end])
                used += gap + size
            else:
                out.append(current)
                pad = indent if indent + size <= width else 0  # too wide to indent: flush left, whole
                current = Text(" " * pad)
                current.append_text(piece[start:end])
                used = pad + size
        if current is not None:
            tail = len(own_line) - previous_end  # spaces after the last unit: part of the data (a name's)
            if tail and used + tail <= width:
                current.append_text(piece[previous_end:])
            out.append(current)
    return out


def labelled(label: str, value: Text, width: int, *, indent: int = 0, bold_value: bool = False) -> list[Text]:
    """``label: value`` wrapped to ``width``, continuation lines hung under the value."""
    head = Text(" " * indent)
    head.append(f"{label}:", style="bold" if not indent else "")
    head.append(" ")
    first = len(head.plain)
    hang = first if first <= MAX_HANG else indent + 4
    lines: list[Text] = []
    for index, own in enumerate(value.split("\n", allow_blank=True)):
        body = head.copy() if index == 0 else Text(" " * hang)
        if bold_value:
            own.stylize("bold")
        body.append_text(own)
        lines += wrap(body, width, hang=hang)
    return lines


def stacked(headers: Sequence[str], rows: Sequence[Sequence[Text]], width: int) -> list[Text]:
    """Each record as ``label: value`` lines, the first field unindented, a blank line between records.

    Empty fields are left out (a table would show an empty cell).
    """
    lines: list[Text] = []
    for number, row in enumerate(rows):
        if number:
            lines.append(Text(""))
        for index, (header, value) in enumerate(zip(headers, row)):
            if index and not value.plain.strip():
                continue
            lines += labelled(header, value, width, indent=0 if index == 0 else 2, bold_value=index == 0)
    return lines
