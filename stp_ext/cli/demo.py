"""`demo`: the whole flow against an in-process emulator and sample partner."""

from __future__ import annotations

import click

from stp_ext.cli.options import command_env, common_options


@click.command()
@common_options
def demo() -> None:
    """Show the whole flow in a few seconds, with no workspace.

    Starts a local workspace emulator and the sample partner on free ports,
    then runs validate, create (with the endpoint credential), get, secret
    status, connect-test, doctor and delete against them, printing each step.
    Exit 0 when every step passes.

    \b
    Examples:
      databricks-stp demo
      databricks-stp demo -o json
    """
    from stp_ext.demo import DemoFailed, StepResult, run_demo

    env = command_env()
    render = env.renderer

    def show(result: StepResult) -> None:
        if render.is_json:
            return
        mark = "[green]✓[/]" if result.ok else "[red]✗[/]"
        render.line(f"{mark} [bold]{result.step:<34}[/] {result.detail} [dim]({result.elapsed_ms:.0f} ms)[/]")

    if not render.is_json:
        render.line("[bold]databricks-stp demo[/]: a local workspace and a sample partner, no account needed\n")
    try:
        results = run_demo(show)
    except DemoFailed as e:
        if render.is_json:
            render.json({"passed": False, "steps": [r.to_dict() for r in e.results]})
        raise
    if render.is_json:
        render.json({"passed": True, "steps": [r.to_dict() for r in results]})
    else:
        render.line(f"\n[green]All {len(results)} steps passed.[/] Next: write your config, then point a profile")
        render.line("at your workspace and create the partner:")
        render.line("  databricks-stp init                  # asks; or --example TYPE, --no-input")
        render.line("  databricks-stp create -f partner.json -p PROFILE --basic-user USER")
