"""Data is data: strings from configs, servers and users, made safe to print.

Three dangers, all handled here and nowhere else:

* secrets: a peer may echo the credential back; :func:`clean` passes every
  string through the one redaction filter (``stp_ext.logs.redact``).

* rich markup: a partner named ``ACME [/beta] Data`` must not be read as a
  closing tag (rich raises MarkupError) and ``[beta]`` must not vanish. Views
  never format data into markup strings; they build ``rich.text.Text`` from
  plain pieces with :func:`text`, so markup is only ever our own.
* terminal control: ANSI/OSC escape sequences, a newline that forges a second
  ``Error:`` line, or a right-to-left override that reorders what is shown.
  :func:`clean` shows every such character escaped (``\\x1b``, ``\\n``,
  ``\\u202e``), so the terminal only ever receives printable text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Union

from stp_ext.logs import redact, redact_peer

if TYPE_CHECKING:
    from rich.text import Text

# C0 and C1 control characters, DEL, and the Unicode bidirectional controls
# (marks, embeddings, overrides, isolates) that can make text read differently
# from what it is ("Trojan source").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object) -> str:
    """``str(value)`` with every secret redacted and every control character shown escaped:
    always one printable line. Redacted before layout, so a table cannot fold a secret
    across lines where the stream-level filter would not recognise it."""
    return _UNSAFE.sub(_escaped, redact(str(value)))


def clean_lines(value: str) -> str:
    """Like :func:`clean`, but keeps the line breaks of a multi-line text we print (a traceback, a log)."""
    return "\n".join(clean(line) for line in value.split("\n"))


def traceback_text(error: BaseException) -> str:
    """A traceback of ``error`` and its causes, for --debug, with every exception's message on one
    escaped line: a peer's words inside a message (a newline then ``Error: ...``) cannot start a
    line of their own. The frames are our code; only the messages quote peers."""
    import traceback

    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    chain: list[tuple[BaseException, str]] = []
    note = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, note))
        if current.__cause__ is not None:
            current, note = (
                current.__cause__,
                "\nThe above exception was the direct cause of the following exception:\n\n",
            )
        elif current.__context__ is not None and not current.__suppress_context__:
            current, note = (
                current.__context__,
                "\nDuring handling of the above exception, another exception occurred:\n\n",
            )
        else:
            current = None
    for exc, after in reversed(chain):
        frames = "".join(traceback.format_tb(exc.__traceback__))
        message = "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")
        head = "Traceback (most recent call last):\n" if frames else ""
        parts.append(f"{head}{frames}{clean(redact_peer(message))}\n")
        if after:
            parts.append(after)
    return "".join(parts)


# A piece of a line: plain data, or (data, style) where the style is ours.
Piece = Union[str, "tuple[str, str]", "Text"]


def text(*pieces: Any, no_wrap: bool = False) -> Text:
    """A rich Text from pieces that are never parsed as markup, each cleaned."""
    from rich.text import Text

    out = Text(no_wrap=no_wrap, overflow="ignore" if no_wrap else "fold")
    for piece in pieces:
        if isinstance(piece, Text):
            out.append_text(piece)
        elif isinstance(piece, tuple):
            value, style = piece
            out.append(clean(value), style=style)
        else:
            out.append(clean(piece))
    return out


# The meta key that marks a piece the layout never breaks at its spaces (stp_ext.render.layout).
WHOLE = "stp.whole"


def whole(value: object, style: str = "") -> Text:
    """Data shown whole on one line although it has spaces (a partner name on its labelled line):
    the layout moves it to a line of its own rather than break it."""
    from rich.style import Style
    from rich.text import Text

    marked = Style(meta={WHOLE: True})
    return Text(clean(value), style=Style.parse(style) + marked if style else marked)
