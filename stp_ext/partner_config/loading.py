"""Reading a partner config file: bytes -> text -> JSON -> findings.

A file we cannot read as text at all raises `ConfigFileError` (exit 2, one
line). A file that is text but not valid JSON is a finding on "(file)", with
the line, the column and a guess at the fix, so `validate` can show it like
any other problem.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from typing import IO, Any

from stp_ext.core.errors import ConfigFileError
from stp_ext.core.inputs import STDIN, STDIN_NAME, MiB, read_path, read_stdin
from stp_ext.core.json_limits import MAX_DEPTH, NumberTooLong, parse_int, too_deep
from stp_ext.partner_config.model import ERROR, WARNING, ConfigReport, Finding, sort_findings
from stp_ext.partner_config.rules import FILE, validate_partner_config
from stp_ext.partner_config.text import child, quote

MAX_BYTES = MiB  # a partner config is a few hundred bytes; 1 MiB is plenty
_TOO_BIG = "A partner config file is a few hundred bytes; check that this is the right file."
_SAVE_AS_UTF8 = "Save the file as UTF-8 text."


def load_partner_config(path: str, *, stdin: IO[Any] | None = None) -> ConfigReport:
    """Read, parse and validate a config file; ``"-"`` reads ``stdin`` (default: sys.stdin)."""
    if path == STDIN:
        source = STDIN_NAME
        raw = _read_stream(stdin if stdin is not None else sys.stdin, source)
    else:
        source = path
        raw = _read_file(path)
    return parse_partner_config(raw, source)


def parse_partner_config(raw: bytes, source: str) -> ConfigReport:
    """Bytes already read -> a report; raises ConfigFileError when they are not text."""
    text = _decode(raw, source)
    data, findings = _parse_json(text)
    if data is not None or not findings:
        findings.extend(validate_partner_config(data))
    return ConfigReport(data=data, findings=sort_findings(findings), source=source)


# -- reading -------------------------------------------------------------------


def _read_file(path: str) -> bytes:
    return read_path(path, limit=MAX_BYTES, what="config file", too_big_hint=_TOO_BIG, error=ConfigFileError)


def _read_stream(stream: IO[Any] | None, source: str) -> bytes:
    return read_stdin(limit=MAX_BYTES, stream=stream, source=source, too_big_hint=_TOO_BIG, error=ConfigFileError)


# -- decoding ------------------------------------------------------------------


def _decode(raw: bytes, source: str) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not raw.startswith(codecs.BOM_UTF32_LE):
        raise ConfigFileError(
            f"{source} is UTF-16 text, not UTF-8",
            _SAVE_AS_UTF8 + " (In PowerShell: Out-File -Encoding utf8, or Set-Content -Encoding utf8.)",
        )
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise ConfigFileError(
            f"{source} is not a text file (NUL byte at offset {nul})",
            "Give the JSON config file. " + _SAVE_AS_UTF8 + " (UTF-16 and UTF-32 files contain NUL bytes.)",
        )
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]  # editors on Windows add it; harmless
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ConfigFileError(
            f"{source} is not UTF-8 text: byte 0x{raw[e.start]:02x} at offset {e.start} (line {line})",
            _SAVE_AS_UTF8,
        ) from None
    if not text.strip():
        raise ConfigFileError(
            f"{source} is empty",
            'Write a {"partner": {...}} object; `databricks-stp schema` prints the format.',
        )
    return text


# -- JSON ----------------------------------------------------------------------


class _NotJson(ValueError):
    """A constant JSON does not allow (NaN, Infinity) but Python's parser would."""


def _reject_constant(name: str) -> Any:
    raise _NotJson(name)


