"""`create`, `get`, `update`, `delete`: the self-testing partner lifecycle."""

from __future__ import annotations

from typing import Any

import click

from stp_ext.cli.config_input import load_valid_config
from stp_ext.cli.credential_input import CredentialInput, credential_options
from stp_ext.cli.options import command_env, common_options, config_file_option, partner_id_option, yes_option
from stp_ext.core.errors import InputError


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
      databricks-stp create -f partner.json -p my-workspace --basic-user svc \\
          --basic-password-stdin < pw.txt
      printf 'Bearer %s' "$TOKEN" | databricks-stp create -f partner.json -e \\
          --auth-header-stdin
      databricks-stp create -f partner.json --no-secret -o json
    """
    # deferred: --help imports every command module; what a command runs loads when it runs
    from stp_ext.render.views import partners as view
    from stp_ext.services.flows import create_partner, unfinished_create

    env = command_env()
    credential = CredentialInput.from_kwargs(kwargs)
    if no_secret and credential.given:
        raise InputError("--no-secret cannot be combined with a credential option")
    credential.check_stdin_free(config_path)
    config = load_valid_config(config_path, env.renderer).partner
    # Read the credential before anything is sent: bad input must not leave a half-made partner.
    header = None if no_secret else credential.read(prompt=True, warn=env.renderer.warning, terminal=env.terminal)
    outcome = create_partner(env.workspace(), config, header, steps=env.steps, status=env.renderer.status)
    view.created(env.renderer, outcome)
    unfinished = unfinished_create(outcome, env.steps, credential.flags())
    if unfinished is not None:
        raise unfinished
    if header is None:
        flags = credential.flags() or " --basic-user USER"
        view.store_later(
            env.renderer, env.steps.secret_put(outcome.partner.id, non_admin=outcome.non_admin, credential_flags=flags)
        )


@click.command()
@click.option(
    "--all-profiles",
    is_flag=True,
    help="Ask every profile of the config file at once: auth, active partner, credential, `users` READ.",
)
@config_file_option(required=False)
@common_options
def get(all_profiles: bool, config_path: str | None) -> None:
    """List the active self-testing partners (ID, Name); or every profile's at a glance.

    With --all-profiles every profile of the config file is asked concurrently
    and one table shows, per profile: host, whether auth works, the active
    partner, whether its credential is stored and what `users` may do (judged
    for NON_ADMIN with -f FILE); a profile that fails shows its error without
    stopping the others. Exit 0 when every profile answered.

    \b
    Examples:
      databricks-stp get -p my-workspace
      databricks-stp get -e -o json
      databricks-stp get --all-profiles -f partner.json
    """
    # deferred: --help imports every command module; what a command runs loads when it runs
    from stp_ext.render.views import partners as view
    from stp_ext.services.partners import PartnerService

    env = command_env()
    if all_profiles:
        # deferred: keeps databricks-sdk (and requests) out of --help and the offline commands
        from stp_ext.cli.profiles import show_all_profiles

        show_all_profiles(env, config_path)
        return
    if config_path is not None:
        raise InputError("-f FILE is used with --all-profiles only", hint="Add --all-profiles, or leave out -f.")
    workspace = env.workspace()
    with env.renderer.status("Reading the self-testing partner…"):
        partners = PartnerService(workspace).list()
    view.listed(env.renderer, partners, workspace.host)


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
      databricks-stp update -f partner-v2.json \\
          --id 0123456789ABCDEF0123456789ABCDEF --yes -o json
    """
    # deferred: --help imports every command module; what a command runs loads when it runs
    from stp_ext.render.views import partners as view
    from stp_ext.services.flows import active_partner, update_partner

    env = command_env()
    report = load_valid_config(config_path, env.renderer)
    workspace = env.workspace()
    partner_id = partner_id or active_partner(workspace, env.steps, status=env.renderer.status).id
    env.confirm(
        f"Updating partner {partner_id} deletes all of its existing Partner Connect connections. Continue?",
        yes=yes,
    )
    with env.renderer.status("Updating the self-testing partner…"):
        update_partner(workspace, partner_id, report.partner, steps=env.steps)
    view.updated(env.renderer, partner_id, report.source)


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
      databricks-stp delete --if-exists --yes -e  # CI teardown: none is fine
    """
    # deferred: --help imports every command module; what a command runs loads when it runs
    from stp_ext.render.views import partners as view
    from stp_ext.services.flows import active_partner, delete_partner, unfinished_delete
    from stp_ext.services.partners import NoActivePartner

    env = command_env()
    workspace = env.workspace()
    if partner_id is None:
        try:
            partner_id = active_partner(workspace, env.steps, status=env.renderer.status).id
        except NoActivePartner:
            if not if_exists:
                raise
            view.nothing_to_delete(env.renderer)
            return
    env.confirm(f"Delete partner {partner_id} and all of its Partner Connect connections?", yes=yes)
    outcome = delete_partner(
        workspace, partner_id, keep_secret=keep_secret, steps=env.steps, if_exists=if_exists, status=env.renderer.status
    )
    view.deleted(env.renderer, outcome)
    unfinished = unfinished_delete(outcome, env.steps)
    if unfinished is not None:
        raise unfinished
