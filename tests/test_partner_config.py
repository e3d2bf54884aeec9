"""The partner config model, validation rules and loader (no server, no network)."""

from __future__ import annotations

import copy
import io
import json
import os
from pathlib import Path
from typing import Any, Callable

import pytest
from helpers import DROP, EXAMPLE, EndlessStream, example_partner

from stp_ext.core import inputs
from stp_ext.core.errors import ConfigFileError, ExitCode
from stp_ext.partner_config import (
    AUTH_OPTIONS,
    CATEGORIES,
    INTEGRATION_TYPES,
    SUPPORTED_FEATURES,
    ConfigReport,
    Finding,
    PartnerConfig,
    load_partner_config,
    loading,
    validate_partner_config,
)
from stp_ext.partner_config.model import REQUIRED_FIELDS

partner = example_partner  # the canonical partner object with changes; DROP removes a field


def doc(**changes: Any) -> dict[str, Any]:
    return {"partner": partner(**changes)}


def test_canonical_config_has_no_findings() -> None:
    assert validate_partner_config(doc()) == []


# -- bad configs: (document, severity, field, text expected in message or hint) -----------

BAD: list[tuple[str, Any, str, str, str]] = [
    # the document and the wrapper
    ("array-top-level", [], "error", "(file)", "JSON object"),
    ("list-wrapped", [doc()], "error", "(file)", "Remove the [ ]"),
    ("string-top-level", "partner", "error", "(file)", "got a string"),
    ("null-top-level", None, "error", "(file)", "got null"),
    ("no-wrapper", partner(), "error", "partner", 'Wrap them: {"partner"'),
    ("empty-object", {}, "error", "partner", 'missing the top-level "partner"'),
    ("capitalised-wrapper", {"Partner": partner()}, "error", "Partner", 'Rename it to "partner"'),
    ("plural-wrapper", {"partners": partner()}, "error", "partners", '"partner"'),
    ("partner-not-object", {"partner": "Test Partner"}, "error", "partner", "must be an object"),
    ("partner-in-array", {"partner": [partner()]}, "error", "partner", "Remove the [ ]"),
    ("partner-twice", {"partner": {"partner": partner()}}, "error", "partner.partner", "nested"),
    ("top-level-unknown", {**doc(), "version": 1}, "warning", "version", "unknown top-level key"),
    ("top-level-schema-typo", {**doc(), "schema": "x"}, "warning", "schema", '"$schema"'),
    ("field-outside-partner", {**doc(), "hostnames": "a.com"}, "warning", "hostnames", "Move it inside"),
    # required fields and types
    ("name-empty", doc(name=""), "error", "partner.name", "must not be empty"),
    ("name-blank", doc(name="   "), "error", "partner.name", "must not be empty"),
    ("name-number", doc(name=42), "error", "partner.name", "got a number"),
    ("name-padded", doc(name=" Test Partner "), "warning", "partner.name", '"Test Partner"'),
    ("category-null", doc(category=None), "error", "partner.category", "got null"),
    ("category-bool", doc(category=True), "error", "partner.category", "got a boolean"),
    ("category-object", doc(category={}), "error", "partner.category", "got an object"),
    ("url-array", doc(connect_url=["https://a.com"]), "error", "partner.connect_url", "without the [ ]"),
    # enums
    ("category-lower", doc(category="data_prep_and_transform"), "error", "partner.category", "DATA_PREP_AND_TRANSFORM"),
    ("category-short", doc(category="BI"), "error", "partner.category", "BI_AND_VIZ"),
    ("category-token", doc(category="security"), "error", "partner.category", "SECURITY_AND_GOVERNANCE"),
    ("category-wrong-list", doc(category="WAREHOUSE_READ"), "error", "partner.category", "integration_type value"),
    ("category-unknown", doc(category="FOO"), "error", "partner.category", "INGEST, DATA_PREP_AND_TRANSFORM"),
    ("type-dash", doc(integration_type="warehouse-read"), "error", "partner.integration_type", '"WAREHOUSE_READ"'),
    ("type-space", doc(integration_type="Warehouse Read"), "error", "partner.integration_type", '"WAREHOUSE_READ"'),
    ("type-camel", doc(integration_type="WarehouseReadWrite"), "error", "partner.integration_type", "READ_WRITE"),
    ("type-typo", doc(integration_type="WAREHOUSE_REED"), "error", "partner.integration_type", "WAREHOUSE_READ"),
    ("type-array", doc(integration_type=["WAREHOUSE_READ"]), "error", "partner.integration_type", "got an array"),
    # Only separators: no guess to offer, so every allowed value is listed.
    ("type-separators", doc(integration_type="--"), "error", "partner.integration_type", "Use one of: NO_INTEGRATION"),
    # arrays
    (
        "features-string",
        doc(supported_features="UNITY_CATALOG"),
        "error",
        "partner.supported_features",
        '["UNITY_CATALOG"]',
    ),
    ("features-object", doc(supported_features={"a": 1}), "error", "partner.supported_features", "got an object"),
    ("features-number-item", doc(supported_features=[1]), "error", "partner.supported_features[0]", "got a number"),
    (
        "features-lower-item",
        doc(supported_features=["unity_catalog"]),
        "error",
        "partner.supported_features[0]",
        '"UNITY_CATALOG"',
    ),
    (
        "features-wrong-list",
        doc(supported_features=["AUTH_PAT"]),
        "error",
        "partner.supported_features[0]",
        "auth_options",
    ),
    (
        "features-duplicate",
        doc(supported_features=["UNITY_CATALOG", "UNITY_CATALOG"]),
        "warning",
        "partner.supported_features[1]",
        "twice",
    ),
    ("auth-string", doc(auth_options="AUTH_PAT"), "error", "partner.auth_options", '["AUTH_PAT"]'),
    ("auth-pat-short", doc(auth_options=["PAT"]), "error", "partner.auth_options[0]", "AUTH_PAT"),
    ("auth-m2m-short", doc(auth_options=["M2M"]), "error", "partner.auth_options[0]", "AUTH_OAUTH_M2M"),
    ("auth-feature", doc(auth_options=["NON_ADMIN"]), "error", "partner.auth_options[0]", "supported_features"),
    # combinations
    ("m2m-and-pat", doc(auth_options=["AUTH_OAUTH_M2M", "AUTH_PAT"]), "error", "partner.auth_options", "together"),
    (
        "non-admin-m2m",
        doc(supported_features=["NON_ADMIN"]),
        "warning",
        "partner.auth_options",
        "falls back to AUTH_PAT",
    ),
    (
        "external-read-only",
        doc(supported_features=["EXTERNAL_LOCATION"]),
        "warning",
        "partner.supported_features",
        "does not apply to WAREHOUSE_READ, a read-only integration type",
    ),
    (
        "external-no-integration",
        doc(supported_features=["EXTERNAL_LOCATION"], integration_type="NO_INTEGRATION"),
        "warning",
        "partner.supported_features",
        "NO_INTEGRATION",
    ),
    # hostnames
    ("hosts-array", doc(hostnames=["a.com", "b.com"]), "error", "partner.hostnames", '"a.com,b.com"'),
    (
        "hosts-scheme",
        doc(hostnames="https://partner.example.com"),
        "error",
        "partner.hostnames",
        'host: "partner.example.com"',
    ),
    ("hosts-path", doc(hostnames="partner.example.com/connect"), "error", "partner.hostnames", "has a path"),
    ("hosts-port", doc(hostnames="partner.example.com:8443"), "error", "partner.hostnames", "port"),
    ("hosts-ipv6-port", doc(hostnames="[::1]:8080"), "error", "partner.hostnames", "port"),
    ("hosts-colon-not-a-port", doc(hostnames="a.com:http"), "error", "partner.hostnames", "not a valid hostname"),
    ("hosts-spaces-after-comma", doc(hostnames="a.com, b.com"), "warning", "partner.hostnames", '"a.com,b.com"'),
    ("hosts-double-comma", doc(hostnames="a.com,,b.com"), "error", "partner.hostnames", "empty entry"),
    ("hosts-trailing-comma", doc(hostnames="a.com,"), "error", "partner.hostnames", '"a.com"'),
    ("hosts-space-separated", doc(hostnames="a.com b.com"), "error", "partner.hostnames", '"a.com,b.com"'),
    ("hosts-bad-char", doc(hostnames="part!ner.com"), "error", "partner.hostnames", "not allowed"),
    ("hosts-empty-label", doc(hostnames="a..com"), "error", "partner.hostnames", "empty label"),
    ("hosts-dash-label", doc(hostnames="-a.com"), "error", "partner.hostnames", "'-'"),
    ("hosts-label-too-long", doc(hostnames="a" * 64 + ".com"), "error", "partner.hostnames", "63"),
    ("hosts-duplicate", doc(hostnames="a.com,a.com"), "warning", "partner.hostnames", "more than once"),
    ("hosts-wildcard", doc(hostnames="*.example.com"), "warning", "partner.hostnames", "wildcard"),
    ("hosts-unicode", doc(hostnames="bücher.example"), "error", "partner.hostnames", "xn--bcher-kva.example"),
    ("hosts-userinfo", doc(hostnames="user@a.com"), "error", "partner.hostnames", '"a.com"'),
    ("hosts-trailing-dot", doc(hostnames="a.com."), "warning", "partner.hostnames", "ends with a dot"),
    ("hosts-empty", doc(hostnames=""), "error", "partner.hostnames", "must not be empty"),
    # misspelled and unknown fields
    (
        "hostname-singular",
        doc(hostnames=DROP, hostname="a.com"),
        "error",
        "partner.hostname",
        'Rename "hostname" to "hostnames"',
    ),
    (
        "hostname-singular-value",
        doc(hostnames=DROP, hostname="https://a.com"),
        "error",
        "partner.hostname",
        "URL, not a hostname",
    ),
    (
        "connect-typo",
        doc(connect_url=DROP, conect_url="https://a.com/c"),
        "error",
        "partner.conect_url",
        '"connect_url"',
    ),
    (
        "terms-alias",
        doc(terms_of_service_url=DROP, terms_url="https://a.com/t"),
        "error",
        "partner.terms_url",
        "terms_of_service_url",
    ),
    (
        "privacy-alias",
        doc(privacy_policy_url=DROP, privacy_url="https://a.com/p"),
        "error",
        "partner.privacy_url",
        "privacy_policy_url",
    ),
    (
        "camel-case-optional",
        doc(supported_features=DROP, supportedFeatures=["UNITY_CATALOG"]),
        "warning",
        "partner.supportedFeatures",
        "supported_features",
    ),
    ("camel-case-already-set", doc(connectUrl="https://a.com"), "warning", "partner.connectUrl", "already set"),
    ("unknown-field", doc(logo="x.png"), "warning", "partner.logo", "unknown field"),
    ("schema-inside-partner", doc(**{"$schema": "x"}), "warning", "partner.$schema", "top level"),
    # URLs
    (
        "url-no-scheme",
        doc(connect_url="partner.example.com/connect"),
        "error",
        "partner.connect_url",
        '"https://partner.example.com/connect"',
    ),
    ("url-host-port-no-scheme", doc(connect_url="localhost:8080/connect"), "error", "partner.connect_url", "no scheme"),
    ("url-relative", doc(sign_up_url="/sign-up"), "error", "partner.sign_up_url", "relative"),
    ("url-ftp", doc(delete_url="ftp://partner.example.com/d"), "error", "partner.delete_url", "http(s)"),
    ("url-javascript", doc(sign_up_url="javascript:alert(1)"), "error", "partner.sign_up_url", "http(s)"),
    (
        "url-mailto",
        doc(privacy_policy_url="mailto:privacy@example.com"),
        "error",
        "partner.privacy_policy_url",
        "http(s)",
    ),
    ("url-no-host", doc(connect_url="https:///connect"), "error", "partner.connect_url", "no host"),
    (
        "url-http",
        doc(terms_of_service_url="http://partner.example.com/tos"),
        "warning",
        "partner.terms_of_service_url",
        "https",
    ),
    (
        "url-padded",
        doc(connect_url=" https://partner.example.com/c"),
        "error",
        "partner.connect_url",
        "leading or trailing",
    ),
    ("url-inner-space", doc(connect_url="https://partner.example.com/a b"), "error", "partner.connect_url", "spaces"),
    ("url-bad-port", doc(connect_url="https://partner.example.com:99999/c"), "error", "partner.connect_url", "port"),
    ("url-bad-ipv6", doc(connect_url="https://[::1/c"), "error", "partner.connect_url", "not a valid URL"),
    ("delete-empty", doc(delete_url=""), "warning", "partner.delete_url", "Remove the field"),
    ("delete-number", doc(delete_url=5), "error", "partner.delete_url", "got a number"),
]


