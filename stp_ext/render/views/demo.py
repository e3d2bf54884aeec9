"""View of `demo`: a line per step as it finishes, then the summary (or one JSON document)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from stp_ext.render.console import Renderer

if TYPE_CHECKING:
    from stp_ext.services.demo import StepResult


def started(render: Renderer) -> None:
    if not render.is_json:
        render.line(("databricks-stp demo", "bold"), ": a local workspace and a sample partner, no account needed")
        render.line()


def step(render: Renderer, result: StepResult) -> None:
    if render.is_json:
        return
    mark = ("✓", "green") if result.ok else ("✗", "red")
    render.line(
        mark, " ", (f"{result.step:<34}", "bold"), " ", result.detail, " ", (f"({result.elapsed_ms:.0f} ms)", "dim")
    )


def finished(
    render: Renderer, results: Sequence[StepResult], *, passed: bool, next_commands: Sequence[str] = ()
) -> None:
    if render.is_json:
        render.json({"passed": passed, "steps": [r.to_dict() for r in results]})
        return
    if passed:
        render.line()
        render.line(
            (f"All {len(results)} steps passed.", "green"),
            " Next: write your config, then point a profile at your workspace and create the partner:",
        )
        for command in next_commands:
            render.line("  ", command)
