"""connect-test's certification cases against the sample partner over real HTTP: correct, and wrong in every way."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from connect_fixtures import BASIC, HOSTNAME, findings_of, partner_config, sample_partner

from stp_ext.connect import run_connect_test
from stp_ext.connect.cases import CASE_IDS
from stp_ext.sample_partner import FAULT_NAMES

ALL = frozenset(CASE_IDS) - {"AUTH"}  # every case that makes a new connection
REUSERS = frozenset({"P300", "P302", "P600", "P700"})  # every case that reuses one (validateSignIn)
DELETERS = frozenset({"P401", "P402", "P801"})

# fault -> (the cases that must fail, exactly; the check each of them must name).
EXPECTED: dict[str, tuple[frozenset[str], str]] = {
    "wrong_status": (ALL, "status_code"),
    "html_body": (ALL, "html_body"),
    "text_plain": (ALL, "content_type"),
    "no_content_type": (ALL, "content_type"),
    "malformed_json": (ALL, "invalid_json"),
    "huge_body": (ALL, "body_too_large"),
    "redirect": (ALL, "redirect"),
    "slow": (ALL, "timeout"),
    "continue_flood": (ALL, "timeout"),
    "header_drip": (ALL, "timeout"),
    "missing_field": (ALL, "required_field"),
    "bad_enum": (ALL, "enum_value"),
    "foreign_redirect": (ALL, "redirect_uri_host"),
    "lookalike_redirect": (ALL, "redirect_uri_host"),
    "relative_redirect": (ALL, "redirect_uri_absolute"),
    "redirect_page_404": (ALL, "redirect_uri_page"),
    "new_account_sign_in": (frozenset({"P100", "P300"}), "redirect_value"),  # both expect create_trial
    "configures_nothing": (ALL, "configured_resources"),
    "connection_id_missing": (ALL, "connection_id_required"),
    "not_idempotent": (frozenset({"P400"}), "status_code"),
    "no_recreate_after_delete": (frozenset({"P401"}), "status_code"),
    "second_workspace_refused": (frozenset({"P600"}), "status_code"),
    "reuse_201": (REUSERS, "status_code"),
    "reuse_configured": (REUSERS, "configured_resources"),
    "connection_id_on_established": (REUSERS, "connection_id_on_established"),
    "new_user_existing": (frozenset({"P302"}), "user_status"),
    "unknown_connection_ok": (frozenset({"P402"}), "status_code"),
    "demo_ignored": (frozenset({"P700"}), "redirect_value"),
    "accept_any_auth": (frozenset({"AUTH"}), "status_code"),
    "wrong_auth_status": (frozenset({"AUTH"}), "error_reason"),
    "echo_credential": (frozenset({"AUTH"}), "status_code"),
    "error_not_json": (frozenset({"AUTH", "P402", "P801"}), "content_type"),
    "delete_bad_status": (DELETERS, "enum_value"),
    "test_connection_invalid": (frozenset({"P800"}), "test_connection"),
    "test_deleted_passes": (frozenset({"P801"}), "status_code"),
    "connectors_invalid": (frozenset({"P900"}), "connectors"),
}
# Faults that are only warnings: every case still passes, with this warning.
WARNING_ONLY: dict[str, str] = {
    "subdomain_redirect": "redirect_uri_host",
    "u2m_no_oauth_redirect": "oauth_redirect_uri",
}
U2M = ["AUTH_OAUTH_U2M"]
FAST_TIMEOUT = 0.4  # the slow faults hold on longer; everything else answers in milliseconds
SLOW_FAULTS = ("slow", "continue_flood", "header_drip")


def full_run(partner: Any, config: Any = None, **kwargs: Any) -> Any:
    """Every case, P800/P801/P900 included (an INGEST partner naming its extra URLs)."""
    return run_connect_test(
        config or partner_config(category="INGEST"),
        kwargs.pop("auth", BASIC),
        url=partner.url,
        test_connection_url=f"https://{HOSTNAME}/test-connection",
        connectors_url=f"https://{HOSTNAME}/connectors",
        **kwargs,
    )


def test_every_fault_has_an_expectation() -> None:
    assert set(EXPECTED) | set(WARNING_ONLY) == set(FAULT_NAMES)


def test_correct_partner_passes_every_case_twice_in_a_row() -> None:
    with sample_partner() as partner:
        for _ in range(2):  # the second run meets new accounts again: P100 still holds
            started = time.monotonic()
            report = full_run(partner)
            elapsed = time.monotonic() - started
            assert report.passed, findings_of(report)
            assert [s.case_id for s in report.scenarios] == list(CASE_IDS)
            assert report.summary == f"{len(CASE_IDS)} of {len(CASE_IDS)} certification cases pass"
            assert {(s, c) for s, sev, c in findings_of(report) if sev != "info"} == set()
            assert elapsed < 3.0
    statuses = {s.case_id: s.status for s in report.scenarios}
    assert statuses["P402"] == 404 and statuses["P801"] == 404 and statuses["AUTH"] == 401
    # Each case had its own account (a sub-domain of databricks-test.com), two runs -> twice as many.
    domains = set(partner.state.accounts)
    assert all(d.endswith(".databricks-test.com") for d in domains)
    assert len(domains) == 2 * len(ALL)


@pytest.mark.parametrize(
    "changes",
    [
        {"integration_type": "WAREHOUSE_WRITE", "auth_options": ["AUTH_PAT"]},
        {"integration_type": "CLUSTER_COMPUTE", "auth_options": None},
        {"integration_type": "WORKSPACE_MANAGEMENT", "supported_features": ["NON_ADMIN"]},
        {"integration_type": "WAREHOUSE_READ", "auth_options": ["AUTH_PAT", "AUTH_OAUTH_U2M"]},
        {"integration_type": "NO_INTEGRATION"},
        {"delete_url": None},
    ],
    ids=["warehouse-write-pat", "cluster-default-auth", "workspace-non-admin", "u2m", "no-integration", "no-delete"],
)
def test_correct_partner_passes_for_other_configs(changes: dict[str, Any]) -> None:
    with sample_partner() as partner:
        report = run_connect_test(partner_config(**changes), BASIC, url=partner.url)
    assert report.passed, findings_of(report)
    skipped = {s.case_id for s in report.scenarios if s.skipped}
    expected = {"P800", "P801", "P900"} | ({"P401", "P402"} if "delete_url" in changes else set())
    assert skipped == expected


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_each_fault_fails_exactly_its_cases_naming_the_assertion(fault: str) -> None:
    with sample_partner(fault=fault, slow_seconds=FAST_TIMEOUT * 5) as partner:
        report = full_run(partner, timeout=FAST_TIMEOUT if fault in SLOW_FAULTS else 5.0)
    cases, check = EXPECTED[fault]
    failed = {s.case_id for s in report.scenarios if not s.passed}
    assert failed == cases, findings_of(report)
    for scenario in report.scenarios:
        if scenario.case_id in cases:
            assert any(f.severity == "error" and f.check == check for f in scenario.findings), scenario.findings


@pytest.mark.parametrize("fault", sorted(WARNING_ONLY))
def test_warning_faults_pass_with_a_named_warning(fault: str) -> None:
    config = partner_config(category="INGEST", auth_options=U2M if fault == "u2m_no_oauth_redirect" else None)
    with sample_partner(fault=fault) as partner:
        report = full_run(partner, config)
    assert report.passed, findings_of(report)
    assert ("P100", "warning", WARNING_ONLY[fault]) in findings_of(report)


def test_redirect_host_findings_say_what_is_allowed() -> None:
    with sample_partner(fault="lookalike_redirect") as partner:
        lookalike = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P100"])
    with sample_partner(fault="subdomain_redirect") as partner:
        subdomain = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P100"])
    [error] = [f for f in lookalike.scenarios[0].findings if f.check == "redirect_uri_host"]
    assert f"{HOSTNAME}.evil.example" in error.message and "stricter" in error.message
    [warning] = [f for f in subdomain.scenarios[0].findings if f.check == "redirect_uri_host"]
    assert f"login.{HOSTNAME}" in warning.message and "suite accepts it" in warning.message


@pytest.mark.parametrize("action", ["auto_add", "invite", "not_found", "error"])
def test_p302_accepts_each_new_user_action_and_says_which(action: str) -> None:
    with sample_partner(new_user_action=action) as partner:
        seen = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P302"])
        required = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P302"], new_user_action=action)
        other = "invite" if action == "auto_add" else "auto_add"
        wrong = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P302"], new_user_action=other)
    assert seen.passed and required.passed, findings_of(seen) | findings_of(required)
    assert any(f.check == "new_user_action" and action in f.message for f in seen.scenarios[0].findings)
    assert not wrong.passed
    assert ("P302", "error", "new_user_action") in findings_of(wrong)


def test_fault_can_be_asked_for_per_request_with_a_query() -> None:
    config = partner_config(connect_url=f"https://{HOSTNAME}/databricks/connect?fault=bad_enum")
    with sample_partner() as partner:
        report = run_connect_test(config, BASIC, url=partner.url)
    assert ("P100", "error", "enum_value") in findings_of(report)


def test_no_credential_skips_wrong_credentials() -> None:
    with sample_partner(auth="") as partner:
        report = run_connect_test(partner_config(), "", url=partner.url)
    assert report.passed
    wrong = next(s for s in report.scenarios if s.case_id == "AUTH")
    assert wrong.skipped and wrong.status is None


def test_wrong_credential_fails_every_connect_with_401() -> None:
    with sample_partner() as partner:
        report = run_connect_test(partner_config(), "Basic bm90OnJpZ2h0", url=partner.url)
    assert not report.passed
    first = report.scenarios[0]
    assert first.status == 401
    assert [f.check for f in first.findings] == ["status_code"]  # no field noise on a valid error answer


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
    assert ("P100", "error", "connection_refused") in findings_of(report)
    assert report.scenarios[0].status is None


def test_tls_to_a_plain_http_server_is_a_tls_finding() -> None:
    with sample_partner() as partner:
        report = run_connect_test(partner_config(), BASIC, url=f"https://127.0.0.1:{partner.port}", timeout=2)
    assert ("P100", "error", "tls") in findings_of(report)


def test_timeout_is_bounded_and_reported() -> None:
    with sample_partner(fault="slow", slow_seconds=5) as partner:
        started = time.monotonic()
        report = run_connect_test(partner_config(), BASIC, url=partner.url, timeout=0.3)
        elapsed = time.monotonic() - started
    assert ("P100", "error", "timeout") in findings_of(report)
    # Cases run at once and each ends at its first timeout: a few timeouts' worth, not one per request.
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
    # Each case is a new account: a random sub-domain of databricks-test.com, users user1 and user2.
    domains = {b["user_info"]["email"].split("@")[1] for _, _, _, b in connects}
    assert len(domains) >= 5 and all(d.endswith(".databricks-test.com") for d in domains)


def test_no_credential_sends_no_authorization_header(recorder: Any) -> None:
    url, seen = recorder
    run_connect_test(partner_config(), "", url=url)
    assert seen and all("Authorization" not in headers for _, _, headers, _ in seen)


def test_untrusted_certificate_is_a_tls_finding(untrusted_tls: ssl.SSLContext) -> None:
    from werkzeug.serving import make_server

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=untrusted_tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        report = run_connect_test(partner_config(), BASIC, url=f"https://127.0.0.1:{server.port}", timeout=2)
    finally:
        server.shutdown()
        server.server_close()
    tls = [f for s in report.scenarios for f in s.findings if f.check == "tls"]
    assert tls and "certificate" in tls[0].message