@pytest.mark.parametrize(
    ("document", "severity", "field", "text"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_bad_config(document: Any, severity: str, field: str, text: str) -> None:
    findings = validate_partner_config(document)
    matching = [f for f in findings if f.severity == severity and f.field == field]
    assert matching, f"no {severity} on {field}: {[f.to_dict() for f in findings]}"
    assert any(text in f"{f.message} | {f.hint}" for f in matching), [f.to_dict() for f in matching]
    # Every finding says how to fix it, or is self-explanatory with a hint.
    assert all(f.severity in ("error", "warning") for f in findings)


def test_there_are_enough_bad_cases() -> None:
    assert len(BAD) >= 30
    assert len({case[0] for case in BAD}) == len(BAD)


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_each_required_field_missing_is_an_error(field: str) -> None:
    findings = validate_partner_config(doc(**{field: DROP}))
    assert [(f.severity, f.field, f.message) for f in findings] == [
        ("error", f"partner.{field}", "required field is missing")
    ]
    assert findings[0].hint and field in findings[0].hint


def test_hostname_singular_reports_one_error_not_two() -> None:
    findings = validate_partner_config(doc(hostnames=DROP, hostname="a.com"))
    assert [(f.severity, f.field) for f in findings] == [("error", "partner.hostname")]


def test_unwrapped_partner_is_still_validated_field_by_field() -> None:
    findings = validate_partner_config(partner(category="bi"))
    assert {f.field for f in findings} == {"partner", "partner.category"}


# -- good configs -------------------------------------------------------------------------

GOOD: list[tuple[str, Any]] = [
    ("canonical", doc()),
    ("with-schema-key", {"$schema": "../stp_ext/partner-config.schema.json", **doc()}),
    ("schema-key-any-value", {"$schema": 42, **doc()}),
    ("no-optional-fields", doc(delete_url=DROP, supported_features=DROP, auth_options=DROP)),
    ("null-optional-fields", doc(delete_url=None, supported_features=None, auth_options=None)),
    ("empty-arrays", doc(supported_features=[], auth_options=[])),
    ("all-categories", doc(category=CATEGORIES[-1])),
    ("pat-and-u2m", doc(auth_options=["AUTH_PAT", "AUTH_OAUTH_U2M"])),
    ("non-admin-pat", doc(supported_features=["NON_ADMIN"], auth_options=["AUTH_PAT"])),
    ("external-writer", doc(supported_features=["EXTERNAL_LOCATION"], integration_type="WAREHOUSE_WRITE")),
    ("external-cluster", doc(supported_features=["EXTERNAL_LOCATION"], integration_type="CLUSTER_COMPUTE")),
    ("http-localhost", doc(connect_url="http://localhost:8080/connect")),
    ("http-loopback-v4", doc(connect_url="http://127.0.0.1:9000/connect")),
    ("http-loopback-v6", doc(connect_url="http://[::1]:9000/connect")),
    ("https-with-port-and-query", doc(connect_url="https://partner.example.com:8443/c?x=1#f")),
    ("local-hostnames", doc(hostnames="localhost,127.0.0.1,[::1],::1")),
    ("single-hostname", doc(hostnames="partner.example.com")),
    ("underscore-hostname", doc(hostnames="my_host.example.com")),
    ("upper-case-scheme", doc(connect_url="HTTPS://partner.example.com/c")),
]


@pytest.mark.parametrize("document", [case[1] for case in GOOD], ids=[case[0] for case in GOOD])
def test_good_config(document: Any) -> None:
    assert [f.to_dict() for f in validate_partner_config(document)] == []


@pytest.mark.parametrize("value", INTEGRATION_TYPES)
def test_every_integration_type_is_accepted(value: str) -> None:
    assert validate_partner_config(doc(integration_type=value, auth_options=["AUTH_PAT"])) == []


def test_enum_tuples_match_the_contract() -> None:
    assert "DATA_GOVERNANCE" in CATEGORIES and len(CATEGORIES) == 9
    assert len(INTEGRATION_TYPES) == 6
    assert SUPPORTED_FEATURES == ("UNITY_CATALOG", "NON_ADMIN", "EXTERNAL_LOCATION")
    assert AUTH_OPTIONS == ("AUTH_OAUTH_M2M", "AUTH_PAT", "AUTH_OAUTH_U2M")


def test_findings_are_sorted_errors_first_then_by_field() -> None:
    document = doc(name="", hostnames="a.com, b.com", category="x", logo="y")
    findings = validate_partner_config(document)
    keys = [(f.severity != "error", f.field) for f in findings]
    assert keys == sorted(keys)
    assert findings[0].severity == "error" and findings[-1].severity == "warning"


def test_validation_does_not_modify_its_input() -> None:
    document = doc(hostnames=["a.com"], supported_features="X", hostname="y")
    before = copy.deepcopy(document)
    validate_partner_config(document)
    assert document == before


def test_user_text_in_messages_is_quoted_and_escaped() -> None:
    # A string field with a control character is an error of its own (test_config_limits);
    # an array item still reaches a message, quoted.
    findings = validate_partner_config(doc(supported_features=["\x1b[31mred\x9b" + "x" * 200]))
    message = findings[0].message
    assert "\x1b" not in message and "\x9b" not in message
    assert "\\u001b" in message and "…" in message
    weird_key = validate_partner_config(doc(**{"bad\nkey": 1}))
    assert all("\n" not in f.field for f in weird_key)


def test_finding_to_dict() -> None:
    finding = Finding("error", "partner.name", "must not be empty", "Give a value.")
    assert finding.to_dict() == {
        "severity": "error",
        "field": "partner.name",
        "message": "must not be empty",
        "hint": "Give a value.",
    }


# -- the model ----------------------------------------------------------------------------


def report_for(document: Any) -> ConfigReport:
    return ConfigReport(data=document, findings=validate_partner_config(document), source="x.json")


def test_report_gives_the_partner_config() -> None:
    report = report_for({"$schema": "s.json", **doc(hostnames=" a.com, b.com ")})
    assert report.valid and len(report.warnings) == 1 and report.errors == []
    config = report.partner
    assert isinstance(config, PartnerConfig)
    assert config.name == "Test Partner"
    assert config.hostname_list == ["a.com", "b.com"]
    assert config.delete_url == "https://partner.example.com/databricks/delete"
    assert config.is_non_admin is False


def test_request_body_is_the_partner_object_unchanged() -> None:
    document = {"$schema": "s.json", "comment": "local", **doc(extra_field={"kept": True})}
    config = report_for(document).partner
    assert config.to_request_body() == {"partner": document["partner"]}
    assert "$schema" not in json.dumps(config.to_request_body())


def test_invalid_report_refuses_to_give_a_partner() -> None:
    with pytest.raises(ValueError, match=r"x\.json"):
        _ = report_for(doc(name="")).partner


def test_partner_config_built_in_code() -> None:
    config = PartnerConfig(
        name="P",
        category="ML",
        connect_url="https://p.example.com/c",
        sign_up_url="https://p.example.com/s",
        terms_of_service_url="https://p.example.com/t",
        privacy_policy_url="https://p.example.com/p",
        hostnames="p.example.com",
        integration_type="CLUSTER_COMPUTE",
    )
    body = config.to_request_body()["partner"]
    assert "delete_url" not in body
    assert validate_partner_config({"partner": body}) == []


@pytest.mark.parametrize(
    ("features", "auth", "effective"),
    [
        ([], [], ["AUTH_PAT"]),
        ([], ["AUTH_OAUTH_M2M"], ["AUTH_OAUTH_M2M"]),
        (["NON_ADMIN"], ["AUTH_OAUTH_M2M"], ["AUTH_PAT"]),
        (["NON_ADMIN"], ["AUTH_OAUTH_M2M", "AUTH_OAUTH_U2M"], ["AUTH_PAT", "AUTH_OAUTH_U2M"]),
        (["NON_ADMIN"], [], ["AUTH_PAT"]),
        ([], ["AUTH_OAUTH_U2M"], ["AUTH_OAUTH_U2M"]),
    ],
)
def test_effective_auth_options(features: list[str], auth: list[str], effective: list[str]) -> None:
    config = report_for(doc(supported_features=features, auth_options=auth)).partner
    assert config.is_non_admin == ("NON_ADMIN" in features)
    assert config.effective_auth_options == effective


# -- loading ------------------------------------------------------------------------------


@pytest.fixture
def write(tmp_path: Path) -> Callable[[bytes], str]:
    def write_bytes(content: bytes, name: str = "partner.json") -> str:
        path = tmp_path / name
        path.write_bytes(content)
        return str(path)

    return write_bytes


def _file_error(path: str, match: str, **kwargs: Any) -> ConfigFileError:
    with pytest.raises(ConfigFileError, match=match) as caught:
        load_partner_config(path, **kwargs)
    assert caught.value.exit_code == ExitCode.USAGE
    return caught.value


def test_load_example() -> None:
    report = load_partner_config(str(EXAMPLE))
    assert report.valid and report.findings == [] and report.source == str(EXAMPLE)
    assert report.partner.integration_type == "WAREHOUSE_READ"


def test_missing_file(tmp_path: Path) -> None:
    error = _file_error(str(tmp_path / "nope.json"), "config file not found")
    assert error.hint


def test_broken_symlink(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "gone.json")
    error = _file_error(str(link), "not found")
    assert error.hint and "symbolic link" in error.hint


def test_symlink_to_a_valid_file(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(EXAMPLE)
    assert load_partner_config(str(link)).valid


def test_directory(tmp_path: Path) -> None:
    _file_error(str(tmp_path), "is a directory")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(write: Callable[..., str]) -> None:
    path = write(EXAMPLE.read_bytes())
    os.chmod(path, 0)
    try:
        _file_error(path, "permission denied")
    finally:
        os.chmod(path, 0o600)


def test_unreadable_file_by_permission_error(write: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Runs as root too (where chmod 000 does not stop reads): the OS refusal is simulated.
    path = write(EXAMPLE.read_bytes())

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(inputs, "open", refuse, raising=False)
    error = _file_error(path, "permission denied")
    assert error.hint and "ls -l" in error.hint


def test_not_utf8_names_the_offset(write: Callable[..., str]) -> None:
    path = write(b'{"partner": {"name": "Caf\xe9"}}')
    _file_error(path, r"not UTF-8 text: byte 0xe9 at offset 25 \(line 1\)")


def test_nul_bytes(write: Callable[..., str]) -> None:
    _file_error(write(b'{"partner"\x00: {}}'), r"not a text file \(NUL byte at offset 10\)")


def test_utf16_file(write: Callable[..., str]) -> None:
    _file_error(write(json.dumps(doc()).encode("utf-16")), "UTF-16")


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n", b"\xef\xbb\xbf"])
def test_empty_or_blank(write: Callable[..., str], content: bytes) -> None:
    _file_error(write(content), "is empty")


def test_larger_than_one_mib(write: Callable[..., str]) -> None:
    big = b'{"partner": {"name": "' + b"x" * (1024 * 1024) + b'"}}'
    error = _file_error(write(big), "larger than 1 MiB")
    assert error.hint


def test_exactly_one_mib_is_read(write: Callable[..., str]) -> None:
    body = json.dumps(doc()).encode()
    padded = body + b" " * (loading.MAX_BYTES - len(body))
    assert load_partner_config(write(padded)).valid


def test_huge_stdin_is_not_read_whole() -> None:
    stream = EndlessStream()
    _file_error("-", "larger than 1 MiB", stdin=stream)
    assert stream.read_bytes <= loading.MAX_BYTES + 1


def test_bom_is_tolerated(write: Callable[..., str]) -> None:
    report = load_partner_config(write(b"\xef\xbb\xbf" + json.dumps(doc()).encode()))
    assert report.valid and report.findings == []


def test_stdin_binary() -> None:
    report = load_partner_config("-", stdin=io.BytesIO(json.dumps(doc()).encode()))
    assert report.valid and report.source == "<stdin>"


def test_stdin_text_with_buffer() -> None:
    stream = io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbf" + json.dumps(doc()).encode()), encoding="utf-8")
    assert load_partner_config("-", stdin=stream).valid


def test_stdin_text_without_buffer() -> None:
    assert load_partner_config("-", stdin=io.StringIO(json.dumps(doc()))).valid


def test_stdin_default_is_sys_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(json.dumps(doc()).encode())))
    assert load_partner_config("-").valid


def test_tilde_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "p.json").write_text(json.dumps(doc()))
    assert load_partner_config("~/p.json").valid


SEED_SAMPLE = """{
"partner": {
"name": "Test Partner",
"category": "DATA_PREP_AND_TRANSFORM",
"connect_url": "https://databricks.com/read/connect",
"sign_up_url": "https://databricks.com/sign-up",
"delete_url": "https://databricks.com/delete"
"terms_of_service_url": "https://databricks.com/tos",
"privacy_policy_url": "https://databricks.com/privacy",
"hostnames": "databricks1.com,databricks2.com",
"supported_features": ["UNITY_CATALOG"],
"integration_type": "WAREHOUSE_READ",
"auth_options": ["AUTH_OAUTH_M2M"]
}
}
"""

INVALID_JSON: list[tuple[str, str, str, str]] = [
    (
        "seed-missing-comma",
        SEED_SAMPLE,
        "line 8, column 1",
        "comma is probably missing after the value that ends at line 7",
    ),
    (
        "trailing-comma-object",
        '{"partner": {"name": "x",\n}}',
        "line 2, column 1",
        "Remove the trailing comma at line 1",
    ),
    ("trailing-comma-array", '{"partner": {"supported_features": ["A",]}}', "line 1", "trailing comma"),
    ("single-quotes", "{'partner': {}}", "line 1, column 2", "double quotes"),
    ("comment", '{"partner": {} // note\n}', "line 1", "comments"),
    ("python-literal", '{"partner": True}', "line 1", "lower case"),
    ("unterminated", '{"partner": {"name": "x}}', "line 1", "Close the string"),
    ("raw-newline", '{"partner": {"name": "a\nb"}}', "line 1", "\\n"),
    ("bad-escape", '{"partner": {"name": "C:\\dir"}}', "line 1", "backslash"),
    ("extra-data", '{"partner": {}}\n{"partner": {}}', "line 2, column 1", "Only one JSON value"),
    ("missing-colon", '{"partner" {}}', "line 1", "colon"),
]


@pytest.mark.parametrize(
    ("text", "where", "hint"), [case[1:] for case in INVALID_JSON], ids=[case[0] for case in INVALID_JSON]
)
def test_invalid_json_is_a_finding_with_line_and_column(
    write: Callable[..., str], text: str, where: str, hint: str
) -> None:
    report = load_partner_config(write(text.encode()))
    assert report.data is None and not report.valid
    [finding] = report.findings
    assert (finding.severity, finding.field) == ("error", "(file)")
    assert where in finding.message
    assert finding.hint and hint in finding.hint


@pytest.mark.parametrize("text", ['{"partner": NaN}', '{"partner": {"name": -Infinity}}'])
def test_non_standard_constants_are_invalid_json(write: Callable[..., str], text: str) -> None:
    report = load_partner_config(write(text.encode()))
    assert [(f.severity, f.field) for f in report.findings] == [("error", "(file)")]


def test_deep_nesting_is_a_finding_not_a_crash(write: Callable[..., str]) -> None:
    report = load_partner_config(write(b"[" * 100_000 + b"]" * 100_000))
    assert not report.valid
    assert "nested too deeply" in report.findings[0].message


def test_duplicate_keys_are_warned_with_their_path(write: Callable[..., str]) -> None:
    text = json.dumps(doc())[:-2] + ', "hostnames": "other.example.com"}}'
    report = load_partner_config(write(text.encode()))
    assert report.valid
    [finding] = report.findings
    assert (finding.severity, finding.field) == ("warning", "partner.hostnames")
    assert "more than once" in finding.message
    assert report.partner.hostnames == "other.example.com"


def test_json_null_file_is_a_finding(write: Callable[..., str]) -> None:
    report = load_partner_config(write(b"null"))
    assert [(f.severity, f.field) for f in report.findings] == [("error", "(file)")]


def test_hostnames_array_with_schemes_names_both_problems():
    findings = validate_partner_config(
        {"partner": {**_valid_partner_for_array_test(), "hostnames": ["https://a.example.com/x", "b.example.com"]}}
    )
    messages = [(f.field, f.message, f.hint) for f in findings if f.severity == "error"]
    assert (
        "partner.hostnames",
        "must be ONE comma-separated string, not an array",
        'Use "a.example.com,b.example.com".',
    ) in messages
    assert any("is a URL, not a hostname" in m for _, m, _ in messages)


def _valid_partner_for_array_test() -> dict[str, Any]:
    return json.loads((Path(__file__).parent.parent / "examples" / "partner.json").read_text())["partner"]
