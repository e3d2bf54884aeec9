"""The Secrets API 2.0 (docs/rest-api.md): scopes, secrets and ACLs with permission checks.

Permissions are MANAGE > WRITE > READ. Admins pass every check; another user
has the highest of their own ACL and the ``users`` group's ACL on the scope.
Secret values are stored and returned, never logged.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from stp_ext.emulator.http import ApiError, Call, bad_request, not_found, permission_denied
from stp_ext.emulator.state import Store, now_ms

SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
KEY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
MAX_VALUE_BYTES = 128 * 1024
MAX_SECRETS_PER_SCOPE = 1000
MAX_SCOPES = 1000  # per workspace (Secrets API limits)
RANK = {"READ": 1, "WRITE": 2, "MANAGE": 3}
USERS_GROUP = "users"


def _scope_name(call: Call) -> str:
    scope = call.param("scope")
    if not isinstance(scope, str) or not SCOPE_NAME.match(scope):
        raise bad_request(
            "Scope name must consist of alphanumeric characters, dashes, underscores, periods and @, "
            "and may not exceed 128 characters."
        )
    return scope


def _key_name(call: Call) -> str:
    key = call.param("key")
    if not isinstance(key, str) or not KEY_NAME.match(key):
        raise bad_request(
            "Key must consist of alphanumeric characters, dashes, underscores and periods, "
            "and may not exceed 128 characters."
        )
    return key


def _stored_scope(db: Any, scope: str) -> str | None:
    """The scope's name as created: scope names are case-insensitive in a workspace."""
    row = db.execute("SELECT name FROM scopes WHERE name = ? COLLATE NOCASE", (scope,)).fetchone()
    return None if row is None else str(row[0])


def _require(db: Any, call: Call, given: str, needed: str) -> str:
    """The scope's stored name; 404 for a missing scope, 403 when the caller's permission is below ``needed``."""
    scope = _stored_scope(db, given)
    if scope is None:
        raise not_found(f"Scope {given} does not exist!")
    if call.user.is_admin:
        return scope
    principals = (call.user.user_name, *call.user.groups)
    marks = ",".join("?" * len(principals))
    rows = db.execute(f"SELECT permission FROM acls WHERE scope = ? AND principal IN ({marks})", (scope, *principals))
    best = max((RANK.get(p, 0) for (p,) in rows.fetchall()), default=0)
    if best < RANK[needed]:
        raise permission_denied(f"User {call.user.user_name} does not have {needed} permission on scope {scope}")
    return scope


# -- scopes -------------------------------------------------------------------


def create_scope(store: Store, call: Call) -> dict[str, Any]:
    scope = _scope_name(call)
    principal = call.param("initial_manage_principal", required=False)
    if principal not in (None, "", USERS_GROUP):
        raise bad_request("initial_manage_principal must be 'users' if specified")
    backend = call.param("scope_backend_type", required=False) or "DATABRICKS"
    if backend not in ("DATABRICKS", "AZURE_KEYVAULT"):
        raise bad_request(f"Invalid scope_backend_type: {backend}")
    if backend == "AZURE_KEYVAULT":
        raise bad_request("The emulator supports only Databricks-backed scopes (scope_backend_type DATABRICKS)")
    with store.transaction() as db:
        if _stored_scope(db, scope) is not None:
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"Scope {scope} already exists!")
        if db.execute("SELECT COUNT(*) FROM scopes").fetchone()[0] >= MAX_SCOPES:
            raise ApiError(400, "RESOURCE_LIMIT_EXCEEDED", f"Maximum number of scopes ({MAX_SCOPES}) exceeded")
        db.execute("INSERT INTO scopes VALUES (?, ?)", (scope, backend))
        # The one initial MANAGE ACL goes to initial_manage_principal when given, else to the
        # caller (Secrets API reference): with `users` the creator gets no ACL of their own.
        manager = USERS_GROUP if principal == USERS_GROUP else call.user.user_name
        db.execute("INSERT INTO acls VALUES (?, ?, 'MANAGE')", (scope, manager))
    return {}


