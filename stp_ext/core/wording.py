"""Counted words in messages: "1 warning", "0 warnings", never "warning(s)".

Standard library only, so services and views alike can use it.
"""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word``, in the plural unless the count is one ("1 check", "2 checks", "0 checks")."""
    return f"{count} {word if count == 1 else many or word + 's'}"
