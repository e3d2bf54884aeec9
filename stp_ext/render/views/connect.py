"""View of `connect-test`: a row per case, then each finding once with its cases, then the two verdicts.

The table says which case failed on which check; the lists under it give each
distinct finding once (a refused connection or a wrong credential repeats in
every case), certification first, then beyond certification.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text

from stp_ext.render.console import Column, Renderer
from stp_ext.render.safe import text

if TYPE_CHECKING:
    from stp_ext.connect import ConnectTestReport
    from stp_ext.connect.report import CheckFinding, FindingGroup

_MARKS = {"error": ("✗ ", "red"), "warning": ("! ", "yellow"), "info": ("· ", "dim")}
_OUTCOMES = {"skipped": ("– skip", "dim"), "not run": ("✗ not run", "red")}


def report(render: Renderer, result: ConnectTestReport) -> None:
    if render.is_json:
        render.json(result.to_dict())
        return
    render.line("connect_url  ", result.connect_url)
    render.line("delete_url   ", result.delete_url or "(none in the config)")
    if result.new_user_action_assumed and any(s.case_id == "P302" and not s.skipped for s in result.scenarios):
        render.line(
            "P302 expects ",
            result.new_user_action,
            " (assumed: the suite's default config; pass --new-user-action with the one you declared)",
        )
    rows = []
    for scenario in result.scenarios:
        outcome: Any = _OUTCOMES.get(scenario.outcome)
        outcome = text(outcome) if outcome else scenario.passed
        if not scenario.certification and not scenario.skipped and not scenario.passed:
            outcome = text(("! beyond", "yellow"))  # a case the public suite does not have: warnings only
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
    _groups(render, "Certification findings (the suite fails these):", result.groups("error"))
    _groups(
        render,
        "Beyond certification (the suite would pass these; --strict fails on them):",
        result.beyond,
    )
    if result.one_reason:
        render.line(("✗", "red"), " ", result.one_reason)
    certification = ("✓", "green") if result.certification_passed else ("✗", "red")
    render.line(certification, " certification: ", result.summary)
    if result.beyond_passed:
        render.line(("✓", "green"), " ", result.beyond_summary)
    else:
        render.line(("✗", "red") if result.strict else ("!", "yellow"), " ", result.beyond_summary)


def _groups(render: Renderer, heading: str, groups: list[FindingGroup]) -> None:
    if not groups:
        return
    render.line((heading, "bold"))
    for group in groups:
        mark, style = _MARKS.get(group.severity, ("· ", ""))
        render.line("  ", (mark + group.check, f"bold {style}"), " (", ", ".join(group.cases), "): ", group.shown)


def findings_cell(findings: list[CheckFinding]) -> Text:
    """The checks a case broke, by name (their text is listed once under the table); notes in full."""
    cell = Text()
    named: set[tuple[str, str]] = set()
    for finding in findings:
        mark, style = _MARKS.get(finding.severity, ("· ", ""))
        if finding.severity != "info" and (finding.severity, finding.check) in named:
            continue  # one name per check: the list under the table has each text
        named.add((finding.severity, finding.check))
        if cell:
            cell.append("\n")  # our own line break between findings
        if finding.severity == "info":
            cell.append_text(text((mark + finding.check, style), f": {finding.message}"))
        else:
            cell.append_text(text((mark + finding.check, f"bold {style}".strip())))
    return cell