def _parse_json(text: str) -> tuple[Any, list[Finding]]:
    """(data, findings); data is None when the text is not JSON."""
    duplicates: dict[int, list[str]] = {}

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                duplicates.setdefault(id(result), []).append(key)
            result[key] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=pairs_hook, parse_constant=_reject_constant, parse_int=parse_int)
    except NumberTooLong as e:
        return None, [Finding(ERROR, FILE, f"invalid JSON: {e}", "A partner config holds no numbers; use a string.")]
    except json.JSONDecodeError as e:
        message = f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}"
        return None, [Finding(ERROR, FILE, message, json_error_hint(e))]
    except _NotJson as e:
        return None, [Finding(ERROR, FILE, f"invalid JSON: {e} is not a JSON value", "Use a string or a number.")]
    except RecursionError:
        return None, [Finding(ERROR, FILE, "invalid JSON: nested too deeply", "A partner config is three levels deep.")]
    findings = _duplicate_findings(data, duplicates) if duplicates else []
    deep = too_deep(data, child)
    if deep is not None:
        findings.append(
            Finding(
                ERROR,
                deep or FILE,
                f"nested more than {MAX_DEPTH} levels deep",
                "A partner config is three levels deep; remove the nested value.",
            )
        )
    findings.extend(_surrogate_findings(data))
    return data, findings


def _surrogate_findings(data: Any) -> list[Finding]:
    """Strings that are not valid Unicode: JSON's ``\\ud800`` escape decodes to a lone surrogate,
    which no UTF-8 encoder sends (the emulator answered 500). Keys and values, by path; iterative."""
    findings: list[Finding] = []
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                shown = key.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
                if _SURROGATE.search(key):
                    findings.append(_surrogate_finding(child(path, shown) if path else shown, key, "key"))
                stack.append((item, child(path, shown)))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]") for index, item in enumerate(value))
        elif isinstance(value, str) and _SURROGATE.search(value):
            findings.append(_surrogate_finding(path or FILE, value, "value"))
    return findings


_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate_finding(path: str, text: str, what: str) -> Finding:
    found = _SURROGATE.search(text)
    where = f"U+{ord(found.group()):04X} at position {found.start() + 1}" if found else "a lone surrogate"
    return Finding(
        ERROR,
        path,
        f"the {what} is not valid Unicode ({where}: half of a surrogate pair, not a character)",
        "Write the character itself, or both halves of its \\ud83d\\ude00-style escape.",
    )


def _duplicate_findings(data: Any, duplicates: dict[int, list[str]]) -> list[Finding]:
    """Name each repeated key by its path; iterative, so depth cannot overflow the stack."""
    findings: list[Finding] = []
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            for key in dict.fromkeys(duplicates.get(id(value), [])):
                findings.append(
                    Finding(
                        WARNING,
                        child(path, key),
                        f"key {quote(key)} appears more than once; the last value is used",
                        "Remove the other occurrences.",
                    )
                )
            stack.extend((item, child(path, key)) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]") for index, item in enumerate(value))
    return findings


def json_error_hint(error: json.JSONDecodeError) -> str | None:
    """A guess at the fix for the usual hand-editing mistakes."""
    doc, pos, msg = error.doc, error.pos, error.msg
    before = doc[:pos].rstrip()
    previous = before[-1:]
    here = doc[pos : pos + 1]
    where = _line_col(doc, len(before))
    if doc.startswith(("//", "/*", "#"), pos):
        return "JSON allows no comments; remove them."
    if msg.startswith("Expecting ',' delimiter"):
        return f"A comma is probably missing after the value that ends at {where}."
    if msg.startswith(("Expecting property name", "Expecting value")):
        if previous == "," and here in ("}", "]"):
            return f"Remove the trailing comma at {where}: JSON allows no comma before {here}."
        if here == "'":
            return "JSON needs double quotes around names and strings, not single quotes."
        if doc.startswith(("True", "False", "None"), pos):
            return "Use true, false or null (lower case)."
        if msg.startswith("Expecting property name"):
            return "Put each field name in double quotes."
        return "Expected a value: a string in double quotes, a number, true, false, null, an array or an object."
    if msg.startswith("Expecting ':' delimiter"):
        return "Put a colon between a field name and its value."
    if msg.startswith("Unterminated string"):
        return "Close the string with a double quote on the same line."
    if msg.startswith("Invalid control character"):
        return "A string holds a raw line break or tab; write it as \\n or \\t."
    if msg.startswith("Invalid \\escape"):
        return "Double each backslash inside strings (\\\\)."
    if msg.startswith("Extra data"):
        return f"Only one JSON value is allowed; remove what follows the end of the object at {where}."
    return None


def _line_col(doc: str, pos: int) -> str:
    line = doc.count("\n", 0, pos) + 1
    column = pos - (doc.rfind("\n", 0, pos) + 1)  # 1-based column of the character before pos
    return f"line {line}, column {max(column, 1)}"
