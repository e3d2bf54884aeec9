"""Views of `init`: the shipped examples, and what was written with the next steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from stp_ext.render.console import Column, Renderer
from stp_ext.render.safe import text

if TYPE_CHECKING:
    from stp_ext.services.next_steps import NextSteps


def examples(render: Renderer, rows: Sequence[dict[str, Any]]) -> None:
    if render.is_json:
        render.json({"examples": list(rows)})
        return
    render.table(
        [Column("Example", no_wrap=True), "Integration type", "Features", "Auth options"],
        [
            (r["name"], r["integration_type"], ", ".join(r["supported_features"]), ", ".join(r["auth_options"]))
            for r in rows
        ],
        title="Shipped examples (databricks-stp init --example NAME)",
    )


def written(render: Renderer, result: Any, steps: NextSteps) -> None:
    for warning in result.warnings:
        render.warning(warning)
    if render.is_json:
        render.json(result.to_dict())
        return
    source = f" from example {result.example!r}" if result.example else ""
    already = "" if result.schema_written else " (already there)"
    render.panel(
        [text("config: ", str(result.path), source), text("schema: ", str(result.schema_path), already)],
        title="Partner config written",
    )
    # Commands to copy: lines of their own, outside the box, never wrapped.
    path = str(result.path)
    render.line("Next:")
    render.line("  ", steps.validate(path))
    render.line("  ", steps.connect_test(path))
    render.line("  ", steps.create(path), " -p PROFILE --basic-user USER")
