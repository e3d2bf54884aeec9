"""The response rules on hand-made answers: each rule names its finding."""

from __future__ import annotations

import http.client as http_client
import json
import socket
import ssl
from typing import Any

import pytest

from stp_ext.connect import http as http_module
from stp_ext.connect import rules
from stp_ext.connect.http import HttpResponse
from stp_ext.core.wire import TransportFailure, classify

HOSTS = rules.HostPolicy(allowed=("partner.example.com", "app.partner.example.com"), local="127.0.0.1")
GOOD = {
    "redirect_uri": "https://partner.example.com/sign-in",
    "redirect_value": "sign_in",
    "user_status": "existing",
    "account_status": "active",
    "configured_resources": True,
    "connection_id": "c-1",
}


def answer(
    status: int = 200, body: Any = GOOD, content_type: str | None = "application/json", **kw: Any
) -> HttpResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": content_type} if content_type else {}
    headers.update(kw.pop("headers", {}))
    return HttpResponse(status=status, reason="", headers=headers, body=data, **kw)


def checks(findings: list[Any]) -> list[tuple[str, str]]:
    return [(f.severity, f.check) for f in findings]


def connection(
    changes: dict[str, Any], established: bool = False, uses_u2m: bool = False, hosts: rules.HostPolicy = HOSTS
) -> list[tuple[str, str]]:
    doc = {**GOOD, **changes}
    doc = {k: v for k, v in doc.items() if v is not None}
    findings, _ = rules.connection(doc, established=established, hosts=hosts, uses_u2m=uses_u2m)
    return checks(findings)


def test_a_good_answer_has_no_findings() -> None:
    findings, doc = rules.envelope(answer(), rules.SUCCESS, "expected 200")
    assert findings == [] and doc == GOOD
    assert connection({}) == []


def test_content_type_parameters_are_fine() -> None:
    findings, _ = rules.envelope(answer(content_type="application/json; charset=utf-8"), (200,), "x")
    assert findings == []


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (answer(status=202), [("error", "status_code")]),
        # The suite reads the body whatever its label: a content type is beyond certification.
        (answer(content_type="text/plain"), [("warning", "content_type")]),
        (answer(content_type=None), [("warning", "content_type")]),
        (answer(content_type="text/html"), [("warning", "content_type")]),  # a JSON body labelled HTML
        (
            answer(body=b"<html><body>hi</body></html>", content_type="text/html"),
            [("warning", "content_type"), ("error", "html_body")],
        ),
        (answer(body=b'{"redirect_uri": '), [("error", "invalid_json")]),
        (answer(body=b""), [("error", "invalid_json")]),
        (answer(body=[1, 2]), [("error", "json_not_object")]),
        (answer(status=302, body=b"", headers={"location": "https://x"}), [("error", "redirect")]),
        (answer(truncated=True), [("error", "body_too_large")]),
    ],
    ids=[
        "status",
        "text-plain",
        "no-type",
        "json-as-html",
        "html",
        "truncated-json",
        "empty",
        "array",
        "redirect",
        "huge",
    ],
)
def test_envelope_rules(response: HttpResponse, expected: list[tuple[str, str]]) -> None:
    findings, _ = rules.envelope(response, rules.SUCCESS, "expected 200")
    assert checks(findings) == expected


def test_html_without_html_content_type_is_still_html() -> None:
    findings, _ = rules.envelope(answer(body=b"<!DOCTYPE html><html></html>"), (200,), "x")
    assert checks(findings) == [("error", "html_body")]


def test_required_fields() -> None:
    assert connection({"user_status": None}) == [("error", "required_field")]
    assert connection({"configured_resources": None, "connection_id": None}) == [("error", "required_field")]


def test_types_and_enums() -> None:
    assert connection({"configured_resources": "true"}) == [("error", "field_type")]
    assert connection({"redirect_value": "signin"}) == [("error", "enum_value")]
    assert connection({"account_status": "ACTIVE"}) == [("error", "enum_value")]


def test_a_wrong_type_is_named_by_its_json_type() -> None:
    # The message names what the partner sent (a string "true", a number), not the value run through bool() or str().
    (flag,), _ = rules.connection(
        {**GOOD, "configured_resources": "true"}, established=False, hosts=HOSTS, uses_u2m=False
    )
    assert flag.message == "configured_resources is a string 'true'; expected a boolean"
    (number,), _ = rules.connection({**GOOD, "connection_id": 7}, established=False, hosts=HOSTS, uses_u2m=False)
    assert number.message == "connection_id is a number 7; expected a string"


def test_enum_finding_suggests_the_near_value() -> None:
    doc = {**GOOD, "redirect_value": "Sign-In"}
    (finding,), _ = rules.connection(doc, established=False, hosts=HOSTS, uses_u2m=False)
    assert "did you mean 'sign_in'" in finding.message


