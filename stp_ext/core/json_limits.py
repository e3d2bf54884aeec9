"""Bounds on the JSON documents we read from local files (the partner config, a payload).

Valid JSON can still hurt: a number of thousands of digits (Python refuses to
convert more than 4300, and older versions take quadratic time), or a value
nested hundreds of levels deep (every encoder that later sends it recurses
once per level and overflows the stack). Both are refused when read, so that
nothing downstream meets them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_DIGITS = 4300  # Python's own default limit for converting digits to an int
MAX_DEPTH = 32  # a partner config is 3 levels deep, a request body 3 or 4


class NumberTooLong(ValueError):
    """A JSON number with more digits than we convert; ``digits`` says how many."""

    def __init__(self, digits: int) -> None:
        super().__init__(f"a number with {digits} digits (at most {MAX_DIGITS})")
        self.digits = digits


def parse_int(text: str) -> int:
    """``json.loads(parse_int=...)``: the same refusal on every Python version."""
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise NumberTooLong(digits)
    return int(text)


def too_deep(data: Any, name: Callable[[str, str], str] | None = None) -> str | None:
    """Where ``data`` nests deeper than MAX_DEPTH, or None; iterative, so depth cannot hurt it.

    The place is a path of the first two levels of keys, built with ``name``
    (parent, key) when given, else "" (only whether it is too deep).
    """
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            return path
        if isinstance(value, dict):
            for key, item in value.items():
                below = name(path, key) if name is not None and depth < 2 else path
                stack.append((item, depth + 1, below))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, path) for item in value)
    return None
