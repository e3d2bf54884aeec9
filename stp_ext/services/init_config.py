"""`init`: a valid starting partner config, from answers, flags and defaults, or a shipped example.

The examples ship inside the package (``stp_ext/examples``), so `init
--example TYPE` works from a wheel; the repository's ``examples/`` folder is
kept identical to them by a test. The JSON Schema is written beside the
config and ``"$schema"`` points at it, so an editor checks the file offline.
Standard library only: `init` must start fast and never import databricks-sdk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stp_ext.core.errors import InputError
from stp_ext.core.safe_files import SHARED, write_whole
from stp_ext.partner_config.model import INTEGRATION_TYPES, PARTNER_KEY, SCHEMA_KEY, Finding
from stp_ext.partner_config.rules import validate_partner_config

PACKAGE = Path(__file__).resolve().parent.parent  # stp_ext/, where the examples and the schema ship
EXAMPLES_DIR = PACKAGE / "examples"
SCHEMA_NAME = "partner-config.schema.json"
SCHEMA_FILE = PACKAGE / SCHEMA_NAME

# The order of fields in the written file: the order of the contract's example.
FIELD_ORDER = (
    "name",
    "category",
    "connect_url",
    "sign_up_url",
    "delete_url",
    "terms_of_service_url",
    "privacy_policy_url",
    "hostnames",
    "supported_features",
    "integration_type",
    "auth_options",
)

DEFAULTS: dict[str, Any] = {
    "name": "Test Partner",
    "category": "DATA_PREP_AND_TRANSFORM",
    "connect_url": "https://partner.example.com/databricks/connect",
    "supported_features": ["UNITY_CATALOG"],
    "integration_type": "WAREHOUSE_READ",
    "auth_options": ["AUTH_PAT"],
}

# The pages every partner has, derived from the connect URL's origin when not given.
DERIVED_PATHS = {
    "sign_up_url": "/sign-up",
    "delete_url": "/databricks/delete",
    "terms_of_service_url": "/tos",
    "privacy_policy_url": "/privacy",
}


@dataclass
class InitResult:
    path: str
    schema_path: str
    schema_written: bool  # False: an identical schema file was already there
    example: str | None
    partner: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "schema": self.schema_path,
            "schema_written": self.schema_written,
            "example": self.example,
            "partner": self.partner,
            "warnings": self.warnings,
        }


# -- examples -------------------------------------------------------------------


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES_DIR.glob("*.json"))


def example_path(choice: str) -> Path:
    wanted = choice.strip()
    names = example_names()
    by_name = {n.lower(): n for n in names}
    key = wanted.lower().replace("_", "-")
    if key in by_name:
        return EXAMPLES_DIR / f"{by_name[key]}.json"
    upper = wanted.upper().replace("-", "_")
    if upper in INTEGRATION_TYPES:
        # `partner` is the contract's own example; prefer it for its type.
        for name in ["partner", *names]:
            data = json.loads((EXAMPLES_DIR / f"{name}.json").read_text(encoding="utf-8"))
            if data[PARTNER_KEY]["integration_type"] == upper:
                return EXAMPLES_DIR / f"{name}.json"
    raise InputError(
        f"no example {choice!r}",
        hint=f"Choose one of: {', '.join(names)}, or an integration type ({', '.join(INTEGRATION_TYPES)}).",
    )


def example_partner(choice: str) -> tuple[str, dict[str, Any]]:
    path = example_path(choice)
    data = json.loads(path.read_text(encoding="utf-8"))
    return path.stem, dict(data[PARTNER_KEY])


# -- building from answers ---------------------------------------------------------


def origin(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def hosts_of(urls: Sequence[str]) -> str:
    """The comma-separated bare host names of ``urls``, in order, without repeats (for `hostnames`)."""
    seen: list[str] = []
    for url in urls:
        host = urlsplit(url.strip()).hostname
        if host and host not in seen:
            seen.append(host)
    return ",".join(seen)


def derive(partner: dict[str, Any]) -> dict[str, Any]:
    """Fill what can be derived: the other URLs from connect_url's origin, hostnames from the URLs."""
    filled = dict(partner)
    base = origin(str(filled.get("connect_url") or ""))
    if base:
        for name, path in DERIVED_PATHS.items():
            filled.setdefault(name, base + path)
    if not filled.get("hostnames"):
        urls = [str(filled[name]) for name in ("connect_url", "sign_up_url") if filled.get(name)]
        filled["hostnames"] = hosts_of(urls)
    return filled


