"""Views of the foreground servers: `sample-partner` and `emulator`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from stp_ext.render.console import Renderer
from stp_ext.render.safe import text


def faults(render: Renderer, fault_list: Sequence[Any]) -> None:
    if render.is_json:
        render.json({"faults": [{"name": f.name, "description": f.description} for f in fault_list]})
        return
    render.table(["Fault", "What goes wrong"], [[f.name, f.description] for f in fault_list])


def request_logger(render: Renderer) -> Callable[[str], None]:
    """One stderr line per request; the line quotes a peer's path, so it is data."""

    def log(line: str) -> None:
        render.note(line)

    return log


def sample_partner_listening(render: Renderer, info: dict[str, Any], checks_auth: bool) -> None:
    if render.is_json:
        render.json(info)
        return
    url, fault = info["url"], info.get("fault")
    lines = [
        text("Listening on ", (url, "bold")),
        text("  connect_url  ", info["connect_url"]),
        text("  delete_url   ", info["delete_url"]),
        text("  test         ", info["test_connection_url"]),
        text("  connectors   ", info["connectors_url"]),
        text("  new users    ", info["new_user_action"]),
        text("  hostnames    ", str(info["hostnames"])),
        text("  auth         ", "the given Authorization header only" if checks_auth else "none required"),
    ]
    if fault:
        lines.append(text(("  fault        ", "yellow"), (fault, "yellow")))
    render.panel(lines, title="sample partner", style="yellow" if fault else "green")
    hosts = str(info["hostnames"])
    if checks_auth:
        secret = "password.txt" if "--basic-user" in info["connect_test"] else "header.txt"
        render.line(f"Test it (with a partner.json whose hostnames list {hosts}, and the credential in {secret}):")
    else:
        render.line(
            f"Test it (with a partner.json whose hostnames list {hosts}; started without a credential, the "
            "AUTH case cannot run: start it with --basic-user to pass certification):"
        )
    render.line("  ", info["connect_test"])
    render.line("Ctrl-C stops it.")


def emulator_running(render: Renderer, info: dict[str, Any], *, loopback: bool = True) -> None:
    if not loopback:
        render.warning(
            f"listening on {info['host']}, not loopback: anyone who can reach this machine can use the printed "
            "tokens, and its control API (no authentication) is reachable too; use --host 127.0.0.1 unless you must"
        )
    if render.is_json:
        render.json(info)
        return
    host = info["host"]
    render.panel(
        [
            text("host:        ", (host, "cyan")),
            text("admin token: ", info["admin_token"]),
            text("user token:  ", info["user_token"], "  (not an admin)"),
            text("OAuth M2M:   ", info["client_id"], " / ", info["client_secret"], "  (client id / secret, admin)"),
            text("state:       ", info["state"] or "in memory"),
            text(
                "tile page:   ",
                info.get("partner_connect_page") or f"{host}/partner-connect",
                "  (Partner Connect in a box)",
            ),
        ],
        title="Workspace emulator running (Ctrl-C stops it)",
    )
    # The profiles are for copying into a file: plain lines, outside the box. They start with
    # a blank line: pasted after a last line that has no line break, they still begin a section.
    render.line("Profiles to append to ~/.databrickscfg (or DATABRICKS_CONFIG_FILE), from the blank line on:")
    profiles = [
        ("emu", [("host", host), ("token", info["admin_token"])]),
        ("emu-user", [("host", host), ("token", info["user_token"])]),
        (
            "emu-m2m",
            [
                ("host", host),
                ("auth_type", "oauth-m2m"),
                ("client_id", info["client_id"]),
                ("client_secret", info["client_secret"]),
            ],
        ),
    ]
    for name, fields in profiles:
        render.line("")
        render.line(f"[{name}]")
        for key, value in fields:
            render.line(f"{key:<13} = ", value)
    render.line("")


def stopped(render: Renderer) -> None:
    render.note("Stopped.")
