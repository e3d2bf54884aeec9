"""connect-test's certification cases against the sample partner over real HTTP: correct, and wrong in every way."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from connect_fixtures import BASIC, HOSTNAME, findings_of, partner_config, sample_partner
from helpers import free_port

from stp_ext.connect import run_connect_test
from stp_ext.connect.cases import CASE_IDS
from stp_ext.sample_partner import FAULT_NAMES

BEYOND_CASES = frozenset({"P800", "P801"})  # test-connection: not in the public suite
ALL = frozenset(CASE_IDS) - {"AUTH"} - BEYOND_CASES  # every certification case that makes a new connection
REUSERS = frozenset({"P300", "P302", "P600", "P700"})  # every case that reuses one (signInAndValidate)
DELETERS = frozenset({"P401", "P402"})  # every certification case that deletes one
ERROR_ANSWERS = frozenset({"AUTH", "P402"})  # every certification case that expects an error answer

# fault -> (the certification cases that must fail, exactly; the check each of them must name).
EXPECTED: dict[str, tuple[frozenset[str], str]] = {
    "wrong_status": (ALL, "status_code"),
    "html_body": (ALL, "html_body"),
    "malformed_json": (ALL, "invalid_json"),
    "huge_body": (ALL, "body_too_large"),
    "redirect": (ALL, "redirect"),
    # A silent connect endpoint: every case waits on it (AUTH too, which is then not run).
    "slow": (ALL | {"AUTH"}, "timeout"),
    "continue_flood": (ALL | {"AUTH"}, "timeout"),
    "header_drip": (ALL | {"AUTH"}, "timeout"),
    "hang": (ALL | {"AUTH"}, "timeout"),
    "drip": (ALL | {"AUTH"}, "timeout"),
    "missing_field": (ALL, "required_field"),
    "bad_enum": (ALL, "enum_value"),
    "foreign_redirect": (ALL, "redirect_uri_host"),
    "relative_redirect": (ALL, "redirect_uri_absolute"),
    "redirect_page_404": (ALL, "redirect_uri_page"),
    "redirect_page_silent": (ALL, "redirect_uri_page"),  # one timeout, then every page is not fetched
    "new_account_sign_in": (frozenset({"P100", "P300"}), "redirect_value"),  # both expect create_trial
    "configures_nothing": (ALL, "configured_resources"),
    "connection_id_missing": (ALL, "connection_id_required"),
    "not_idempotent": (frozenset({"P400"}), "status_code"),
    "no_recreate_after_delete": (frozenset({"P401"}), "status_code"),
    "second_workspace_refused": (frozenset({"P600"}), "status_code"),
    "reuse_201": (REUSERS, "status_code"),
    "reuse_configured": (REUSERS, "configured_resources"),
    "reuse_contact_admin": (frozenset({"P300", "P600", "P700"}), "redirect_value"),  # P700's reuse too
    "connection_id_on_established": (REUSERS, "connection_id_on_established"),
    "new_user_existing": (frozenset({"P302"}), "user_status"),
    "unknown_connection_ok": (frozenset({"P402"}), "status_code"),
    "demo_ignored": (frozenset({"P700"}), "redirect_value"),
    "accept_any_auth": (frozenset({"AUTH"}), "status_code"),
    "wrong_auth_status": (frozenset({"AUTH"}), "error_reason"),
    "echo_credential": (frozenset({"AUTH"}), "status_code"),
    "error_not_json": (ERROR_ANSWERS, "invalid_json"),
    "error_not_strings": (ERROR_ANSWERS, "error_body"),  # the suite reads a map of strings
    "delete_bad_status": (DELETERS, "enum_value"),
    "delete_no_status": (DELETERS, "resource_status"),  # 200 {} fails the suite's P401
    "connectors_invalid": (frozenset({"P900"}), "connectors"),
}
# Faults the suite tolerates: certification passes, with this beyond-certification warning in this case.
BEYOND: dict[str, tuple[str, str]] = {
    "text_plain": ("P100", "content_type"),
    "no_content_type": ("P100", "content_type"),
    "error_text_plain": ("AUTH", "content_type"),  # a JSON error labelled text/plain: the suite reads the body
    "lookalike_redirect": ("P100", "redirect_uri_host"),  # the suite only checks that the host contains a name
    "subdomain_redirect": ("P100", "redirect_uri_host"),
    "u2m_no_oauth_redirect": ("P100", "oauth_redirect_uri"),
    "test_connection_invalid": ("P800", "test_connection"),  # UNKNOWN, no message: OpenAPI 2.1.1 allows both
    "test_deleted_passes": ("P801", "status_code"),
}
U2M = ["AUTH_OAUTH_U2M"]
FAST_TIMEOUT = 0.4  # the slow faults hold on longer; everything else answers in milliseconds
SLOW_FAULTS = ("slow", "continue_flood", "header_drip", "hang", "drip", "redirect_page_silent")


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
    assert set(EXPECTED) | set(BEYOND) == set(FAULT_NAMES)
    assert not set(EXPECTED) & set(BEYOND)


def test_correct_partner_passes_both_verdicts_twice_in_a_row() -> None:
    with sample_partner() as partner:
        for _ in range(2):  # the second run meets new accounts again: P100 still holds
            started = time.monotonic()
            report = full_run(partner)
            elapsed = time.monotonic() - started
            assert report.passed and report.certification_passed and report.beyond_passed, findings_of(report)
            assert [s.case_id for s in report.scenarios] == list(CASE_IDS)
            assert report.summary == f"{len(CASE_IDS) - 2} of {len(CASE_IDS) - 2} certification cases pass"
            assert {(s, c) for s, sev, c in findings_of(report) if sev != "info"} == set()
            assert report.one_reason is None
            assert elapsed < 3.0
    statuses = {s.case_id: s.status for s in report.scenarios}
    assert statuses["P402"] == 404 and statuses["P801"] == 404 and statuses["AUTH"] == 401
    # Each case had its own account (a sub-domain of databricks-test.com), two runs -> twice as many.
    domains = set(partner.state.accounts)
    assert all(d.endswith(".databricks-test.com") for d in domains)
    assert len(domains) == 2 * len(ALL | BEYOND_CASES)


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
    failed = {s.case_id for s in report.failed}
    assert failed == cases, findings_of(report)
    assert not report.certification_passed and not report.passed
    # A silent endpoint costs one timeout: the cases after it are reported as not run.
    checks = {check, "not_run"} if fault in SLOW_FAULTS else {check}
    for scenario in report.scenarios:
        if scenario.case_id in cases:
            assert any(f.severity == "error" and f.check in checks for f in scenario.findings), scenario.findings
    groups = {(g.check, g.cases) for g in report.groups("error")}
    assert any(c == check and set(names) <= cases for c, names in groups)


@pytest.mark.parametrize("fault", sorted(BEYOND))
def test_faults_the_suite_tolerates_pass_certification_with_a_warning_and_fail_strict(fault: str) -> None:
    config = partner_config(category="INGEST", auth_options=U2M if fault == "u2m_no_oauth_redirect" else None)
    with sample_partner(fault=fault) as partner:
        report = full_run(partner, config)
        strict = full_run(partner, config, strict=True, cases=[BEYOND[fault][0]])
    assert report.certification_passed and report.passed, findings_of(report)
    case, check = BEYOND[fault]
    assert (case, "warning", check) in findings_of(report)
    groups = [g for g in report.beyond if g.check == check]
    assert any(case in g.cases and "certification would pass this" in g.detail for g in groups), groups
    assert strict.certification_passed and not strict.passed


def test_redirect_host_findings_say_what_is_allowed() -> None:
    with sample_partner(fault="lookalike_redirect") as partner:
        lookalike = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P100"])
    with sample_partner(fault="subdomain_redirect") as partner:
        subdomain = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P100"])
    [beyond] = [f for f in lookalike.scenarios[0].findings if f.check == "redirect_uri_host"]
    assert beyond.severity == "warning"  # the suite only checks that the host contains a listed name
    assert f"{HOSTNAME}.evil.example" in beyond.message and "can belong to anyone" in beyond.message
    [warning] = [f for f in subdomain.scenarios[0].findings if f.check == "redirect_uri_host"]
    assert f"login.{HOSTNAME}" in warning.message and f"add login.{HOSTNAME} to hostnames" in warning.message


@pytest.mark.parametrize("action", ["auto_add", "invite", "not_found", "error"])
def test_p302_requires_the_declared_new_user_action_and_assumes_auto_add(action: str) -> None:
    with sample_partner(new_user_action=action) as partner:
        assumed = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P302"])
        required = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P302"], new_user_action=action)
        other = "invite" if action == "auto_add" else "auto_add"
        wrong = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P302"], new_user_action=other)
    assert required.passed, findings_of(required)
    # Without --new-user-action, the suite's default config's auto_add, and the report says it assumed it.
    assert assumed.passed == (action == "auto_add"), findings_of(assumed)
    assert assumed.new_user_action == "auto_add" and assumed.new_user_action_assumed
    notes = [f.message for f in assumed.scenarios[0].findings if f.severity == "info"]
    assert any("assumed new_user_action auto_add" in note for note in notes)
    assert not required.new_user_action_assumed
    assert not wrong.passed
    [finding] = [f for f in wrong.scenarios[0].findings if f.check == "new_user_action" and f.severity == "error"]
    assert f"expected the answer of new_user_action {other}; the answer is that of new_user_action {action}" in (
        finding.message
    )


def test_require_manual_signup_expects_404_on_every_sign_in() -> None:
    with sample_partner() as partner:
        manual = run_connect_test(partner_config(), BASIC, url=partner.url, require_manual_signup=True)
    assert manual.certification_passed is False
    failed = {s.case_id for s in manual.failed}
    assert failed == REUSERS  # every signInAndValidate saw 200 where a manual-signup partner answers 404
    for scenario in manual.failed:
        assert any(f.check == "status_code" and "manual signup" in f.message for f in scenario.findings)


def test_require_manual_signup_passes_a_partner_that_answers_404_account_not_found() -> None:
    with sample_partner(new_user_action="not_found") as partner:
        # A manual-signup partner answers every sign-in as a user it has not seen: 404 account_not_found.
        # (mypy: replacing a method of the live state is the point: no fault mode plays this partner)
        partner.state.is_member = lambda domain, email: False  # type: ignore[method-assign]
        report = run_connect_test(
            partner_config(), BASIC, url=partner.url, require_manual_signup=True, new_user_action="auto_add"
        )
    assert report.certification_passed, findings_of(report)


def test_no_demo_skips_p700() -> None:
    with sample_partner(fault="demo_ignored") as partner:
        report = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P700"], supports_demo=False)
    assert report.passed and report.scenarios[0].skipped
    assert "--no-demo" in report.scenarios[0].findings[0].message


def test_an_ingest_partner_without_a_connectors_url_fails_p900_as_not_run() -> None:
    with sample_partner() as partner:
        ingest = run_connect_test(partner_config(category="INGEST"), BASIC, url=partner.url, cases=["P900"])
        other = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P900"])
    [scenario] = ingest.scenarios
    assert not ingest.passed and scenario.not_run and not scenario.skipped
    assert "--connectors-url" in scenario.findings[0].message
    assert ingest.summary == "0 of 1 certification cases pass (1 not run)"
    assert other.passed and other.scenarios[0].skipped  # the suite assumes INGEST


def test_fault_can_be_asked_for_per_request_with_a_query() -> None:
    config = partner_config(connect_url=f"https://{HOSTNAME}/databricks/connect?fault=bad_enum")
    with sample_partner() as partner:
        report = run_connect_test(config, BASIC, url=partner.url)
    assert ("P100", "error", "enum_value") in findings_of(report)


def test_no_credential_fails_certification_naming_auth_and_what_to_pass() -> None:
    with sample_partner(auth="") as partner:
        report = run_connect_test(partner_config(), "", url=partner.url)
    assert not report.passed and not report.certification_passed
    assert [s.case_id for s in report.failed] == ["AUTH"]  # every other case passes
    wrong = next(s for s in report.scenarios if s.case_id == "AUTH")
    assert wrong.not_run and not wrong.skipped and wrong.status is None
    assert "--basic-user" in wrong.findings[0].message and "always sends Basic credentials" in wrong.findings[0].message


def test_wrong_credential_fails_every_connect_with_401_said_once() -> None:
    with sample_partner() as partner:
        report = run_connect_test(partner_config(), "Basic bm90OnJpZ2h0", url=partner.url)
    assert not report.passed
    first = report.scenarios[0]
    assert first.status == 401
    assert [f.check for f in first.findings] == ["status_code"]  # no field noise on a valid error answer
    assert report.one_reason is not None and report.one_reason.startswith("every request was refused with 401")
    [group] = report.groups("error")  # the same finding in every case: shown once, with its cases
    assert set(group.cases) == {s.case_id for s in report.failed} and len(group.cases) > 3


def test_overrides_are_merged_into_every_connect_request() -> None:
    with sample_partner() as partner:
        fine = run_connect_test(partner_config(), BASIC, url=partner.url, overrides={"user_info": {"last_name": ""}})
        broken = run_connect_test(partner_config(), BASIC, url=partner.url, overrides={"cloud_provider": "mars"})
    assert fine.passed, findings_of(fine)
    assert not broken.passed
    new = broken.scenarios[0]
    assert new.status == 400
    assert "cloud_provider" in new.findings[0].message  # the partner's debugging_message is shown


def test_refused_connection_is_a_finding_not_a_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    report = run_connect_test(partner_config(), BASIC, url=url, timeout=2)
    assert not report.passed
    assert ("P100", "error", "connection_refused") in findings_of(report)
    assert report.scenarios[0].status is None
    assert report.one_reason == f"nothing is listening at {url}/databricks/connect: every request was refused"


def test_tls_to_a_plain_http_server_is_a_tls_finding() -> None:
    with sample_partner() as partner:
        report = run_connect_test(partner_config(), BASIC, url=f"https://127.0.0.1:{partner.port}", timeout=2)
    assert ("P100", "error", "tls") in findings_of(report)


def test_a_silent_partner_costs_one_timeout_and_the_rest_is_not_run() -> None:
    with sample_partner(fault="slow", slow_seconds=5) as partner:
        started = time.monotonic()
        report = run_connect_test(partner_config(), BASIC, url=partner.url, timeout=0.5, max_workers=1)
        elapsed = time.monotonic() - started
    assert ("P100", "error", "timeout") in findings_of(report)
    timed_out = [s for s in report.scenarios if any(f.check == "timeout" for f in s.findings)]
    assert len(timed_out) == 1  # one worker: exactly one wait; every later case needing the endpoint is not run
    assert all(s.not_run for s in report.failed if s not in timed_out)
    assert elapsed < 1.0 + 0.5
    assert report.one_reason is not None and "never answered within 0.5 s" in report.one_reason
    assert "not run" in report.summary


def test_a_silent_redirect_page_costs_one_timeout() -> None:
    with sample_partner(fault="redirect_page_silent", slow_seconds=5) as partner:
        started = time.monotonic()
        report = run_connect_test(partner_config(), BASIC, url=partner.url, timeout=0.5, max_workers=1)
        elapsed = time.monotonic() - started
    pages = {f.detail for s in report.scenarios for f in s.findings if f.check == "redirect_uri_page"}
    waited = {m for m in pages if "within 0.5 s" in m}  # each page URL is fetched once per run, and cached
    assert len(waited) <= 2 and pages - waited and all("not fetched" in m for m in pages - waited), pages
    # One worker: at most one wait per page path (create-trial, sign-in), every other page not fetched
    # (asserted above); the clock only checks that no case waited again, with room for a busy machine.
    assert elapsed < 2 * 0.5 + 1.5


def test_a_slow_answer_passes_certification_with_a_warning_and_fails_strict() -> None:
    # The 60 s the suite waits and the 10 s budget, scaled down: a 0.3 s connect under a 0.1 s budget.
    with sample_partner(fault="slow", slow_seconds=0.3) as partner:
        report = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P100"], slow_after=0.1)
        strict = run_connect_test(partner_config(), BASIC, url=partner.url, cases=["P100"], slow_after=0.1, strict=True)
    assert report.certification_passed and report.passed, findings_of(report)
    [group] = report.beyond
    assert group.check == "slow_answer" and "certification would pass this" in group.detail
    assert strict.certification_passed and not strict.passed


def test_the_default_timeout_is_the_suites_60_s() -> None:
    from stp_ext.connect.session import SUITE_TIMEOUT

    assert SUITE_TIMEOUT == 60.0
    assert run_connect_test.__kwdefaults__["timeout"] == 60.0


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
