"""connect-test's scenarios against the sample partner over real HTTP: correct, and wrong in every way."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from connect_fixtures import BASIC, HOSTNAME, findings_of, partner_config, sample_partner

from stp_ext.connect import run_connect_test
from stp_ext.connect.scenarios import SCENARIOS
from stp_ext.sample_partner import FAULT_NAMES

# fault -> the finding connect-test must report: (scenario, severity, check).
EXPECTED: dict[str, tuple[str, str, str]] = {
    "wrong_status": ("new_connection", "error", "status_code"),
    "html_body": ("new_connection", "error", "html_body"),
    "text_plain": ("new_connection", "error", "content_type"),
    "no_content_type": ("new_connection", "error", "content_type"),
    "malformed_json": ("new_connection", "error", "invalid_json"),
    "huge_body": ("new_connection", "error", "body_too_large"),
    "redirect": ("new_connection", "error", "redirect"),
    "slow": ("new_connection", "error", "timeout"),
    "missing_field": ("new_connection", "error", "required_field"),
    "bad_enum": ("new_connection", "error", "enum_value"),
    "foreign_redirect": ("new_connection", "error", "redirect_uri_host"),
    "relative_redirect": ("new_connection", "error", "redirect_uri_absolute"),
    "connection_id_missing": ("new_connection", "error", "connection_id_required"),
    "connection_id_on_established": ("established_connection", "error", "connection_id_on_established"),
    "accept_any_auth": ("wrong_credentials", "error", "status_code"),
    "wrong_auth_status": ("wrong_credentials", "error", "error_reason"),
    "unknown_connection_ok": ("unknown_connection", "error", "status_code"),
    "demo_ignored": ("demo", "error", "demo_trial"),
    "not_idempotent": ("repeat_request", "error", "idempotent"),
    "delete_bad_status": ("delete_connection", "error", "enum_value"),
    "u2m_no_oauth_redirect": ("new_connection", "warning", "oauth_redirect_uri"),
}
WARNING_ONLY = {"u2m_no_oauth_redirect"}
U2M = ["AUTH_OAUTH_U2M"]
FAST_TIMEOUT = 0.4  # the slow fault sleeps longer; everything else answers in milliseconds


def test_every_fault_has_an_expectation() -> None:
    assert set(EXPECTED) == set(FAULT_NAMES)


def test_correct_partner_passes_every_scenario() -> None:
    with sample_partner() as partner:
        started = time.monotonic()
        report = run_connect_test(partner_config(), BASIC, url=partner.url)
        elapsed = time.monotonic() - started
    assert report.passed, findings_of(report)
    assert [s.name for s in report.scenarios] == [name for name, _, _ in SCENARIOS]
    assert findings_of(report) == set()
    statuses = {s.name: s.status for s in report.scenarios}
    assert statuses == {
        "new_connection": 200,
        "established_connection": 200,
        "wrong_credentials": 401,
        "unknown_connection": 404,
        "demo": 200,
        "repeat_request": 200,
        "delete_connection": 200,
    }
    assert elapsed < 2.0
    # The first user's connection was deleted; only the repeat scenario's user keeps one.
    left = list(partner.state.connections.values())
    assert [c.email.endswith("-retry@databricks-test.com") for c in left] == [True]


@pytest.mark.parametrize(
    "changes",
    [
        {"integration_type": "WAREHOUSE_WRITE", "auth_options": ["AUTH_PAT"]},
        {"integration_type": "CLUSTER_COMPUTE", "auth_options": None},
        {"integration_type": "WORKSPACE_MANAGEMENT", "supported_features": ["NON_ADMIN"]},
        {"integration_type": "WAREHOUSE_READ", "auth_options": ["AUTH_PAT", "AUTH_OAUTH_U2M"]},
        {"delete_url": None},
    ],
    ids=["warehouse-write-pat", "cluster-default-auth", "workspace-non-admin", "u2m", "no-delete-url"],
)
def test_correct_partner_passes_for_other_configs(changes: dict[str, Any]) -> None:
    with sample_partner() as partner:
        report = run_connect_test(partner_config(**changes), BASIC, url=partner.url)
    assert report.passed, findings_of(report)
    if "delete_url" in changes:
        assert ("delete_connection", "info", "skipped") in findings_of(report)


def test_no_integration_configures_nothing_and_skips_what_needs_a_connection() -> None:
    with sample_partner() as partner:
        report = run_connect_test(partner_config(integration_type="NO_INTEGRATION"), BASIC, url=partner.url)
    assert report.passed, findings_of(report)
    skipped = {name for name, severity, check in findings_of(report) if check == "skipped"}
    assert skipped == {"established_connection", "delete_connection"}


@pytest.mark.parametrize("fault", FAULT_NAMES)
def test_each_fault_is_caught_by_its_named_finding(fault: str) -> None:
    config = partner_config(auth_options=U2M) if fault == "u2m_no_oauth_redirect" else partner_config()
    with sample_partner(fault=fault, slow_seconds=FAST_TIMEOUT * 5) as partner:
        report = run_connect_test(config, BASIC, url=partner.url, timeout=FAST_TIMEOUT)
    scenario, severity, check = EXPECTED[fault]
    assert (scenario, severity, check) in findings_of(report), findings_of(report)
    if fault in WARNING_ONLY:
        assert report.passed
    else:
        assert not report.passed
        failed = next(s for s in report.scenarios if s.name == scenario)
        assert not failed.passed


def test_fault_can_be_asked_for_per_request_with_a_query() -> None:
    config = partner_config(connect_url=f"https://{HOSTNAME}/databricks/connect?fault=bad_enum")
    with sample_partner() as partner:
        report = run_connect_test(config, BASIC, url=partner.url)
    assert ("new_connection", "error", "enum_value") in findings_of(report)


def test_no_credential_skips_wrong_credentials() -> None:
    with sample_partner(auth="") as partner:
        report = run_connect_test(partner_config(), "", url=partner.url)
    assert report.passed
    wrong = next(s for s in report.scenarios if s.name == "wrong_credentials")
    assert wrong.skipped and wrong.status is None


def test_wrong_credential_fails_every_connect_with_401() -> None:
    with sample_partner() as partner:
        report = run_connect_test(partner_config(), "Basic bm90OnJpZ2h0", url=partner.url)
    assert not report.passed
    first = report.scenarios[0]
    assert first.status == 401
    assert [f.check for f in first.findings] == ["status_code"]  # no field noise on an error answer


def test_overrides_are_merged_into_every_connect_request() -> None:
    with sample_partner() as partner:
        fine = run_connect_test(partner_config(), BASIC, url=partner.url, overrides={"user_info": {"last_name": ""}})
        broken = run_connect_test(partner_config(), BASIC, url=partner.url, overrides={"cloud_provider": "mars"})
    assert fine.passed, findings_of(fine)
    assert not broken.passed
    new = broken.scenarios[0]
    assert new.status == 400
    assert "cloud_provider" in new.findings[0].message  # the partner's debugging_message is shown


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_connection_is_a_finding_not_a_traceback() -> None:
    report = run_connect_test(partner_config(), BASIC, url=f"http://127.0.0.1:{_free_port()}", timeout=2)
    assert not report.passed
    assert ("new_connection", "error", "connection_refused") in findings_of(report)
    assert report.scenarios[0].status is None


def test_tls_to_a_plain_http_server_is_a_tls_finding() -> None:
    with sample_partner() as partner:
        report = run_connect_test(partner_config(), BASIC, url=f"https://127.0.0.1:{partner.port}", timeout=2)
    assert ("new_connection", "error", "tls") in findings_of(report)


def test_timeout_is_bounded_and_reported() -> None:
    with sample_partner(fault="slow", slow_seconds=5) as partner:
        started = time.monotonic()
        report = run_connect_test(partner_config(), BASIC, url=partner.url, timeout=0.3)
        elapsed = time.monotonic() - started
    assert ("new_connection", "error", "timeout") in findings_of(report)
    # Two phases of concurrent timeouts, not one timeout per request in a row.
    assert elapsed < 1.5


class _Recorder(BaseHTTPRequestHandler):
    """A bare partner that records what it received and answers a valid connect."""

    seen: ClassVar[list[tuple[str, str, dict[str, str], Any]]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        with self.lock:
            self.seen.append((self.command, self.path, dict(self.headers.items()), body))
        answer = {
            "redirect_uri": f"https://{HOSTNAME}/x",
            "redirect_value": "sign_in",
            "user_status": "existing",
            "account_status": "active",
            "configured_resources": False,
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, str, dict[str, str], Any]]]]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


def test_requests_carry_exactly_the_databricks_headers_and_a_contract_body(recorder: Any) -> None:
    url, seen = recorder
    run_connect_test(partner_config(), BASIC, url=url)
    connects = [entry for entry in seen if entry[1] == "/databricks/connect"]
    assert connects
    for method, _path, headers, body in connects:
        assert method == "POST"
        assert headers["User-Agent"] == "databricks"
        assert headers["Content-Type"] == "application/json"
        assert headers["Accept-Language"] == "en-US"
        assert headers["Authorization"] in (BASIC,) or headers["Authorization"].startswith("Basic ")
        for field in ("user_info", "hostname", "port", "workspace_url", "workspace_id", "demo"):
            assert field in body
        assert body["workspace_id"] == body["user_info"]["databricks_organization_id"]
    new = next(b for _, _, _, b in connects if not b["user_info"]["is_connection_established"] and not b["demo"])
    assert new["cloud_provider"] in ("aws", "azure", "gcp")
    assert new["is_sql_warehouse"] is True and "connection_id" not in new


def test_no_credential_sends_no_authorization_header(recorder: Any) -> None:
    url, seen = recorder
    run_connect_test(partner_config(), "", url=url)
    assert seen and all("Authorization" not in headers for _, _, headers, _ in seen)


def test_untrusted_certificate_is_a_tls_finding() -> None:
    pytest.importorskip("cryptography")  # werkzeug needs it to make a self-signed certificate
    from werkzeug.serving import make_server

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context="adhoc")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        report = run_connect_test(partner_config(), BASIC, url=f"https://127.0.0.1:{server.port}", timeout=2)
    finally:
        server.shutdown()
        server.server_close()
    tls = [f for s in report.scenarios for f in s.findings if f.check == "tls"]
    assert tls and "certificate" in tls[0].message
