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
from stp_ext.connect.report import ERROR, CheckFinding, ScenarioResult

if TYPE_CHECKING:
    from stp_ext.partner_config import PartnerConfig

log = logging.getLogger(__name__)

PAGE_MAX_BYTES = 256 * 1024  # a redirect page is read only to see that it answers


@dataclass
class Session:
    """Everything the cases of one run share."""

    partner: PartnerConfig
    connect_url: str
    delete_url: str | None
    auth_header: str  # "" = the partner expects no Authorization header
    hosts: rules.HostPolicy
    timeout: float = 10.0
    max_body_bytes: int = http.DEFAULT_MAX_BODY_BYTES
    overrides: dict[str, Any] | None = None
    new_user_action: str | None = None  # what P302 expects; None accepts any of the four
    test_connection_url: str | None = None
    connectors_url: str | None = None
    cloud: str = "aws"  # the workspace's cloud (payload.CLOUDS): cloud_provider, host names, region
    cancel: http.Cancel = field(default_factory=http.Cancel, repr=False)  # Ctrl-C ends every request at once
    _pages: dict[str, tuple[int | None, str]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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
        except http.TransportError as e:
            result = (None, e.message)
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

    def __init__(self, case_id: str, title: str, session: Session) -> None:
        self.case_id = case_id
        self.title = title
        self.session = session
        self.findings: list[CheckFinding] = []
        self.status: int | None = None
        self.elapsed_ms = 0.0

    # -- sending -----------------------------------------------------------

    def send(
        self, method: str, url: str, body: dict[str, Any] | None, step: str, *, auth_header: str | None = None
    ) -> http.HttpResponse | None:
        """Send; a transport failure becomes a finding and None."""
        header = self.session.auth_header if auth_header is None else auth_header
        sent = headers(header)
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
        except http.TransportError as e:
            log.debug("%s %s: %s %s failed: %s", self.case_id, step, method, url, e.message)
            self.add([rules.transport(e, f"{method} {url}")], step)
            self.status = None
            return None
        finally:
            self.elapsed_ms += (time.monotonic() - started) * 1000
        log.debug(
            "%s %s: %s %s -> %s in %.0f ms", self.case_id, step, method, url, response.status, response.elapsed_ms
        )
        self.status = response.status
        return response

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
        redirects: tuple[str, ...] | None = rules.SUCCESS_REDIRECTS,
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
        redirects: tuple[str, ...] | None = rules.SUCCESS_REDIRECTS,
        expected: tuple[int, ...] = (200,),
    ) -> tuple[http.HttpResponse | None, dict[str, Any] | None]:
        """A reuse of ``connection_id`` (is_connection_established true).

        With the default ``expected`` it is judged as validateSignIn does
        (exactly 200); otherwise the caller judges the answer.
        """
        body = self.session.connect_body(caller, established=True, connection_id=connection_id)
        response = self.send("POST", self.session.connect_url, body, step)
        if response is None or expected != (200,):
            return response, None
        doc = self.answer(response, (200,), "expected exactly 200 when a connection is reused", step)
        if doc is not None:
            findings, page = rules.connection(
                doc, established=True, hosts=self.session.hosts, uses_u2m=self.session.uses_u2m, redirects=redirects
            )
            self.add(findings, step)
            self.check_page(page, step)
        return response, doc

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
            message = f"{step}: {finding.message}" if step else finding.message
            self.findings.append(CheckFinding(finding.severity, finding.check, message))

    def note(self, check: str, message: str) -> None:
        self.findings.append(rules.info(check, message))

    def skip(self, why: str) -> ScenarioResult:
        self.findings.append(rules.info("skipped", why))
        return self.result()

    def result(self) -> ScenarioResult:
        passed = not any(f.severity == ERROR for f in self.findings)
        return ScenarioResult(
            self.case_id,
            passed,
            self.status,
            self.elapsed_ms,
            list(self.findings),
            case_id=self.case_id,
            title=self.title,
        )
