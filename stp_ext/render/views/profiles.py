"""View of `get --all-profiles`: one row per profile of the config file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from stp_ext.render.console import Column, Renderer
from stp_ext.render.safe import text

if TYPE_CHECKING:
    from stp_ext.services.profiles import ProfileStatus


def all_profiles(render: Renderer, rows: Sequence[ProfileStatus], config_file: str, *, judged: bool) -> None:
    for row in rows:
        if row.warning:
            render.warning(f"profile {row.profile}: {row.warning}")
    if render.is_json:
        render.json(
            {
                "config_file": config_file,
                "all_answered": all(r.answered for r in rows),
                "profiles": [r.to_dict() for r in rows],
            }
        )
        return
    render.table(
        [
            Column("Profile", no_wrap=True),
            "Host",
            "Auth",
            "Active partner",
            Column("Partner ID", no_wrap=True),  # an id to copy: never split across lines
            Column("Credential", no_wrap=True),
            Column("users", no_wrap=True),
            "Error",
        ],
        [
            (
                r.profile,
                r.host or "",
                _auth(r),
                _partner(r),
                text((r.partner_id, "cyan")) if r.partner_id else "",
                _credential(r),
                _users(r),
                text((r.error, "red")) if r.error else (r.skipped or ""),
            )
            for r in rows
        ],
        title=f"Self-testing partner in every profile of {config_file}",
        caption=None
        if judged
        else "users: the ACL of `users` on scope partner-connect (NON_ADMIN needs READ; give -f FILE to judge it).",
    )


def _auth(row: ProfileStatus) -> Any:
    if row.skipped:
        return text(("skipped", "dim"))
    if not row.auth_ok:
        return text(("✗", "red"))
    return text(("✓ ", "green"), row.user or "", " (admin)" if row.admin else "")


def _partner(row: ProfileStatus) -> Any:
    if row.partner_id:
        return text(row.partner_name or "")
    return text((row.partner_note or "", "dim"))


def _credential(row: ProfileStatus) -> Any:
    if row.credential_stored is None:
        return ""
    return text(("✓ stored", "green")) if row.credential_stored else text(("✗ missing", "red"))


def _users(row: ProfileStatus) -> Any:
    if row.credential_stored is None:
        return ""
    permission = row.users_permission or "none"
    if row.warning:
        return text((f"⚠ {permission}", "yellow"))
    if row.users_ok is False:
        return text((f"✗ {permission}", "red"))
    return text((f"✓ {permission}", "green")) if row.users_ok else permission
