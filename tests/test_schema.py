"""The JSON Schema: well-formed, published as generated, in step with the model and the examples."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO

from stp_ext.partner_config import (
    AUTH_OPTIONS,
    CATEGORIES,
    INTEGRATION_TYPES,
    SUPPORTED_FEATURES,
    partner_json_schema,
    validate_partner_config,
)
from stp_ext.partner_config.model import FIELDS, REQUIRED_FIELDS
from stp_ext.partner_config.schema import HOSTNAMES_PATTERN, URL_PATTERN, schema_text

PUBLISHED = REPO / "stp_ext" / "partner-config.schema.json"
EXAMPLES = sorted((REPO / "examples").glob("*.json"))


def partner_schema() -> dict[str, Any]:
    return partner_json_schema()["properties"]["partner"]


def test_schema_is_json_and_draft_07() -> None:
    schema = json.loads(json.dumps(partner_json_schema()))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["required"] == ["partner"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"$schema", "partner"}


def test_published_file_equals_the_generated_schema() -> None:
    # Regenerate with: databricks-stp schema > stp_ext/partner-config.schema.json
    assert PUBLISHED.read_text(encoding="utf-8") == schema_text()


def test_partner_object_matches_the_model() -> None:
    partner = partner_schema()
    assert partner["additionalProperties"] is False
    assert partner["required"] == list(REQUIRED_FIELDS)
    assert list(partner["properties"]) == [spec.name for spec in FIELDS]
    assert all(prop.get("description") for prop in partner["properties"].values())


def test_enums_equal_the_model() -> None:
    props = partner_schema()["properties"]
    assert props["category"]["enum"] == list(CATEGORIES)
    assert props["integration_type"]["enum"] == list(INTEGRATION_TYPES)
    assert props["supported_features"]["items"]["enum"] == list(SUPPORTED_FEATURES)
    assert props["auth_options"]["items"]["enum"] == list(AUTH_OPTIONS)
    for name in ("integration_type",):
        assert len(props[name]["enumDescriptions"]) == len(props[name]["enum"])
    for name in ("supported_features", "auth_options"):
        items = props[name]["items"]
        assert len(items["enumDescriptions"]) == len(items["enum"])


@pytest.mark.parametrize(
    ("value", "matches"),
    [
        ("partner.example.com,app.partner.example.com", True),
        ("a.com, b.com", True),
        ("localhost,127.0.0.1,[::1]", True),
        ("*.example.com", True),
        ("https://a.com", False),
        ("a.com/path", False),
        ("a.com:8443", False),
        ("a.com,,b.com", False),
        ("a.com,", False),
        ("a.com b.com", False),
        ("", False),
    ],
)
def test_hostnames_pattern(value: str, matches: bool) -> None:
    assert bool(re.search(HOSTNAMES_PATTERN, value)) is matches
    # The validator agrees wherever the pattern refuses.
    if not matches:
        assert any(f.severity == "error" for f in validate_partner_config({"partner": {"hostnames": value}}))


@pytest.mark.parametrize(
    ("value", "matches"),
    [
        ("https://partner.example.com/connect", True),
        ("http://localhost:8080/connect", True),
        ("https://partner.example.com", True),
        ("ftp://partner.example.com", False),
        ("partner.example.com/connect", False),
        ("https:///connect", False),
        ("https://a.com/a b", False),
    ],
)
def test_url_pattern(value: str, matches: bool) -> None:
    assert bool(re.search(URL_PATTERN, value)) is matches


def _validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = partner_json_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_validate_against_the_schema(path: Path) -> None:
    validator = _validator()
    assert list(validator.iter_errors(json.loads(path.read_text()))) == []


def test_schema_refuses_m2m_with_pat() -> None:
    validator = _validator()
    document = json.loads(EXAMPLES[0].read_text())
    document["partner"]["auth_options"] = ["AUTH_OAUTH_M2M", "AUTH_PAT"]
    assert list(validator.iter_errors(document))
