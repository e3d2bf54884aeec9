"""`secret put|status|delete`: the endpoint credential Partner Connect sends to the partner."""

from __future__ import annotations

from typing import Any

import click

from stp_ext.cli.config_input import load_valid_config
from stp_ext.cli.credential_input import CredentialInput, credential_options
from stp_ext.cli.options import (
    CommandEnv,
    SuggestingGroup,
    command_env,
    common_options,
    config_file_option,
    partner_id_option,
    yes_option,
)
from stp_ext.core.errors import CheckFailed, InputError, PartialFailure, WorkspaceError
from stp_ext.core.wording import plural
from stp_ext.services.next_steps import done_not_done, finish


def _non_admin_option(f: Any) -> Any:
    return click.option(
        "--non-admin/--admin-only",
        "non_admin",
        default=None,
        help="Whether non-admin users use the integration (NON_ADMIN); then `users` needs READ on the scope. "
        "Default: read from -f FILE, else admin-only.",
    )(f)


def _resolve_non_admin(non_admin: bool | None, config_path: str | None, env: CommandEnv) -> bool | None:
    if non_admin is not None or config_path is None:
        return non_admin
    return load_valid_config(config_path, env.renderer).partner.is_non_admin


def _partner_id(partner_id: str | None, workspace: Any, env: CommandEnv) -> str:
    if partner_id is not None:
        return partner_id
    # deferred: --help imports every command module; what a command runs loads when it runs
    from stp_ext.services.flows import active_partner

    try:
        return active_partner(workspace, env.steps, status=env.renderer.status).id
    except WorkspaceError as e:
        if e.status == 403:
            # Only admins may look partners up; the Secrets API itself does not need an admin.
            e.hint = (
                "Looking up the active partner needs a workspace admin. As a non-admin user, pass the "
                "partner id with --id ID (an admin sees it with `databricks-stp get`)."
            )
        raise


@click.group(cls=SuggestingGroup)
@common_options
def secret() -> None:
    """Store, check and delete the endpoint credential (scope partner-connect, key = partner id).

    \b
    Examples:
      databricks-stp secret put --basic-user svc --basic-password-stdin < pw.txt
      databricks-stp secret status -f partner.json
      databricks-stp secret delete --yes
    """


@secret.command("put")
@partner_id_option
@credential_options
@_non_admin_option
@config_file_option(required=False)
@click.option(
    "--force",
    is_flag=True,
    help="Store under --id even when it is not the workspace's active partner (or cannot be looked up).",
)
@common_options
def put(partner_id: str | None, non_admin: bool | None, config_path: str | None, force: bool, **kwargs: Any) -> None:
    """Store the Authorization header Databricks sends to your endpoints.

    The value never comes from the command line: pipe it in with
    --auth-header-stdin or --basic-password-stdin, or type it at the hidden
    prompt on a terminal (asked twice). The workspace's active partner is
    looked up before the value is asked for; --id must be that partner unless
    --force. The scope is created when missing; for NON_ADMIN partners `users`
    is given READ (and no more).

    \b
    Examples:
      databricks-stp secret put --basic-user svc --basic-password-stdin < pw.txt
      printf 'Bearer %s' "$PARTNER_TOKEN" | databricks-stp secret put --id ID \\
          --auth-header-stdin --non-admin
      databricks-stp secret put -f partner.json --no-auth-header -p my-workspace
    """
    # deferred: --help imports every command module; what a command runs loads when it runs
    from stp_ext.render.views import secret as view
    from stp_ext.services.credential import CredentialService, SecretStepFailed
    from stp_ext.services.credential_target import resolve_put_target

    env = command_env()
    credential = CredentialInput.from_kwargs(kwargs)
    credential.check_stdin_free(config_path)
    credential.check_readable(env.terminal)
    non_admin = _resolve_non_admin(non_admin, config_path, env)
    workspace = env.workspace()
    # The partner is checked before the secret is asked for: a typo in --id must not
    # silently store the credential under a key Partner Connect never reads.
    with env.renderer.status("Looking up the active partner…"):
        key = resolve_put_target(workspace, partner_id, force=force, steps=env.steps)
    header = credential.read(prompt=True, warn=env.renderer.warning, terminal=env.terminal)
    if header is None:  # not reached: checked above
        raise InputError("no credential given")
    try:
        with env.renderer.status("Storing the endpoint credential…"):
            result = CredentialService(workspace).put(key, header, non_admin=bool(non_admin))
    except SecretStepFailed as e:
        if not e.done:
            raise  # nothing was done: a plain failure
        command = env.steps.secret_put(key, non_admin=non_admin, credential_flags=credential.flags())
        raise PartialFailure(
            f"{e.message}. {done_not_done(e.done, e.not_done)}", hint=finish(command), done=e.done
        ) from None
    view.stored(env.renderer, result)


@secret.command("status")
@partner_id_option
@_non_admin_option
@config_file_option(required=False)
@common_options
def status(partner_id: str | None, non_admin: bool | None, config_path: str | None) -> None:
    """Check the credential: scope exists, key present, `users` READ for NON_ADMIN.

    Exit 1 when a check fails. Workspace admins read every scope whatever the
    ACLs say: test a NON_ADMIN integration as a non-admin user.

    \b
    Examples:
      databricks-stp secret status -p my-workspace
      databricks-stp secret status -f partner.json -o json
    """
    # deferred: --help imports every command module; what a command runs loads when it runs
    from stp_ext.render.views import secret as view
    from stp_ext.services.credential import CredentialService

    env = command_env()
    non_admin = _resolve_non_admin(non_admin, config_path, env)
    workspace = env.workspace()
    key = _partner_id(partner_id, workspace, env)
    service = CredentialService(workspace)
    with env.renderer.status("Checking the endpoint credential…"):
        checks = service.status(key, non_admin=non_admin)
        is_admin = service.caller_is_admin()
    view.status(env.renderer, key, checks, is_admin=is_admin)
    failed = [c.check for c in checks if not c.ok]
    if failed:
        raise CheckFailed(
            f"{len(failed)} of {plural(len(checks), 'check')} failed: {', '.join(failed)}",
            hint=f"Store the credential with: {env.steps.secret_put(key, non_admin=non_admin)}",
        )


@secret.command("delete")
@partner_id_option
@yes_option
@click.option("--if-exists", is_flag=True, help="Succeed (exit 0) when there is no secret to delete, for CI teardown.")
@common_options
def delete(partner_id: str | None, yes: bool, if_exists: bool) -> None:
    """Delete the partner's credential (the scope is left in place).

    \b
    Examples:
      databricks-stp secret delete -p my-workspace
      databricks-stp secret delete --id 0123456789ABCDEF0123456789ABCDEF --yes \\
          -o json
      databricks-stp secret delete --id 0123456789ABCDEF0123456789ABCDEF --yes \\
          --if-exists
    """
    # deferred: --help imports every command module; what a command runs loads when it runs
    from stp_ext.render.views import secret as view
    from stp_ext.services.credential import SCOPE, CredentialService
    from stp_ext.services.partners import NoActivePartner

    env = command_env()
    workspace = env.workspace()
    try:
        key = _partner_id(partner_id, workspace, env)
    except NoActivePartner:
        if not if_exists:
            raise
        view.deleted(env.renderer, SCOPE, None, deleted=False)
        return
    env.confirm(
        f"Delete the endpoint credential of partner {key}? The tile stops working until it is stored again.", yes=yes
    )
    with env.renderer.status("Deleting the endpoint credential…"):
        deleted = CredentialService(workspace).delete(key, missing_ok=if_exists)
    view.deleted(env.renderer, SCOPE, key, deleted=deleted)
