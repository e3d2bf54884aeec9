"""View of `connect-test`: a row per certification case, its findings in the last cell."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stp_ext.render.console import Column, Renderer
from stp_ext.render.safe import text
from stp_ext.render.views.validate import plural

if TYPE_CHECKING:
    from rich.text import Text

    from stp_ext.connect import ConnectTestReport
    from stp_ext.connect.report import CheckFinding

_MARKS = {"error": ("✗ ", "red"), "warning": ("! ", "yellow"), "info": ("· ", "dim")}


def report(render: Renderer, result: ConnectTestReport) -> None:
    if render.is_json:
        render.json(result.to_dict())
        return
    render.line("connect_url  ", result.connect_url)
    render.line("delete_url   ", result.delete_url or "(none in the config)")
    rows = []
    for scenario in result.scenarios:
        outcome: Any = text(("– skip", "dim")) if scenario.skipped else scenario.passed
        status = "" if scenario.status is None else str(scenario.status)
        rows.append(
            [
                scenario.case_id,
                text(scenario.title),
                outcome,
                status,
                f"{scenario.elapsed_ms:.0f} ms",
                findings_cell(scenario.findings),
            ]
        )
    columns = [
        Column("Case", no_wrap=True),
        Column("Journey"),
        Column("Result", no_wrap=True),
        Column("Status", no_wrap=True),
        Column("Time", no_wrap=True),
        Column("Findings"),
    ]
    render.table(columns, rows)
    summary = (
        f"{result.summary}; {plural(result.count('error'), 'error')}, {plural(result.count('warning'), 'warning')}"
    )
    render.line(("✓", "green") if result.passed else ("✗", "red"), " ", summary)


def findings_cell(findings: list[CheckFinding]) -> Text:
    # Messages quote the partner's answers: plain pieces, never markup.
    from rich.text import Text

    cell = Text()
    for index, finding in enumerate(findings):
        mark, style = _MARKS.get(finding.severity, ("· ", ""))
        if index:
            cell.append("\n")  # our own line break between findings
        cell.append_text(text((mark + finding.check, f"bold {style}".strip()), f": {finding.message}"))
    return cell
