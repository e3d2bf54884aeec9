"""`create`, `get`, `update`, `delete`: the self-testing partner lifecycle."""

from __future__ import annotations

from typing import Any

import click

from stp_ext.cli.config_input import load_valid_config
from stp_ext.cli.credential_input import CredentialInput, credential_options
from stp_ext.cli.options import (
    command_env,
    common_options,
    config_file_option,
    confirm,
    partner_id_option,
    yes_option,
)
from stp_ext.errors import InputError, PartialFailure, StpError


@click.command()
@config_file_option()
@credential_options
@click.option("--no-secret", is_flag=True, help="Create the partner only; store the credential later.")
@common_options
def create(config_path: str, no_secret: bool, **kwargs: Any) -> None:
    """Create the self-testing partner from FILE and store its endpoint credential.

    FILE is checked locally first: nothing is sent when it is invalid (exit 2).
    With a credential option the Authorization header Databricks must send to
    your endpoints is stored in secret scope `partner-connect` under the new
    partner's id, in the same run.

    \b
    Examples:
      databricks-stp create -f partner.json -p my-workspace --basic-user svc --basic-password-stdin < pw.txt
      printf 'Bearer %s' "$TOKEN" | databricks-stp create -f partner.json -e --auth-header-stdin
      databricks-stp create -f partner.json --no-secret -o json
    """
    env = command_env()
    render = env.renderer
    credential = CredentialInput.from_kwargs(kwargs)
    if no_secret and credential.given:
        raise InputError("--no-secret cannot be combined with a credential option")
    credential.check_stdin_free(config_path)
    report = load_valid_config(config_path, render)
    config = report.partner
    # Read the credential before anything is sent: bad input must not leave a half-made partner.
    header = None if no_secret else credential.read(prompt=True, warn=render.warning)

    from stp_ext.credential import CredentialService, SecretStepFailed
    from stp_ext.partners import PartnerService

    workspace = env.workspace()
    with render.status("Creating the self-testing partner…"):
        partner = PartnerService(workspace).create(config.to_request_body())
    secret: dict[str, Any] | None = None
    failure: SecretStepFailed | None = None
    if header is not None:
        try:
            with render.status("Storing the endpoint credential…"):
                result = CredentialService(workspace).put(partner.id, header, non_admin=config.is_non_admin)
            secret = result.to_dict()
            for warning in result.warnings:
                render.warning(warning)
        except SecretStepFailed as e:
            failure = e

    if render.is_json:
        render.json({"id": partner.id, "name": partner.name, "secret": secret})
    else:
        lines = [f"[bold]{partner.name}[/]", f"id: [cyan]{partner.id}[/]"]
        if secret:
            lines.append(f"credential: stored in {secret['scope']}/{secret['key']}")
            if secret["users_read"]:
                lines.append("users can READ the scope (NON_ADMIN)")
        render.panel("\n".join(lines), title="Self-testing partner created")
    finish = (
        f"databricks-stp secret put --id {partner.id}{' --non-admin' if config.is_non_admin else ''}"
        f"{credential.flags()}{env.options.auth_flags()}"
    )
    if failure is not None:
        done = [f"partner {partner.id} created", *failure.done]
        raise PartialFailure(
            f"partner {partner.id} was created, but {failure.message}. "
            f"Done: {'; '.join(done)}. Not done: {'; '.join(failure.not_done)}.",
            hint=f"Finish with: {finish}",
            done=done,
        )
    if header is None:
        render.warning(
            "no endpoint credential was stored; the tile cannot be used until it is. "
            f"Store it with: {finish if credential.given else finish + ' --basic-user USER'}"
        )


@click.command()
@common_options
def get() -> None:
    """List the active self-testing partners (ID, Name).

    \b
    Examples:
      databricks-stp get -p my-workspace
      databricks-stp get -e -o json
    """
    from stp_ext.partners import PartnerService

    env = command_env()
    workspace = env.workspace()
    with env.renderer.status("Reading the self-testing partner…"):
        partners = PartnerService(workspace).list()
    if env.renderer.is_json:
        env.renderer.json({"partners": [p.to_dict() for p in partners]})
        return
    env.renderer.table(
        ["ID", "Name"],
        [(p.id, p.name) for p in partners],
        title=f"Self-testing partners in {workspace.host}",
        empty=f"No active self-testing partner in {workspace.host}.",
    )


