"""Data is data: strings from configs, servers and users, made safe to print.

Three dangers, all handled here and nowhere else:

* secrets: a peer may echo the credential back; :func:`clean` passes every
  string through the one redaction filter (``stp_ext.core.logs.redact``).

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

from typing import TYPE_CHECKING, Any, Union

# The escaping itself lives beside the redaction it applies (the log filter needs it too);
# views take it from here, with the rich pieces below.
from stp_ext.core.logs import clean

if TYPE_CHECKING:
    from rich.text import Text

# A piece of a line: plain data, or (data, style) where the style is ours.
Piece = Union[str, "tuple[str, str]", "Text"]


def text(*pieces: Any, no_wrap: bool = False) -> Text:
    """A rich Text from pieces that are never parsed as markup, each cleaned."""
    from rich.text import Text  # deferred: rich.text (~25 ms) stays out of --help, which loads this module

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
    # deferred: rich.text (~25 ms) stays out of --help, which loads this module
    from rich.style import Style
    from rich.text import Text

    marked = Style(meta={WHOLE: True})
    return Text(clean(value), style=Style.parse(style) + marked if style else marked)
