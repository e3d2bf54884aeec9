"""Views of `create`, `get`, `update` and `delete`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from stp_ext.render.console import Column, Renderer
from stp_ext.render.safe import text, whole

if TYPE_CHECKING:
    from stp_ext.services.flows import CreateOutcome, DeleteOutcome
    from stp_ext.services.partners import Partner


def created(render: Renderer, outcome: CreateOutcome) -> None:
    for warning in outcome.secret.warnings if outcome.secret is not None else []:
        render.warning(warning)  # on stderr, in JSON mode too
    if render.is_json:
        render.json(outcome.to_dict())
        return
    # Lines, not a box: the name and id are shown whole whatever the width.
    render.line(("✓ Self-testing partner created", "green"))
    render.line("  name: ", whole(outcome.partner.name, "bold"))  # a name to copy: never broken at its spaces
    render.line("  id:   ", (outcome.partner.id, "cyan"))
    if outcome.secret is not None:
        render.line(f"  credential: stored in {outcome.secret.scope}/{outcome.secret.key}")
        if outcome.secret.users_read:
            render.line("  users can READ the scope (NON_ADMIN)")


def listed(render: Renderer, partners: Sequence[Partner], host: str) -> None:
    if render.is_json:
        render.json({"partners": [p.to_dict() for p in partners]})
        return
    render.table(
        [Column("ID", no_wrap=True), Column("Name", no_wrap=True)],
        [(p.id, p.name) for p in partners],
        title=f"Self-testing partners in {host}",
        empty=f"No active self-testing partner in {host}.",
    )


def updated(render: Renderer, partner_id: str, source: str) -> None:
    if render.is_json:
        render.json({"id": partner_id, "updated": True})
        return
    render.panel([text("id: ", (partner_id, "cyan")), text("config: ", source)], title="Self-testing partner updated")


def deleted(render: Renderer, outcome: DeleteOutcome) -> None:
    if render.is_json:
        render.json(outcome.to_dict())
        return
    if not outcome.deleted:
        leftover = "; its leftover credential was deleted" if outcome.secret_deleted else ""
        render.panel([f"partner {outcome.partner_id} does not exist{leftover}"], title="Nothing to delete")
        return
    if outcome.keep_secret:
        secret = "credential kept (--keep-secret)"
    elif outcome.secret_error is not None or outcome.interrupted:
        secret = "credential NOT deleted"
    else:
        secret = "credential deleted" if outcome.secret_deleted else "no credential was stored"
    render.panel([text("id: ", (outcome.partner_id, "cyan")), text(secret)], title="Self-testing partner deleted")


def nothing_to_delete(render: Renderer) -> None:
    """`delete --if-exists` found no active partner: a success, said as such."""
    if render.is_json:
        render.json({"id": None, "deleted": False, "secret_deleted": False})
        return
    render.panel(["no active self-testing partner"], title="Nothing to delete")


def store_later(render: Renderer, command: str) -> None:
    render.warning(f"no endpoint credential was stored; the tile cannot be used until it is. Store it with: {command}")