def delete_scope(store: Store, call: Call) -> dict[str, Any]:
    scope = _scope_name(call)
    with store.transaction() as db:
        scope = _require(db, call, scope, "MANAGE")
        for table, column in (("secrets", "scope"), ("acls", "scope"), ("scopes", "name")):
            db.execute(f"DELETE FROM {table} WHERE {column} = ?", (scope,))
    return {}


def list_scopes(store: Store, call: Call) -> dict[str, Any]:
    with store.read() as db:
        rows = db.execute("SELECT name, backend_type FROM scopes ORDER BY name").fetchall()
    return {"scopes": [{"name": n, "backend_type": b} for n, b in rows]} if rows else {}


# -- secrets ------------------------------------------------------------------


def put_secret(store: Store, call: Call) -> dict[str, Any]:
    scope, key = _scope_name(call), _key_name(call)
    body = call.json_body()
    given = [name for name in ("string_value", "bytes_value") if body.get(name) is not None]
    if len(given) == 2:
        raise ApiError(400, "MALFORMED_REQUEST", "string_value and bytes_value cannot both be specified")
    if not given:
        raise bad_request("Exactly one of string_value or bytes_value must be specified")
    if given[0] == "string_value":
        if not isinstance(body["string_value"], str):
            raise bad_request("string_value must be a string")
        value = body["string_value"].encode("utf-8")
    else:
        try:
            value = base64.b64decode(str(body["bytes_value"]), validate=True)
        except (binascii.Error, ValueError):
            raise bad_request("bytes_value must be base64-encoded") from None
    if len(value) > MAX_VALUE_BYTES:
        raise bad_request(f"Secret value size exceeds the limit of {MAX_VALUE_BYTES} bytes")
    # An overwrite first (most puts: a rotated credential): one statement for an admin (no ACL).
    if call.user.is_admin and store.changed(_OVERWRITE_IN_STORED_SCOPE, (value, now_ms(), scope, key)):
        return {}
    with store.transaction() as db:
        if call.user.is_admin:  # again: another thread's write may have come between
            if db.execute(_OVERWRITE_IN_STORED_SCOPE, (value, now_ms(), scope, key)).rowcount:
                return {}
            scope = _require(db, call, scope, "WRITE")  # 404 for a missing scope
        else:
            scope = _require(db, call, scope, "WRITE")
            if db.execute(_OVERWRITE, (value, now_ms(), scope, key)).rowcount:
                return {}
        count = db.execute("SELECT COUNT(*) FROM secrets WHERE scope = ?", (scope,)).fetchone()[0]
        if count >= MAX_SECRETS_PER_SCOPE:
            raise ApiError(
                400, "RESOURCE_LIMIT_EXCEEDED", f"Maximum number of secrets ({MAX_SECRETS_PER_SCOPE}) exceeded"
            )
        db.execute("INSERT INTO secrets VALUES (?, ?, ?, ?)", (scope, key, value, now_ms()))
    return {}


_OVERWRITE = "UPDATE secrets SET value = ?, updated_ms = ? WHERE scope = ? AND key = ?"
# The same, the scope as stored found as _stored_scope finds it (scope names are case-insensitive).
_OVERWRITE_IN_STORED_SCOPE = (
    "UPDATE secrets SET value = ?, updated_ms = ? "
    "WHERE scope = (SELECT name FROM scopes WHERE name = ? COLLATE NOCASE) AND key = ?"
)


def delete_secret(store: Store, call: Call) -> dict[str, Any]:
    scope, key = _scope_name(call), _key_name(call)
    with store.transaction() as db:
        scope = _require(db, call, scope, "WRITE")
        if db.execute("DELETE FROM secrets WHERE scope = ? AND key = ?", (scope, key)).rowcount == 0:
            raise not_found(f"Secret {key} does not exist in scope {scope}!")
    return {}


