"""The endpoint credential in workspace secrets (contracts.md section 3).

Partner Connect reads the Authorization header it sends to the partner from
scope ``partner-connect``, key = the partner id. For NON_ADMIN partners the
principal ``users`` must be able to READ the scope; admins read every scope
regardless of ACLs, which hides a missing ACL from anyone testing as an admin.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from stp_ext.errors import NotFoundError, WorkspaceError

if TYPE_CHECKING:
    from stp_ext.auth_header import AuthHeader
    from stp_ext.workspace import Workspace

SCOPE = "partner-connect"
USERS = "users"
SECRETS = "/api/2.0/secrets"
_RANK = {"READ": 1, "WRITE": 2, "MANAGE": 3}


@dataclass
class PutResult:
    scope: str
    key: str
    scope_created: bool
    users_read: bool | None  # None: not needed (admin-only partner) and not checked
    done: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("done")
        return data


@dataclass
class Check:
    check: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SecretStepFailed(WorkspaceError):
    """One step of storing the credential failed.

    ``done`` lists the steps before it, ``not_done`` what is still missing
    (the failed step and those after it), both as text for the user.
    """

    def __init__(self, step: str, cause: WorkspaceError, done: list[str], not_done: list[str]) -> None:
        super().__init__(
            f"{step} failed: {cause.message}", cause.hint, status=cause.status, error_code=cause.error_code
        )
        self.step = step
        self.done = list(done)
        self.not_done = list(not_done)


class CredentialService:
    def __init__(self, workspace: Workspace, scope: str = SCOPE) -> None:
        self._ws = workspace
        self.scope = scope

    # -- put ------------------------------------------------------------------

    def put(self, key: str, header: AuthHeader, *, non_admin: bool) -> PutResult:
        """Store the header under ``key``; for NON_ADMIN make sure ``users`` can READ.

        Idempotent: rerunning after a failure converges. Fewest round trips on
        a fresh workspace: scope create (with users as manager when non-admin),
        put; an ACL request only when the scope already existed.
        """
        done: list[str] = []
        store = f"store the secret {self.scope}/{key}"
        grant = f"grant {USERS!r} READ on scope {self.scope!r}"
        result = PutResult(scope=self.scope, key=key, scope_created=False, users_read=None, done=done)
        try:
            result.scope_created = self._ensure_scope(non_admin)
        except WorkspaceError as e:
            missing = [store, grant] if non_admin else [store]
            raise SecretStepFailed(f"creating secret scope {self.scope!r}", e, done, missing) from None
        done.append(f"secret scope {self.scope!r} {'created' if result.scope_created else 'already existed'}")
        # A scope created for a non-admin partner has `users` as manager already.
        grant_needed = non_admin and not result.scope_created
        try:
            self._ws.do("POST", f"{SECRETS}/put", body={"scope": self.scope, "key": key, "string_value": header.value})
        except WorkspaceError as e:
            missing = [store, grant] if grant_needed else [store]
            raise SecretStepFailed(f"storing the secret {self.scope}/{key}", e, done, missing) from None
        done.append(f"secret {self.scope}/{key} stored ({header})")
        if non_admin:
            if result.scope_created:
                result.users_read = True  # created with initial_manage_principal=users
            else:
                try:
                    result.users_read = self._ensure_users_read()
                except WorkspaceError as e:
                    raise SecretStepFailed(
                        f"granting {USERS!r} READ on scope {self.scope!r}", e, done, [grant]
                    ) from None
            done.append(f"{USERS!r} can READ scope {self.scope!r}")
        return result

    def _ensure_scope(self, non_admin: bool) -> bool:
        body: dict[str, Any] = {"scope": self.scope}
        if non_admin:
            body["initial_manage_principal"] = USERS
        try:
            self._ws.do("POST", f"{SECRETS}/scopes/create", body=body)
        except WorkspaceError as e:
            if e.error_code == "RESOURCE_ALREADY_EXISTS":
                return False  # created meanwhile or before: fine (race-safe)
            raise
        return True

    def _ensure_users_read(self) -> bool:
        current = self.users_permission()
        if current is None:
            self._ws.do(
                "POST", f"{SECRETS}/acls/put", body={"scope": self.scope, "principal": USERS, "permission": "READ"}
            )
        return True

    def users_permission(self) -> str | None:
        try:
            body = self._ws.do("GET", f"{SECRETS}/acls/get", query={"scope": self.scope, "principal": USERS})
        except NotFoundError:
            return None
        permission = body.get("permission")
        return permission if isinstance(permission, str) else None

    # -- status -----------------------------------------------------------------

    def status(self, key: str, *, non_admin: bool | None) -> list[Check]:
        checks: list[Check] = []
        try:
            secrets = self._ws.do("GET", f"{SECRETS}/list", query={"scope": self.scope}).get("secrets") or []
        except NotFoundError:
            checks.append(Check("scope exists", False, f"scope {self.scope!r} does not exist"))
            checks.append(Check("secret present", False, f"no secret {self.scope}/{key}"))
            if non_admin:
                checks.append(Check(f"{USERS} can READ", False, "the scope does not exist"))
            return checks
        checks.append(Check("scope exists", True, f"scope {self.scope!r}"))
        entry = next((s for s in secrets if s.get("key") == key), None)
        if entry is None:
            checks.append(Check("secret present", False, f"no secret {self.scope}/{key}"))
        else:
            checks.append(Check("secret present", True, f"{self.scope}/{key}, {_updated(entry)}"))
        permission = self.users_permission()
        can_read = permission is not None and _RANK.get(permission, 0) >= _RANK["READ"]
        if can_read:
            checks.append(Check(f"{USERS} can READ", True, f"{USERS} has {permission}"))
        elif non_admin:
            checks.append(
                Check(f"{USERS} can READ", False, f"{USERS} has no permission on the scope (NON_ADMIN needs READ)")
            )
        else:
            checks.append(
                Check(f"{USERS} can READ", True, f"{USERS} has no permission; only NON_ADMIN partners need READ")
            )
        return checks

    # -- delete -----------------------------------------------------------------

    def delete(self, key: str, *, missing_ok: bool = False) -> bool:
        """Delete the secret; returns False when it was not there and ``missing_ok``."""
        try:
            self._ws.do("POST", f"{SECRETS}/delete", body={"scope": self.scope, "key": key})
        except NotFoundError:
            if missing_ok:
                return False
            raise
        return True


def _updated(entry: dict[str, Any]) -> str:
    stamp = entry.get("last_updated_timestamp")
    if not isinstance(stamp, (int, float)):
        return "last update unknown"
    when = datetime.datetime.fromtimestamp(stamp / 1000, tz=datetime.timezone.utc)
    return f"updated {when:%Y-%m-%d %H:%M:%S} UTC"
