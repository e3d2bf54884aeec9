"""`doctor`: readiness of the whole setup in the workspace."""

from __future__ import annotations

import click

from stp_ext.cli.options import command_env, common_options, config_file_option
from stp_ext.errors import CheckFailed


@click.command()
@config_file_option(required=False)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for the connect endpoint.")
@common_options
def doctor(config_path: str | None, timeout: float) -> None:
    """Check the whole setup: auth, config, partner, credential, ACL, endpoint.

    Every failed row says how to fix it. Exit 1 when any check fails.

    \b
    Examples:
      databricks-stp doctor -f partner.json -p my-workspace
      databricks-stp doctor -e -o json
    """
    from stp_ext.doctor import run_doctor
    from stp_ext.render.views import doctor as view

    env = command_env()
    report = None
    if config_path is not None:
        from stp_ext.partner_config import load_partner_config

        report = load_partner_config(config_path)
    with env.renderer.status("Checking the setup…"):
        result = run_doctor(
            connect=env.workspace, report=report, config_path=config_path, steps=env.steps, timeout=timeout
        )
    view.report(env.renderer, result)
    if not result.passed:
        failed = result.failed
        raise CheckFailed(
            f"{len(failed)} check{'s' * (len(failed) != 1)} failed: {', '.join(c.check for c in failed)}",
            hint=failed[0].fix,
        )