def list_secrets(store: Store, call: Call) -> dict[str, Any]:
    scope = _scope_name(call)
    with store.read() as db:
        scope = _require(db, call, scope, "READ")
        rows = db.execute("SELECT key, updated_ms FROM secrets WHERE scope = ? ORDER BY key", (scope,)).fetchall()
    return {"secrets": [{"key": k, "last_updated_timestamp": t} for k, t in rows]} if rows else {}


def get_secret(store: Store, call: Call) -> dict[str, Any]:
    scope, key = _scope_name(call), _key_name(call)
    return {"key": key, "value": base64.b64encode(read_as(store, call, scope, key)).decode("ascii")}


# -- ACLs ---------------------------------------------------------------------


def _principal(call: Call) -> str:
    principal = call.param("principal")
    if not isinstance(principal, str) or not principal.strip():
        raise bad_request("principal must be a non-empty string")
    return principal


def put_acl(store: Store, call: Call) -> dict[str, Any]:
    scope, principal = _scope_name(call), _principal(call)
    permission = call.param("permission")
    if permission not in RANK:
        raise bad_request(f"Invalid permission {permission!r}: must be one of READ, WRITE, MANAGE")
    with store.transaction() as db:
        scope = _require(db, call, scope, "MANAGE")
        db.execute("INSERT OR REPLACE INTO acls VALUES (?, ?, ?)", (scope, principal, permission))
    return {}


def delete_acl(store: Store, call: Call) -> dict[str, Any]:
    scope, principal = _scope_name(call), _principal(call)
    with store.transaction() as db:
        scope = _require(db, call, scope, "MANAGE")
        if db.execute("DELETE FROM acls WHERE scope = ? AND principal = ?", (scope, principal)).rowcount == 0:
            raise not_found(f"ACL for principal {principal} does not exist in scope {scope}!")
    return {}


def get_acl(store: Store, call: Call) -> dict[str, Any]:
    scope, principal = _scope_name(call), _principal(call)
    with store.read() as db:
        scope = _require(db, call, scope, "MANAGE")
        row = db.execute("SELECT permission FROM acls WHERE scope = ? AND principal = ?", (scope, principal)).fetchone()
    if row is None:
        raise not_found(f"ACL for principal {principal} does not exist in scope {scope}!")
    return {"principal": principal, "permission": row[0]}


def list_acls(store: Store, call: Call) -> dict[str, Any]:
    scope = _scope_name(call)
    with store.read() as db:
        scope = _require(db, call, scope, "MANAGE")
        rows = db.execute("SELECT principal, permission FROM acls WHERE scope = ? ORDER BY principal", (scope,))
        items = [{"principal": p, "permission": perm} for p, perm in rows.fetchall()]
    return {"items": items} if items else {}


def read_as(store: Store, call: Call, scope: str, key: str) -> bytes:
    """A secret's value read with ``call.user``'s rights, as a workspace reads one on a user's behalf.

    For Partner Connect's click (partner_connect.py), and for ``get``: the same 404 and 403.
    """
    with store.read() as db:
        if call.user.is_admin:  # no ACL to read: the scope as stored and the value in one statement
            found = db.execute(_SCOPE_AND_VALUE, (key, scope)).fetchone()
            if found is None:
                raise not_found(f"Scope {scope} does not exist!")
            scope, value = found
        else:
            scope = _require(db, call, scope, "READ")
            row = db.execute("SELECT value FROM secrets WHERE scope = ? AND key = ?", (scope, key)).fetchone()
            value = None if row is None else row[0]
    if value is None:
        raise not_found(f"Secret {key} does not exist in scope {scope}!")
    return bytes(value)


# What _require and the value's SELECT answer for an admin (scope names are case-insensitive, as in
# _stored_scope); the value is NULL when the scope has no such key (a stored value never is).
_SCOPE_AND_VALUE = (
    "SELECT s.name, x.value FROM scopes s LEFT JOIN secrets x ON x.scope = s.name AND x.key = ? "
    "WHERE s.name = ? COLLATE NOCASE"
)
