"""The multi-step flows: several workspace calls that succeed or stop half-way together.

A flow returns an outcome dataclass saying what was done and what was not;
it never prints. When a step fails, or the user interrupts (Ctrl-C,
SIGTERM) between steps, the outcome still names the partner and
:func:`unfinished` turns it into the one error that says what was done and
the exact command that finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stp_ext.core.errors import Interrupted, NotFoundError, PartialFailure, StpError, WorkspaceError
from stp_ext.services.credential import CredentialService, SecretStepFailed
from stp_ext.services.next_steps import NextSteps, done_not_done, finish
from stp_ext.services.partners import NoActivePartner, PartnerService

if TYPE_CHECKING:
    from stp_ext.core.auth_header import AuthHeader
    from stp_ext.partner_config.model import PartnerConfig
    from stp_ext.services.credential import PutResult
    from stp_ext.services.partners import Partner
    from stp_ext.workspace.client import Workspace

Status = Callable[[str], AbstractContextManager[Any]]


@dataclass
class CreateOutcome:
    """What `create` did: the partner always; the credential when asked for and stored."""

    partner: Partner
    non_admin: bool
    secret: PutResult | None = None
    failed: str | None = None  # why the credential step stopped, when it did
    interrupted: bool = False
    done: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.failed is None and not self.interrupted

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.partner.id,
            "name": self.partner.name,
            "secret": self.secret.to_dict() if self.secret is not None else None,
        }


def create_partner(
    workspace: Workspace, config: PartnerConfig, header: AuthHeader | None, *, steps: NextSteps, status: Status
) -> CreateOutcome:
    """Create the partner, then store its credential (when ``header`` is given)."""
    try:
        with status("Creating the self-testing partner…"):
            partner = PartnerService(workspace).create(config.to_request_body())
    except WorkspaceError as e:
        if "already has an active" in e.message:
            name_active_partner(e, workspace, steps)
        raise
    outcome = CreateOutcome(partner=partner, non_admin=config.is_non_admin, done=[f"partner {partner.id} created"])
    if header is None:
        return outcome
    try:
        with status("Storing the endpoint credential…"):
            outcome.secret = CredentialService(workspace).put(partner.id, header, non_admin=config.is_non_admin)
    except SecretStepFailed as e:
        outcome.failed = e.message
        outcome.done += e.done
        outcome.not_done = list(e.not_done)
    except KeyboardInterrupt:
        # The partner exists: the id and the finishing command must survive Ctrl-C.
        outcome.interrupted = True
        outcome.not_done = ["store the endpoint credential (it may or may not have been written)"]
    return outcome


def unfinished_create(outcome: CreateOutcome, steps: NextSteps, credential_flags: str) -> StpError | None:
    """The error for a create that stopped after the partner was made (None when it finished)."""
    if outcome.finished:
        return None
    partner_id = outcome.partner.id
    command = steps.secret_put(partner_id, non_admin=outcome.non_admin, credential_flags=credential_flags)
    progress = done_not_done(outcome.done, outcome.not_done)
    if outcome.interrupted:
        return Interrupted(f"interrupted after partner {partner_id} was created. {progress}", hint=finish(command))
    return PartialFailure(
        f"partner {partner_id} was created, but {outcome.failed}. {progress}",
        hint=finish(command),
        done=outcome.done,
    )


@dataclass
class DeleteOutcome:
    partner_id: str
    keep_secret: bool
    deleted: bool = True  # False: it was gone already (--if-exists)
    secret_deleted: bool = False
    secret_error: str | None = None
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.partner_id, "deleted": self.deleted, "secret_deleted": self.secret_deleted}


def delete_partner(
    workspace: Workspace,
    partner_id: str,
    *,
    keep_secret: bool,
    steps: NextSteps,
    if_exists: bool = False,
    status: Status,
) -> DeleteOutcome:
    """Delete the partner, then (unless ``keep_secret``) its credential; a missing secret is fine.

    ``if_exists``: a partner that is gone already is not an error (a rerun of a
    half-done teardown); a credential left behind is still removed.
    """
    outcome = DeleteOutcome(partner_id=partner_id, keep_secret=keep_secret)
    try:
        with status("Deleting the self-testing partner…"):
            PartnerService(workspace).delete(partner_id)
    except NotFoundError as e:
        if not if_exists:
            e.hint = unknown_id_hint(steps)
            raise
        outcome.deleted = False
    if keep_secret:
        return outcome
    try:
        with status("Deleting the endpoint credential…"):
            outcome.secret_deleted = CredentialService(workspace).delete(partner_id, missing_ok=True)
    except StpError as e:
        outcome.secret_error = e.message
    except KeyboardInterrupt:
        outcome.interrupted = True
    return outcome


def unfinished_delete(outcome: DeleteOutcome, steps: NextSteps) -> StpError | None:
    partner_id = outcome.partner_id
    if not outcome.deleted and outcome.secret_error is None and not outcome.interrupted:
        return None
    hint = finish(steps.secret_delete(partner_id))
    if outcome.interrupted:
        progress = done_not_done([f"partner {partner_id} deleted"], ["delete its endpoint credential"])
        return Interrupted(f"interrupted after partner {partner_id} was deleted. {progress}", hint=hint)
    if outcome.secret_error is not None:
        return PartialFailure(
            f"partner {partner_id} was deleted but its secret was not: {outcome.secret_error}",
            hint=hint,
            done=[f"partner {partner_id} deleted"],
        )
    return None


def unknown_id_hint(steps: NextSteps) -> str:
    return f"Run `{steps.get()}` to see the active partner's id, or leave out --id."


def update_partner(workspace: Workspace, partner_id: str, config: PartnerConfig, *, steps: NextSteps) -> None:
    try:
        PartnerService(workspace).update(partner_id, config.to_request_body())
    except NotFoundError as e:
        e.hint = unknown_id_hint(steps)
        raise


def active_partner(workspace: Workspace, steps: NextSteps, *, status: Status) -> Partner:
    """The workspace's active partner; when there is none, say how to create one (with the user's -p/-e)."""
    with status("Looking up the active partner…"):
        try:
            return PartnerService(workspace).active()
        except NoActivePartner as e:
            e.hint = f"Create one with: {steps.create(None)}"
            raise


def name_active_partner(error: WorkspaceError, workspace: Workspace, steps: NextSteps) -> None:
    """Complete "already has an active partner" with which one it is and what to do."""
    try:
        partners = PartnerService(workspace).list()
    except StpError:
        partners = []
    if partners:
        active = partners[0]
        error.message = f"{error.message.rstrip('.')}: {active.name!r} ({active.id})"
    error.hint = (
        "Only one self-testing partner can be active. Change it with "
        f"`{steps.update(None)}` or remove it with `{steps.delete()}`."
    )
