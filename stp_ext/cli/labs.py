"""`databricks labs stp`: the adapter between the Databricks CLI and our click CLI.

The Databricks CLI runs ``python labs_entrypoint.py '<json>'`` (labs.yml names
the script) with one argument::

    {"command": "secret-put", "flags": {"id": "...", "no-auth-header": "true", "log_level": "disabled"},
     "output_type": ""}

Every flag declared in labs.yml is present, as a string ("" when not given).
This module turns that into the argv of ``databricks-stp`` and runs the same
click group, so the labs commands share every rule, message and exit status of
the CLI, with one difference from the labs helper library: a failure exits
non-zero.

Nothing here hard-codes the commands' flags: they are read from the click
commands themselves (which take a value, which are on/off switches), so
labs.yml is the only second copy, and tests/test_labs.py keeps it in step.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import click

from stp_ext.cli import COMMANDS, _version_message, cli
from stp_ext.core.errors import InputError
from stp_ext.core.logs import redact
from stp_ext.render import Renderer
from stp_ext.render.safe import clean

PROG_NAME = "databricks labs stp"

# Commands whose labs.yml entry has a table_template: the Databricks CLI parses
# their stdout as JSON and renders the template, so they always print JSON.
TABLE_COMMANDS = frozenset({"get"})

# Flags the Databricks CLI adds to every payload itself.
META_FLAGS = frozenset({"log_level"})

# The common options (click parameter names). The Databricks CLI owns these:
# it resolves auth from its own --profile (or the project's login) and passes
# it down as DATABRICKS_* variables; output and debug arrive as output_type and
# log_level.
COMMON_PARAMS = frozenset({"profile", "use_env", "output", "debug"})

DEBUG_LOG_LEVELS = frozenset({"debug", "trace"})
OUTPUT_TYPES = frozenset({"text", "json"})
_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})


@dataclass(frozen=True)
class LabsFlag:
    """One labs.yml flag and the click option it stands for."""

    name: str  # as in labs.yml and the payload: "no-secret"
    option: str  # our option: "--no-secret"
    is_switch: bool  # an on/off option: "true"/"false", no value on our side
    off_option: str | None  # the "off" spelling of a --x/--y pair ("--admin-only"), else None
    description: str
    default: str | None  # click's default as the labs CLI would pass it, for value options
    hidden: bool

    @classmethod
    def from_option(cls, param: click.Option) -> LabsFlag:
        long_opts = [opt for opt in param.opts if opt.startswith("--")]
        option = long_opts[0] if long_opts else param.opts[0]
        off = [opt for opt in param.secondary_opts if opt.startswith("--")]
        default = param.default
        # Plain values only: click 8.3 marks "no default" with a sentinel object, older clicks with None.
        has_value_default = not param.is_flag and isinstance(default, (str, int, float)) and default != ""
        return cls(
            name=option.lstrip("-"),
            option=option,
            is_switch=bool(param.is_flag),
            off_option=off[0] if off else None,
            description=(param.help or "").strip(),
            default=str(default) if has_value_default else None,
            hidden=bool(param.hidden),
        )

    def to_argv(self, value: Any) -> list[str]:
        """Our argv for the payload's value of this flag; [] when it was not given."""
        if value is None:
            return []
        if isinstance(value, bool):
            value = "true" if value else "false"
        if isinstance(value, (dict, list)):
            raise InputError(f"flag {self.name!r}: expected a string, got {type(value).__name__}")
        text = str(value)
        if self.is_switch:
            lowered = text.strip().lower()
            if lowered == "":
                return []
            if lowered in _TRUE:
                return [self.option]
            if lowered in _FALSE:
                return [self.off_option] if self.off_option else []
            raise InputError(
                f"flag {self.name!r} is a switch; got {text!r}",
                hint=f"Pass --{self.name}=true or --{self.name}=false.",
            )
        if text == "":
            return []
        # --name=value: a value starting with "-" cannot be taken for an option.
        return [f"{self.option}={text}"]


@dataclass(frozen=True)
class LabsCommand:
    """A flat labs command name ("secret-put") and the click command it runs."""

    name: str
    path: tuple[str, ...]  # ("secret", "put")
    command: click.Command

    def flags(self) -> list[LabsFlag]:
        return [
            LabsFlag.from_option(param)
            for param in self.command.params
            if isinstance(param, click.Option) and param.name not in COMMON_PARAMS
        ]

    def to_argv(self, flags: Mapping[str, Any]) -> list[str]:
        known = {flag.name: flag for flag in self.flags()}
        argv = list(self.path)
        for name, value in flags.items():
            flag = known.get(name)
            if flag is not None:
                argv += flag.to_argv(value)
            elif name not in META_FLAGS and value not in ("", None):
                raise InputError(
                    f"command {self.name!r} has no flag {name!r}",
                    hint=f"Its flags: {', '.join(sorted(known)) or 'none'}.",
                )
        return argv


