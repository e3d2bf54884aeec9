"""Every profile at a glance (`get --all-profiles`): where the tile stands in each workspace.

Each profile of the config file is asked, concurrently and within the usual
timeouts: who am I (auth), the active partner, whether its credential is
stored and what `users` may do with it (four reads sent at once). One profile failing never spoils the
others: its row carries the error. Threads are daemons and the caller waits
in short slices, so Ctrl-C ends the command at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stp_ext.core.errors import AuthConfigError, StpError
from stp_ext.core.together import together
from stp_ext.services.credential import CredentialService, users_check
from stp_ext.services.partners import PartnerService
from stp_ext.workspace.auth import read_existing_profiles

if TYPE_CHECKING:
    from stp_ext.core.together import Outcome
    from stp_ext.workspace.client import Workspace

# Profiles asked at once; each sends its four reads at once, so at most 4x this many requests are in
# flight (every one bounded by the transport's timeouts).
MAX_CONCURRENT = 32
ME_PATH = "/api/2.0/preview/scim/v2/Me"

# Building a databricks-sdk Config swaps the SDK's host-metadata function for a
# bounded one while it runs (and, with an SDK release that lacks the Config step
# we override, hides DATABRICKS_* variables from the process environment): two
# at once would undo each other's swap. Only that step is serialized; the
# requests themselves run concurrently.
_CONNECT_LOCK = threading.Lock()


@dataclass
class ProfileStatus:
    profile: str
    host: str | None = None
    auth_ok: bool = False
    user: str | None = None
    admin: bool | None = None
    partner_id: str | None = None
    partner_name: str | None = None
    partner_note: str | None = None  # why the partner is unknown (no partner, needs an admin)
    credential_stored: bool | None = None
    users_permission: str | None = None  # the ACL of `users` on the scope; None: no ACL or not read
    users_ok: bool | None = None  # judged when the partner's kind is known (-f FILE), else None
    warning: str | None = None
    error: str | None = None
    skipped: str | None = None  # why this profile was not asked (an account-level profile)
    elapsed_ms: float = 0.0

    @property
    def answered(self) -> bool:
        return self.auth_ok or self.skipped is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["partner"] = {"id": self.partner_id, "name": self.partner_name} if self.partner_id is not None else None
        for name in ("partner_id", "partner_name"):
            data.pop(name)
        return data


def read_profiles(path: Path) -> dict[str, dict[str, str]]:
    """The config file's profiles, in file order."""
    hint = "Create profiles with `databricks configure --profile NAME`, or point DATABRICKS_CONFIG_FILE at your file."
    profiles = read_existing_profiles(path, "--all-profiles", hint)
    if not profiles:
        raise AuthConfigError(f"no profiles in {path}", hint="Add one with `databricks configure --profile NAME`.")
    return profiles


def skip_reason(section: dict[str, str]) -> str | None:
    """Profiles that cannot hold a self-testing partner: account-level ones (the partner lives in a workspace)."""
    if section.get("account_id", "").strip() and "accounts." in section.get("host", ""):
        return "account-level profile: a self-testing partner lives in a workspace"
    return None


def query_profile(
    name: str,
    connect: Callable[[str], Workspace],
    *,
    non_admin: bool | None,
) -> ProfileStatus:
    """One profile's row; every failure is caught into the row, nothing raises.

    The four reads (who am I, the active partner, the scope's keys, the ACL of
    `users`) do not depend on each other's answers, so they are sent at once
    over the workspace's one session: a profile costs one round trip, not four
    (two where a token must be fetched first, as with OAuth).
    Their answers are then read in the order they were once sent in, so a row
    says what it said then (an auth failure first; no partner, no credential
    columns).
    """
    row = ProfileStatus(profile=name)
    started = time.monotonic()
    try:
        with _CONNECT_LOCK:
            workspace = connect(name)
        row.host = workspace.host
        _fill_row(row, workspace, non_admin)
    except StpError as e:
        row.error = e.message
    except Exception as e:  # a row, never a crash of the whole table (peers are hostile)
        row.error = f"unexpected {type(e).__name__}: {e}"
    finally:
        row.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    return row