def test_redirect_uri_rules() -> None:
    assert connection({"redirect_uri": "/sign-in"}) == [("error", "redirect_uri_absolute")]
    assert connection({"redirect_uri": "partner.example.com/x"}) == [("error", "redirect_uri_absolute")]
    assert connection({"redirect_uri": "https://evil.example.net/x"}) == [("error", "redirect_uri_host")]
    # The suite compares the host as written (java.net.URL.getHost), case-sensitively.
    assert connection({"redirect_uri": "https://app.partner.example.com:8443/x"}) == []
    assert connection({"redirect_uri": "https://APP.PARTNER.example.com/x"}) == [("error", "redirect_uri_host")]
    # The --url host fails like any other unlisted host (the suite would fail it), with a hint for local runs.
    local = rules.HostPolicy(allowed=HOSTS.allowed, local="127.0.0.1", local_tolerated=False)
    findings, _ = rules.connection(
        {**GOOD, "redirect_uri": "http://127.0.0.1:9/x"}, established=False, hosts=local, uses_u2m=False
    )
    assert checks(findings) == [("error", "redirect_uri_host")] and "list 127.0.0.1 in hostnames" in findings[0].message
    # The emulator's click tolerates it with a warning (a local build redirecting to itself).
    tolerant = rules.HostPolicy(allowed=HOSTS.allowed, local="127.0.0.1")
    findings, _ = rules.connection(
        {**GOOD, "redirect_uri": "http://127.0.0.1:9/x"}, established=False, hosts=tolerant, uses_u2m=False
    )
    assert checks(findings) == [("warning", "redirect_uri_host")]
    assert connection({"redirect_uri": "http://partner.example.com/x"}) == [("warning", "redirect_uri_scheme")]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://partner.example.com/x", []),
        ("https://eu.login.partner.example.com/x", [("warning", "redirect_uri_host")]),  # the suite accepts it
        # The suite accepts any host that contains a listed name: beyond certification, these are warnings.
        ("https://partner.example.com.evil.example/x", [("warning", "redirect_uri_host")]),
        ("https://evilpartner.example.com/x", [("warning", "redirect_uri_host")]),
        ("https://example.com/x", [("error", "redirect_uri_host")]),
    ],
    ids=["listed", "sub-domain", "look-alike-suffix", "look-alike-prefix", "parent"],
)
def test_redirect_hosts_listed_subdomain_and_lookalikes(uri: str, expected: list[tuple[str, str]]) -> None:
    assert connection({"redirect_uri": uri}) == expected


def test_redirect_page_url_is_rerooted_on_the_local_base() -> None:
    hosts = rules.HostPolicy(allowed=("partner.example.com",), local="127.0.0.1", base="http://127.0.0.1:9/stage")
    _, fetch = rules.redirect_target("https://partner.example.com/sign-in?x=1", hosts)
    assert fetch == "http://127.0.0.1:9/stage/sign-in?x=1"
    _, fetch = rules.redirect_target("https://evil.example.net/sign-in", hosts)
    assert fetch is None  # a refused host is never fetched


def test_suite_assertions_of_new_connections_and_reuses() -> None:
    # validateNewConnection: configured_resources true, a connection_id, a success redirect_value.
    assert connection({"configured_resources": False}) == [
        ("error", "configured_resources"),
        ("error", "connection_id_unexpected"),
    ]
    assert connection({"connection_id": None}) == [("error", "connection_id_required")]
    assert connection({"redirect_value": "contact_admin"}) == [("error", "redirect_value")]
    # validateSignIn: configured_resources false, no connection_id.
    reuse = {"connection_id": None, "configured_resources": False}
    assert connection(reuse, established=True) == []
    assert connection({**reuse, "configured_resources": True}, established=True) == [("error", "configured_resources")]
    assert connection({}, established=True) == [
        ("error", "configured_resources"),
        ("error", "connection_id_on_established"),
    ]


def test_a_case_can_require_a_value() -> None:
    assert rules.expect({"user_status": "new"}, "user_status", "new", "P700") == []
    assert checks(rules.expect({"user_status": "existing"}, "user_status", "new", "P700")) == [("error", "user_status")]


def test_oauth_redirect_uri_for_u2m() -> None:
    assert connection({}, uses_u2m=True) == [("warning", "oauth_redirect_uri")]
    assert connection({"oauth_redirect_uri": "https://partner.example.com/cb"}, uses_u2m=True) == []
    assert connection({"oauth_redirect_uri": "cb"}, uses_u2m=True) == [("warning", "oauth_redirect_uri")]


def test_error_answers() -> None:
    assert rules.error_answer({"error_reason": "unauthorized"}, 401, ("unauthorized",)) == []
    assert rules.error_answer({"error_reason": "general_error"}, 500, ()) == []  # any documented reason
    assert checks(rules.error_answer({"error_reason": "oops"}, 500, ())) == [("error", "error_reason")]
    assert checks(rules.error_answer({}, 401, ("unauthorized",))) == [("error", "error_reason")]
    assert checks(rules.error_answer({"error_reason": "general_error"}, 404, ("connection_not_found",))) == [
        ("error", "error_reason")
    ]