def _context() -> click.Context:
    return click.Context(cli, info_name=PROG_NAME)


def labs_commands() -> Iterator[LabsCommand]:
    """Every labs command, in the order of `databricks-stp --help`; groups become `group-sub`."""
    ctx = _context()
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        if command is None:
            continue
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                leaf = command.get_command(ctx, sub)
                if leaf is not None:
                    yield LabsCommand(f"{name}-{sub}", (name, sub), leaf)
        else:
            yield LabsCommand(name, (name,), command)


def resolve(name: str) -> LabsCommand:
    """The labs command called ``name``; imports only the module that holds it."""
    ctx = _context()
    if name in COMMANDS:
        command = cli.get_command(ctx, name)
        if command is not None and not isinstance(command, click.Group):
            return LabsCommand(name, (name,), command)
    for group_name in COMMANDS:
        if not name.startswith(group_name + "-"):
            continue
        group = cli.get_command(ctx, group_name)
        if isinstance(group, click.Group):
            sub = name[len(group_name) + 1 :]
            leaf = group.get_command(ctx, sub)
            if leaf is not None:
                return LabsCommand(name, (group_name, sub), leaf)
    known = ", ".join(command.name for command in labs_commands())
    raise InputError(f"unknown command {name!r}", hint=f"Commands: {known}.")


def parse_payload(argv: list[str]) -> dict[str, Any]:
    """The JSON document the Databricks CLI passes as the only argument."""
    if len(argv) != 1:
        raise InputError(
            f"expected one argument, the JSON payload of the Databricks CLI; got {len(argv)}",
            hint=f"Run it as: {PROG_NAME} <command> [--flag value ...]",
        )
    try:
        payload = json.loads(argv[0])
    except ValueError as e:
        raise InputError(f"the payload is not JSON: {e}") from None
    if not isinstance(payload, dict):
        raise InputError(f"the payload must be a JSON object, got {type(payload).__name__}")
    command = payload.get("command")
    if not isinstance(command, str) or not command:
        raise InputError('the payload has no "command"')
    flags = payload.get("flags")
    if flags is None:
        payload["flags"] = {}
    elif not isinstance(flags, dict):
        raise InputError('"flags" in the payload must be a JSON object')
    return payload


def to_stp_argv(payload: Mapping[str, Any]) -> list[str]:
    """The `databricks-stp` argv that does what the payload asks."""
    command = resolve(str(payload["command"]))
    flags: Mapping[str, Any] = payload.get("flags") or {}
    argv = command.to_argv(flags)
    output_type = str(payload.get("output_type") or "").strip().lower()
    if command.name in TABLE_COMMANDS:
        argv += ["-o", "json"]
    elif output_type in OUTPUT_TYPES:
        argv += ["-o", output_type]
    elif output_type:
        raise InputError(f"output type {output_type!r} is not supported", hint="Use text or json.")
    # With no output type, -o is left out, so DATABRICKS_OUTPUT_FORMAT decides as it does for databricks-stp.
    if str(flags.get("log_level") or "").strip().lower() in DEBUG_LOG_LEVELS:
        argv.append("--debug")
    return argv


def forget_profile(environ: MutableMapping[str, str]) -> None:
    """Drop profile and config-file settings inherited from the user's shell.

    The Databricks CLI resolves the workspace itself and passes it down as
    DATABRICKS_* variables, clearing its profile and config-file settings so
    that SDKs are not confused. A DATABRICKS_CONFIG_PROFILE left in the shell
    would bring them back: databricks-sdk would read that profile too and mix
    it with the variables. Only done when a host was passed.
    """
    if environ.get("DATABRICKS_HOST"):
        for name in ("DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CONFIG_FILE"):
            environ.pop(name, None)


def main(argv: list[str] | None = None) -> int:
    """Run one `databricks labs stp` command; returns the exit status of `databricks-stp`."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        stp_argv = to_stp_argv(parse_payload(args))
    except InputError as e:
        Renderer().error(e.message, e.hint)
        return int(e.exit_code)
    forget_profile(os.environ)
    if "--debug" in stp_argv:
        sys.stderr.write(clean(redact(f"{PROG_NAME}: running databricks-stp {' '.join(stp_argv)}")) + "\n")
    return int(cli.main(args=stp_argv, prog_name=PROG_NAME, standalone_mode=False))


def install_check() -> int:
    """The labs.yml install hook: confirm the environment can run the commands, say what to try."""
    sys.stdout.write(
        f"{_version_message()} is ready for `{PROG_NAME}`.\n"
        f"Try:  {PROG_NAME} validate --file examples/partner.json\n"
        f"      {PROG_NAME} get\n"
    )
    return 0
