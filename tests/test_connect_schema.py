"""What connect-test sends, and what the sample partner answers, against the official OpenAPI document.

The document is tests/fixtures/partner-connect-2.0.yaml (version 2.1.1),
vendored byte for byte from databrickslabs/partner-connect-api at HEAD (its
source, commit and sha256 are in partner-connect-2.0.yaml.source). Its schemas
are OpenAPI 3.0 Schema Objects, which jsonschema validates as draft 4 with
the two integer formats OpenAPI adds. Beyond them, the rules of
ApiSpecifications.md on which optional fields Databricks sends when.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from connect_fixtures import BASIC, HOSTNAME, Exchange, partner_config, partner_dict, tapped_partner
from jsonschema import Draft4Validator, FormatChecker

from stp_ext.connect import run_connect_test
from stp_ext.connect.payload import CLOUDS, Caller, connect_request, delete_connection_request
from stp_ext.partner_config import AUTH_OPTIONS, INTEGRATION_TYPES, SUPPORTED_FEATURES, validate_partner_config
from stp_ext.sample_partner.app import SamplePartnerApp

FIXTURES = Path(__file__).parent / "fixtures"
OPENAPI_PATH = FIXTURES / "partner-connect-2.0.yaml"
# libyaml's parser where PyYAML has it, with the same safe constructor: the 38 KB document loads in
# 15 ms instead of 150 ms, paid by every pytest-xdist worker at collection.
OPENAPI = yaml.load(OPENAPI_PATH.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
SCHEMAS: dict[str, Any] = OPENAPI["components"]["schemas"]
SQL_ONLY = {"http_path", "jdbc_url", "databricks_jdbc_url"}

FORMATS = FormatChecker()


@FORMATS.checks("int32")
def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@FORMATS.checks("int64")
def _int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


Draft4Validator.check_schema({"definitions": SCHEMAS})
VALIDATORS: dict[str, Draft4Validator] = {}


def errors_of(definition: str, document: Any) -> list[str]:
    validator = VALIDATORS.get(definition)
    if validator is None:
        schema = {"$ref": f"#/components/schemas/{definition}", "components": {"schemas": SCHEMAS}}
        validator = VALIDATORS[definition] = Draft4Validator(schema, format_checker=FORMATS)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_vendored_document_is_the_one_named_in_its_source_file() -> None:
    source = (FIXTURES / "partner-connect-2.0.yaml.source").read_text(encoding="utf-8")
    assert hashlib.sha256(OPENAPI_PATH.read_bytes()).hexdigest() in source
    assert "be38b18df622c4fb8086742e90b755ec45a77469" in source
    assert OPENAPI["info"]["version"] == "2.1.1"
    # What the stale restatement lacked, and 2.1.1 defines.
    assert {"service_principal_oauth_secret", "oauth_u2m_app_id"} <= set(SCHEMAS["ConnectRequest"]["properties"])
    assert "oauth_redirect_uri" in SCHEMAS["Connection"]["properties"]


def check_connect_body(body: dict[str, Any], *, uses_pat: bool) -> None:
    assert errors_of("ConnectRequest", body) == []
    # Nothing the document does not define (OpenAPI allows extra fields; Databricks sends none).
    assert set(body) <= set(SCHEMAS["ConnectRequest"]["properties"]), set(body) - set(
        SCHEMAS["ConnectRequest"]["properties"]
    )
    assert set(body["user_info"]) <= set(SCHEMAS["UserInfo"]["properties"])
    established = body["user_info"]["is_connection_established"]
    assert ("connection_id" in body) == established
    assert ("auth" in body["user_info"]) == (uses_pat and not established)
    assert body["workspace_id"] == body["user_info"]["databricks_organization_id"]
    assert "database_name" not in body  # "Unused today"
    warehouse = body.get("is_sql_warehouse") is True
    # http_path and the JDBC URLs only for a SQL warehouse (ApiSpecifications.md, the suite).
    assert (SQL_ONLY & set(body)) == (SQL_ONLY if warehouse else set())
    if "is_sql_warehouse" in body:
        assert body["is_sql_endpoint"] == body["is_sql_warehouse"]
        assert "cluster_id" in body


def _subsets(names: tuple[str, ...]) -> list[list[str] | None]:
    chosen: list[list[str] | None] = [None]
    for size in range(len(names) + 1):
        chosen += [list(c) for c in itertools.combinations(names, size)]
    return chosen


def accepted_combinations() -> list[tuple[str, list[str] | None, list[str] | None]]:
    """Every integration type x auth options x supported features that `validate` accepts (no error)."""
    accepted = []
    for integration, auth, features in itertools.product(
        INTEGRATION_TYPES, _subsets(AUTH_OPTIONS), _subsets(SUPPORTED_FEATURES)
    ):
        document = {
            "partner": partner_dict(integration_type=integration, auth_options=auth, supported_features=features)
        }
        if not any(f.severity == "error" for f in validate_partner_config(document)):
            accepted.append((integration, auth, features))
    return accepted


def test_every_body_validates_for_every_combination_validate_accepts() -> None:
    """One test over all combinations (a few hundred), not one per combination: it keeps the run short."""
    combinations = accepted_combinations()
    assert len(combinations) > 100  # the enumeration really covers the space
    seen_fields: set[str] = set()
    for (integration, auth, features), cloud in zip(combinations, itertools.cycle(CLOUDS), strict=False):
        config = partner_config(integration_type=integration, auth_options=auth, supported_features=features)
        caller = Caller.in_account("user1", "p100-0123456789ab.databricks-test.com").on(cloud)
        uses_pat = integration != "NO_INTEGRATION" and "AUTH_PAT" in config.effective_auth_options
        for kwargs in ({}, {"demo": True}, {"established": True, "connection_id": "c0ffee"}):
            body = connect_request(config, caller, **kwargs)
            seen_fields |= set(body)
            try:
                check_connect_body(body, uses_pat=uses_pat)
            except AssertionError:
                pytest.fail(f"{integration} {auth} {features} {cloud} {kwargs}: {errors_of('ConnectRequest', body)}")
        assert errors_of("DeleteConnectionRequest", delete_connection_request("c0ffee", caller)) == []
    # Every optional field the builder can send was sent (and so validated) at least once.
    assert {"catalog_name", "destination_location", "service_principal_oauth_secret", "oauth_u2m_app_id"} <= seen_fields


def test_cluster_compute_sends_no_sql_warehouse_fields() -> None:
    body = connect_request(partner_config(integration_type="CLUSTER_COMPUTE"), Caller.in_account("u", "d.com"))
    assert body["is_sql_warehouse"] is False and body["cluster_id"]
    assert not SQL_ONLY & set(body)


def test_the_schema_rejects_what_it_should() -> None:
    body = connect_request(partner_config(), Caller.in_account("u", "d.com"))
    assert errors_of("ConnectRequest", {**body, "port": "443"})
    assert errors_of("ConnectRequest", {k: v for k, v in body.items() if k != "demo"})
    assert errors_of("Connection", {"redirect_uri": "https://x", "redirect_value": "signin"})
    assert errors_of("ErrorResponse", {"error_reason": "oops"})
    assert errors_of("ConnectRequest", {**body, "cloud_provider": "gcp"})  # 2.1.1's enum says gpc
    assert errors_of("ConnectRequest", {**body, "workspace_id": 2**63})


@pytest.fixture
def wiretap() -> Iterator[tuple[str, list[Exchange]]]:
    """The sample partner behind a WSGI wrapper that records every exchange."""
    with tapped_partner(SamplePartnerApp(auth_header=BASIC, hostnames=[HOSTNAME])) as tapped:
        yield tapped


def test_a_whole_run_sends_and_gets_only_schema_valid_bodies(wiretap: tuple[str, list[Exchange]]) -> None:
    url, seen = wiretap
    config = partner_config(category="INGEST", auth_options=["AUTH_PAT"])
    report = run_connect_test(
        config,
        BASIC,
        url=url,
        test_connection_url=f"https://{HOSTNAME}/test-connection",
        connectors_url=f"https://{HOSTNAME}/connectors",
    )
    assert report.passed, [(s.name, s.findings) for s in report.failed]
    kinds = set()
    for exchange in seen:
        method, path, request = exchange.method, exchange.path, exchange.body
        status, answer = exchange.status, exchange.answer
        operation = path.rsplit("/", 1)[-1]
        kinds.add((operation, status))
        if operation == "connect":
            check_connect_body(request, uses_pat=True)
        elif operation == "delete":
            assert errors_of("DeleteConnectionRequest", request) == []
        elif operation == "test-connection":
            assert errors_of("ConnectionInfo", request) == []
        if status >= 400:
            assert errors_of("ErrorResponse", answer) == [], (path, answer)
        elif operation == "connect":
            assert errors_of("Connection", answer) == []
        elif operation == "delete":
            assert errors_of("DeleteConnectionResponse", answer) == []
        elif operation == "test-connection":
            assert errors_of("ConnectionTestResult", answer) == []
        elif operation == "connectors":
            assert errors_of("ConnectorResponse", answer) == []
        else:
            assert method == "GET" and status == 200  # a redirect page
    # Every kind of exchange happened: success and error answers of each operation.
    assert {("connect", 200), ("connect", 404), ("connect", 401), ("delete", 200)} <= kinds
    assert {("test-connection", 200), ("test-connection", 404), ("connectors", 200), ("create-trial", 200)} <= kinds
