"""labs.yml and the click CLI cannot drift apart: same commands, same flags, same defaults."""

from __future__ import annotations

import re
from typing import Any

import click
import pytest
import yaml
from helpers import REPO

from stp_ext.cli import COMMANDS
from stp_ext.cli.labs import TABLE_COMMANDS, LabsCommand, labs_commands

# What the Databricks CLI reads (its cmd/labs/project/schema.json); anything else is a typo.
TOP_LEVEL_KEYS = {"$version", "name", "description", "install", "uninstall", "entrypoint", "min_python", "commands"}
OFFLINE = {"init", "validate", "schema", "connect-test", "emulator", "sample-partner", "demo"}


@pytest.fixture(scope="module")
def labs() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "labs.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def declared(labs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    names = [command["name"] for command in labs["commands"]]
    assert len(names) == len(set(names)), "a command is declared twice"
    return {command["name"]: command for command in labs["commands"]}


CLI_COMMANDS = {command.name: command for command in labs_commands()}


def test_project_header(labs: dict[str, Any]) -> None:
    assert labs["name"] == "stp"
    assert labs["description"]
    assert (REPO / labs["entrypoint"]).is_file()
    assert (REPO / labs["install"]["script"]).is_file()
    # A string, as the Databricks CLI compares versions; and the same floor as the package.
    assert labs["min_python"] == "3.9"
    assert 'requires-python = ">=3.9"' in (REPO / "pyproject.toml").read_text()
    assert set(labs) <= TOP_LEVEL_KEYS


def test_every_cli_command_is_declared(declared: dict[str, dict[str, Any]]) -> None:
    # Groups (secret) appear as flat names (secret-put); every entry of COMMANDS is covered.
    for name in COMMANDS:
        assert name in CLI_COMMANDS or any(labs.startswith(name + "-") for labs in CLI_COMMANDS), name
    assert sorted(set(CLI_COMMANDS) - set(declared)) == [], "add these commands to labs.yml"
    assert sorted(set(declared) - set(CLI_COMMANDS)) == [], "labs.yml declares commands the CLI does not have"


@pytest.mark.parametrize("name", sorted(CLI_COMMANDS))
def test_flags_match_the_click_options(name: str, declared: dict[str, dict[str, Any]]) -> None:
    command = CLI_COMMANDS[name]
    entry = declared[name]
    assert not [p for p in command.command.params if isinstance(p, click.Argument)], (
        "positional arguments cannot be passed by the Databricks CLI; extend stp_ext/cli/labs.py first"
    )
    flags = {flag.name: flag for flag in command.flags() if not flag.hidden}
    yml_flags = {flag["name"]: flag for flag in entry.get("flags") or []}
    assert sorted(flags) == sorted(yml_flags), f"labs.yml flags of {name!r} differ from `databricks-stp` options"
    for flag_name, flag in flags.items():
        described = yml_flags[flag_name]
        assert isinstance(described.get("description"), str) and described["description"].strip()
        assert re.fullmatch(r"[a-z0-9-]+", flag_name)
        # A default in labs.yml is passed on every run: it must be the CLI's own default, as a string.
        if "default" in described:
            assert described["default"] == flag.default, f"default of {name} --{flag_name}"
        if flag.is_switch:
            assert described["description"].startswith("true"), f"say how to switch --{flag_name} on"


def test_unauthenticated_commands_are_the_offline_ones(declared: dict[str, dict[str, Any]]) -> None:
    offline = {name for name, entry in declared.items() if entry.get("is_unauthenticated")}
    assert offline == OFFLINE


def test_table_templates_are_on_json_commands(declared: dict[str, dict[str, Any]]) -> None:
    with_template = {name for name, entry in declared.items() if entry.get("table_template")}
    assert with_template == set(TABLE_COMMANDS)
    assert declared["get"]["table_template"] == "ID\\tName\n{{range .partners}}{{.id}}\\t{{.name}}\n{{end}}"


def test_every_command_has_a_description(declared: dict[str, dict[str, Any]]) -> None:
    for name, entry in declared.items():
        assert isinstance(entry.get("description"), str) and entry["description"].strip(), name
        assert set(entry) <= {"name", "description", "flags", "table_template", "is_unauthenticated"}, name


def test_labs_names_map_to_command_paths() -> None:
    assert CLI_COMMANDS["secret-put"].path == ("secret", "put")
    assert CLI_COMMANDS["connect-test"].path == ("connect-test",)
    assert all(isinstance(c, LabsCommand) for c in CLI_COMMANDS.values())