@click.command()
@config_file_option()
@partner_id_option
@yes_option
@common_options
def update(config_path: str, partner_id: str | None, yes: bool) -> None:
    """Replace the active partner's config with FILE.

    Every existing Partner Connect connection of the partner is deleted by the
    workspace, so on a terminal you are asked to confirm (skip with --yes).
    Without --id the active partner is looked up first.

    \b
    Examples:
      databricks-stp update -f partner-v2.json -p my-workspace
      databricks-stp update -f partner-v2.json --id 0123456789ABCDEF0123456789ABCDEF --yes -o json
    """
    from stp_ext.partners import PartnerService

    env = command_env()
    report = load_valid_config(config_path, env.renderer)
    workspace = env.workspace()
    service = PartnerService(workspace)
    if partner_id is None:
        with env.renderer.status("Looking up the active partner…"):
            partner_id = service.active().id
    confirm(
        f"Updating partner {partner_id} deletes all of its existing Partner Connect connections. Continue?",
        yes=yes,
    )
    with env.renderer.status("Updating the self-testing partner…"):
        service.update(partner_id, report.partner.to_request_body())
    if env.renderer.is_json:
        env.renderer.json({"id": partner_id, "updated": True})
    else:
        env.renderer.panel(f"id: [cyan]{partner_id}[/]\nconfig: {report.source}", title="Self-testing partner updated")


@click.command()
@partner_id_option
@yes_option
@click.option("--keep-secret", is_flag=True, help="Leave the partner's endpoint credential in the workspace.")
@click.option(
    "--if-exists",
    is_flag=True,
    help="Succeed (exit 0) when there is no partner to delete: an idempotent teardown for CI.",
)
@common_options
def delete(partner_id: str | None, yes: bool, keep_secret: bool, if_exists: bool) -> None:
    """Delete the active partner and its endpoint credential.

    Every Partner Connect connection of the partner is deleted too; on a
    terminal you are asked to confirm (skip with --yes). The credential (secret
    `partner-connect/<id>`) is removed unless --keep-secret; a missing secret is
    not an error.

    \b
    Examples:
      databricks-stp delete -p my-workspace
      databricks-stp delete --id 0123456789ABCDEF0123456789ABCDEF --yes -e -o json
      databricks-stp delete --if-exists --yes -e          # CI teardown: nothing to delete is fine
    """
    from stp_ext.credential import CredentialService
    from stp_ext.errors import NotFoundError
    from stp_ext.partners import NoActivePartner, PartnerService

    env = command_env()
    workspace = env.workspace()
    service = PartnerService(workspace)
    if partner_id is None:
        try:
            with env.renderer.status("Looking up the active partner…"):
                partner_id = service.active().id
        except NoActivePartner:
            if not if_exists:
                raise
            _nothing_to_delete(env, None, "no active self-testing partner")
            return
    confirm(f"Delete partner {partner_id} and all of its Partner Connect connections?", yes=yes)
    try:
        with env.renderer.status("Deleting the self-testing partner…"):
            service.delete(partner_id)
    except NotFoundError:
        if not if_exists:
            raise
        # Gone already (a rerun of a half-done teardown): still remove a credential left behind.
        secret_deleted = False
        if not keep_secret:
            with env.renderer.status("Deleting the endpoint credential…"):
                secret_deleted = CredentialService(workspace).delete(partner_id, missing_ok=True)
        _nothing_to_delete(env, partner_id, f"partner {partner_id} does not exist", secret_deleted=secret_deleted)
        return
    secret_deleted = False
    if not keep_secret:
        try:
            with env.renderer.status("Deleting the endpoint credential…"):
                secret_deleted = CredentialService(workspace).delete(partner_id, missing_ok=True)
        except StpError as e:
            if env.renderer.is_json:
                env.renderer.json({"id": partner_id, "deleted": True, "secret_deleted": False})
            raise PartialFailure(
                f"partner {partner_id} was deleted but its secret was not: {e.message}",
                hint=f"Finish with: databricks-stp secret delete --id {partner_id}{env.options.auth_flags()}",
            ) from None
    if env.renderer.is_json:
        env.renderer.json({"id": partner_id, "deleted": True, "secret_deleted": secret_deleted})
        return
    lines = [f"id: [cyan]{partner_id}[/]"]
    if keep_secret:
        lines.append("credential kept (--keep-secret)")
    else:
        lines.append("credential deleted" if secret_deleted else "no credential was stored")
    env.renderer.panel("\n".join(lines), title="Self-testing partner deleted")


def _nothing_to_delete(env: Any, partner_id: str | None, why: str, *, secret_deleted: bool = False) -> None:
    """`delete --if-exists` found no partner: a success, said as such."""
    if env.renderer.is_json:
        env.renderer.json({"id": partner_id, "deleted": False, "secret_deleted": secret_deleted})
        return
    detail = why + ("; its leftover credential was deleted" if secret_deleted else "")
    env.renderer.panel(detail, title="Nothing to delete")
