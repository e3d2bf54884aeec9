"""Every command's text output fits the terminal, down to 80 columns, and never splits what a user copies.

Run end to end (emulator and sample partner over real HTTP) at 80, 100 and
200 columns: no line is wider than the terminal, and each host, id,
principal, enum value, flag and command appears whole on one line. A table
too wide for the terminal is stacked as `label: value` lines.
"""

from __future__ import annotations

import json

import pytest
from connect_fixtures import BASIC_PASSWORD, BASIC_USER, sample_partner
from helpers import write_profiles
from rich.cells import cell_len

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_USER_TOKEN


def _fits(output: str, width: int, whole: list[str], what: str) -> None:
    lines = output.splitlines()
    # The one exception: an `Error:` line is one line whatever it quotes, so scripts can grep it.
    too_wide = [line for line in lines if cell_len(line) > width and not line.startswith("Error: ")]
    assert not too_wide, f"{what}: lines over {width} columns:\n" + "\n".join(too_wide)
    for value in whole:
        assert any(value in line for line in lines), f"{what}: {value!r} is not whole on one line:\n{output}"


@pytest.mark.parametrize("width", [80, 100, 200])
def test_every_table_and_line_fits_and_keeps_copyable_values_whole(workspace, run, tmp_path, monkeypatch, width):
    monkeypatch.chdir(tmp_path)  # short relative paths: a path wider than the terminal could not fit
    emu = workspace.emulator
    host = emu.url
    write_profiles(
        workspace.config_file,
        {
            "emu": {"host": host, "token": DEFAULT_ADMIN_TOKEN},
            "emu-user": {"host": host, "token": DEFAULT_USER_TOKEN},
            "emu-m2m": {
                "host": host,
                "auth_type": "oauth-m2m",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
        },
    )
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", workspace.config_file.name)  # relative too: short
    env = {"COLUMNS": str(width)}
    outputs: dict[str, tuple[str, list[str]]] = {}

    def show(what: str, *args: str, whole: list[str], code: int = 0, stdin: str | None = None) -> str:
        result = run(*args, env=env, input=stdin)
        assert result.exit_code == code, f"{what}: {result.stderr}"
        outputs[what] = (result.stdout + result.stderr, whole)
        return result.stdout

    with sample_partner(hostnames="127.0.0.1") as partner:
        config = "partner.json"
        made = run("init", "-f", config, "--no-input", "--name", "Acme Data Integration",
                   "--connect-url", f"{partner.url}/connect", "--integration-type", "warehouse_read_write",
                   "--feature", "UNITY_CATALOG,NON_ADMIN", "-o", "json")  # fmt: skip
        assert made.exit_code == 0, made.stderr
        credential = ["--basic-user", BASIC_USER, "--basic-password-stdin"]
        created = run("create", "-f", config, "-p", "emu", *credential, "-o", "json", input=BASIC_PASSWORD)
        assert created.exit_code == 0, created.stderr
        partner_id = json.loads(created.stdout)["id"]

        show("get", "get", "-p", "emu", whole=[partner_id, host])
        show("get --all-profiles", "get", "--all-profiles", "-f", config,
             whole=[partner_id, host, "admin@example.com", DEFAULT_CLIENT_ID, "emu-m2m"], code=0)  # fmt: skip
        show("secret status", "secret", "status", "-p", "emu", "-f", config, whole=[partner_id, "READ"])
        show("doctor", "doctor", "-p", "emu", "-f", config,
             whole=[partner_id, host, "admin@example.com"])  # fmt: skip
        show("connect-test", "connect-test", "-f", config, *credential, stdin=BASIC_PASSWORD,
             whole=["P100", f"{partner.url}/connect", "--test-connection-url"])  # fmt: skip
        show("init --list-examples", "init", "--list-examples", whole=["WAREHOUSE_READ_WRITE", "AUTH_OAUTH_M2M"])
        show("sample-partner --list-faults", "sample-partner", "--list-faults", whole=["bad_enum"])
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"partner": {"name": "x", "integration_type": "warehouse_read_write",
                                               "hostname": "https://partner.example.com"}}))  # fmt: skip
        show("validate (findings)", "validate", "-f", "bad.json", code=2,
             whole=['"WAREHOUSE_READ_WRITE"', "partner.integration_type", '"hostnames"'])  # fmt: skip
        show("init", "init", "-f", "more/partner.json", "--no-input",
             whole=["databricks-stp validate -f", "databricks-stp create -f"])  # fmt: skip
        show("delete", "delete", "-p", "emu", "--yes", whole=[partner_id])
    show("demo", "demo", whole=["databricks-stp create -f partner.json"])

    for what, (output, whole) in outputs.items():
        _fits(output, width, whole, what)
    if width == 80:  # the two widest tables, stacked as label: value lines
        assert "\n  Host: " in outputs["get --all-profiles"][0]
        assert "\n  Result: " in outputs["doctor"][0]
    if width == 200:  # room enough: a table with its rules
        assert "│" in outputs["get --all-profiles"][0]


def test_a_panel_too_wide_for_the_terminal_drops_its_box_and_keeps_values_whole(capsys, monkeypatch):
    from stp_ext.render.console import Renderer
    from stp_ext.render.safe import text

    monkeypatch.setenv("COLUMNS", "80")
    secret_id = "emulator-client-id-0123456789abcdef"
    command = "databricks-stp secret put --id 0123456789ABCDEF0123456789ABCDEF -p my-workspace"
    Renderer().panel([text("OAuth M2M:   ", secret_id, " / ", "x" * 30, "  (client id / secret)"), text(command)],
                     title="Workspace emulator running (Ctrl-C stops it)")  # fmt: skip
    Renderer().warning(f"no endpoint credential was stored; the tile cannot be used until it is. Store it: {command}")
    out, err = capsys.readouterr()
    assert "╭" not in out  # the box would be wider than the terminal
    assert out.splitlines()[1].startswith("  OAuth M2M:")  # the lines indented under the title
    _fits(out, 80, [secret_id, command, "Workspace emulator running (Ctrl-C stops it)"], "panel")
    _fits(err, 80, [command], "warning")
    assert command in out and command in err.splitlines()  # a command moves to a line of its own, whole
    assert err.startswith("Warning: no endpoint credential was stored;")
