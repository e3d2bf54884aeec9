"""The emulator's workspace surface over real HTTP: identity, auth, self-testing partners, routing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from emulator_client import PARTNERS, RawClient, Reply, partner_body, raw_exchange

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, Emulator

ME = "/api/2.0/preview/scim/v2/Me"
CONFIG = partner_body()


def assert_error(reply: Reply, status: int, error_code: str, message: str | None = None) -> None:
    assert reply.status == status, reply.body
    assert reply.content_type.startswith("application/json")
    assert reply.error_code == error_code
    if message is not None:
        assert reply.message == message


def create(client: RawClient, data: dict[str, Any] | None = None) -> str:
    reply = client.post(f"{PARTNERS}/create", data or CONFIG)
    assert reply.status == 200, reply.body
    return str(reply.json()["id"])


# -- identity and auth -------------------------------------------------------------


def test_host_metadata_names_the_oidc_endpoint_without_auth(emulator: Emulator) -> None:
    reply = RawClient(emulator.port, token=None).get("/.well-known/databricks-config")
    assert (reply.status, reply.json()) == (200, {"oidc_endpoint": f"http://127.0.0.1:{emulator.port}/oidc"})
    assert reply.headers["Content-Type"] == "application/json"


def test_me_for_admin_and_user(admin: RawClient, user: RawClient) -> None:
    me = admin.get(ME).json()
    assert me["userName"] == "admin@example.com"
    assert me["active"] is True
    assert me["id"] and me["displayName"]
    assert {g["display"] for g in me["groups"]} == {"admins", "users"}

    me = user.get(ME).json()
    assert me["userName"] == "user@example.com"
    assert {g["display"] for g in me["groups"]} == {"users"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer dapi-not-a-token"},
        {"Authorization": f"Basic {DEFAULT_ADMIN_TOKEN}"},
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "unknown", "not-bearer", "empty"],
)
@pytest.mark.parametrize("method, path", [("GET", ME), ("GET", f"{PARTNERS}/get"), ("POST", f"{PARTNERS}/create")])
def test_a_bad_token_gets_the_workspace_html_403(
    emulator: Emulator, headers: dict[str, str], method: str, path: str
) -> None:
    reply = RawClient(emulator.port, token=None).request(method, path, headers=headers)
    assert reply.status == 403
    assert reply.headers["Content-Type"].startswith("text/html")
    assert reply.headers["x-databricks-reason-phrase"] == "Invalid access token."
    page = reply.body.decode()
    assert "<title>Error 403 Invalid access token.</title>" in page
    assert f"Problem accessing {path}." in page


def test_the_token_scheme_is_case_insensitive(emulator: Emulator) -> None:
    client = RawClient(emulator.port, token=None)
    reply = client.request("GET", ME, headers={"Authorization": f"bearer {DEFAULT_ADMIN_TOKEN}"})
    assert reply.status == 200


def test_custom_tokens() -> None:
    with Emulator(admin_token="dapi-a", user_token="dapi-u") as emu:
        assert RawClient(emu.port, "dapi-a").get(ME).json()["userName"] == "admin@example.com"
        assert RawClient(emu.port, "dapi-u").get(ME).json()["userName"] == "user@example.com"
        assert RawClient(emu.port, DEFAULT_ADMIN_TOKEN).get(ME).status == 403


@pytest.mark.parametrize(("admin_token", "user_token"), [("same", "same"), ("", "dapi-u"), ("dapi-a", "")])
def test_tokens_must_be_non_empty_and_differ(admin_token: str, user_token: str) -> None:
    with pytest.raises(ValueError, match="token"):
        Emulator(admin_token=admin_token, user_token=user_token)


# -- self-testing partners -------------------------------------------------------


def test_partner_lifecycle(admin: RawClient) -> None:
    assert admin.get(f"{PARTNERS}/get").json() == {}  # no "partners" key when none

    partner_id = create(admin)
    assert re.fullmatch(r"[0-9A-F]{32}", partner_id)
    assert admin.get(f"{PARTNERS}/get").json() == {"partners": [{"id": partner_id, "name": "Test Partner"}]}

    reply = admin.request("PUT", f"{PARTNERS}/update/{partner_id}", partner_body(name="Renamed"))
    assert (reply.status, reply.json()) == (200, {})
    assert admin.get(f"{PARTNERS}/get").json() == {"partners": [{"id": partner_id, "name": "Renamed"}]}

    reply = admin.request("DELETE", f"{PARTNERS}/delete/{partner_id}")
    assert (reply.status, reply.json()) == (200, {})
    assert admin.get(f"{PARTNERS}/get").json() == {}


def test_ids_are_new_for_every_partner(admin: RawClient) -> None:
    first = create(admin)
    admin.request("DELETE", f"{PARTNERS}/delete/{first}")
    assert create(admin) != first


def test_only_one_active_partner(admin: RawClient) -> None:
    create(admin)
    reply = admin.post(f"{PARTNERS}/create", partner_body(name="Second"))
    assert_error(reply, 400, "BAD_REQUEST", "Workspace already has an active self-testing partner.")
    assert len(admin.get(f"{PARTNERS}/get").json()["partners"]) == 1


def test_trailing_slashes_are_accepted(admin: RawClient) -> None:
    partner_id = admin.post(f"{PARTNERS}/create/", CONFIG).json()["id"]
    assert admin.get(f"{PARTNERS}/get/").json()["partners"][0]["id"] == partner_id
    assert admin.request("PUT", f"{PARTNERS}/update/{partner_id}/", CONFIG).status == 200
    assert admin.request("DELETE", f"{PARTNERS}/delete/{partner_id}/").status == 200


def test_partners_are_admin_only(admin: RawClient, user: RawClient) -> None:
    partner_id = create(admin)
    calls = [
        ("POST", f"{PARTNERS}/create", CONFIG),
        ("GET", f"{PARTNERS}/get", None),
        ("PUT", f"{PARTNERS}/update/{partner_id}", CONFIG),
        ("DELETE", f"{PARTNERS}/delete/{partner_id}", None),
    ]
    for method, path, body in calls:
        assert_error(user.request(method, path, body), 403, "PERMISSION_DENIED", "Workspace admin is required")
    assert admin.get(f"{PARTNERS}/get").json()["partners"][0]["id"] == partner_id  # untouched


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_unknown_partner_id(admin: RawClient, method: str) -> None:
    create(admin)
    operation = "update" if method == "PUT" else "delete"
    body = CONFIG if method == "PUT" else None
    reply = admin.request(method, f"{PARTNERS}/{operation}/{'0' * 32}", body)
    assert_error(reply, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize(
    "data, field",
    [
        ({}, "partner"),
        ({"partner": {k: v for k, v in CONFIG["partner"].items() if k != "connect_url"}}, "partner.connect_url"),
        (partner_body(category="etl"), "partner.category"),
        (partner_body(hostnames="https://partner.example.com"), "partner.hostnames"),
        (partner_body(hostnames=["partner.example.com"]), "partner.hostnames"),
        (partner_body(auth_options=["AUTH_OAUTH_M2M", "AUTH_PAT"]), "partner.auth_options"),
    ],
    ids=["no-partner", "missing-field", "bad-enum", "scheme-in-hostnames", "hostnames-array", "m2m-with-pat"],
)
def test_invalid_configs_are_refused_with_the_first_error(admin: RawClient, data: dict[str, Any], field: str) -> None:
    reply = admin.post(f"{PARTNERS}/create", data)
    assert_error(reply, 400, "INVALID_PARAMETER_VALUE")
    assert reply.json()["message"].startswith(f"{field}: ")
    assert admin.get(f"{PARTNERS}/get").json() == {}


def test_update_validates_too(admin: RawClient) -> None:
    partner_id = create(admin)
    data = partner_body(name="Never stored")
    data["partner"]["hostname"] = data["partner"].pop("hostnames")
    reply = admin.request("PUT", f"{PARTNERS}/update/{partner_id}", data)
    assert_error(reply, 400, "INVALID_PARAMETER_VALUE")
    assert reply.json()["message"].startswith("partner.hostname: ")
    assert admin.get(f"{PARTNERS}/get").json() == {"partners": [{"id": partner_id, "name": "Test Partner"}]}


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"partner"', b"\xff\xfe"])
def test_bodies_that_are_not_json_objects(admin: RawClient, raw: bytes) -> None:
    reply = admin.post(f"{PARTNERS}/create", raw)
    assert_error(reply, 400, "MALFORMED_REQUEST")
    partner_id = create(admin)
    assert_error(admin.request("PUT", f"{PARTNERS}/update/{partner_id}", raw), 400, "MALFORMED_REQUEST")


def test_update_replaces_the_stored_config(emulator: Emulator, admin: RawClient) -> None:
    partner_id = create(admin)
    admin.request("PUT", f"{PARTNERS}/update/{partner_id}", partner_body(name="New", hostnames="new.example.com"))
    with emulator.store.transaction() as db:
        (stored,) = db.execute("SELECT config FROM partners WHERE id = ?", (partner_id,)).fetchone()
    assert '"new.example.com"' in stored and '"partner.example.com"' not in stored


# -- routing -------------------------------------------------------------------


def test_unknown_routes_and_methods_answer_json(admin: RawClient) -> None:
    assert_error(admin.get("/api/2.0/clusters/list"), 404, "ENDPOINT_NOT_FOUND")
    assert_error(admin.get(f"{PARTNERS}/nope"), 404, "ENDPOINT_NOT_FOUND")
    reply = admin.request("DELETE", f"{PARTNERS}/get")
    assert_error(reply, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in reply.json()["message"]
    assert_error(admin.get(f"{PARTNERS}/create"), 405, "METHOD_NOT_ALLOWED")
    assert_error(admin.post(f"{PARTNERS}/get", CONFIG), 405, "METHOD_NOT_ALLOWED")
    assert admin.get(f"{PARTNERS}/get").json() == {}  # nothing was created on the way


def test_absolute_form_targets_as_sent_through_a_proxy(emulator: Emulator) -> None:
    # The legacy databricks-cli drops the port from the host; through HTTP_PROXY it sends this.
    answer = raw_exchange(
        emulator.port,
        b"GET http://127.0.0.1/api/2.0/preview/scim/v2/Me?x=1 HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\n"
        b"Authorization: Bearer " + DEFAULT_ADMIN_TOKEN.encode() + b"\r\n\r\n",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b'"userName": "admin@example.com"' in body
    assert emulator.request_log[-1].path == ME


@pytest.mark.parametrize("authority", ["127.0.0.1:{port}", "127.0.0.1", "workspace.example.com"])
def test_an_absolute_form_post_creates_a_partner(emulator: Emulator, admin: RawClient, authority: str) -> None:
    host = authority.format(port=emulator.port)
    body = json.dumps(CONFIG).encode()
    head = (
        f"POST http://{host}{PARTNERS}/create HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {DEFAULT_ADMIN_TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    status, _, payload = raw_exchange(emulator.port, head.encode() + body).partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 200"), status
    partner_id = json.loads(payload)["id"]
    assert admin.get(f"{PARTNERS}/get").json() == {"partners": [{"id": partner_id, "name": "Test Partner"}]}


def test_the_request_log(emulator: Emulator, admin: RawClient, user: RawClient) -> None:
    admin.get(ME)
    user.get(f"{PARTNERS}/get")
    admin.get("/api/2.0/secrets/list", scope="missing")
    log = [(r.method, r.path, r.status) for r in emulator.request_log]
    assert log == [
        ("GET", ME, 200),
        ("GET", f"{PARTNERS}/get", 403),
        ("GET", "/api/2.0/secrets/list", 404),  # no query string
    ]
    emulator.clear_log()
    assert emulator.request_log == []


def test_the_request_log_is_a_copy(emulator: Emulator, admin: RawClient) -> None:
    snapshot = emulator.request_log
    admin.get(ME)
    assert snapshot == []
    assert len(emulator.request_log) == 1