def build_partner(given: dict[str, Any]) -> dict[str, Any]:
    """Flags (None: not given) over defaults, then derivations, in the contract's field order."""
    partner = {name: value for name, value in DEFAULTS.items()}
    partner.update({name: value for name, value in given.items() if value is not None})
    partner = derive(partner)
    return {name: partner[name] for name in FIELD_ORDER if name in partner}


def field_findings(partner: dict[str, Any], name: str) -> list[Finding]:
    """The validator's findings about one field and its items (``partner.auth_options[0]``),
    with the others as they are (for a prompt's answer)."""
    path = f"{PARTNER_KEY}.{name}"
    found = validate_partner_config({PARTNER_KEY: partner})
    return [f for f in found if f.field == path or f.field.startswith(path + "[")]


def findings(partner: dict[str, Any]) -> list[Finding]:
    return validate_partner_config({PARTNER_KEY: partner})


# -- writing ----------------------------------------------------------------------


def write_config(path: Path, partner: dict[str, Any], *, force: bool, example: str | None = None) -> InitResult:
    """Write the config and the schema beside it. Nothing is written when either would clobber a file."""
    errors = [f for f in findings(partner) if f.severity == "error"]
    if errors:
        first = errors[0]
        raise InputError(
            f"the config would not be valid: {first.field}: {first.message}",
            hint=first.hint or "Fix the value and run init again.",
        )
    if path.is_dir():
        raise InputError(f"{path} is a directory", hint="Give the file to write, e.g. -f partner.json.")
    schema_path = path.parent / SCHEMA_NAME
    schema_text = SCHEMA_FILE.read_text(encoding="utf-8")
    if os.path.lexists(path) and not force:  # a planted link, even to nothing, is not ours to replace
        raise InputError(f"{path} already exists; nothing was written", hint="Add --force to replace it.")
    schema_same = (  # sizes first: an existing file is read only when it may be ours
        schema_path.is_file()
        and schema_path.stat().st_size == len(schema_text.encode("utf-8"))
        and schema_path.read_text(encoding="utf-8") == schema_text
    )
    if os.path.lexists(schema_path) and not schema_same and not force:
        raise InputError(
            f"{schema_path} already exists and is not this version's schema; nothing was written",
            hint="Add --force to replace it (it is the file the config's $schema points at).",
        )
    document = {SCHEMA_KEY: f"./{SCHEMA_NAME}", PARTNER_KEY: partner}
    _write_text(path, json.dumps(document, indent=2) + "\n", force=force)
    if not schema_same:
        _write_text(schema_path, schema_text, force=force)
    warnings = [f"{f.field}: {f.message}" for f in findings(partner) if f.severity != "error"]
    return InitResult(
        path=str(path),
        schema_path=str(schema_path),
        schema_written=not schema_same,
        example=example,
        partner=partner,
        warnings=warnings,
    )


def _write_text(path: Path, text: str, *, force: bool) -> None:
    """Write whole (an interrupted init leaves no half file), never through a planted link, and,
    without ``force``, never over anything that appeared at ``path`` meanwhile (stp_ext.core.safe_files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_whole(path, text.encode("utf-8"), mode=SHARED, overwrite=force)
    except FileExistsError:
        raise InputError(f"{path} already exists; nothing was written", hint="Add --force to replace it.") from None
