"""The endpoint credential in workspace secrets (docs/secrets.md).

Partner Connect reads the Authorization header it sends to the partner from
scope ``partner-connect``, key = the partner id. For NON_ADMIN partners the
principal ``users`` must be able to READ the scope; admins read every scope
regardless of ACLs, which hides a missing ACL from anyone testing as an admin.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from stp_ext.core.errors import NotFoundError, WorkspaceError

if TYPE_CHECKING:
    from stp_ext.core.auth_header import AuthHeader
    from stp_ext.workspace.client import Workspace

SCOPE = "partner-connect"
USERS = "users"
SECRETS = "/api/2.0/secrets"
ME_PATH = "/api/2.0/preview/scim/v2/Me"
_RANK = {"READ": 1, "WRITE": 2, "MANAGE": 3}


@dataclass
class PutResult:
    scope: str
    key: str
    scope_created: bool
    users_read: bool | None  # None: not needed (admin-only partner) and not checked
    # What `users` holds on the scope afterwards, where it was read or set (None: no ACL, or not looked at).
    users_permission: str | None = None
    done: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("done")
        return data


@dataclass
class Check:
    check: str
    ok: bool
    detail: str
    # Passed, but something the user should know (e.g. `users` may overwrite the credential).
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["warning"] is None:
            data.pop("warning")  # the documented shape, plus "warning" only when there is one
        return data


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


def _no_fine_grained_acls(error: WorkspaceError) -> bool:
    """The answer of a workspace without fine-grained secret ACLs (below the Premium tier).

    Real workspaces say: 'Premium Tier is disabled in this workspace. Secret
    scopes can only be created with initial_manage_principal "users".'
    """
    lowered = error.message.lower()
    return "premium" in lowered or "initial_manage_principal" in lowered


TOO_WIDE = (
    f"{USERS!r} holds {{permission}} on scope {SCOPE!r}: every workspace user can overwrite or delete the "
    "endpoint credential"
)


class CredentialService:
    def __init__(self, workspace: Workspace, scope: str = SCOPE) -> None:
        self._ws = workspace
        self.scope = scope

    # -- put ------------------------------------------------------------------

    def put(self, key: str, header: AuthHeader, *, non_admin: bool) -> PutResult:
        """Store the header under ``key``; for NON_ADMIN make sure ``users`` can READ, and no more.

        Idempotent: rerunning after a failure converges. The scope is created
        with its creator as manager (admins manage every scope anyway), and
        ``users`` then gets READ through an ACL: created with
        ``initial_manage_principal=users`` it would hold MANAGE, so any user
        could overwrite or delete the credential. That is done only where the
        workspace allows nothing else (no fine-grained ACLs below Premium), and
        then said in ``warnings``.
        """
        done: list[str] = []
        store = f"store the secret {self.scope}/{key}"
        grant = f"grant {USERS!r} READ on scope {self.scope!r}"
        result = PutResult(scope=self.scope, key=key, scope_created=False, users_read=None, done=done)
        try:
            result.scope_created, users_manage = self._ensure_scope()
        except WorkspaceError as e:
            missing = [store, grant] if non_admin else [store]
            raise SecretStepFailed(f"creating secret scope {self.scope!r}", e, done, missing) from None
        if users_manage:
            result.users_permission = "MANAGE"
            result.warnings.append(
                f"this workspace has no fine-grained secret ACLs (they need the Premium tier), so scope "
                f"{self.scope!r} was created with {USERS!r} as manager: every workspace user can read, "
                "overwrite or delete the endpoint credential"
            )
        done.append(f"secret scope {self.scope!r} {'created' if result.scope_created else 'already existed'}")
        try:
            self._ws.do("POST", f"{SECRETS}/put", body={"scope": self.scope, "key": key, "string_value": header.value})
        except WorkspaceError as e:
            missing = [store, grant] if non_admin else [store]
            raise SecretStepFailed(f"storing the secret {self.scope}/{key}", e, done, missing) from None
        done.append(f"secret {self.scope}/{key} stored ({header})")
        if non_admin:
            try:
                result.users_permission = self._ensure_users_read_only(result)
            except WorkspaceError as e:
                raise SecretStepFailed(f"granting {USERS!r} READ on scope {self.scope!r}", e, done, [grant]) from None
            result.users_read = True
            done.append(f"{USERS!r} can READ scope {self.scope!r} ({result.users_permission})")
        return result

    def _ensure_scope(self) -> tuple[bool, bool]:
        """(created, users manage it). Race-safe: a scope that exists already is fine."""
        try:
            self._ws.do("POST", f"{SECRETS}/scopes/create", body={"scope": self.scope})
        except WorkspaceError as e:
            if e.error_code == "RESOURCE_ALREADY_EXISTS":
                return False, False
            if not _no_fine_grained_acls(e):
                raise
        else:
            return True, False
        # Below Premium the only scope a workspace makes is one managed by `users`.
        try:
            self._ws.do(
                "POST", f"{SECRETS}/scopes/create", body={"scope": self.scope, "initial_manage_principal": USERS}
            )
        except WorkspaceError as e:
            if e.error_code == "RESOURCE_ALREADY_EXISTS":
                return False, False
            raise
        return True, True

    def _ensure_users_read_only(self, result: PutResult) -> str:
        """Make ``users`` hold READ: grant it when missing, lower WRITE/MANAGE to it where ACLs allow."""
        if result.scope_created:
            if result.users_permission == "MANAGE":
                return "MANAGE"  # a workspace without fine-grained ACLs; already said in warnings
            current = None  # just made by us: only its creator has an ACL
        else:
            current = self.users_permission()
        if current == "READ":
            return current
        try:
            self._put_users_read()
        except WorkspaceError as e:
            if current is None or e.status not in (400, 403):
                raise
            # users can READ already (they hold more); a workspace that cannot lower it is said, not fatal.
            result.warnings.append(
                TOO_WIDE.format(permission=current)
                + f"; the workspace refused to lower it to READ ({e.message}); fine-grained ACLs need the Premium tier"
            )
            return current
        if current is not None:
            result.done.append(f"{USERS!r} lowered from {current} to READ on scope {self.scope!r}")
        return "READ"

    def _put_users_read(self) -> None:
        self._ws.do("POST", f"{SECRETS}/acls/put", body={"scope": self.scope, "principal": USERS, "permission": "READ"})

    def users_permission(self) -> str | None:
        try:
            answer = self._ws.read("GET", f"{SECRETS}/acls/get", query={"scope": self.scope, "principal": USERS})
        except NotFoundError:
            return None
        return answer.text("permission")

    def stored_keys(self) -> list[str] | None:
        """The keys in the scope; None when the scope does not exist."""
        try:
            secrets = self._ws.read("GET", f"{SECRETS}/list", query={"scope": self.scope}).objects("secrets")
        except NotFoundError:
            return None
        return [s.text("key", required=True) or "" for s in secrets]

    def caller_is_admin(self) -> bool | None:
        """Whether the caller is a workspace admin (member of `admins`); None when it cannot be told."""
        try:
            me = self._ws.do("GET", ME_PATH)
        except WorkspaceError:
            return None
        groups = me.get("groups")
        if not isinstance(groups, list):
            return None
        return any(isinstance(g, dict) and g.get("display") == "admins" for g in groups)

    # -- status -----------------------------------------------------------------

    def status(self, key: str, *, non_admin: bool | None) -> list[Check]:
        """Scope exists, key present, and what `users` may do, judged by the partner's kind.

        ``non_admin``: True for a NON_ADMIN partner (users need READ), False
        for an admin-only one (users need nothing, and READ exposes the
        credential), None when unknown (the permission is shown, not judged).
        A non-admin caller cannot read ACLs (that needs MANAGE); listing the
        scope then proves that a non-admin can read it.
        """
        checks: list[Check] = []
        try:
            secrets = self._ws.read("GET", f"{SECRETS}/list", query={"scope": self.scope}).objects("secrets")
        except NotFoundError:
            checks.append(Check("scope exists", False, f"scope {self.scope!r} does not exist"))
            checks.append(Check("secret present", False, f"no secret {self.scope}/{key}"))
            if non_admin:
                checks.append(Check(f"{USERS} can READ", False, "the scope does not exist"))
            return checks
        except WorkspaceError as e:
            if e.status != 403:
                raise
            # Only a non-admin is refused a listing: this caller cannot read the scope.
            checks.append(Check("scope exists", True, f"scope {self.scope!r} (this user may not read it)"))
            checks.append(Check("secret present", False, f"cannot list {self.scope!r} as this user: {e.message}"))
            if non_admin:
                checks.append(
                    Check(f"{USERS} can READ", False, f"this non-admin user cannot read scope {self.scope!r}")
                )
            return checks
        checks.append(Check("scope exists", True, f"scope {self.scope!r}"))
        entry = next((s.body for s in secrets if s.text("key") == key), None)
        if entry is None:
            checks.append(Check("secret present", False, f"no secret {self.scope}/{key}"))
        else:
            checks.append(Check("secret present", True, f"{self.scope}/{key}, {_updated(entry)}"))
        try:
            permission = self.users_permission()
        except WorkspaceError as e:
            if e.status != 403:
                raise
            checks.append(self._users_check_as_non_admin(non_admin))
            return checks
        checks.append(users_check(permission, non_admin))
        return checks

    def _users_check_as_non_admin(self, non_admin: bool | None) -> Check:
        # Reading an ACL needs MANAGE; this caller could list the scope, so a non-admin can read it.
        detail = (
            f"this non-admin user can read scope {self.scope!r}, so non-admin users can "
            "(its ACLs need MANAGE to be read)"
        )
        if non_admin is False:
            return Check(
                f"{USERS} cannot READ (admin-only)",
                True,
                detail,
                warning=f"a non-admin user can read the credential of an admin-only partner in scope {self.scope!r}",
            )
        return Check(f"{USERS} can READ", True, detail)

    # -- delete -----------------------------------------------------------------

    def delete(self, key: str, *, missing_ok: bool = False) -> bool:
        """Delete the secret; returns False when it was not there and ``missing_ok``."""
        try:
            self._ws.do("POST", f"{SECRETS}/delete", body={"scope": self.scope, "key": key})
        except NotFoundError as e:
            if missing_ok:
                return False
            e.message = f"there is no secret {self.scope}/{key} to delete ({e.message})"
            e.hint = (
                "Nothing was deleted. `databricks-stp secret status --id ID` shows what is stored; "
                "`--if-exists` makes a missing secret a success."
            )
            raise
        return True


def users_check(permission: str | None, non_admin: bool | None) -> Check:
    """The `users` row of `secret status`, named for what the partner needs."""
    rank = _RANK.get(permission or "", 0)
    has = f"{USERS} has {permission}" if permission else f"{USERS} has no permission on the scope"
    too_wide = TOO_WIDE.format(permission=permission) if rank > _RANK["READ"] else None
    lower = " (lower it to READ with: databricks-stp secret put --non-admin)"
    if non_admin is False:
        name = f"{USERS} cannot READ (admin-only)"
        if rank == 0:
            return Check(name, True, f"{has}: right for an admin-only partner")
        return Check(
            name,
            True,
            has,
            warning=too_wide
            or f"{USERS} can READ the endpoint credential of an admin-only partner "
            f"(remove it with: databricks secrets delete-acl {SCOPE} {USERS})",
        )
    if non_admin:
        name = f"{USERS} can READ"
        if rank == 0:
            return Check(name, False, f"{has} (NON_ADMIN needs READ)")
        return Check(name, True, has, warning=too_wide + lower if too_wide else None)
    name = f"{USERS} permission"
    detail = f"{has}; NON_ADMIN partners need READ, admin-only ones none (give -f FILE to check)"
    return Check(name, True, detail, warning=too_wide + lower if too_wide else None)


def _updated(entry: dict[str, Any]) -> str:
    stamp = entry.get("last_updated_timestamp")
    if not isinstance(stamp, (int, float)):
        return "last update unknown"
    when = datetime.datetime.fromtimestamp(stamp / 1000, tz=datetime.timezone.utc)
    return f"updated {when:%Y-%m-%d %H:%M:%S} UTC"
