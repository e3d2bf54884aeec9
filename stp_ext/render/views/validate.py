"""Views of `validate` and `schema`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from stp_ext import wording
from stp_ext.render.console import Column, Renderer
from stp_ext.render.safe import text

if TYPE_CHECKING:
    from stp_ext.partner_config import ConfigReport


# A table of 40,000 rows took rich 34 s and 491 MB; nobody reads past the first screens.
MAX_SHOWN = 50


def more_findings(hidden: Sequence[Any]) -> str:
    """The line that stands for the findings not shown (the JSON output lists them all)."""
    errors = sum(1 for f in hidden if f.severity == "error")
    return (
        f"… and {len(hidden)} more ({plural(errors, 'error')}, {plural(len(hidden) - errors, 'warning')}); "
        "-o json lists them all"
    )


plural = wording.plural  # the one implementation, kept under its old name for the views


def report(render: Renderer, result: ConfigReport) -> None:
    if render.is_json:
        render.json({"valid": result.valid, "findings": [f.to_dict() for f in result.findings]})
        return
    if result.findings:
        shown = result.findings[:MAX_SHOWN]
        rows = [
            [text((f.severity, "bold red" if f.severity == "error" else "yellow")), f.field, f.message, f.hint or ""]
            for f in shown
        ]
        columns = [Column("Severity", no_wrap=True), Column("Field", no_wrap=True), Column("Message"), Column("Hint")]
        render.table(columns, rows)
        if len(result.findings) > len(shown):
            render.line(more_findings(result.findings[len(shown) :]))
    if not result.valid:
        summary: list[Any] = [("✗", "red"), f" {result.source}: {plural(len(result.errors), 'error')}, "]
        summary.append(plural(len(result.warnings), "warning"))
    elif result.warnings:
        summary = [("✓", "green"), f" {result.source} is valid ({plural(len(result.warnings), 'warning')})"]
    else:
        summary = [("✓", "green"), f" {result.source} is valid"]
    render.line(*summary)  # one unwrapped line, whatever the width, so it can be grepped


def schema(render: Renderer, document: dict[str, Any]) -> None:
    # JSON in text mode too: the schema has no other useful form.
    render.json(document)
