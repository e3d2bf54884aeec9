"""Views of `secret put`, `secret status` and `secret delete`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from stp_ext.render.console import Column, Renderer
from stp_ext.render.safe import text

if TYPE_CHECKING:
    from stp_ext.services.credential import Check, PutResult


def stored(render: Renderer, result: PutResult) -> None:
    for warning in result.warnings:
        render.warning(warning)
    if render.is_json:
        render.json(result.to_dict())
        return
    render.panel([text(line) for line in result.done], title="Endpoint credential stored")


def status(render: Renderer, partner_id: str, checks: Sequence[Check], *, is_admin: bool | None) -> None:
    for check in checks:
        if check.warning:
            render.warning(check.warning)
    if render.is_json:
        render.json([c.to_dict() for c in checks])
        return
    warn = text(("⚠ warn", "yellow"))
    render.table(
        [Column("Check", no_wrap=True), "Result", "Detail"],
        [(c.check, warn if c.warning else c.ok, c.detail) for c in checks],
        title=f"Endpoint credential of partner {partner_id}",
        # Only true of admins: a non-admin's own view is what non-admin users get.
        caption="You are a workspace admin: admins read every secret scope regardless of ACLs, "
        "so test a NON_ADMIN integration as a non-admin user."
        if is_admin
        else None,
    )


def deleted(render: Renderer, scope: str, partner_id: str | None, *, deleted: bool) -> None:
    if render.is_json:
        render.json({"scope": scope, "key": partner_id, "deleted": deleted})
        return
    if partner_id is None:
        render.panel(["no active self-testing partner, so no credential to delete"], title="Nothing to delete")
    elif deleted:
        render.panel([f"{scope}/{partner_id}"], title="Endpoint credential deleted")
    else:
        render.panel([f"{scope}/{partner_id} was not stored"], title="Nothing to delete")
