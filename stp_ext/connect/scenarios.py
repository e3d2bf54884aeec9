"""The exchanges Databricks has with a partner, each one scenario of connect-test.

A scenario sends one or two requests and judges the answers with ``rules``.
Scenarios share a ``Session`` (what to call, with which credential, and the
connection the first scenario created); ``runner`` decides what runs when.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stp_ext.connect import http, rules
from stp_ext.connect.payload import Caller, connect_request, delete_connection_request
from stp_ext.connect.report import ERROR, CheckFinding, ScenarioResult

if TYPE_CHECKING:
    from stp_ext.partner_config import PartnerConfig

log = logging.getLogger(__name__)


@dataclass
class Session:
    """Everything the scenarios of one run share."""

    partner: PartnerConfig
    connect_url: str
    delete_url: str | None
    auth_header: str  # "" = the partner expects no Authorization header
    hosts: rules.HostPolicy
    timeout: float = 10.0
    max_body_bytes: int = http.DEFAULT_MAX_BODY_BYTES
    overrides: dict[str, Any] | None = None
    run_token: str = field(default_factory=lambda: secrets.token_hex(4))
    # Set by new_connection, read by the scenarios that follow it.
    connection_id: str | None = None
    connection_note: str = "the new_connection scenario returned no connection_id"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def caller(self, role: str) -> Caller:
        # One user per role keeps independent scenarios independent on the partner's side.
        return Caller.generate(role, self.run_token)

    def connect_body(self, role: str, **kwargs: Any) -> dict[str, Any]:
        return connect_request(self.partner, self.caller(role), overrides=self.overrides, **kwargs)

    def remember_connection(self, answer: dict[str, Any]) -> None:
        """Keep the new connection's id for the scenarios that reuse it, or why there is none."""
        connection_id = answer.get("connection_id")
        with self._lock:
            if isinstance(connection_id, str) and connection_id:
                self.connection_id = connection_id
            elif answer.get("configured_resources") is False:
                self.connection_note = (
                    "the new connection configured no resources (configured_resources false), "
                    "so there is no connection to reuse"
                )

    @property
    def uses_u2m(self) -> bool:
        return "AUTH_OAUTH_U2M" in self.partner.effective_auth_options


def headers(auth_header: str) -> dict[str, str]:
    """Exactly the headers Databricks sends (contracts.md section 5)."""
    sent = {"User-Agent": "databricks", "Content-Type": "application/json", "Accept-Language": "en-US"}
    if auth_header:
        sent["Authorization"] = auth_header
    return sent


class _Recorder:
    """Collects one scenario's requests, statuses, times and findings."""

    def __init__(self, name: str, session: Session) -> None:
        self.name = name
        self.session = session
        self.findings: list[CheckFinding] = []
        self.status: int | None = None
        self.elapsed_ms = 0.0

    def post(self, url: str, body: dict[str, Any], *, auth_header: str | None = None) -> http.HttpResponse | None:
        """Send; a transport failure becomes a finding and None."""
        header = self.session.auth_header if auth_header is None else auth_header
        started = time.monotonic()
        try:
            response = http.send(
                "POST",
                url,
                body=json.dumps(body).encode("utf-8"),
                headers=headers(header),
                timeout=self.session.timeout,
                max_body_bytes=self.session.max_body_bytes,
            )
        except http.TransportError as e:
            log.debug("%s: POST %s failed: %s", self.name, url, e.message)
            self.findings.append(rules.transport(e, f"POST {url}"))
            self.status = None
            return None
        finally:
            self.elapsed_ms += (time.monotonic() - started) * 1000
        log.debug("%s: POST %s -> %s in %.0f ms", self.name, url, response.status, response.elapsed_ms)
        self.status = response.status
        return response

    def add(self, findings: list[CheckFinding]) -> None:
        self.findings.extend(findings)

    def skip(self, why: str) -> ScenarioResult:
        self.findings.append(rules.info("skipped", why))
        return self.result()

    def result(self) -> ScenarioResult:
        passed = not any(f.severity == ERROR for f in self.findings)
        return ScenarioResult(self.name, passed, self.status, self.elapsed_ms, list(self.findings))


def new_connection(session: Session) -> ScenarioResult:
    """A user connects for the first time: is_connection_established false."""
    rec = _Recorder("new_connection", session)
    response = rec.post(session.connect_url, session.connect_body("primary"))
    if response is None:
        return rec.result()
    findings, doc = rules.envelope(response, rules.SUCCESS, "expected 200 (or 201) for a new connection")
    rec.add(findings)
    if doc is not None and response.status in rules.SUCCESS:
        rec.add(rules.connection(doc, established=False, hosts=session.hosts, uses_u2m=session.uses_u2m))
        session.remember_connection(doc)
    return rec.result()


def established_connection(session: Session) -> ScenarioResult:
    """The same user opens the tile again: the connection exists, its id is sent back."""
    rec = _Recorder("established_connection", session)
    if not session.connection_id:
        return rec.skip(session.connection_note)
    body = session.connect_body("primary", established=True, connection_id=session.connection_id)
    response = rec.post(session.connect_url, body)
    if response is None:
        return rec.result()
    findings, doc = rules.envelope(response, rules.SUCCESS, "expected 200 for an established connection")
    rec.add(findings)
    if doc is not None and response.status in rules.SUCCESS:
        rec.add(rules.connection(doc, established=True, hosts=session.hosts, uses_u2m=session.uses_u2m))
    return rec.result()


