"""Views of `validate` and `schema`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stp_ext.core import wording
from stp_ext.render.console import MAX_SHOWN, Column, Renderer, more_findings
from stp_ext.render.safe import text

if TYPE_CHECKING:
    from stp_ext.partner_config import ConfigReport


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
