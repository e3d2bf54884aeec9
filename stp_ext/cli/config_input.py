"""Load a partner config for a command that sends it: invalid means exit 2, nothing sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stp_ext.core.errors import InputError
from stp_ext.services.next_steps import NextSteps

if TYPE_CHECKING:
    from stp_ext.partner_config import ConfigReport
    from stp_ext.render import Renderer


def load_valid_config(path: str, renderer: Renderer) -> ConfigReport:
    # deferred: keeps the partner config model (~14 ms) out of --help
    from stp_ext.partner_config import load_partner_config

    report = load_partner_config(path)
    renderer.findings_on_stderr(report.findings)
    if not report.valid:
        count = len(report.errors)
        raise InputError(
            f"{report.source} is not a valid partner config ({count} error{'s' * (count != 1)}); nothing was sent",
            hint=f"See the findings above, or run: {NextSteps().validate(path)}",
        )
    return report