def wrong_credentials(session: Session) -> ScenarioResult:
    """A caller with the wrong Authorization header must be turned away with 401."""
    rec = _Recorder("wrong_credentials", session)
    if not session.auth_header:
        return rec.skip("no Authorization header is expected, so none can be wrong")
    bogus = "Basic " + base64.b64encode(f"databricks-stp:wrong-{secrets.token_hex(6)}".encode()).decode()
    response = rec.post(session.connect_url, session.connect_body("intruder"), auth_header=bogus)
    if response is None:
        return rec.result()
    findings, doc = rules.envelope(
        response,
        (401,),
        "expected 401 for a wrong Authorization header (the endpoint must check the credential)",
    )
    rec.add(findings)
    if doc is not None and response.status == 401:
        rec.add(rules.error_answer(doc, 401, ("unauthorized",)))
    return rec.result()


def unknown_connection(session: Session) -> ScenarioResult:
    """An established connection whose id the partner never issued: 404."""
    rec = _Recorder("unknown_connection", session)
    body = session.connect_body("primary", established=True, connection_id=str(uuid.uuid4()))
    response = rec.post(session.connect_url, body)
    if response is None:
        return rec.result()
    findings, doc = rules.envelope(
        response, (404,), "expected 404 for an established connection with an unknown connection_id"
    )
    rec.add(findings)
    if doc is not None and response.status == 404:
        rec.add(rules.error_answer(doc, 404, ("connection_not_found", "account_not_found")))
    return rec.result()


def demo(session: Session) -> ScenarioResult:
    """demo: true for a user the partner already knows must still start a trial."""
    rec = _Recorder("demo", session)
    response = rec.post(session.connect_url, session.connect_body("primary", demo=True))
    if response is None:
        return rec.result()
    findings, doc = rules.envelope(response, rules.SUCCESS, "expected 200 (or 201) for a demo connection")
    rec.add(findings)
    if doc is not None and response.status in rules.SUCCESS:
        rec.add(rules.connection(doc, established=False, hosts=session.hosts, uses_u2m=session.uses_u2m))
        value = doc.get("redirect_value")
        if value != "create_trial":
            rec.add(
                [
                    rules.error(
                        "demo_trial",
                        f"redirect_value is {value!r} for demo: true; a demo must lead to create_trial "
                        "even for a known user, account and workspace",
                    )
                ]
            )
    return rec.result()


def repeat_request(session: Session) -> ScenarioResult:
    """The identical new-connection request twice: Databricks retries after a 500."""
    rec = _Recorder("repeat_request", session)
    body = session.connect_body("retry")  # built once: the retry is byte-for-byte the same
    first = rec.post(session.connect_url, body)
    if first is None:
        return rec.result()
    findings, first_doc = rules.envelope(first, rules.SUCCESS, "expected 200 (or 201) for a new connection")
    if findings:
        rec.add(findings)
        return rec.result()
    second = rec.post(session.connect_url, body)
    if second is None:
        return rec.result()
    if second.status not in rules.SUCCESS:
        rec.add(
            [
                rules.error(
                    "idempotent",
                    f"the same request sent again got {second.status} {second.reason}; Databricks "
                    "retries connect after a 500, so it must be safe to repeat",
                )
            ]
        )
        return rec.result()
    try:
        second_doc = second.json()
    except ValueError:
        second_doc = None
    first_id = (first_doc or {}).get("connection_id")
    second_id = second_doc.get("connection_id") if isinstance(second_doc, dict) else None
    if first_id and second_id and first_id != second_id:
        rec.add(
            [
                rules.warning(
                    "idempotent",
                    "the repeated request got a different connection_id; a retried connect would "
                    "leave the first connection behind",
                )
            ]
        )
    return rec.result()


def delete_connection(session: Session) -> ScenarioResult:
    """Databricks deletes the connection the first scenario created."""
    rec = _Recorder("delete_connection", session)
    if not session.delete_url:
        return rec.skip("the config has no delete_url")
    if not session.connection_id:
        return rec.skip(session.connection_note)
    body = delete_connection_request(session.connection_id, session.caller("primary"))
    response = rec.post(session.delete_url, body)
    if response is None:
        return rec.result()
    findings, doc = rules.envelope(response, (200,), "expected 200 for deleting a connection it created")
    rec.add(findings)
    if doc is not None and response.status == 200:
        rec.add(rules.deletion(doc))
    return rec.result()


ScenarioFunction = Callable[[Session], ScenarioResult]

# The report's order. ``runner`` runs them in phases: a scenario needs only
# the scenarios of earlier phases.
SCENARIOS: tuple[tuple[str, int, ScenarioFunction], ...] = (
    ("new_connection", 1, new_connection),
    ("established_connection", 2, established_connection),
    ("wrong_credentials", 1, wrong_credentials),
    ("unknown_connection", 1, unknown_connection),
    ("demo", 2, demo),  # after new_connection, so the user is already known
    ("repeat_request", 1, repeat_request),
    ("delete_connection", 3, delete_connection),  # last: the others use the connection
)
