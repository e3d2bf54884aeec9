"""`emulator`: the local workspace emulator in the foreground."""

from __future__ import annotations

import ipaddress
import os
from typing import TYPE_CHECKING, Any

import click

from stp_ext.cli.options import command_env, offline_options
from stp_ext.core.errors import InputError

if TYPE_CHECKING:
    from stp_ext.emulator import Emulator

CLIENT_SECRET_ENV = "DATABRICKS_STP_EMULATOR_CLIENT_SECRET"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Keep it on loopback: the tokens are printed and the control API has no auth.",
)
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
@click.option(
    "--client-id",
    envvar="DATABRICKS_STP_EMULATOR_CLIENT_ID",
    help="The OAuth M2M client id of its service principal (an admin); its secret comes from "
    "DATABRICKS_STP_EMULATOR_CLIENT_SECRET [env DATABRICKS_STP_EMULATOR_CLIENT_ID].",
)
@click.option("--latency-ms", type=click.IntRange(min=0), default=0, help="Delay every API answer (fault injection).")
@click.option("--fail-next", type=click.IntRange(min=0), default=0, help="Fail the next N API requests.")
@click.option(
    "--fail-status", type=click.IntRange(100, 599), default=503, show_default=True, help="Status for --fail-next."
)
@click.option(
    "--fail-mode",
    # stp_ext.emulator.faults.MODES, less "json" (it needs a body: arm it over the control API). Listed here
    # because importing the emulator package loads its server, and every --help builds this option.
    type=click.Choice(["status", "drop", "html", "malformed_json", "drip", "huge", "echo", "hang"]),
    default="status",
    show_default=True,
    help="How --fail-next fails: an error status, a dropped connection, an HTML or a malformed JSON answer, "
    "a JSON answer dripped a byte a second, a 1 MiB answer, an error quoting the request (redaction tests), "
    "or no answer at all for 10 minutes (hang).",
)
@click.option(
    "--fail-path",
    metavar="PREFIX",
    default="/api/",
    show_default=True,
    help="Only requests under this path are delayed or failed: /oidc for the OAuth endpoints, / for all.",
)
@click.option(
    "--retry-after",
    type=click.IntRange(min=0),
    default=None,
    help="Retry-After seconds on --fail-next's status answers (a throttling or huge-wait workspace).",
)
@click.option(
    "--request-log-size",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="How many of the newest requests GET /_emulator/requests keeps (older ones are only counted).",
)
@offline_options
def emulator(
    host: str,
    port: int,
    state_path: str | None,
    token: str | None,
    user_token: str | None,
    client_id: str | None,
    latency_ms: int,
    fail_next: int,
    fail_status: int,
    fail_mode: str,
    fail_path: str,
    retry_after: int | None,
    request_log_size: int,
) -> None:
    """Run the local workspace emulator: self-testing partners, secrets, SCIM Me, OAuth M2M.

    It speaks the REST endpoints this tool uses, with the real rules (one
    active partner, admin only, secret ACLs), for tests and CI without a
    workspace. Stop it with Ctrl-C. It accepts the two tokens and an OAuth
    client it prints at start. Faults can also be armed while it runs, with
    POST /_emulator/faults from this machine (the README's "Workspace
    emulator" section lists the control API).

    \b
    Examples:
      databricks-stp emulator --port 8765 --state emulator.db
      databricks-stp emulator --port 0 --token dapi-my-admin-token
      databricks-stp emulator --fail-next 2 --fail-status 429 --latency-ms 100
    """
    # deferred: keeps the emulator (sqlite3, its server: ~0.1 s) out of --help
    from stp_ext.emulator import DEFAULT_CLIENT_ID, Emulator
    from stp_ext.render.views import servers as view

    env = command_env()
    admin_token, user_token, client_secret = _credentials(token, user_token)
    emu = Emulator(
        host=host,
        port=port,
        state_path=state_path,
        admin_token=admin_token,
        user_token=user_token,
        client_id=client_id or DEFAULT_CLIENT_ID,
        client_secret=client_secret,
        request_log_size=request_log_size,
    ).bind()
    if latency_ms or fail_next:
        faults = {"status": fail_status, "mode": fail_mode, "retry_after": retry_after, "path_prefix": fail_path}
        _arm_faults(emu, latency_ms=latency_ms, fail_next=fail_next, **faults)
    info = _running_info(emu, state_path)
    view.emulator_running(env.renderer, info, loopback=_is_loopback(host))
    try:
        emu.serve_forever()  # returns on Ctrl-C: stopping is the normal end of a foreground server
    finally:
        emu.stop()
    view.stopped(env.renderer)


def _arm_faults(emu: Emulator, **faults: Any) -> None:
    """The fault options, armed before the first request; a bad combination stops the emulator it bound."""
    try:
        emu.faults.arm(**faults)
    except ValueError as e:
        emu.stop()
        raise InputError(f"invalid fault options: {e}") from None


def _running_info(emu: Emulator, state_path: str | None) -> dict[str, Any]:
    """What the start-up banner shows: where it listens and the credentials it accepts."""
    return {
        "host": emu.url,
        "admin_token": emu.admin_token,
        "user_token": emu.user_token,
        "client_id": emu.client_id,
        "client_secret": emu.client_secret,
        "state": state_path,
        "partner_connect_page": f"{emu.url}/partner-connect",
    }


def _credentials(token: str | None, user_token: str | None) -> tuple[str, str, str]:
    """The admin token, the user token and the OAuth client secret, which must all differ."""
    # deferred: keeps the emulator (sqlite3, its server: ~0.1 s) out of --help
    from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_CLIENT_SECRET, DEFAULT_USER_TOKEN

    admin_token, user_token = token or DEFAULT_ADMIN_TOKEN, user_token or DEFAULT_USER_TOKEN
    # Not an option: a secret on the command line is in `ps` and the shell history.
    client_secret = os.environ.get(CLIENT_SECRET_ENV) or DEFAULT_CLIENT_SECRET
    if admin_token == user_token:
        raise click.UsageError("--token and --user-token must differ: one is an admin, the other is not")
    if client_secret in (admin_token, user_token):
        raise click.UsageError(f"{CLIENT_SECRET_ENV} must differ from --token and --user-token")
    return admin_token, user_token, client_secret
