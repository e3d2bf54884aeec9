"""Typed reads from a workspace's JSON answer: a wrong shape is one clear error naming the field.

A proxy, an old workspace or a broken one may answer valid JSON of the wrong
shape: a list where an object belongs, a string ``partners``, ``null`` ids.
Services read answers through ``Shape`` instead of ``dict.get``, so each of
those is ``Error: <host> answered GET <path> with partners[0].id that is not
a string (null)`` and exit 1, never a Python error, a ``None`` shown as data,
or a made-up id sent on to the next request.
"""

from __future__ import annotations

import json
from typing import Any

from stp_ext.core.errors import WorkspaceError

_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}


def _describe(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Shape:
    """An object of a workspace answer; ``origin`` names the host, method and path for messages."""

    def __init__(self, body: Any, origin: str, hint: str | None = None, field: str = "") -> None:
        self._origin = origin
        self._hint = hint
        self._field = field
        if not isinstance(body, dict):
            raise self._wrong(field or "the answer", body, dict)
        self.body: dict[str, Any] = body

    def _wrong(self, field: str, value: Any, kind: type) -> WorkspaceError:
        return WorkspaceError(
            f"{self._origin} with {field} that is not {_KINDS[kind]} ({_describe(value)})", hint=self._hint
        )

    def _name(self, key: str) -> str:
        return f"{self._field}.{key}" if self._field else key

    def objects(self, key: str) -> list[Shape]:
        """A list of objects; missing or null is an empty list."""
        value = self.body.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._wrong(self._name(key), value, list)
        return [Shape(item, self._origin, self._hint, f"{self._name(key)}[{i}]") for i, item in enumerate(value)]

    def text(self, key: str, *, required: bool = False) -> str | None:
        """A string; missing or null is None, or an error when ``required``."""
        value = self.body.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value):
            raise self._wrong(self._name(key), value, str)
        return value
