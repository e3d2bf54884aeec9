"""`demo`: the whole flow against an in-process emulator and sample partner."""

from __future__ import annotations

import click

from stp_ext.cli.options import command_env, offline_options


@click.command()
@offline_options
def demo() -> None:
    """Show the whole flow in a few seconds, with no workspace.

    Starts a local workspace emulator and the sample partner on free ports,
    then runs validate, create (with the endpoint credential), get, secret
    status, connect-test and doctor against them; then the Partner Connect
    journey (the emulator clicks the tile as the admin, again, and as a
    non-admin user, then deletes the connection); then delete. Each step
    is printed as it finishes.
    Exit 0 when every step passes.

    \b
    Examples:
      databricks-stp demo
      databricks-stp demo -o json
    """
    # deferred: keeps databricks-sdk, the emulator and the sample partner out of --help
    from stp_ext.render.views import demo as view
    from stp_ext.services.demo import DemoFailed, run_demo

    env = command_env()
    view.started(env.renderer)
    try:
        results = run_demo(lambda result: view.step(env.renderer, result))
    except DemoFailed as e:
        view.finished(env.renderer, e.results, passed=False)
        raise
    steps = [
        "databricks-stp init                  # asks; or --example TYPE, --no-input",
        env.steps.create("partner.json") + " -p PROFILE --basic-user USER",
    ]
    view.finished(env.renderer, results, passed=True, next_commands=steps)
