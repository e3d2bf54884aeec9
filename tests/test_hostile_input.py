"""Whatever the input, the loader and the validator return findings or raise ConfigFileError."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stp_ext.core.errors import ConfigFileError
from stp_ext.partner_config import ConfigReport, Finding, load_partner_config, validate_partner_config
from stp_ext.partner_config.model import FIELDS

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=30,
)
field_names = st.sampled_from([spec.name for spec in FIELDS] + ["hostname", "partner", "$schema", "conect_url"])
# Partner objects with real field names and arbitrary values: reaches the rules, not just the wrapper check.
partner_like = st.dictionaries(field_names, json_values, max_size=12).map(lambda p: {"partner": p})
enum_texts = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz- 0123456789", max_size=30)


def check_findings(findings: list[Finding]) -> None:
    assert isinstance(findings, list)
    for finding in findings:
        assert isinstance(finding, Finding)
        assert finding.severity in ("error", "warning")
        assert isinstance(finding.field, str) and finding.field
        assert isinstance(finding.message, str) and finding.message
        assert finding.hint is None or isinstance(finding.hint, str)
        assert "internal validation error" not in finding.message
        for text in (finding.field, finding.message, finding.hint or ""):
            text.encode("utf-8")  # printable on any UTF-8 terminal: no lone surrogates
            assert not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in text), text
        json.dumps(finding.to_dict())
    keys = [(f.severity != "error", f.field) for f in findings]
    assert keys == sorted(keys)


@FAST
@given(json_values)
def test_validator_takes_any_json_value(value: Any) -> None:
    check_findings(validate_partner_config(value))


@FAST
@given(partner_like)
def test_validator_takes_any_partner_like_object(value: Any) -> None:
    findings = validate_partner_config(value)
    check_findings(findings)
    if not any(f.severity == "error" for f in findings):
        report = ConfigReport(data=value, findings=findings, source="x")
        report.partner.to_request_body()  # a valid report always yields a usable config


@FAST
@given(st.sampled_from(["category", "integration_type"]), enum_texts)
def test_validator_takes_any_enum_text(field: str, text: str) -> None:
    check_findings(validate_partner_config({"partner": {field: text}}))


@FAST
@given(st.text(max_size=80))
def test_validator_takes_any_hostnames_and_urls(text: str) -> None:
    check_findings(validate_partner_config({"partner": {"hostnames": text, "connect_url": text}}))


def _load(raw: bytes) -> ConfigReport | None:
    try:
        report = load_partner_config("-", stdin=io.BytesIO(raw))
    except ConfigFileError as e:
        assert e.message and e.exit_code == 2
        return None
    check_findings(report.findings)
    return report


@FAST
@given(st.binary(max_size=300))
def test_loader_takes_any_bytes(raw: bytes) -> None:
    _load(raw)


@FAST
@given(json_values)
def test_loader_takes_any_json_text(value: Any) -> None:
    report = _load(json.dumps(value).encode())
    if report is not None and json.dumps(value).strip():
        assert report.data == value


@FAST
@given(st.text(max_size=200))
def test_loader_takes_any_text(text: str) -> None:
    _load(text.encode("utf-8", "surrogatepass"))


def test_loader_takes_a_file_path_with_hostile_bytes(tmp_path: Any) -> None:
    path = tmp_path / "x.json"
    for raw in (b"\xff\xfe{", b"{" * 5000, b'{"partner": ' * 3000, b"\x1b[2J", b'"\\ud800"'):
        path.write_bytes(raw)
        with contextlib.suppress(ConfigFileError):  # the other allowed outcome
            check_findings(load_partner_config(str(path)).findings)