def _fill_row(row: ProfileStatus, workspace: Workspace, non_admin: bool | None) -> None:
    """Who am I, then the partner, then the credential columns; an answer that stops the row ends it."""
    me, partners_answer, keys_answer, acl_answer = _read_at_once(workspace)
    row.auth_ok = True
    row.user = str(me.get("userName") or "") or None
    groups = me.get("groups")
    row.admin = isinstance(groups, list) and any(isinstance(g, dict) and g.get("display") == "admins" for g in groups)
    try:
        partners = partners_answer.get()
    except StpError as e:
        status = getattr(e, "status", None)
        row.partner_note = "needs a workspace admin" if status == 403 else e.message
        return
    if not partners:
        row.partner_note = "no active partner"
        return
    row.partner_id, row.partner_name = partners[0].id, partners[0].name
    _credential(row, keys_answer.get, acl_answer.get, non_admin)


def _read_at_once(workspace: Workspace) -> tuple[dict[str, Any], Outcome, Outcome, Outcome]:
    """Who am I (raising on failure), and the outcomes of the partner, the scope's keys and the ACL reads."""
    credential = CredentialService(workspace)
    reads = [PartnerService(workspace).list, credential.stored_keys, credential.users_permission]
    if workspace.info.auth_type == "pat":
        me_answer, partners_answer, keys_answer, acl_answer = together(lambda: workspace.do("GET", ME_PATH), *reads)
        return me_answer.get(), partners_answer, keys_answer, acl_answer
    # Any other auth gets a token first, and the SDK fetches it for one request at a time:
    # four at once would queue for it (a hanging token endpoint: four timeouts, not one).
    # Who am I goes first and gets the token; the other three then go out together.
    me = workspace.do("GET", ME_PATH)
    partners_answer, keys_answer, acl_answer = together(*reads)
    return me, partners_answer, keys_answer, acl_answer


def _credential(
    row: ProfileStatus,
    stored_keys: Callable[[], list[str] | None],
    users_permission: Callable[[], str | None],
    non_admin: bool | None,
) -> None:
    """Fill the credential columns from the two reads (the scope's keys, the ACL of `users`)."""
    keys = stored_keys()
    if keys is None:  # no scope: nothing stored, and nobody can read it
        row.credential_stored = False
        row.users_ok = False if non_admin else None
        return
    row.credential_stored = row.partner_id in keys
    row.users_permission = users_permission()
    users = users_check(row.users_permission, non_admin)
    row.warning = users.warning
    if non_admin is not None:
        row.users_ok = users.ok


def query_all(
    profiles: dict[str, dict[str, str]],
    connect: Callable[[str], Workspace],
    *,
    non_admin: bool | None,
    max_concurrent: int = MAX_CONCURRENT,
) -> list[ProfileStatus]:
    """Every profile's row, in file order, at most ``max_concurrent`` asked at a time."""
    names = list(profiles)
    rows: list[ProfileStatus | None] = [None] * len(names)
    slots = threading.Semaphore(max(1, max_concurrent))

    def work(index: int, name: str) -> None:
        reason = skip_reason(profiles[name])
        if reason is not None:
            rows[index] = ProfileStatus(profile=name, host=profiles[name].get("host"), skipped=reason)
            return
        with slots:
            rows[index] = query_profile(name, connect, non_admin=non_admin)

    threads = [
        threading.Thread(target=work, args=(i, n), name=f"profile-{n}", daemon=True) for i, n in enumerate(names)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():  # short slices: Ctrl-C reaches the main thread at once
            thread.join(0.1)
    return [row if row is not None else ProfileStatus(profile=n, error="no result") for row, n in zip(rows, names)]
