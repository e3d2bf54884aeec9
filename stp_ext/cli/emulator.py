"""`emulator`: the local workspace emulator in the foreground."""

from __future__ import annotations

import click

from stp_ext.cli.options import command_env, offline_options
from stp_ext.errors import InputError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (keep it on loopback).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option(
    "--state",
    "state_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="SQLite file that keeps partners and secrets across restarts (created with mode 0600).",
)
@click.option(
    "--token",
    envvar="DATABRICKS_STP_EMULATOR_TOKEN",
    help="The admin token the emulator accepts [env DATABRICKS_STP_EMULATOR_TOKEN].",
)
@click.option(
    "--user-token",
    envvar="DATABRICKS_STP_EMULATOR_USER_TOKEN",
    help="The non-admin user token [env DATABRICKS_STP_EMULATOR_USER_TOKEN].",
)
@click.option("--latency-ms", type=click.IntRange(min=0), default=0, help="Delay every API answer (fault injection).")
@click.option("--fail-next", type=click.IntRange(min=0), default=0, help="Fail the next N API requests.")
@click.option(
    "--fail-status", type=click.IntRange(100, 599), default=503, show_default=True, help="Status for --fail-next."
)
@click.option(
    "--fail-mode",
    type=click.Choice(["status", "drop", "html", "malformed_json"]),
    default="status",
    show_default=True,
    help="How --fail-next fails: an error status, a dropped connection, an HTML or a malformed JSON answer.",
)
@offline_options
def emulator(
    host: str,
    port: int,
    state_path: str | None,
    token: str | None,
    user_token: str | None,
    latency_ms: int,
    fail_next: int,
    fail_status: int,
    fail_mode: str,
) -> None:
    """Run the local workspace emulator: self-testing partners, secrets, SCIM Me.

    It speaks the REST endpoints this tool uses, with the real rules (one
    active partner, admin only, secret ACLs), for tests and CI without a
    workspace. Stop it with Ctrl-C. Faults can also be armed while it runs:
    POST /_emulator/faults (see stp_ext/emulator/faults.py).

    \b
    Examples:
      databricks-stp emulator --port 8765 --state emulator.db
      databricks-stp emulator --port 0 --token dapi-my-admin-token
      databricks-stp emulator --fail-next 2 --fail-status 429 --latency-ms 100
    """
    from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN, Emulator
    from stp_ext.render.views import servers as view

    env = command_env()
    emu = Emulator(
        host=host,
        port=port,
        state_path=state_path,
        admin_token=token or DEFAULT_ADMIN_TOKEN,
        user_token=user_token or DEFAULT_USER_TOKEN,
    ).bind()
    if latency_ms or fail_next:
        try:
            emu.faults.arm(latency_ms=latency_ms, fail_next=fail_next, status=fail_status, mode=fail_mode)
        except ValueError as e:
            emu.stop()
            raise InputError(f"invalid fault options: {e}") from None
    info = {
        "host": emu.url,
        "admin_token": emu.admin_token,
        "user_token": emu.user_token,
        "state": state_path,
    }
    view.emulator_running(env.renderer, info)
    try:
        emu.serve_forever()
    except KeyboardInterrupt:
        view.stopped(env.renderer)
    finally:
        emu.stop()
