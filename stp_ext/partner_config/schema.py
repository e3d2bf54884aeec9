"""The JSON Schema of the partner config file, built from the model's field table.

Draft-07: the dialect editors support best (VS Code validates and completes
with it; its 2019-09/2020-12 support is partial). The schema is an editor aid
and stays a little stricter than the validator, which is the authority (it
treats null on an optional field as absent and accepts bare IPv6 hostnames).

The published copy, ``stp_ext/partner-config.schema.json``, is regenerated with
``databricks-stp schema > stp_ext/partner-config.schema.json``; a test keeps it
equal to this.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stp_ext.partner_config.model import (
    AUTH_OPTION_DESCRIPTIONS,
    FEATURE_DESCRIPTIONS,
    FIELDS,
    INTEGRATION_TYPE_DESCRIPTIONS,
    PARTNER_KEY,
    REQUIRED_FIELDS,
    SCHEMA_KEY,
    FieldSpec,
)

DIALECT = "http://json-schema.org/draft-07/schema#"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "partner-config.schema.json"

# ECMA-262 and Python agree on these. A host: letters, digits, '-', '_', dots,
# an optional leading "*." (warned about, not refused) or a bracketed IPv6 address.
_HOST = r"(?:\*\.)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?|\[[0-9A-Fa-f:.]+\]"
HOSTNAMES_PATTERN = rf"^\s*(?:{_HOST})\s*(?:,\s*(?:{_HOST})\s*)*$"
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+(?:[/?#]\S*)?$"

_ENUM_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "integration_type": INTEGRATION_TYPE_DESCRIPTIONS,
    "supported_features": FEATURE_DESCRIPTIONS,
    "auth_options": AUTH_OPTION_DESCRIPTIONS,
}


def partner_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of a partner config file."""
    example = {spec.name: spec.example for spec in FIELDS}
    partner: dict[str, Any] = {
        "type": "object",
        "description": "The self-testing partner. Sent to Databricks as is.",
        "required": list(REQUIRED_FIELDS),
        "additionalProperties": False,
        "properties": {spec.name: _field_schema(spec) for spec in FIELDS},
        # VS Code offers this as the completion for an empty "partner" object.
        "defaultSnippets": [{"label": "self-testing partner", "body": example}],
    }
    return {
        "$schema": DIALECT,
        "title": "Databricks self-testing partner config",
        "description": "The file given to `databricks-stp create/update/validate -f FILE`.",
        "type": "object",
        "required": [PARTNER_KEY],
        "additionalProperties": False,
        "properties": {
            SCHEMA_KEY: {
                "type": "string",
                "description": "The JSON Schema of this file, for editors. Never sent to Databricks.",
            },
            PARTNER_KEY: partner,
        },
    }


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": spec.description}
    if spec.kind == "enum_list":
        item: dict[str, Any] = {"type": "string", "enum": list(spec.choices)}
        _add_enum_descriptions(item, spec)
        schema.update(type="array", items=item, uniqueItems=True, default=[])
        if spec.name == "auth_options":
            schema["not"] = {
                "description": "AUTH_OAUTH_M2M and AUTH_PAT are mutually exclusive.",
                "allOf": [{"contains": {"const": "AUTH_OAUTH_M2M"}}, {"contains": {"const": "AUTH_PAT"}}],
            }
    elif spec.kind == "enum":
        schema.update(type="string", enum=list(spec.choices))
        _add_enum_descriptions(schema, spec)
    elif spec.kind == "url":
        schema.update(type="string", format="uri", pattern=URL_PATTERN)
    elif spec.kind == "hostnames":
        schema.update(type="string", pattern=HOSTNAMES_PATTERN)
    else:
        schema.update(type="string", minLength=1, pattern=r"\S")
    schema["examples"] = [spec.example]
    return schema


def _add_enum_descriptions(schema: dict[str, Any], spec: FieldSpec) -> None:
    descriptions = _ENUM_DESCRIPTIONS.get(spec.name)
    if descriptions:
        # "enumDescriptions" is VS Code's keyword for hover text; validators ignore it.
        schema["enumDescriptions"] = [descriptions[value] for value in spec.choices]


def schema_text() -> str:
    """The schema as published and as `databricks-stp schema` prints it."""
    return json.dumps(partner_json_schema(), indent=2) + "\n"
