"""What connect-test sends, and what the sample partner answers, against the official 2.1.1 schemas.

The schemas are tests/fixtures/partner-connect-2.1.1.schema.json (the OpenAPI
document's components, restated). Beyond them, the rules of
ApiSpecifications.md on which optional fields Databricks sends when.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from connect_fixtures import BASIC, HOSTNAME, partner_config
from jsonschema import Draft202012Validator

from stp_ext.connect import run_connect_test
from stp_ext.connect.payload import Caller, connect_request, delete_connection_request
from stp_ext.sample_partner.app import SamplePartnerApp
from stp_ext.serving import LocalServer

SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "partner-connect-2.1.1.schema.json").read_text())
Draft202012Validator.check_schema(SCHEMA)

# Sent beyond 2.1.1 for the OAuth auth options (docs/connect-exchange.md; not in the OpenAPI document).
OAUTH_EXTRAS = {"service_principal_oauth_secret", "oauth_u2m_app_id"}
SQL_ONLY = {"http_path", "jdbc_url", "databricks_jdbc_url"}

INTEGRATIONS = [
    "WAREHOUSE_READ",
    "WAREHOUSE_READ_WRITE",
    "WAREHOUSE_WRITE",
    "CLUSTER_COMPUTE",
    "WORKSPACE_MANAGEMENT",
    "NO_INTEGRATION",
]
AUTH_OPTIONS = [
    None,
    ["AUTH_PAT"],
    ["AUTH_OAUTH_M2M"],
    ["AUTH_PAT", "AUTH_OAUTH_U2M"],
    ["AUTH_OAUTH_M2M", "AUTH_OAUTH_U2M"],
]
FEATURES = [None, ["NON_ADMIN"], ["UNITY_CATALOG", "EXTERNAL_LOCATION"]]


def errors_of(definition: str, document: Any) -> list[str]:
    validator = Draft202012Validator({"$ref": f"#/$defs/{definition}", "$defs": SCHEMA["$defs"]})
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def check_connect_body(body: dict[str, Any], *, uses_pat: bool) -> None:
    assert errors_of("ConnectRequest", body) == []
    declared = set(SCHEMA["$defs"]["ConnectRequest"]["properties"])
    assert set(body) - declared <= OAUTH_EXTRAS, set(body) - declared
    assert set(body["user_info"]) <= set(SCHEMA["$defs"]["UserInfo"]["properties"])
    established = body["user_info"]["is_connection_established"]
    assert ("connection_id" in body) == established
    assert ("auth" in body["user_info"]) == (uses_pat and not established)
    assert body["workspace_id"] == body["user_info"]["databricks_organization_id"]
    assert body["cloud_provider"] in ("aws", "azure", "gcp")
    warehouse = body.get("is_sql_warehouse") is True
    # http_path and the JDBC URLs only for a SQL warehouse (ApiSpecifications.md, the suite).
    assert (SQL_ONLY & set(body)) == (SQL_ONLY if warehouse else set())
    if "is_sql_warehouse" in body:
        assert body["is_sql_endpoint"] == body["is_sql_warehouse"]
        assert "cluster_id" in body


@pytest.mark.parametrize(
    ("integration", "auth", "features"),
    list(itertools.product(INTEGRATIONS, AUTH_OPTIONS, FEATURES)),
)
def test_every_body_is_valid_for_every_integration_and_auth_option(
    integration: str, auth: list[str] | None, features: list[str] | None
) -> None:
    config = partner_config(integration_type=integration, auth_options=auth, supported_features=features)
    caller = Caller.in_account("user1", "p100-0123456789ab.databricks-test.com")
    uses_pat = integration != "NO_INTEGRATION" and "AUTH_PAT" in config.effective_auth_options
    for kwargs in ({}, {"demo": True}, {"established": True, "connection_id": "c0ffee"}):
        check_connect_body(connect_request(config, caller, **kwargs), uses_pat=uses_pat)
    assert errors_of("DeleteConnectionRequest", delete_connection_request("c0ffee", caller)) == []


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


Exchange = tuple[str, str, Any, int, Any]  # method, path, request body, status, answer body


@pytest.fixture
def wiretap() -> Iterator[tuple[str, list[Exchange]]]:
    """The sample partner behind a WSGI wrapper that records every exchange."""
    app = SamplePartnerApp(auth_header=BASIC, hostnames=[HOSTNAME])
    seen: list[Exchange] = []
    lock = threading.Lock()

    def tap(environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        import io

        environ["wsgi.input"] = io.BytesIO(raw)
        status: list[int] = []

        def capture(line: str, headers: Any, *rest: Any) -> Any:
            status.append(int(line.split()[0]))
            return start_response(line, headers, *rest)

        chunks = b"".join(app(environ, capture))
        with lock:
            seen.append(
                (
                    environ["REQUEST_METHOD"],
                    environ["PATH_INFO"],
                    json.loads(raw) if raw else None,
                    status[0],
                    json.loads(chunks) if chunks.startswith(b"{") else chunks,
                )
            )
        return [chunks]

    server = LocalServer(tap).start()
    try:
        yield server.url, seen
    finally:
        server.stop()


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
    for method, path, request, status, answer in seen:
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
