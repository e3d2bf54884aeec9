"""The emulator's Secrets API 2.0 (docs/rest-api.md), over raw HTTP."""

from __future__ import annotations

import base64
import os
import time

import pytest
from emulator_client import SECRETS, RawClient, Reply

from stp_ext.emulator import ADMIN, USER

LIMIT = 128 * 1024


@pytest.fixture
def scope(admin: RawClient) -> str:
    assert admin.create_scope("partner-connect").status == 200
    return "partner-connect"


def assert_error(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status, reply.body
    assert reply.content_type.startswith("application/json")
    assert reply.error_code == code, reply.body


# -- scopes ----------------------------------------------------------------------------


def test_scope_lifecycle(admin: RawClient) -> None:
    assert admin.get(f"{SECRETS}/scopes/list").json().get("scopes", []) == []
    reply = admin.create_scope("partner-connect")
    assert (reply.status, reply.json()) == (200, {})
    assert admin.get(f"{SECRETS}/scopes/list").json() == {
        "scopes": [{"name": "partner-connect", "backend_type": "DATABRICKS"}]
    }
    reply = admin.post(f"{SECRETS}/scopes/delete", {"scope": "partner-connect"})
    assert (reply.status, reply.json()) == (200, {})
    assert admin.scope_names() == []


def test_an_existing_scope_already_exists(admin: RawClient, scope: str) -> None:
    admin.put_secret(scope, "k", "v")
    reply = admin.create_scope(scope)
    assert_error(reply, 400, "RESOURCE_ALREADY_EXISTS")
    assert reply.message == f"Scope {scope} already exists!"
    assert admin.secret_value(scope, "k") == b"v"  # the existing scope is left alone


@pytest.mark.parametrize("name", ["has space", "slash/inside", "a" * 129, "", "ünï", "semi;colon", "plus+"])
def test_bad_scope_names_are_refused(admin: RawClient, name: str) -> None:
    assert_error(admin.create_scope(name), 400, "INVALID_PARAMETER_VALUE")
    assert admin.scope_names() == []


@pytest.mark.parametrize("name", ["a" * 128, "user@example.com", "a.b-c_D9", "x"])
def test_good_scope_names_are_accepted(admin: RawClient, name: str) -> None:
    assert admin.create_scope(name).status == 200
    assert admin.scope_names() == [name]


@pytest.mark.parametrize(("key", "ok"), [("a" * 128, True), ("a.b-c_D9", True), ("a" * 129, False), ("k@x", False)])
def test_key_names(admin: RawClient, scope: str, key: str, ok: bool) -> None:
    reply = admin.put_secret(scope, key, "v")
    if ok:
        assert reply.status == 200
        assert admin.secret_keys(scope) == [key]
    else:
        assert_error(reply, 400, "INVALID_PARAMETER_VALUE")
        assert admin.secret_keys(scope) == []


@pytest.mark.parametrize("principal", ["admins", "someone@example.com"])
def test_initial_manage_principal_may_only_be_users(admin: RawClient, principal: str) -> None:
    reply = admin.create_scope("s", initial_manage_principal=principal)
    assert_error(reply, 400, "INVALID_PARAMETER_VALUE")
    assert admin.scope_names() == []


def test_a_missing_scope_does_not_exist_for_every_operation(admin: RawClient) -> None:
    calls = [
        admin.post(f"{SECRETS}/scopes/delete", {"scope": "nope"}),
        admin.put_secret("nope", "k", "v"),
        admin.post(f"{SECRETS}/delete", {"scope": "nope", "key": "k"}),
        admin.get(f"{SECRETS}/list", scope="nope"),
        admin.get(f"{SECRETS}/get", scope="nope", key="k"),
        admin.put_acl("nope", "users", "READ"),
        admin.post(f"{SECRETS}/acls/delete", {"scope": "nope", "principal": "users"}),
        admin.get(f"{SECRETS}/acls/get", scope="nope", principal="users"),
        admin.get(f"{SECRETS}/acls/list", scope="nope"),
    ]
    for reply in calls:
        assert_error(reply, 404, "RESOURCE_DOES_NOT_EXIST")
        assert reply.message == "Scope nope does not exist!"
    assert admin.scope_names() == []


# -- secrets ---------------------------------------------------------------------------


def test_string_value_round_trip_and_overwrite(admin: RawClient, scope: str) -> None:
    assert admin.put_secret(scope, "k", "Basic dXNlcjpwYXNz").json() == {}
    assert admin.secret_value(scope, "k") == b"Basic dXNlcjpwYXNz"
    reply = admin.get(f"{SECRETS}/get", scope=scope, key="k")
    assert reply.json() == {"key": "k", "value": base64.b64encode(b"Basic dXNlcjpwYXNz").decode()}
    assert admin.put_secret(scope, "k", "naïve ✓").status == 200
    assert admin.secret_value(scope, "k") == "naïve ✓".encode()
    assert admin.secret_keys(scope) == ["k"]


def test_bytes_value_round_trip(admin: RawClient, scope: str) -> None:
    raw = bytes(range(256)) + os.urandom(64)  # not UTF-8: must come back byte for byte
    reply = admin.post(f"{SECRETS}/put", {"scope": scope, "key": "b", "bytes_value": base64.b64encode(raw).decode()})
    assert reply.status == 200
    assert admin.secret_value(scope, "b") == raw


def test_bytes_value_must_be_base64(admin: RawClient, scope: str) -> None:
    reply = admin.post(f"{SECRETS}/put", {"scope": scope, "key": "b", "bytes_value": "not base64!"})
    assert_error(reply, 400, "INVALID_PARAMETER_VALUE")
    assert admin.secret_keys(scope) == []


def test_an_empty_string_value_is_a_secret(admin: RawClient, scope: str) -> None:
    """Partner Connect needs the secret to exist, empty, when the partner wants no Authorization header."""
    assert admin.put_secret(scope, "ID", "").status == 200
    assert admin.secret_keys(scope) == ["ID"]
    assert admin.get(f"{SECRETS}/get", scope=scope, key="ID").json() == {"key": "ID", "value": ""}


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, "INVALID_PARAMETER_VALUE"),
        ({"string_value": None}, "INVALID_PARAMETER_VALUE"),
        # Both at once is a malformed request in a workspace, not a bad value.
        ({"string_value": "a", "bytes_value": base64.b64encode(b"b").decode()}, "MALFORMED_REQUEST"),
    ],
)
def test_exactly_one_of_string_value_or_bytes_value(
    admin: RawClient, scope: str, fields: dict[str, str], code: str
) -> None:
    reply = admin.post(f"{SECRETS}/put", {"scope": scope, "key": "k", **fields})
    assert_error(reply, 400, code)
    assert admin.secret_keys(scope) == []


