"""Which key `secret put` stores the credential under: the workspace's active partner.

Partner Connect reads the credential under the active partner's id and no
other, so a mistyped ``--id`` would store it where nothing ever reads it and
report success. The id is checked against the workspace before the value is
asked for, unless the user says ``--force`` (e.g. a non-admin, who may not
list partners, storing under an id an admin gave them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stp_ext.core.errors import StpError, WorkspaceError
from stp_ext.services.partners import PartnerService

if TYPE_CHECKING:
    from stp_ext.services.next_steps import NextSteps
    from stp_ext.workspace.client import Workspace


class NotTheActivePartner(StpError):
    """--id names a partner that is not the workspace's active one."""


def resolve_put_target(workspace: Workspace, partner_id: str | None, *, force: bool, steps: NextSteps) -> str:
    """The key to store under: ``partner_id`` once checked, else the active partner's id."""
    if partner_id is not None and force:
        return partner_id
    try:
        active = PartnerService(workspace).active()
    except WorkspaceError as e:
        if partner_id is not None and e.status == 403:
            e.hint = (
                "Checking --id against the active partner needs a workspace admin. "
                f"If {partner_id} is the active partner's id, add --force to store it without the check."
            )
        elif e.status == 403:
            e.hint = (
                "Looking up the active partner needs a workspace admin. As a non-admin user, pass "
                f"--id ID --force (an admin sees the id with `{steps.get()}`)."
            )
        raise
    except StpError as e:  # no active partner
        if partner_id is not None:
            raise NotTheActivePartner(
                f"{partner_id} is not the active self-testing partner: this workspace has none",
                hint=f"Create the partner first ({steps.create(None)}), or add --force "
                "to store the credential under this id anyway.",
            ) from None
        e.hint = f"Create one with: {steps.create(None)}"
        raise e
    if partner_id is None or partner_id == active.id:
        return active.id
    raise NotTheActivePartner(
        f"{partner_id} is not the active self-testing partner ({active.id}, {active.name!r}); "
        "Partner Connect would never read a credential stored under it",
        hint=f"Use --id {active.id} (or leave out --id), or add --force to store it under {partner_id} anyway.",
    )