def test_error_answers_are_maps_of_strings() -> None:
    # PartnerTestBase.extractErrorResponse: convertTo[Map[String, String]].
    findings = rules.error_answer({"error_reason": "unauthorized", "retry_after": 3}, 401, ("unauthorized",))
    assert checks(findings) == [("error", "error_body")] and "retry_after (number)" in findings[0].message
    assert checks(rules.error_answer({"error_reason": "unauthorized", "x": None}, 401, ())) == [("error", "error_body")]
    assert rules.error_answer({"error_reason": "unauthorized", "display_message": "m"}, 401, ()) == []


def test_deletion() -> None:
    assert rules.deletion({"resource_status": "resources_pending_deletion"}) == []
    # The suite reads a DeleteConnectionResponse, whose resource_status is required (P401).
    assert checks(rules.deletion({})) == [("error", "resource_status")]
    assert checks(rules.deletion({"resource_status": "user_unauthorized"})) == [("error", "enum_value")]  # not in 2.1.1
    assert checks(rules.deletion({"resource_status": "gone"})) == [("error", "enum_value")]


def test_test_results_and_connectors() -> None:
    good = {"test_results": [{"test_name": "t", "status": "PASS", "message": "ok"}]}
    assert rules.test_results(good) == []
    failed = {"test_results": [{"test_name": "t", "status": "FAIL", "message": "no"}]}
    assert checks(rules.test_results(failed)) == [("warning", "test_connection")]
    # No public test asserts test-connection: every rule is beyond certification. 2.1.1 allows UNKNOWN and
    # no message; our advice still flags both.
    unknown = {"test_results": [{"test_name": "", "status": "UNKNOWN"}]}
    assert checks(rules.test_results(unknown)) == [("warning", "test_connection")] * 3
    invalid = {"test_results": [{"test_name": "t", "status": "OK", "message": "m"}]}
    assert checks(rules.test_results(invalid)) == [("warning", "test_connection")]
    assert rules.connectors({"connectors": [{"identifier": "A", "name": "a", "type": "source"}]}) == []
    assert checks(rules.connectors({"connectors": []})) == [("error", "connectors")]
    assert checks(rules.connectors({"connectors": [{"identifier": "A", "name": "a", "type": "both"}]})) == [
        ("error", "connectors")
    ]


def test_transport_kinds_are_checks() -> None:
    for kind in ("timeout", "connection_refused", "tls", "dns", "connection_error", "protocol_error"):
        assert kind in rules.CHECKS
        assert rules.transport(TransportFailure(kind, "m"), "POST x").check == kind
    # The kinds of the shared vocabulary that are not connect-test checks keep the checks they had.
    assert rules.transport(TransportFailure("bad_url", "m"), "POST x").check == "connection_error"
    assert rules.transport(TransportFailure("scheme", "m"), "POST x").check == "tls"


def test_body_excerpts_never_show_a_registered_secret() -> None:
    from stp_ext.core.logs import register_secret

    register_secret("echoed-secret-value")
    findings, _ = rules.envelope(answer(body=b"oops echoed-secret-value"), (200,), "x")
    assert all("echoed-secret-value" not in f.message for f in findings)


def _wrapped(error: Exception) -> Exception:
    """As urllib3 and requests wrap a failure: each wrapper quotes it in its own args."""
    aborted = Exception("Connection aborted.", error)
    return Exception(aborted)


@pytest.mark.parametrize(
    ("error", "check", "words"),
    [
        (socket.timeout("timed out"), "timeout", "no complete answer within 10 s"),
        (TimeoutError(), "timeout", "no complete answer within 10 s"),
        (ConnectionRefusedError(111, "refused"), "connection_refused", "connection refused"),
        (socket.gaierror(-2, "Name or service not known"), "dns", "does not resolve"),
        (ssl.SSLError(1, "WRONG_VERSION_NUMBER"), "tls", "does not speak HTTPS on that port"),
        (http_client.RemoteDisconnected("closed"), "connection_error", "closed without an answer"),
        (http_client.BadStatusLine("garbage"), "protocol_error", "not valid HTTP: BadStatusLine('garbage')"),
        (ConnectionResetError(104, "reset"), "connection_error", "closed without an answer"),
        # The peer's bytes do not choose the kind, however they are worded, bare or wrapped.
        (http_client.BadStatusLine("connection refused, timed out"), "protocol_error", "not valid HTTP"),
        (_wrapped(http_client.BadStatusLine("SSLError: certificate")), "protocol_error", "not valid HTTP"),
    ],
)
def test_transport_errors_are_findings_that_name_the_request(error: Exception, check: str, words: str) -> None:
    finding = rules.transport(classify(error, 10), "POST https://partner.example.com/connect")
    assert finding.check == check
    assert finding.message.startswith("POST https://partner.example.com/connect: ")
    assert words in finding.message


def test_bad_urls_are_transport_errors() -> None:
    with pytest.raises(TransportFailure) as caught:
        http_module.send("POST", "ftp://partner.example.com/connect")
    assert caught.value.kind == "bad_url"
