"""The contract a partner's answers must meet (docs/connect-exchange.md), one named check per rule.

Every rule yields ``CheckFinding``s whose ``check`` is one of ``CHECKS``: the
names are stable so that scripts, tests and documentation can refer to them.
An ``error`` is an assertion of the public certification suite
(databrickslabs/partner-connect-api; the comments name the Scala file that
asserts it); a ``warning`` is beyond certification: the suite would pass it,
and the message says what production or the partner's users would see.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from stp_ext.connect.http import HttpResponse
from stp_ext.connect.report import ERROR, INFO, WARNING, CheckFinding
from stp_ext.connect.urls import reroot
from stp_ext.core.logs import redact_peer
from stp_ext.core.wire import TransportFailure
from stp_ext.partner_config.text import json_type, kind

CHECKS: dict[str, str] = {
    # transport: no usable HTTP answer
    "timeout": "the endpoint answered within the timeout",
    "connection_refused": "something listens at the endpoint",
    "dns": "the endpoint's host name resolves",
    "tls": "the TLS handshake succeeds with a trusted certificate",
    "connection_error": "the connection stays open until the answer is complete",
    "protocol_error": "the answer is valid HTTP",
    "cancelled": "the run was not interrupted",
    "internal_error": "connect-test could finish the case (a bug of ours or an answer it cannot read)",
    "redirect": "the endpoint answers itself; Databricks does not follow redirects",
    "not_run": "the case could run (an endpoint it needs had not timed out; the options it needs were given)",
    "slow_answer": "the endpoint answered within 10 s (beyond certification: the suite waits 60 s)",
    "body_too_large": "the answer body is of a sane size",
    # envelope
    "status_code": "the HTTP status is the one the scenario expects",
    "content_type": "the answer is sent as application/json",
    "html_body": "the body is JSON, not an HTML page",
    "invalid_json": "the body parses as JSON",
    "json_not_object": "the body is a JSON object",
    # connect answer
    "required_field": "every required field is present",
    "field_type": "every field has its documented type",
    "enum_value": "enum fields hold a documented value",
    "redirect_uri_absolute": "redirect_uri is an absolute http(s) URL",
    "redirect_uri_host": "redirect_uri points to one of the configured hostnames",
    "redirect_uri_scheme": "redirect_uri uses https",
    "redirect_uri_page": "a GET of redirect_uri (redirects not followed) answers 2xx or 3xx",
    "redirect_value": "redirect_value is one the certification case allows",
    "configured_resources": "configured_resources is true for a new connection and false for a reuse",
    "account_status": "account_status is the one the certification case expects",
    "connection_id_required": "a new connection with configured_resources true returns a connection_id",
    "connection_id_unexpected": "a new connection with configured_resources false returns no connection_id",
    "connection_id_on_established": "an established connection returns no connection_id",
    "oauth_redirect_uri": "partners using AUTH_OAUTH_U2M return an absolute oauth_redirect_uri",
    "user_status": "user_status is the one the certification case expects",
    "new_user_action": "a never-seen user reusing a connection gets the answer of one new_user_action",
    "resource_status": "delete-connection answers a documented resource_status",
    "test_connection": "test-connection answers valid test results, or 404 for a deleted connection",
    "connectors": "connectors answers a non-empty list of valid connectors",
    # error answers
    "error_reason": "an error answer is JSON with a documented error_reason, the one the case expects",
    "error_body": "an error answer's JSON values are all strings (the suite reads it as a map of strings)",
    # bookkeeping
    "skipped": "the scenario did not apply",
}

REDIRECT_VALUES = ("create_trial", "purchase_product", "sign_in", "contact_admin", "not_applicable")
USER_STATUSES = ("new", "existing", "not_applicable")
ACCOUNT_STATUSES = ("new", "active", "expired", "not_applicable")
# openapi/partner-connect-2.0.yaml 2.1.1 lists these three (no user_unauthorized).
RESOURCE_STATUSES = ("resources_deleted", "resources_pending_deletion", "deletion_acknowledged")
ERROR_REASONS = ("unauthorized", "bad_request", "account_not_found", "connection_not_found", "general_error")
# What a successful connect may redirect to unless the case says otherwise (PartnerTestBase).
SUCCESS_REDIRECTS = ("create_trial", "sign_in", "purchase_product")
TEST_STATUSES = ("PASS", "FAIL", "UNKNOWN")  # TestResult.status in OpenAPI 2.1.1
CONNECTOR_TYPES = ("source", "target")
SUCCESS = (200, 201)  # 201 is accepted for a new connection (isSuccessStatus)
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def error(check: str, message: str) -> CheckFinding:
    return CheckFinding(ERROR, check, message)


def warning(check: str, message: str) -> CheckFinding:
    return CheckFinding(WARNING, check, message)


def info(check: str, message: str) -> CheckFinding:
    return CheckFinding(INFO, check, message)


def beyond(check: str, message: str, consequence: str) -> CheckFinding:
    """A beyond-certification finding: ``message``, then what the suite does and what production would."""
    return CheckFinding(WARNING, check, f"{message}; certification would pass this, but {consequence}")


# The failure kinds (stp_ext.core.wire.KINDS) that are not check names themselves; any other kind
# that is not a check (bad_url, other) is a connection_error.
_CHECK_OF_KIND = {"scheme": "tls", "connect_timeout": "timeout", "too_large": "body_too_large"}


def transport(failure: TransportFailure, what: str) -> CheckFinding:
    kind = failure.kind if failure.kind in CHECKS else _CHECK_OF_KIND.get(failure.kind, "connection_error")
    return error(kind, f"{what}: {failure.message}")


@dataclass(frozen=True)
class HostPolicy:
    """Which hosts redirect_uri may name.

    ``allowed`` are the config's hostnames (what Databricks enforces);
    ``local`` is the host of ``--url``. connect-test fails a redirect there
    like any other unlisted host (the suite would fail it), with a hint for
    local runs; the emulator's Partner Connect click tolerates it with a
    warning (``local_tolerated``), as a partner testing a local build is not
    at fault for redirecting to itself.
    """

    allowed: tuple[str, ...]
    local: str | None = None
    base: str | None = None  # the --url base: pages on listed hosts are fetched there
    local_tolerated: bool = True


def envelope(
    response: HttpResponse, expected: tuple[int, ...], expectation: str
) -> tuple[list[CheckFinding], dict[str, Any] | None]:
    """Status, content type and JSON body; returns the body when it is a JSON object.

    ``expectation`` says in words what the scenario wanted, for the message.
    Certification: the status the case expects (PartnerTestBase:
    isSuccessStatus, validateSignIn's 200, validateError's code; the suite's
    client follows no redirects) and a body it can read as JSON. The content
    type is beyond certification: the suite reads the body whatever its label.
    """
    findings: list[CheckFinding] = []
    if 300 <= response.status < 400:
        location = response.headers.get("location", "(no Location header)")
        return [
            error(
                "redirect",
                f"answered {response.status} redirecting to {location}; Databricks does not follow "
                "redirects: point the config's URL at the final address",
            )
        ], None
    if response.truncated:
        return [
            error(
                "body_too_large",
                f"the {response.status} answer's body is larger than {len(response.body)} bytes; "
                "a connect answer is a small JSON object",
            )
        ], None
    if response.status not in expected:
        findings.append(error("status_code", f"{expectation}, got {_describe(response)}"))
    body_is_html = _looks_like_html(response)
    if response.content_type != "application/json":
        # The suite reads the body whatever its label (PartnerTestBase.extractErrorResponse).
        shown = response.headers.get("content-type") or "no Content-Type header"
        findings.append(
            beyond(
                "content_type",
                f"Content-Type is {shown}; expected application/json",
                "clients that trust the label (browsers, proxies, Databricks' own logging) may not read it as JSON",
            )
        )
    if body_is_html:
        findings.append(error("html_body", f"the body is an HTML page, not JSON: {_excerpt(response.text)}"))
        return findings, None
    try:
        document = response.json()
    except ValueError:
        shown = _excerpt(response.text) if response.body else "(empty)"
        findings.append(error("invalid_json", f"the body is not valid JSON: {shown}"))
        return findings, None
    if not isinstance(document, dict):
        findings.append(error("json_not_object", f"the body is JSON {type(document).__name__}, not an object"))
        return findings, None
    return findings, document


def connection(
    doc: dict[str, Any],
    *,
    established: bool,
    hosts: HostPolicy,
    uses_u2m: bool,
    redirects: tuple[str, ...] | None = SUCCESS_REDIRECTS,
) -> tuple[list[CheckFinding], str | None]:
    """The rules of a successful connect answer (the OpenAPI ``Connection`` and PartnerTestBase).

    ``established``: the request reused a connection. ``redirects``: the
    redirect_values the case allows (PartnerTestBase.validateRedirectValue:
    create_trial, sign_in or purchase_product unless the case names others;
    None: any documented one, for callers that are not a certification case,
    such as the emulator's Partner Connect page). Returns the
    findings and the URL to GET to check the redirect page (None: do not).
    """
    findings = list(_required(doc, ("redirect_uri", "redirect_value", "user_status", "account_status")))
    if "configured_resources" not in doc:
        findings.append(error("required_field", "configured_resources is missing"))
    findings += _typed(doc, "configured_resources", bool, "a boolean")
    for name in ("redirect_uri", "connection_id", "oauth_redirect_uri"):
        findings += _typed(doc, name, str, "a string")
    findings += _enum(doc, "redirect_value", REDIRECT_VALUES)
    findings += _enum(doc, "user_status", USER_STATUSES)
    findings += _enum(doc, "account_status", ACCOUNT_STATUSES)
    value = doc.get("redirect_value")
    if redirects is not None and value in REDIRECT_VALUES and value not in redirects:
        findings.append(
            error(
                "redirect_value",
                f"redirect_value is {value!r}; this case allows only {', '.join(redirects)}",
            )
        )
    fetch = None
    if isinstance(doc.get("redirect_uri"), str) and doc["redirect_uri"]:
        host_findings, fetch = redirect_target(doc["redirect_uri"], hosts)
        findings += host_findings
    findings += _configured(doc, established)
    findings += _connection_id(doc, established)
    # No public test asserts oauth_redirect_uri: both rules are beyond certification.
    oauth = doc.get("oauth_redirect_uri")
    if uses_u2m and oauth is None:
        findings.append(
            beyond(
                "oauth_redirect_uri",
                "no oauth_redirect_uri although the config lists AUTH_OAUTH_U2M",
                "users of a partner whose OAuth app is not published to Databricks cannot finish the OAuth U2M flow",
            )
        )
    elif isinstance(oauth, str) and not _is_absolute(oauth):
        findings.append(
            beyond(
                "oauth_redirect_uri",
                f"oauth_redirect_uri {oauth!r} is not an absolute URL",
                "Databricks cannot send users back to it in the OAuth U2M flow",
            )
        )
    return findings, fetch


def expect(doc: dict[str, Any], name: str, wanted: str, why: str) -> list[CheckFinding]:
    """``doc[name]`` must be ``wanted`` (a case's own assertion, e.g. P700's user_status new)."""
    value = doc.get(name)
    if value == wanted or value is None:  # a missing field is already a required_field finding
        return []
    return [error(name, f"{name} is {value!r}; {why} expects {wanted!r}")]


def error_answer(doc: dict[str, Any] | None, status: int, reasons: tuple[str, ...]) -> list[CheckFinding]:
    """The rules of an error answer (the OpenAPI ``ErrorResponse``): JSON with a documented error_reason.

    ``reasons``: the ones the case expects (empty: any documented one).
    PartnerTestBase.extractErrorResponse reads the body as a map of strings
    (``convertTo[Map[String, String]]``), so a value of any other type fails it.
    """
    if doc is None:
        return []  # not JSON: the envelope rules have said so
    others = {name: value for name, value in doc.items() if not isinstance(value, str)}
    if others:
        shown = ", ".join(f"{name} ({json_type(value)})" for name, value in list(others.items())[:3])
        return [
            error(
                "error_body",
                f"the {status} answer has values that are not strings: {shown}; the certification suite reads an "
                "error answer as a map of strings and fails on any other value: send them as strings or drop them",
            )
        ]
    wanted = " or ".join(reasons or ERROR_REASONS)
    reason = doc.get("error_reason")
    if reason is None:
        example = reasons[0] if reasons else "general_error"
        return [
            error(
                "error_reason",
                f'the {status} answer has no error_reason; an error answer is {{"error_reason": "{example}"}}',
            )
        ]
    if reason not in (reasons or ERROR_REASONS):
        return [error("error_reason", f"error_reason is {reason!r}; expected {wanted}")]
    return []


def deletion(doc: dict[str, Any]) -> list[CheckFinding]:
    """delete-connection's answer: 2.1.1's ``DeleteConnectionResponse``.

    The suite reads it as a DeleteConnectionResponse (PartnerTestBase.deleteConnection,
    in DeleteConnectionTests P401/P402), whose resource_status is required and
    an enum: a missing or undocumented one fails the case.
    """
    if doc.get("resource_status") is None:
        return [
            error(
                "resource_status",
                "the answer has no resource_status; the certification suite reads it as a "
                "DeleteConnectionResponse, which requires one of " + ", ".join(RESOURCE_STATUSES),
            )
        ]
    return _enum(doc, "resource_status", RESOURCE_STATUSES)


def test_results(doc: dict[str, Any]) -> list[CheckFinding]:
    """test-connection's answer: 2.1.1's ``ConnectionTestResult``, beyond certification.

    The public suite has no test-connection test, so every rule here is a
    warning: test_results a list of TestResult (test_name, status PASS, FAIL
    or UNKNOWN; message optional), and our advice: a live connection tests
    PASS, each result with a message.
    """
    consequence = "Databricks shows test-connection's answer to users, and cannot read this one"
    results = doc.get("test_results")
    if not isinstance(results, list):
        return [beyond("test_connection", "test_results is missing or not a list", consequence)]
    findings: list[CheckFinding] = []
    for index, result in enumerate(results):
        where = f"test_results[{index}]"
        if not isinstance(result, dict):
            findings.append(beyond("test_connection", f"{where} is not an object", consequence))
            continue
        if result.get("status") not in TEST_STATUSES:
            findings.append(
                beyond(
                    "test_connection",
                    f"{where}.status is {result.get('status')!r}; expected {', '.join(TEST_STATUSES)}",
                    consequence,
                )
            )
        elif result["status"] != "PASS":
            findings.append(
                beyond(
                    "test_connection",
                    f"{where} is {result['status']} ({result.get('message')!r}) for a live connection",
                    "users pressing Test connection would see it not pass: check that a real connection tests PASS",
                )
            )
        if not isinstance(result.get("test_name"), str) or not result["test_name"]:
            findings.append(beyond("test_connection", f"{where}.test_name is missing or empty", consequence))
        if not isinstance(result.get("message"), str) or not result["message"]:
            findings.append(
                beyond(
                    "test_connection",
                    f"{where} has no message",
                    "users see the result without a word on what was tested or what to fix",
                )
            )
    return findings


def connectors(doc: dict[str, Any]) -> list[CheckFinding]:
    """get-connectors' answer (GetConnectorsTests): a non-empty list of named source/target connectors."""
    items = doc.get("connectors")
    if not isinstance(items, list) or not items:
        return [error("connectors", "connectors is missing or empty; an ingestion partner lists its connectors")]
    findings: list[CheckFinding] = []
    for index, item in enumerate(items):
        where = f"connectors[{index}]"
        if not isinstance(item, dict):
            findings.append(error("connectors", f"{where} is not an object"))
            continue
        for name in ("name", "identifier"):
            if not isinstance(item.get(name), str) or not item[name]:
                findings.append(error("connectors", f"{where}.{name} is missing or empty"))
        if item.get("type") not in CONNECTOR_TYPES:
            findings.append(error("connectors", f"{where}.type is {item.get('type')!r}; expected source or target"))
    token = doc.get("pagination_token")
    if token is not None and not isinstance(token, str):  # ConnectorResponse reads it as an optional string
        findings.append(error("connectors", f"pagination_token is {type(token).__name__}; expected a string"))
    return findings


# -- helpers ---------------------------------------------------------------


def _required(doc: dict[str, Any], names: Iterable[str]) -> Iterable[CheckFinding]:
    # The OpenAPI Connection's required fields: the suite cannot read an answer without them.
    for name in names:
        if doc.get(name) in (None, ""):
            yield error("required_field", f"{name} is missing")


def _typed(doc: dict[str, Any], name: str, expected: type, described: str) -> list[CheckFinding]:
    value = doc.get(name)
    if value is None or isinstance(value, expected):
        return []
    return [error("field_type", f"{name} is {kind(value)} {value!r}; expected {described}")]


def _enum(doc: dict[str, Any], name: str, allowed: tuple[str, ...]) -> list[CheckFinding]:
    value = doc.get(name)
    if value in (None, "") or value in allowed:
        return []
    hint = ""
    if isinstance(value, str):
        near = [a for a in allowed if _squash(a) == _squash(value)]
        if near:
            hint = f" (did you mean {near[0]!r}?)"
    return [error("enum_value", f"{name} is {value!r}; expected one of {', '.join(allowed)}{hint}")]


def redirect_target(uri: str, hosts: HostPolicy) -> tuple[list[CheckFinding], str | None]:
    """The findings on redirect_uri's host, and the URL to GET to check its page (None: do not).

    Certification (PartnerTestBase.validateRedirectUri): the URL parses and
    its host *contains* one of the config's hostnames. Beyond certification:
    the host is one of them exactly, and the scheme is https.
    """
    if not _is_absolute(uri):
        return [
            error(
                "redirect_uri_absolute",
                f"redirect_uri {uri!r} is not an absolute http(s) URL; Databricks opens it in a new tab "
                "(the certification suite parses it as a URL)",
            )
        ], None
    parts = urlsplit(uri)
    raw_host = _raw_host(parts.netloc)  # as java.net.URL.getHost gives it: the suite compares case-sensitively
    containing = next((h for h in hosts.allowed if h and h in raw_host), None)
    if containing is None:
        return _unlisted_host(uri, raw_host, hosts)
    host = raw_host.lower()
    findings = _not_exactly_listed(host, containing, hosts)
    if parts.scheme == "http" and host not in _LOOPBACK:
        findings.append(
            beyond(
                "redirect_uri_scheme",
                f"redirect_uri {uri} uses plain http",
                "your users' browsers would open the page unencrypted (or refuse it): use https",
            )
        )
    return findings, reroot(uri, hosts.base) if hosts.base else uri


def _unlisted_host(uri: str, raw_host: str, hosts: HostPolicy) -> tuple[list[CheckFinding], str | None]:
    """No configured hostname is in redirect_uri's host: certification fails (the page is not fetched),
    unless the emulator's click tolerates the --url host, with a warning."""
    host = raw_host.lower()
    shown = ", ".join(hosts.allowed) or "(none)"
    at_local = hosts.local is not None and host == hosts.local.lower()
    if at_local and hosts.local_tolerated:
        return [
            warning(
                "redirect_uri_host",
                f"redirect_uri host {host} is the --url host but not in hostnames ({shown}); "
                "Databricks would refuse it in production",
            )
        ], uri
    local = (
        f" (for a local run, list {raw_host} in hostnames, or make the partner redirect to a listed host)"
        if at_local
        else ""
    )
    return [
        error(
            "redirect_uri_host",
            f"redirect_uri host {raw_host} is not in the config's hostnames ({shown}); the certification suite "
            f"requires a host that contains one of them, and Databricks refuses redirects elsewhere{local}",
        )
    ], None


def _not_exactly_listed(host: str, containing: str, hosts: HostPolicy) -> list[CheckFinding]:
    """Beyond certification: a host that contains a configured hostname but is not one of them."""
    shown = ", ".join(hosts.allowed) or "(none)"
    listed = [h.lower() for h in hosts.allowed]
    if host in listed:
        return []
    parent = next((h for h in listed if host.endswith("." + h)), None)
    if parent is not None:
        return [
            beyond(
                "redirect_uri_host",
                f"redirect_uri host {host} is a sub-domain of {parent} but not itself in hostnames ({shown})",
                f"Databricks allows only the hostnames you share: add {host} to hostnames",
            )
        ]
    return [
        beyond(
            "redirect_uri_host",
            f"redirect_uri host {host} contains {containing} but is neither it nor a sub-domain of it "
            f"({shown}); such a host can belong to anyone",
            "Databricks allows only the hostnames you share: return a URL on a listed host",
        )
    ]


def _raw_host(netloc: str) -> str:
    """The host of ``netloc`` as written (no user info, no port), not lower-cased."""
    host = netloc.rpartition("@")[2]
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.partition(":")[0]


def _configured(doc: dict[str, Any], established: bool) -> list[CheckFinding]:
    # PartnerTestBase: validateNewConnection asserts configured_resources, validateSignIn its negation.
    configured = doc.get("configured_resources")
    if not isinstance(configured, bool):
        return []
    if established and configured:
        return [
            error(
                "configured_resources",
                "configured_resources is true for a reused connection; nothing is configured when "
                "the connection exists (validateSignIn)",
            )
        ]
    if not established and not configured:
        return [
            error(
                "configured_resources",
                "configured_resources is false for a new connection; the certification suite expects the "
                "partner to configure the connection (true, with a connection_id), else Databricks "
                "deletes the resources it created",
            )
        ]
    return []


def _connection_id(doc: dict[str, Any], established: bool) -> list[CheckFinding]:
    # PartnerTestBase: validateNewConnection asserts a non-empty connection_id, validateSignIn none;
    # connection_id_unexpected (configured false, an id anyway) is the OpenAPI Connection's rule.
    has_id = doc.get("connection_id") not in (None, "")
    if established:
        if has_id:
            return [
                error(
                    "connection_id_on_established",
                    "connection_id is returned for an established connection; it must be omitted",
                )
            ]
        return []
    configured = doc.get("configured_resources")
    if configured is True and not has_id:
        return [
            error(
                "connection_id_required",
                "configured_resources is true but there is no connection_id; Databricks needs it "
                "to re-open and delete the connection",
            )
        ]
    if configured is False and has_id:
        return [
            error(
                "connection_id_unexpected",
                "connection_id is returned although configured_resources is false; Databricks "
                "cleans up the resources it sent and will not use this connection",
            )
        ]
    return []


def _is_absolute(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _looks_like_html(response: HttpResponse) -> bool:
    # By the body alone: a JSON body labelled text/html is read as JSON by the suite.
    start = response.body[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _describe(response: HttpResponse) -> str:
    """'401 Unauthorized (error_reason unauthorized: ...)' for a status message."""
    text = f"{response.status} {response.reason}".strip()
    try:
        doc = response.json()
    except ValueError:
        return text
    if isinstance(doc, dict) and doc.get("error_reason"):
        detail = doc.get("debugging_message") or doc.get("display_message")
        text += f" (error_reason {doc['error_reason']}" + (f": {_excerpt(str(detail))})" if detail else ")")
    return text


def _excerpt(text: str, limit: int = 120) -> str:
    # A partner might echo the request back; never print a credential, nor a part of one
    # cut at the limit: redact first.
    flat = redact_peer(re.sub(r"\s+", " ", text).strip())
    if len(flat) > limit:
        flat = flat[:limit] + "…"
    return repr(flat)


def _squash(value: str) -> str:
    return re.sub(r"[^a-z]", "", value.lower())
