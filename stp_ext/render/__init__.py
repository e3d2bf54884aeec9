"""Every text view of the tool, and the one place that prints.

``console`` holds the printer (``Renderer``); ``safe`` makes data safe to
print; ``views/`` holds one module per command family, each turning a
command's result dataclass into text or JSON. Commands in ``stp_ext.cli``
import no rich: they hand their result to a view.
"""

from __future__ import annotations

from stp_ext.render.console import OUTPUT_FORMATS, Column, Renderer
from stp_ext.render.safe import clean, text

__all__ = ["OUTPUT_FORMATS", "Column", "Renderer", "clean", "text"]
