"""Small text helpers shared by the loader and the rules: quoting, paths, did-you-mean.

User text ends up in messages shown on a terminal, so it is always quoted and
escaped here: a key or value can never inject a terminal escape sequence or
flood the screen.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from typing import Any

_MAX_SHOWN = 60
# json.dumps escapes C0 controls; DEL and C1 controls (\x9b is a terminal CSI),
# line/paragraph separators and lone surrogates (which cannot be printed as
# UTF-8 at all) are escaped by hand.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# What must not be inside a string shown to users (a tile's name, a URL): C0 and C1
# controls, DEL, and the Unicode bidirectional controls and line separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_SEPARATORS = re.compile(r"[\s\-]+")


def _escape_unsafe(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def shorten(text: str, limit: int = _MAX_SHOWN) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(value: str) -> str:
    """A user string for a message: double-quoted, escaped, shortened."""
    return _escape_unsafe(json.dumps(shorten(value), ensure_ascii=False))


def safe_key(key: str) -> str:
    """A user key for a field path: readable when sane, escaped and shortened when not."""
    if key and key.isprintable() and len(key) <= _MAX_SHOWN and not _UNSAFE.search(key):
        return key
    return quote(key)


def child(path: str, key: str) -> str:
    key = safe_key(key)
    return f"{path}.{key}" if path else key


def json_type(value: Any) -> str:
    """The JSON type of a parsed value: null, boolean, number, string, array or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def kind(value: Any) -> str:
    """The JSON type of a parsed value, with an article, for messages."""
    name = json_type(value)
    if name == "null":
        return name
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def normalize_key(key: str) -> str:
    """`supportedFeatures`, `Supported-Features`, ` supported features` -> `supported_features`."""
    return _SEPARATORS.sub("_", _CAMEL.sub(r"_\1", key.strip())).lower()


def normalize_enum(value: str) -> str:
    """`warehouse-read`, `Warehouse Read` -> `WAREHOUSE_READ` (case and separators only)."""
    return _SEPARATORS.sub("_", value.strip()).upper()


def camel_enum(value: str) -> str:
    """`WarehouseRead` -> `WAREHOUSE_READ`; a second try, as it mangles `M2M`."""
    return normalize_enum(_CAMEL.sub(r"_\1", value.strip()))


def close_matches(word: str, choices: Iterable[str], cutoff: float = 0.6) -> list[str]:
    if len(word) > 2 * _MAX_SHOWN:  # nothing sensible is that long; keep difflib cheap
        return []
    return difflib.get_close_matches(word, list(choices), n=3, cutoff=cutoff)


def token_matches(word: str, choices: Iterable[str]) -> list[str]:
    """Values containing every `_`-separated token of ``word``: `BI` -> BI_AND_VIZ, `M2M` -> AUTH_OAUTH_M2M."""
    tokens = [token for token in word.split("_") if token]
    if not tokens:
        return []
    found = [choice for choice in choices if all(token in choice.split("_") for token in tokens)]
    return found if len(found) <= 3 else []


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(choices)


def control_character(value: str) -> str | None:
    """'U+001B at position 3' for the first control character in ``value``, or None."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    return f"U+{ord(found.group()):04X} at position {found.start() + 1}"
