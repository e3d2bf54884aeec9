"""Every shipped example is a valid config, points editors at the schema, and covers the integration types."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import REPO, invoke

from stp_ext.partner_config import INTEGRATION_TYPES, load_partner_config

EXAMPLES = sorted((REPO / "examples").glob("*.json"))


def test_there_are_examples() -> None:
    assert (REPO / "examples" / "partner.json") in EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_is_valid_with_no_findings(path: Path) -> None:
    report = load_partner_config(str(path))
    assert [f.to_dict() for f in report.findings] == []
    assert report.partner.name


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_passes_the_validate_command(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABRICKS_OUTPUT_FORMAT", raising=False)
    result = invoke("validate", "-f", str(path), "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"valid": True, "findings": []}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_points_at_the_published_schema(path: Path) -> None:
    data = json.loads(path.read_text())
    assert data["$schema"] == "../stp_ext/partner-config.schema.json"
    assert (path.parent / data["$schema"]).resolve().is_file()
    assert "$schema" not in json.dumps(load_partner_config(str(path)).partner.to_request_body())


def test_every_integration_type_has_an_example() -> None:
    types = {json.loads(path.read_text())["partner"]["integration_type"] for path in EXAMPLES}
    assert types == set(INTEGRATION_TYPES)


def test_canonical_example_is_the_contract_sample() -> None:
    partner = json.loads((REPO / "examples" / "partner.json").read_text())["partner"]
    assert partner["integration_type"] == "WAREHOUSE_READ"
    assert partner["hostnames"] == "partner.example.com,app.partner.example.com"
    assert partner["auth_options"] == ["AUTH_OAUTH_M2M"]
