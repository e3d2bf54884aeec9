"""`validate` and `schema`: offline commands on the partner config file.

Thin: parse the options, call `stp_ext.partner_config`, render. Neither imports
databricks-sdk, so both start fast and work without a workspace.
"""

from __future__ import annotations

import click

from stp_ext.cli.options import command_env, config_file_option, debug_option, offline_options
from stp_ext.core.errors import InputError


@click.command()
@config_file_option()
@offline_options
def validate(config_path: str) -> None:
    """Check a partner config file locally, without a workspace.

    Every problem is named by its field (partner.hostnames, ...) with a hint
    to fix it. Exits 2 when there is any error, 0 otherwise (warnings allowed).

    \b
    Examples:
      databricks-stp validate -f partner.json
      databricks-stp validate -f partner.json -o json | jq '.findings[] | .field'
      cat partner.json | databricks-stp validate -f -
    """
    # deferred: keeps the partner config model (~14 ms) out of --help
    from stp_ext.partner_config import load_partner_config
    from stp_ext.render.views import validate as view

    env = command_env()
    report = load_partner_config(config_path)
    view.report(env.renderer, report)
    if not report.valid:
        raise InputError(
            f"{report.source} has {view.plural(len(report.errors), 'error')}",
            hint="Fix the fields named above, then run validate again.",
        )


@click.command()
@debug_option
def schema() -> None:
    """Print the JSON Schema of the partner config file (always JSON).

    Point your editor at it for completion and checks while you write the
    config; `validate` remains the authority.

    \b
    Examples:
      databricks-stp schema > partner-config.schema.json
      Then start partner.json with:
        {"$schema": "./partner-config.schema.json", "partner": {...}}
    """
    # deferred: keeps the partner config model (~14 ms) out of --help
    from stp_ext.partner_config import partner_json_schema
    from stp_ext.render.views import validate as view

    view.schema(command_env().renderer, partner_json_schema())
