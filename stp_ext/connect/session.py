"""What the certification cases of one run share, and the journey that records one case.

A ``Journey`` sends a case's requests in order and judges each answer with
``rules``, prefixing every finding with the step that produced it ("reuse by
user2: ..."), so a finding says where in the case things went wrong.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stp_ext.connect import http, rules
from stp_ext.connect.payload import Caller, connect_request, delete_connection_request
from stp_ext.connect.report import ERROR, WARNING, CheckFinding, ScenarioResult
from stp_ext.core.wire import TransportFailure

if TYPE_CHECKING:
    from stp_ext.partner_config import PartnerConfig

log = logging.getLogger(__name__)

PAGE_MAX_BYTES = 256 * 1024  # a redirect page is read only to see that it answers
SUITE_TIMEOUT = 60.0  # PartnerTestBase.timeout: how long the suite waits for each answer
SLOW_AFTER = 10.0  # beyond certification: an answer slower than this is a warning


@dataclass
class Session:
    """Everything the cases of one run share."""

    partner: PartnerConfig
    connect_url: str
    delete_url: str | None
    auth_header: str  # "" = send no Authorization header (the AUTH case then cannot run)
    hosts: rules.HostPolicy
    timeout: float = SUITE_TIMEOUT
    max_body_bytes: int = http.DEFAULT_MAX_BODY_BYTES
    overrides: dict[str, Any] | None = None
    new_user_action: str = "auto_add"  # what P302 expects (the suite's partners/test/test.json: auto_add)
    new_user_action_assumed: bool = False  # not given by the user: the report says so
    supports_demo: bool = True  # P700 runs only for partners that support demo (DemoFlowTests)
    require_manual_signup: bool = False  # sign-ins answer 404 until the user signs up (PartnerTestBase)
    slow_after: float = SLOW_AFTER
    test_connection_url: str | None = None
    connectors_url: str | None = None
    cloud: str = "aws"  # the workspace's cloud (payload.CLOUDS): cloud_provider, host names, region
    cancel: http.Cancel = field(default_factory=http.Cancel, repr=False)  # Ctrl-C ends every request at once
    _pages: dict[str, tuple[int | None, str]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Endpoints (method and URL without query) that timed out, with the case where: a silent
    # endpoint costs one timeout per run, not one per case.
    dead: dict[str, str] = field(default_factory=dict, repr=False)

    def timed_out(self, endpoint: str) -> str | None:
        with self._lock:
            return self.dead.get(endpoint)

    def mark_timed_out(self, endpoint: str, case_id: str) -> None:
        with self._lock:
            self.dead.setdefault(endpoint, case_id)

    def connect_body(self, caller: Caller, **kwargs: Any) -> dict[str, Any]:
        return connect_request(self.partner, caller.on(self.cloud), overrides=self.overrides, **kwargs)

    @property
    def uses_u2m(self) -> bool:
        return "AUTH_OAUTH_U2M" in self.partner.effective_auth_options

    def page_status(self, url: str) -> tuple[int | None, str]:
        """GET ``url`` once per run (redirects not followed): (status, or None and why)."""
        with self._lock:
            known = self._pages.get(url)
        if known is not None:
            return known
        endpoint = f"GET {url.partition('?')[0]}"
        earlier = self.timed_out(endpoint)
        if earlier is not None:  # a silent page costs one timeout per run too
            return None, f"not fetched: {endpoint} had already timed out (in {earlier})"
        try:
            response = http.send(
                "GET",
                url,
                headers={"User-Agent": "databricks", "Accept-Language": "en-US"},
                timeout=self.timeout,
                max_body_bytes=PAGE_MAX_BYTES,
                cancel=self.cancel,
            )
            result: tuple[int | None, str] = (response.status, response.reason)
        except TransportFailure as e:
            if e.kind == "timeout":
                self.mark_timed_out(endpoint, "a redirect page")
            result = (None, e.message)  # said after "GET {url} got no answer: "
        with self._lock:
            self._pages[url] = result
        return result


def headers(auth_header: str) -> dict[str, str]:
    """Exactly the headers Databricks sends (ApiSpecifications.md, Request Headers)."""
    sent = {"User-Agent": "databricks", "Content-Type": "application/json", "Accept-Language": "en-US"}
    if auth_header:
        sent["Authorization"] = auth_header
    return sent


class Journey:
    """One certification case's requests, answers, time and findings."""

    def __init__(self, case_id: str, title: str, session: Session, *, certification: bool = True) -> None:
        self.case_id = case_id
        self.title = title
        self.session = session
        self.certification = certification  # False: the public suite has no such case (P800, P801)
        self.findings: list[CheckFinding] = []
        self.status: int | None = None
        self.elapsed_ms = 0.0

    # -- sending -----------------------------------------------------------

    def send(
        self, method: str, url: str, body: dict[str, Any] | None, step: str, *, auth_header: str | None = None
    ) -> http.HttpResponse | None:
        """Send; a transport failure becomes a finding and None."""
        endpoint = f"{method} {url.partition('?')[0]}"
        self.status = None
        if self._already_timed_out(endpoint, step):
            return None
        sent = headers(self.session.auth_header if auth_header is None else auth_header)
        if body is None:
            sent.pop("Content-Type")
        started = time.monotonic()
        try:
            response = http.send(
                method,
                url,
                body=None if body is None else json.dumps(body).encode("utf-8"),
                headers=sent,
                timeout=self.session.timeout,
                max_body_bytes=self.session.max_body_bytes,
                cancel=self.session.cancel,
            )
        except TransportFailure as e:
            log.debug("%s %s: %s %s failed: %s", self.case_id, step, method, url, e.message)
            if e.kind == "timeout":
                self.session.mark_timed_out(endpoint, self.case_id)
            self.add([rules.transport(e, f"{method} {url}")], step)
            return None
        finally:
            self.elapsed_ms += (time.monotonic() - started) * 1000
        log.debug(
            "%s %s: %s %s -> %s in %.0f ms", self.case_id, step, method, url, response.status, response.elapsed_ms
        )
        self.status = response.status
        self._check_speed(response, f"{method} {url}", step)
        return response

    def _already_timed_out(self, endpoint: str, step: str) -> bool:
        """True, with a not_run finding, when ``endpoint`` timed out earlier in the run: a silent
        endpoint costs one timeout per run, not one per case."""
        earlier = self.session.timed_out(endpoint)
        if earlier is None:
            return False
        self.add(
            [
                rules.error(
                    "not_run",
                    f"not run: {endpoint} had already timed out (in {earlier}, no complete answer within "
                    f"{self.session.timeout:g} s), so this case would only wait for it again",
                )
            ],
            step,
        )
        return True

    def _check_speed(self, response: http.HttpResponse, request: str, step: str) -> None:
        """Beyond certification: an answer slower than ``slow_after`` (the suite waits 60 s)."""
        if response.elapsed_ms <= self.session.slow_after * 1000:
            return
        self.add(
            [
                rules.beyond(
                    "slow_answer",
                    f"{request} answered in {response.elapsed_ms / 1000:.1f} s, over {self.session.slow_after:g} s",
                    "your users would stare at a blank tab that long (the suite waits 60 s): answer within "
                    f"{self.session.slow_after:g} s and finish slow work afterwards",
                )
            ],
            step,
        )

    def answer(
        self, response: http.HttpResponse, expected: tuple[int, ...], expectation: str, step: str
    ) -> dict[str, Any] | None:
        """The envelope rules; the JSON object when the status is the expected one, else None.

        Any error answer (4xx, 5xx) must also be a valid ErrorResponse.
        """
        findings, doc = rules.envelope(response, expected, expectation)
        if response.status >= 400 and response.status not in expected:
            findings += rules.error_answer(doc, response.status, ())
        self.add(findings, step)
        return doc if response.status in expected else None

    # -- the steps of the cases ----------------------------------------------

    def connect_new(
        self,
        caller: Caller,
        step: str,
        *,
        demo: bool = False,
        body: dict[str, Any] | None = None,
        redirects: tuple[str, ...] = rules.SUCCESS_REDIRECTS,
    ) -> dict[str, Any] | None:
        """A new-connection request, judged as validateNewConnection does; the answer when it succeeded."""
        sent = body if body is not None else self.session.connect_body(caller, demo=demo)
        response = self.send("POST", self.session.connect_url, sent, step)
        if response is None:
            return None
        doc = self.answer(response, rules.SUCCESS, "expected 200 (or 201) for a new connection", step)
        if doc is None:
            return None
        findings, page = rules.connection(
            doc, established=False, hosts=self.session.hosts, uses_u2m=self.session.uses_u2m, redirects=redirects
        )
        self.add(findings, step)
        self.check_page(page, step)
        return doc

    def reuse(
        self,
        caller: Caller,
        connection_id: str,
        step: str,
        *,
        redirects: tuple[str, ...] = rules.SUCCESS_REDIRECTS,
        expected: tuple[int, ...] = (200,),
    ) -> tuple[http.HttpResponse | None, dict[str, Any] | None]:
        """A reuse of ``connection_id`` (is_connection_established true).

        With the default ``expected`` it is judged as signInAndValidate does:
        exactly 200 (validateSignIn), or, for a partner that requires manual
        signup, 404 account_not_found or connection_not_found. Otherwise the
        caller judges the answer.
        """
        body = self.session.connect_body(caller, established=True, connection_id=connection_id)
        response = self.send("POST", self.session.connect_url, body, step)
        if response is None or expected != (200,):
            return response, None
        if self.session.require_manual_signup:
            self.expect_manual_signup(response, step)
            return response, None
        doc = self.answer(response, (200,), "expected exactly 200 when a connection is reused", step)
        if doc is not None:
            findings, page = rules.connection(
                doc, established=True, hosts=self.session.hosts, uses_u2m=self.session.uses_u2m, redirects=redirects
            )
            self.add(findings, step)
            self.check_page(page, step)
        return response, doc

    def expect_manual_signup(self, response: http.HttpResponse, step: str) -> None:
        """signInAndValidate for a partner that requires manual signup: 404 account or connection not found."""
        self.expect_error(
            response,
            404,
            ("account_not_found", "connection_not_found"),
            "expected 404 account_not_found or connection_not_found for a sign-in before the manual signup "
            "(--require-manual-signup)",
            step,
        )

    def expect_error(
        self, response: http.HttpResponse | None, status: int, reasons: tuple[str, ...], expectation: str, step: str
    ) -> None:
        if response is None:
            return
        doc = self.answer(response, (status,), expectation, step)
        if doc is not None:
            self.add(rules.error_answer(doc, status, reasons), step)

    def delete(self, caller: Caller, connection_id: str, step: str) -> bool:
        """delete-connection for ``connection_id``; True when the partner answered 200."""
        assert self.session.delete_url is not None
        body = delete_connection_request(connection_id, caller.on(self.session.cloud))
        response = self.send("POST", self.session.delete_url, body, step)
        if response is None:
            return False
        doc = self.answer(response, (200,), "expected 200 for deleting a connection it created", step)
        if doc is None:
            return False
        self.add(rules.deletion(doc), step)
        return True

    def check_page(self, url: str | None, step: str) -> None:
        """validateRedirectUri: a GET of the page, redirects not followed, answers 2xx or 3xx."""
        if url is None:
            return
        status, reason = self.session.page_status(url)
        if status is None:
            self.add([rules.error("redirect_uri_page", f"GET {url} got no answer: {reason}")], step)
        elif not 200 <= status < 400:
            self.add(
                [
                    rules.error(
                        "redirect_uri_page",
                        f"GET {url} answered {status} {reason}; the page a user is sent to must answer "
                        "2xx or 3xx: serve it (the certification suite opens it)",
                    )
                ],
                step,
            )

    # -- bookkeeping -------------------------------------------------------

    def add(self, findings: list[CheckFinding], step: str = "") -> None:
        for finding in findings:
            # detail: the text without any step, kept from a finding that already carries one (P302's probes).
            severity, detail, message = finding.severity, finding.detail, finding.message
            if not self.certification and severity == ERROR and finding.check != "not_run":
                # A case the public suite does not have: what fails it is advice, not certification.
                severity = WARNING
                beyond = (
                    "; certification would pass this (the public suite has no test-connection test), but "
                    "Databricks' test-connection would show your users an error"
                )
                detail, message = detail + beyond, message + beyond
            elif not self.certification and severity == ERROR:
                severity = WARNING
            message = f"{step}: {message}" if step else message
            self.findings.append(CheckFinding(severity, finding.check, message, detail))

    def note(self, check: str, message: str) -> None:
        self.findings.append(rules.info(check, message))

    def skip(self, why: str) -> ScenarioResult:
        self.findings.append(rules.info("skipped", why))
        return self.result()

    def not_run(self, why: str) -> ScenarioResult:
        """The suite would run this case, but it cannot run here: the certification verdict fails."""
        self.findings.append(rules.error("not_run", why))
        return self.result()

    def result(self) -> ScenarioResult:
        failing = (ERROR,) if self.certification else (ERROR, WARNING)
        passed = not any(f.severity in failing for f in self.findings)
        return ScenarioResult(
            self.case_id,
            passed,
            self.status,
            self.elapsed_ms,
            list(self.findings),
            case_id=self.case_id,
            title=self.title,
            certification=self.certification,
        )
