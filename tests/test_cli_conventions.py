"""Conventions every command keeps: help with examples, --version, no colour off a terminal, fast paths."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import click
import pytest

from stp_ext.cli import COMMANDS, cli

ANSI = re.compile(r"\x1b\[")


def _all_command_paths() -> list[list[str]]:
    paths = []
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            paths += [[name, sub] for sub in command.list_commands(ctx)]
        paths.append([name])
    return paths


@pytest.mark.parametrize("path", _all_command_paths(), ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example(run, path):
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"databricks-stp {' '.join(path)}" in result.stdout.replace("\n      ", " ")
    # One layout everywhere: the examples right after the description, before the options.
    lines = result.stdout.splitlines()
    assert lines.index("  Examples:") < lines.index("Options:"), result.stdout
    # At 80 columns nothing is wider: a long example goes on over lines ending in a backslash, as a shell reads it.
    narrow = run(*path, "--help", env={"COLUMNS": "80"}).stdout
    assert max(len(line) for line in narrow.splitlines()) <= 80, narrow


def test_the_group_help_shows_its_examples_before_options_and_commands(run):
    lines = run("--help").stdout.splitlines()
    assert lines.index("  Examples:") < lines.index("Options:") < lines.index("Commands:")


def test_group_help_lists_every_command(run):
    result = run("--help")
    for name in COMMANDS:
        assert name in result.stdout


def test_version_names_the_tool_the_sdk_and_python(run):
    result = run("--version")
    assert result.exit_code == 0
    assert re.fullmatch(
        r"databricks-stp \d+\.\d+\.\d+\S* \(databricks-sdk \d+\.\d+\.\d+\S*, Python \d+\.\d+\.\d+\)\n", result.stdout
    )


def test_no_colour_off_a_terminal(workspace, run, partner_file):
    created = run("create", "-f", str(partner_file()), "-p", "emu", "--no-secret")
    listed = run("get", "-p", "emu")
    checked = run("validate", "-f", str(partner_file(category="bi")))
    for result in (created, listed, checked):
        assert not ANSI.search(result.stdout + result.stderr)


def test_no_colour_with_no_color_even_when_forced_terminal(workspace, run, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "")
    result = run("get", "-p", "emu")
    assert not ANSI.search(result.stdout)


def test_help_does_not_import_the_sdk():
    code = (
        "import sys\nfrom stp_ext.cli import main\nsys.argv = ['databricks-stp', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('databricks.sdk' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stderr.strip().splitlines()[-1] == "False"


def test_help_loads_no_http_client_nor_connect_test_runner():
    # --help builds every command; connect-test's options need only the case ids.
    code = (
        "import sys\nfrom stp_ext.cli import main\nsys.argv = ['databricks-stp', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('http.client', 'stp_ext.connect.runner', 'stp_ext.connect.cases') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_interrupt_exits_130(run, monkeypatch, workspace):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("stp_ext.services.partners.PartnerService.list", interrupted)
    result = run("get", "-p", "emu")
    assert result.exit_code == 130
    # click moves past the ^C with a newline first
    assert result.stderr.strip() == "Error: interrupted"


def test_unexpected_errors_are_one_line_and_traceback_with_debug(run, monkeypatch, workspace):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("stp_ext.services.partners.PartnerService.list", broken)
    plain = run("get", "-p", "emu")
    assert plain.exit_code == 1
    assert plain.stderr.splitlines()[0] == "Error: unexpected RuntimeError: boom"
    assert "Traceback" not in plain.stderr
    debug = run("get", "-p", "emu", "--debug")
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-2] == "Error: unexpected RuntimeError: boom"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_scripts(shell):
    done = subprocess.run(
        [sys.executable, "-m", "stp_ext"],
        env={**os.environ, "_DATABRICKS_STP_COMPLETE": f"{shell}_source"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert "_DATABRICKS_STP_COMPLETE" in done.stdout


def test_shell_completion_completes_commands():
    env = {
        **os.environ,
        "_DATABRICKS_STP_COMPLETE": "bash_complete",
        "COMP_WORDS": "databricks-stp sec",
        "COMP_CWORD": "1",
    }
    done = subprocess.run([sys.executable, "-m", "stp_ext"], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["plain,secret"]


@pytest.mark.parametrize("command", ["validate", "connect-test", "create"])
def test_a_config_file_given_without_f_is_answered_with_the_command_to_run(run, command):
    result = run(command, "partner.json", "-o", "json")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: Missing option '-f' / '--file'.",
        f"Give the file with -f: databricks-stp {command} -f partner.json -o json",
    ]


@pytest.fixture
def user_agents(monkeypatch):
    """The User-Agent of every request the emulator answers (its request log keeps method, path, status only)."""
    from stp_ext.emulator.app import EmulatorApp

    seen: list[tuple[str, str]] = []
    record = EmulatorApp._record

    def spy(self, request, status):
        seen.append((request.path, request.header("User-Agent")))
        record(self, request, status)

    monkeypatch.setattr(EmulatorApp, "_record", spy)
    return seen


@pytest.mark.parametrize(
    ("args", "tag"), [(["get"], "cmd/get"), (["secret", "status", "--id", "A1"], "cmd/secret_status")]
)
def test_every_workspace_request_names_its_command_in_the_user_agent(
    workspace, run, monkeypatch, user_agents, args, tag
):
    """As the Databricks CLI tags its requests; and cli/<version> when it runs us (DATABRICKS_CLI_VERSION)."""
    monkeypatch.setenv("DATABRICKS_CLI_VERSION", "0.240.0")
    run(*args, "-p", "emu", "-o", "json")
    sent = [agent for path, agent in user_agents if path.startswith("/api/")]
    assert sent, user_agents
    for agent in sent:
        assert agent.startswith("databricks-stp/") and tag in agent.split() and "cli/0.240.0" in agent.split()


def test_no_cli_tag_outside_the_databricks_cli(workspace, run, user_agents):
    run("get", "-p", "emu", "-o", "json")
    assert user_agents and not any("cli/" in agent.replace("databricks-stp/", "") for _, agent in user_agents)
