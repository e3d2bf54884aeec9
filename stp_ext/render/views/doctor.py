"""View of `doctor`: one row per check, then each failed check's fix on a line of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stp_ext.render.console import Column, Renderer
from stp_ext.render.safe import text

if TYPE_CHECKING:
    from stp_ext.services.doctor import DoctorReport


def report(render: Renderer, result: DoctorReport) -> None:
    for check in result.checks:
        if check.warning:
            render.warning(check.warning)
    if render.is_json:
        render.json(result.to_dict())
        return
    skipped, warn = text(("– skipped", "dim")), text(("⚠ warn", "yellow"))
    rows = [(c.check, skipped if c.ok is None else warn if c.warning else c.ok, c.detail) for c in result.checks]
    columns = [Column("Check", no_wrap=True), Column("Result", no_wrap=True), Column("Detail")]
    render.table(columns, rows, title="databricks-stp doctor")
    fixes = [c for c in result.checks if c.ok is False and c.fix]
    if fixes:
        # Fixes are often commands to copy: lines of their own, never wrapped inside a cell.
        render.line(("To fix:", "bold"))
        for check in fixes:
            render.line("  ", (check.check, "bold"), ": ", check.fix)
