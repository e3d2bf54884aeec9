"""The sample partner over real HTTP: a correct partner, and each fault switchable."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from connect_fixtures import BASIC, HOSTNAME, partner_config, sample_partner

from stp_ext.connect import http
from stp_ext.connect.payload import Caller, connect_request
from stp_ext.core.errors import StpError
from stp_ext.core.wire import TransportFailure
from stp_ext.sample_partner import FAULT_NAMES, FAULTS, SamplePartner


@pytest.fixture
def partner() -> Iterator[SamplePartner]:
    with sample_partner() as running:
        yield running


def post(
    url: str,
    body: Any,
    *,
    auth: str | None = BASIC,
    method: str = "POST",
    content_type: str = "application/json",
    max_body_bytes: int = http.DEFAULT_MAX_BODY_BYTES,
) -> http.HttpResponse:
    headers = {"Content-Type": content_type, "User-Agent": "databricks"}
    if auth:
        headers["Authorization"] = auth
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.send(method, url, body=data, headers=headers, timeout=5, max_body_bytes=max_body_bytes)


def new_request(role: str = "primary", **kwargs: Any) -> dict[str, Any]:
    return connect_request(partner_config(), Caller.generate(role, "feedbeef"), **kwargs)


def connect(partner: SamplePartner, body: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = post(f"{partner.url}/connect", body, **kwargs)
    return response.status, response.json()


def test_new_connection_creates_an_account_and_a_connection(partner: SamplePartner) -> None:
    status, doc = connect(partner, new_request())
    assert status == 200
    assert doc["redirect_uri"].startswith(f"https://{HOSTNAME}/")
    assert doc["redirect_value"] == "create_trial"
    assert (doc["user_status"], doc["account_status"]) == ("new", "new")
    assert doc["configured_resources"] is True
    assert doc["connection_id"] in partner.state.connections


def test_every_new_connection_request_makes_a_new_connection(partner: SamplePartner) -> None:
    body = new_request()
    _, first = connect(partner, body)
    status, second = connect(partner, body)  # Databricks lost its side (deleted or retried): a new one
    assert status == 200
    assert second["connection_id"] != first["connection_id"]
    assert (second["user_status"], second["account_status"], second["redirect_value"]) == (
        "existing",
        "active",
        "sign_in",
    )
    assert len(partner.state.connections) == 2


def in_account(user: str, domain: str, workspace: int | None = None, **kwargs: Any) -> dict[str, Any]:
    return connect_request(partner_config(), Caller.in_account(user, domain, workspace), **kwargs)


def test_accounts_are_email_domains_with_users(partner: SamplePartner) -> None:
    _, first = connect(partner, in_account("user1", "acme.databricks-test.com"))
    _, colleague = connect(partner, in_account("user2", "acme.databricks-test.com"))
    _, stranger = connect(partner, in_account("user1", "other.databricks-test.com"))
    assert (first["user_status"], first["account_status"], first["redirect_value"]) == ("new", "new", "create_trial")
    # A new user of a known account: the account is active, no new trial.
    assert (colleague["user_status"], colleague["account_status"], colleague["redirect_value"]) == (
        "new",
        "active",
        "sign_in",
    )
    assert stranger["account_status"] == "new"
    assert set(partner.state.accounts) == {"acme.databricks-test.com", "other.databricks-test.com"}
    assert partner.state.accounts["acme.databricks-test.com"].users == {
        "user1@acme.databricks-test.com",
        "user2@acme.databricks-test.com",
    }


@pytest.mark.parametrize(
    ("action", "status", "expected"),
    [
        ("auto_add", 200, {"user_status": "new", "redirect_value": "sign_in", "configured_resources": False}),
        ("invite", 200, {"user_status": "not_applicable", "redirect_value": "contact_admin"}),
        ("not_found", 404, {"error_reason": "account_not_found"}),
        ("error", 500, {"error_reason": "general_error"}),
    ],
)
def test_new_user_action_decides_a_never_seen_user_reusing_a_connection(
    action: str, status: int, expected: dict[str, Any]
) -> None:
    with sample_partner(new_user_action=action) as running:
        _, created = connect(running, in_account("user1", "acme.databricks-test.com", 7))
        reuse = in_account(
            "user2", "acme.databricks-test.com", 7, established=True, connection_id=created["connection_id"]
        )
        got, doc = connect(running, reuse)
        again, _ = connect(running, reuse)
    assert got == status and expected.items() <= doc.items()
    # auto_add made user2 a member: the second reuse is an existing user's.
    if action == "auto_add":
        assert running.state.is_member("acme.databricks-test.com", "user2@acme.databricks-test.com")
    assert again == status


def test_delete_account_only_for_test_domains(partner: SamplePartner) -> None:
    _, created = connect(partner, in_account("user1", "gone.databricks-test.com"))
    connect(partner, in_account("user1", "customer.com"))
    info = {"cloud_provider": "aws", "databricks_organization_id": 1}
    refused = post(f"{partner.url}/delete-account", {**info, "domain": "customer.com"}, method="DELETE")
    assert (refused.status, refused.json()["error_reason"]) == (400, "bad_request")
    assert "customer.com" in partner.state.accounts
    deleted = post(f"{partner.url}/delete-account", {**info, "domain": "gone.databricks-test.com"}, method="DELETE")
    assert deleted.status == 200
    assert "gone.databricks-test.com" not in partner.state.accounts
    assert created["connection_id"] not in partner.state.connections  # its connections went with it
    missing = post(f"{partner.url}/delete-account", {**info, "domain": "gone.databricks-test.com"}, method="DELETE")
    assert (missing.status, missing.json()["error_reason"]) == (404, "account_not_found")


def test_expire_account_then_purchase_product(partner: SamplePartner) -> None:
    domain = "trial.databricks-test.com"
    _, created = connect(partner, in_account("user1", domain, 5))
    body = {
        "email": f"user1@{domain}",
        "databricks_user_id": 1,
        "cloud_provider": "aws",
        "databricks_organization_id": 5,
    }
    assert post(f"{partner.url}/expire-account", {**body, "email": "user1@customer.com"}, method="PUT").status == 400
    assert post(f"{partner.url}/expire-account", body, method="PUT").status == 200
    _, reused = connect(
        partner, in_account("user1", domain, 5, established=True, connection_id=created["connection_id"])
    )
    assert (reused["account_status"], reused["redirect_value"]) == ("expired", "purchase_product")
    _, new = connect(partner, in_account("user1", domain, 6))
    assert (new["account_status"], new["redirect_value"], new["configured_resources"]) == (
        "expired",
        "purchase_product",
        False,
    )
    assert "connection_id" not in new


def test_connectors_are_paginated(partner: SamplePartner) -> None:
    first = http.send("GET", f"{partner.url}/connectors?pagination_token=", headers={"Authorization": BASIC}, timeout=5)
    assert first.status == 200
    page = first.json()
    assert page["connectors"] and page["pagination_token"]
    second = http.send(
        "GET",
        f"{partner.url}/connectors?pagination_token={page['pagination_token']}",
        headers={"Authorization": BASIC},
        timeout=5,
    ).json()
    assert second["connectors"] and "pagination_token" not in second
    types = {c["type"] for c in page["connectors"] + second["connectors"]}
    assert types == {"source", "target"}
    assert http.send("GET", f"{partner.url}/connectors", timeout=5).status == 401


@pytest.mark.parametrize("page", ["create-trial", "sign-in", "contact-your-admin", "purchase-product", "sign-up"])
def test_redirect_pages_answer_html(partner: SamplePartner, page: str) -> None:
    for url in (f"{partner.url}/{page}", f"{partner.url}/staging/{page}?user=x"):
        response = http.send("GET", url, timeout=5)
        assert response.status == 200 and response.content_type == "text/html"


def test_redirect_uri_of_each_answer_is_a_served_page() -> None:
    with sample_partner(hostnames=None) as running:
        _, doc = connect(running, new_request())
        assert http.send("GET", doc["redirect_uri"], timeout=5).status == 200


def test_established_and_unknown_connections(partner: SamplePartner) -> None:
    _, created = connect(partner, new_request())
    status, doc = connect(partner, new_request(established=True, connection_id=created["connection_id"]))
    assert status == 200 and "connection_id" not in doc and doc["user_status"] == "existing"
    status, doc = connect(partner, new_request(established=True, connection_id="nope"))
    assert (status, doc["error_reason"]) == (404, "connection_not_found")


def test_demo_leads_to_a_trial_even_for_a_known_user(partner: SamplePartner) -> None:
    connect(partner, new_request())
    status, doc = connect(partner, new_request(demo=True))
    assert (status, doc["redirect_value"]) == (200, "create_trial")


def test_no_integration_still_makes_a_connection(partner: SamplePartner) -> None:
    # No credentials come along, but the workspace link itself is what the partner keeps.
    body = connect_request(partner_config(integration_type="NO_INTEGRATION"), Caller.generate("x", "feedbeef"))
    status, doc = connect(partner, body)
    assert status == 200 and doc["configured_resources"] is True and doc["connection_id"]


# The last: a near miss (a trailing space is not one: HTTP servers strip it from header values)
@pytest.mark.parametrize("auth", [None, "Basic d3Jvbmc6d3Jvbmc=", BASIC[:-2]])
def test_wrong_or_missing_credentials_are_refused(partner: SamplePartner, auth: str | None) -> None:
    status, doc = connect(partner, new_request(), auth=auth)
    assert (status, doc["error_reason"]) == (401, "unauthorized")
    assert partner.state.accounts == {}


def test_empty_expected_header_accepts_any_request() -> None:
    with sample_partner(auth="") as running:
        assert connect(running, new_request(), auth=None)[0] == 200
        assert connect(running, new_request("other"), auth="Bearer whatever")[0] == 200


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda b: b.pop("hostname"), "hostname"),
        (lambda b: b["user_info"].pop("email"), "user_info.email"),
        (lambda b: b.update(port="443"), "port"),
        (lambda b: b.update(demo=1), "demo"),
        (lambda b: b["user_info"].update(databricks_user_id=True), "databricks_user_id"),
        (lambda b: b.update(cloud_provider="mars"), "cloud_provider"),
        (lambda b: b.update(workspace_id=1), "workspace_id"),
    ],
)
def test_bad_requests_are_400_naming_the_field(partner: SamplePartner, change: Any, named: str) -> None:
    body = new_request()
    change(body)
    status, doc = connect(partner, body)
    assert status == 400 and doc["error_reason"] == "bad_request"
    assert named in doc["debugging_message"]


def test_unknown_fields_are_accepted(partner: SamplePartner) -> None:
    body = new_request()
    body["something_new"] = {"from": "the future"}
    body["user_info"]["nickname"] = "x"
    assert connect(partner, body)[0] == 200


def test_non_json_requests_are_400(partner: SamplePartner) -> None:
    assert post(f"{partner.url}/connect", b"not json").status == 400
    assert post(f"{partner.url}/connect", new_request(), content_type="text/plain").status == 400
    assert post(f"{partner.url}/connect", b"[1]").status == 400


def test_test_connection_and_delete_connection(partner: SamplePartner) -> None:
    _, created = connect(partner, new_request())
    body = {"connection_id": created["connection_id"]}
    tested = post(f"{partner.url}/test-connection", body)
    assert tested.status == 200
    (result,) = tested.json()["test_results"]
    assert result["status"] == "PASS" and result["test_name"]
    deleted = post(f"{partner.url}/delete-connection", {**body, "cloud_provider": "aws"})
    assert (deleted.status, deleted.json()) == (200, {"resource_status": "resources_deleted"})
    again = post(f"{partner.url}/delete-connection", body, method="DELETE")
    assert (again.status, again.json()["error_reason"]) == (404, "connection_not_found")
    assert post(f"{partner.url}/test-connection", body).status == 404
    assert post(f"{partner.url}/test-connection", {}).status == 400


def test_delete_and_test_connection_need_the_credential(partner: SamplePartner) -> None:
    assert post(f"{partner.url}/delete-connection", {"connection_id": "x"}, auth=None).status == 401
    assert post(f"{partner.url}/test-connection", {"connection_id": "x"}, auth=None).status == 401


def test_endpoints_are_served_under_any_prefix(partner: SamplePartner) -> None:
    response = post(f"{partner.url}/databricks/v1/connect", new_request())
    assert response.status == 200
    connection_id = response.json()["connection_id"]
    assert post(f"{partner.url}/databricks/delete", {"connection_id": connection_id}).status == 200


def test_unknown_paths_and_methods_answer_json(partner: SamplePartner) -> None:
    missing = post(f"{partner.url}/nothing-here", {})
    assert missing.status == 404 and missing.content_type == "application/json"
    wrong_method = http.send("GET", f"{partner.url}/connect", timeout=5)
    assert wrong_method.status == 405 and wrong_method.json()["error_reason"] == "bad_request"


def test_index_describes_the_server(partner: SamplePartner) -> None:
    index = http.send("GET", f"{partner.url}/", timeout=5).json()
    assert index["endpoints"]["connect"] == "POST /connect"
    assert index["endpoints"]["delete_account"] == "DELETE /delete-account"
    assert index["new_user_action"] == "auto_add"
    assert index["requires_authorization"] is True and index["hostnames"] == [HOSTNAME]


def test_redirects_to_itself_by_default() -> None:
    with sample_partner(hostnames=None) as running:
        status, doc = connect(running, new_request())
    assert status == 200 and doc["redirect_uri"].startswith(f"{running.url}/")


def test_fault_names_are_unique_and_described() -> None:
    assert len(set(FAULT_NAMES)) == len(FAULTS)
    assert all(f.description for f in FAULTS)
    with pytest.raises(ValueError, match="unknown fault"):
        SamplePartner(fault="nope")


def test_a_query_fault_applies_to_one_request_only(partner: SamplePartner) -> None:
    assert post(f"{partner.url}/connect?fault=wrong_status", new_request()).status == 202
    assert post(f"{partner.url}/connect", new_request("b")).status == 200
    assert post(f"{partner.url}/connect?fault=no-such-fault", new_request("c")).status == 200


@pytest.mark.parametrize(
    ("fault", "content_type"),
    [("html_body", "text/html"), ("text_plain", "text/plain"), ("no_content_type", "")],
)
def test_content_type_faults(fault: str, content_type: str) -> None:
    with sample_partner(fault=fault) as running:
        response = post(f"{running.url}/connect", new_request())
    assert response.status == 200 and response.content_type == content_type


def test_huge_body_fault_is_several_megabytes() -> None:
    with sample_partner(fault="huge_body") as running:
        response = post(f"{running.url}/connect", new_request(), max_body_bytes=50 * 1024 * 1024)
    assert len(response.body) > 4 * 1024 * 1024 and not response.truncated


def test_redirect_fault_is_not_followed() -> None:
    with sample_partner(fault="redirect") as running:
        response = post(f"{running.url}/connect", new_request())
    assert response.status == 302 and response.headers["location"].startswith("https://")


def test_port_in_use_is_one_error_not_an_exit() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(StpError, match=f"cannot listen on 127.0.0.1:{port}"):
            SamplePartner(port=port).start()


def test_stop_closes_the_port() -> None:
    running = SamplePartner().start()
    url = running.url
    running.stop()
    with pytest.raises(TransportFailure) as caught:
        http.send("GET", url + "/", timeout=2)
    assert caught.value.kind == "connection_refused"


def test_requests_are_logged_through_the_callback() -> None:
    lines: list[str] = []
    with SamplePartner(auth_header=BASIC, hostnames=HOSTNAME, fault="bad_enum", log=lines.append) as running:
        post(f"{running.url}/connect", new_request())
        post(f"{running.url}/connect", new_request(), auth="Basic eDp5")
    assert lines == ["POST /connect -> 200 [fault bad_enum]", "POST /connect -> 401 [fault bad_enum]"]
    assert all(BASIC not in line for line in lines)