def test_scope_names_are_case_insensitive(admin: RawClient) -> None:
    assert admin.create_scope("Team-Scope").status == 200
    assert_error(admin.create_scope("team-scope"), 400, "RESOURCE_ALREADY_EXISTS")
    assert admin.put_secret("TEAM-SCOPE", "k", "v").status == 200
    assert admin.secret_value("team-scope", "k") == b"v"
    assert admin.scope_names() == ["Team-Scope"]  # listed as created
    assert admin.post(f"{SECRETS}/scopes/delete", {"scope": "team-SCOPE"}).status == 200
    assert admin.scope_names() == []


def test_an_overwrite_through_another_spelling_of_the_scope(admin: RawClient) -> None:
    """An admin's overwrite is one statement (no transaction around it): same answer, same stored secret."""
    assert admin.create_scope("Team-Scope").status == 200
    assert admin.put_secret("Team-Scope", "k", "old").status == 200
    reply = admin.put_secret("TEAM-SCOPE", "k", "new")
    assert (reply.status, reply.body) == (200, b"{}")
    assert admin.secret_value("team-scope", "k") == b"new"
    assert admin.secret_keys("Team-Scope") == ["k"]
    assert_error(admin.put_secret("no-such-scope", "k", "v"), 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize(
    "body",
    [
        '{"scope": "s", "key": "k", "string_value": "é"}'.encode("utf-16-le"),  # detected, as json.loads does
        '{"scope": "s", "key": "k", "string_value": "é"}'.encode(),
    ],
)
def test_a_json_body_is_read_in_the_encoding_it_is_sent_in(admin: RawClient, body: bytes) -> None:
    assert admin.create_scope("s").status == 200
    assert admin.post(f"{SECRETS}/put", body).status == 200
    assert admin.secret_value("s", "k") == "é".encode()


@pytest.mark.parametrize("body", [b'{"scope": "s", "key": "k", "string_value": "\xff"', b'{"a": "\xff"}', b"{\x00}"])
def test_a_body_that_is_not_json_is_malformed(admin: RawClient, body: bytes) -> None:
    assert admin.create_scope("s").status == 200
    assert_error(admin.post(f"{SECRETS}/put", body), 400, "MALFORMED_REQUEST")


def test_a_workspace_holds_a_thousand_scopes(admin: RawClient) -> None:
    from stp_ext.emulator.secrets_api import MAX_SCOPES

    assert MAX_SCOPES == 1000
    for i in range(MAX_SCOPES):
        assert admin.create_scope(f"s{i}").status == 200, i
    assert_error(admin.create_scope("one-too-many"), 400, "RESOURCE_LIMIT_EXCEEDED")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("x" * LIMIT, True),
        ("x" * (LIMIT + 1), False),
        ("é" * (LIMIT // 2), True),  # the limit is in bytes: 2 bytes each in UTF-8
        ("é" * (LIMIT // 2) + "x", False),
    ],
)
def test_string_value_size_limit(admin: RawClient, scope: str, value: str, ok: bool) -> None:
    reply = admin.put_secret(scope, "k", value)
    if ok:
        assert reply.status == 200
        assert admin.secret_value(scope, "k") == value.encode()
    else:
        assert_error(reply, 400, "INVALID_PARAMETER_VALUE")
        assert admin.secret_keys(scope) == []


@pytest.mark.parametrize(("size", "ok"), [(LIMIT, True), (LIMIT + 1, False)])
def test_bytes_value_size_limit(admin: RawClient, scope: str, size: int, ok: bool) -> None:
    encoded = base64.b64encode(b"\x00" * size).decode()
    reply = admin.post(f"{SECRETS}/put", {"scope": scope, "key": "k", "bytes_value": encoded})
    assert reply.status == (200 if ok else 400)
    assert admin.secret_keys(scope) == (["k"] if ok else [])


def test_list_gives_keys_and_millisecond_timestamps(admin: RawClient, scope: str) -> None:
    before = int(time.time() * 1000)
    admin.put_secret(scope, "b", "2")
    admin.put_secret(scope, "a", "1")
    after = int(time.time() * 1000)
    listed = admin.get(f"{SECRETS}/list", scope=scope).json()["secrets"]
    assert sorted(s["key"] for s in listed) == ["a", "b"]
    for item in listed:
        assert set(item) == {"key", "last_updated_timestamp"}  # never the value
        assert isinstance(item["last_updated_timestamp"], int)
        assert before - 1000 <= item["last_updated_timestamp"] <= after + 1000


def test_missing_secret_does_not_exist(admin: RawClient, scope: str) -> None:
    assert_error(admin.get(f"{SECRETS}/get", scope=scope, key="nope"), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(admin.post(f"{SECRETS}/delete", {"scope": scope, "key": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_delete_secret_and_scope(admin: RawClient, scope: str) -> None:
    admin.put_secret(scope, "k", "v")
    admin.put_secret(scope, "other", "w")
    assert admin.post(f"{SECRETS}/delete", {"scope": scope, "key": "k"}).json() == {}
    assert admin.secret_keys(scope) == ["other"]
    assert admin.post(f"{SECRETS}/scopes/delete", {"scope": scope}).status == 200
    # A scope created again with the same name starts empty: nothing of the old one survives.
    assert admin.create_scope(scope).status == 200
    assert admin.secret_keys(scope) == []
    assert admin.acls(scope) == {ADMIN.user_name: "MANAGE"}


def test_post_fields_come_from_the_json_body(admin: RawClient) -> None:
    assert_error(admin.post(f"{SECRETS}/scopes/create"), 400, "INVALID_PARAMETER_VALUE")
    assert_error(admin.post(f"{SECRETS}/scopes/create", "{oops"), 400, "MALFORMED_REQUEST")
    assert admin.scope_names() == []


# -- ACLs ------------------------------------------------------------------------------


def test_the_creator_gets_manage(admin: RawClient, scope: str) -> None:
    reply = admin.get(f"{SECRETS}/acls/list", scope=scope)
    assert reply.json() == {"items": [{"principal": ADMIN.user_name, "permission": "MANAGE"}]}


def test_initial_manage_principal_users_replaces_the_creators_acl(admin: RawClient, user: RawClient) -> None:
    """With initial_manage_principal the one initial ACL goes to `users`, not to the caller as well."""
    assert admin.create_scope("pc", initial_manage_principal="users").status == 200
    assert admin.get(f"{SECRETS}/acls/list", scope="pc").json() == {
        "items": [{"principal": "users", "permission": "MANAGE"}]
    }
    assert user.create_scope("theirs", initial_manage_principal="users").status == 200
    assert user.acls("theirs") == {"users": "MANAGE"}  # still theirs to manage, through the group


def test_acl_put_get_list_delete(admin: RawClient, scope: str) -> None:
    assert admin.put_acl(scope, "users", "READ").json() == {}
    reply = admin.get(f"{SECRETS}/acls/get", scope=scope, principal="users")
    assert reply.json() == {"principal": "users", "permission": "READ"}
    assert admin.put_acl(scope, "users", "WRITE").status == 200  # put overwrites
    items = admin.get(f"{SECRETS}/acls/list", scope=scope).json()["items"]
    assert {"principal": "users", "permission": "WRITE"} in items
    assert len(items) == 2
    reply = admin.post(f"{SECRETS}/acls/delete", {"scope": scope, "principal": "users"})
    assert (reply.status, reply.json()) == (200, {})
    assert admin.acls(scope) == {ADMIN.user_name: "MANAGE"}


def test_missing_acl_does_not_exist(admin: RawClient, scope: str) -> None:
    reply = admin.get(f"{SECRETS}/acls/get", scope=scope, principal="users")
    assert_error(reply, 404, "RESOURCE_DOES_NOT_EXIST")
    reply = admin.post(f"{SECRETS}/acls/delete", {"scope": scope, "principal": "users"})
    assert_error(reply, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize("permission", ["read", "OWNER", ""])
def test_acl_permission_must_be_read_write_or_manage(admin: RawClient, scope: str, permission: str) -> None:
    assert_error(admin.put_acl(scope, "users", permission), 400, "INVALID_PARAMETER_VALUE")
    assert admin.acls(scope) == {ADMIN.user_name: "MANAGE"}


# -- permissions of a non-admin user ----------------------------------------------------

RANK = {None: 0, "READ": 1, "WRITE": 2, "MANAGE": 3}
OPERATIONS = {
    # name: (permission needed, call)
    "list": ("READ", lambda c, s: c.get(f"{SECRETS}/list", scope=s)),
    "get": ("READ", lambda c, s: c.get(f"{SECRETS}/get", scope=s, key="k")),
    "put": ("WRITE", lambda c, s: c.put_secret(s, "k2", "new")),
    "delete": ("WRITE", lambda c, s: c.post(f"{SECRETS}/delete", {"scope": s, "key": "k"})),
    "acls/list": ("MANAGE", lambda c, s: c.get(f"{SECRETS}/acls/list", scope=s)),
    "acls/get": ("MANAGE", lambda c, s: c.get(f"{SECRETS}/acls/get", scope=s, principal=ADMIN.user_name)),
    "acls/put": ("MANAGE", lambda c, s: c.put_acl(s, "someone@example.com", "READ")),
    "acls/delete": (
        "MANAGE",
        lambda c, s: c.post(f"{SECRETS}/acls/delete", {"scope": s, "principal": ADMIN.user_name}),
    ),
    "scopes/delete": ("MANAGE", lambda c, s: c.post(f"{SECRETS}/scopes/delete", {"scope": s})),
}


@pytest.mark.parametrize("granted", [None, "READ", "WRITE", "MANAGE"])
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_non_admin_needs_the_permission(
    admin: RawClient, user: RawClient, scope: str, granted: str | None, operation: str
) -> None:
    admin.put_secret(scope, "k", "v")
    if granted:
        admin.put_acl(scope, "users", granted)
    needed, call = OPERATIONS[operation]
    reply = call(user, scope)
    if RANK[granted] >= RANK[needed]:
        assert reply.status == 200, reply.body
    else:
        assert_error(reply, 403, "PERMISSION_DENIED")
        # Refused means refused: nothing changed.
        assert admin.scope_names() == [scope]
        assert admin.secret_keys(scope) == ["k"]
        assert admin.acls(scope) == {ADMIN.user_name: "MANAGE", **({"users": granted} if granted else {})}


def test_a_users_own_acl_counts_and_the_higher_grant_wins(admin: RawClient, user: RawClient, scope: str) -> None:
    admin.put_acl(scope, "users", "READ")
    assert_error(user.put_secret(scope, "k", "v"), 403, "PERMISSION_DENIED")
    admin.put_acl(scope, USER.user_name, "WRITE")
    assert user.put_secret(scope, "k", "v").status == 200
    assert_error(user.get(f"{SECRETS}/acls/list", scope=scope), 403, "PERMISSION_DENIED")


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_an_admin_passes_every_check_without_an_acl(admin: RawClient, user: RawClient, operation: str) -> None:
    """Workspace admins read every scope regardless of ACLs (why testing only as admin hides a missing ACL)."""
    assert user.create_scope("users-own").status == 200
    user.put_secret("users-own", "k", "v")
    assert ADMIN.user_name not in user.acls("users-own")
    _, call = OPERATIONS[operation]
    reply = call(admin, "users-own")
    # acls/delete of the admin's ACL, which does not exist here: the check passed, the ACL is missing.
    expected = 404 if operation in ("acls/get", "acls/delete") else 200
    assert reply.status == expected, reply.body


def test_a_non_admin_creating_a_scope_gets_manage_on_it(user: RawClient, admin: RawClient) -> None:
    assert user.create_scope("mine").status == 200
    assert user.get(f"{SECRETS}/acls/list", scope="mine").json() == {
        "items": [{"principal": USER.user_name, "permission": "MANAGE"}]
    }
    assert user.put_secret("mine", "k", "v").status == 200
    assert user.secret_value("mine", "k") == b"v"
    assert user.put_acl("mine", "users", "READ").status == 200
    assert admin.secret_value("mine", "k") == b"v"
    assert user.post(f"{SECRETS}/scopes/delete", {"scope": "mine"}).status == 200
    assert admin.scope_names() == []


def test_a_scope_created_for_users_is_readable_by_every_user(admin: RawClient, user: RawClient) -> None:
    """The NON_ADMIN case of docs/secrets.md: initial_manage_principal=users."""
    admin.create_scope("partner-connect", initial_manage_principal="users")
    admin.put_secret("partner-connect", "ID", "Bearer abc")
    assert user.secret_value("partner-connect", "ID") == b"Bearer abc"


def test_a_trailing_slash_is_accepted(admin: RawClient) -> None:
    assert admin.post(f"{SECRETS}/scopes/create/", {"scope": "s"}).status == 200
    assert admin.post(f"{SECRETS}/put/", {"scope": "s", "key": "k", "string_value": "v"}).status == 200
    assert admin.get(f"{SECRETS}/list/", scope="s").json()["secrets"][0]["key"] == "k"
    assert admin.get(f"{SECRETS}/acls/list/", scope="s").status == 200
