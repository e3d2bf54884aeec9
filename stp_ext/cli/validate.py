"""`validate` and `schema`: offline commands on the partner config file.

Thin: parse the options, call `stp_ext.partner_config`, render. Neither imports
databricks-sdk, so both start fast and work without a workspace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from stp_ext.cli.options import command_env, common_options, config_file_option
from stp_ext.errors import InputError

if TYPE_CHECKING:
    from stp_ext.partner_config import ConfigReport
    from stp_ext.render import Renderer


@click.command(
    epilog="Examples:\n\n\b\n"
    "  databricks-stp validate -f partner.json\n"
    "  databricks-stp validate -f partner.json -o json | jq '.findings[] | .field'\n"
    "  cat partner.json | databricks-stp validate -f -",
)
@config_file_option()
@common_options
def validate(config_path: str) -> None:
    """Check a partner config file locally, without a workspace.

    Every problem is named by its field (partner.hostnames, ...) with a hint
    to fix it. Exits 2 when there is any error, 0 otherwise (warnings allowed).
    """
    from stp_ext.partner_config import load_partner_config

    env = command_env()
    report = load_partner_config(config_path)
    if env.renderer.is_json:
        env.renderer.json({"valid": report.valid, "findings": [f.to_dict() for f in report.findings]})
    else:
        _render_text(report, env.renderer)
    if not report.valid:
        count = len(report.errors)
        raise InputError(
            f"{report.source} has {_plural(count, 'error')}",
            hint="Fix the fields named above, then run validate again.",
        )


@click.command(
    epilog="Examples:\n\n\b\n"
    "  databricks-stp schema > partner-config.schema.json\n"
    '  Then start partner.json with: {"$schema": "./partner-config.schema.json", "partner": {...}}',
)
@common_options
def schema() -> None:
    """Print the JSON Schema of the partner config file (always JSON).

    Point your editor at it for completion and checks while you write the
    config; `validate` remains the authority.
    """
    from stp_ext.partner_config import partner_json_schema

    # JSON in text mode too: the schema has no other useful form. Printed the
    # way the published stp_ext/partner-config.schema.json is written.
    command_env().renderer.json(partner_json_schema())


def _render_text(report: ConfigReport, renderer: Renderer) -> None:
    from rich.markup import escape
    from rich.text import Text

    from stp_ext.render import Column

    if report.findings:
        # Text cells, not markup: messages quote the user's file, which may hold "[...]".
        rows = [
            [
                Text(f.severity, style="bold red" if f.severity == "error" else "yellow"),
                Text(f.field),
                Text(f.message),
                Text(f.hint or ""),
            ]
            for f in report.findings
        ]
        columns = [Column("Severity", no_wrap=True), Column("Field", no_wrap=True), Column("Message"), Column("Hint")]
        renderer.table(columns, rows)
    source = escape(report.source)
    if not report.valid:
        summary = f"[red]✗[/] {source}: {_plural(len(report.errors), 'error')}, "
        summary += _plural(len(report.warnings), "warning")
    elif report.warnings:
        summary = f"[green]✓[/] {source} is valid ({_plural(len(report.warnings), 'warning')})"
    else:
        summary = f"[green]✓[/] {source} is valid"
    # One unwrapped line, whatever the width, so it can be grepped.
    renderer.out.print(summary, soft_wrap=True)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
