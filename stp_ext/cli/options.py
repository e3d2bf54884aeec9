"""Shared option bundles, as decorators (the sqlite-utils way).

The common options (-p, -e, -o, --debug) are accepted on the group and after
any subcommand (`databricks-stp create -f cfg.json -e`), so they are declared
on both and stored, by callback, in one ``GlobalOptions`` object on the root
context. A value given after the subcommand wins, being parsed last.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from stp_ext.cli.profile_completion import complete_profile
from stp_ext.core import log_settings, user_agent
from stp_ext.core.clock import Clock, MonotonicClock
from stp_ext.core.errors import InputError, StpError
from stp_ext.core.terminal import Terminal
from stp_ext.render import OUTPUT_FORMATS, Renderer
from stp_ext.services.next_steps import NextSteps

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_ENV = "DATABRICKS_OUTPUT_FORMAT"


@dataclass
class GlobalOptions:
    profile: str | None = None
    use_env: bool = False
    output_flag: str | None = None
    debug: bool = False
    terminal: Terminal = field(default_factory=Terminal)
    clock: Clock = field(default_factory=MonotonicClock)  # where workspace calls read the time and wait
    # The words after the (sub)command's name, for advice on a usage error
    # (`validate partner.json` without -f).
    command_args: list[str] = field(default_factory=list)

    def auth_flags(self) -> str:
        """The auth options of this run, to print in a command that finishes a job."""
        if self.use_env:
            return " -e"
        if self.profile:
            return f" -p {shlex.quote(self.profile)}"
        return ""

    @property
    def output(self) -> str:
        if self.output_flag:
            return self.output_flag
        from_env = os.environ.get(OUTPUT_ENV, "").strip().lower()
        if not from_env:
            return "text"
        if from_env not in OUTPUT_FORMATS:
            raise InputError(
                f"{OUTPUT_ENV}={from_env!r} is not an output format",
                hint="Set it to 'text' or 'json', or pass -o text|json.",
            )
        return from_env


def global_options(ctx: click.Context) -> GlobalOptions:
    root = ctx.find_root()
    if not isinstance(root.obj, GlobalOptions):
        root.obj = GlobalOptions()
    return root.obj


def _store(attribute: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is None or value is False:
            return  # not given here; keep what an earlier position set
        opts = global_options(ctx)
        setattr(opts, attribute, value)
        if attribute == "debug":
            log_settings.configure(debug=True)

    return callback


_PROFILE = click.option(
    "-p",
    "--profile",
    metavar="NAME",
    expose_value=False,
    callback=_store("profile"),
    shell_complete=complete_profile,
    help="Profile in the config file (DATABRICKS_CONFIG_FILE, else ~/.databrickscfg). "
    "Wins over DATABRICKS_* variables.",
)
_ENV = click.option(
    "-e",
    "--env",
    "use_env",
    is_flag=True,
    default=None,
    expose_value=False,
    callback=_store("use_env"),
    help="Use only the environment: DATABRICKS_HOST with DATABRICKS_TOKEN, or with DATABRICKS_CLIENT_ID and "
    "DATABRICKS_CLIENT_SECRET (a service principal). Wins over --profile.",
)
_OUTPUT = click.option(
    "-o",
    "--output",
    type=click.Choice(OUTPUT_FORMATS, case_sensitive=False),
    default=None,
    expose_value=False,
    callback=_store("output_flag"),
    help=f"Output format; default text, or {OUTPUT_ENV}.",
)
_DEBUG = click.option(
    "--debug",
    is_flag=True,
    default=None,
    expose_value=False,
    callback=_store("debug"),
    help="Log HTTP traffic and internals on stderr (secrets redacted); show tracebacks.",
)


def _apply(f: F, decorators: list[Callable[[F], F]]) -> F:
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def common_options(f: F) -> F:
    """-p/--profile, -e/--env, -o/--output, --debug: for the commands that talk to a workspace."""
    return _apply(f, [_PROFILE, _ENV, _OUTPUT, _DEBUG])


def offline_options(f: F) -> F:
    """-o/--output and --debug: commands that never talk to a workspace show no -p/-e."""
    return _apply(f, [_OUTPUT, _DEBUG])


def debug_option(f: F) -> F:
    """--debug only: a command with one output format (schema) shows no -o either."""
    return _apply(f, [_DEBUG])


class Seconds(click.ParamType):
    """A time limit in seconds: a finite number above zero, at most an hour (refuses 0, -1, nan, inf, 1e10)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        import math

        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        # deferred: keeps --version and shell completion light (~5 ms)
        from stp_ext.core.inputs import MAX_SECONDS

        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r} is not a time limit; give a number of seconds above 0, e.g. 10", param, ctx)
        if seconds > MAX_SECONDS:
            self.fail(f"{value!r} is more than {MAX_SECONDS:g} s (one hour), the longest wait allowed", param, ctx)
        return seconds


def timeout_option(default: float, help: str) -> Callable[[F], F]:
    return click.option("--timeout", type=Seconds(), default=default, show_default=True, metavar="SECONDS", help=help)


class SuggestingGroup(click.Group):
    """A group that answers a misspelt command with the closest one ("Did you mean 'create'?")."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            path = ctx.command_path
            if name == "help":
                raise click.UsageError(f"no such command 'help'. Did you mean '{path} --help'?", ctx)
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.5)
            suggestion = f" Did you mean {close[0]!r}?" if close else ""
            raise click.UsageError(f"no such command {name!r}.{suggestion}", ctx)
        global_options(ctx).command_args = list(args[1:])
        if name and not name.startswith("-"):
            # cmd/<command> on every workspace request, as the Databricks CLI tags its own.
            user_agent.set_command([*ctx.command_path.split()[1:], name])
        return super().resolve_command(ctx, args)


@dataclass
class CommandEnv:
    """What a command body needs: the resolved options, the renderer, the terminal and the clock."""

    options: GlobalOptions
    renderer: Renderer

    @property
    def terminal(self) -> Terminal:
        return self.options.terminal

    @property
    def clock(self) -> Clock:
        return self.options.clock

    @property
    def steps(self) -> NextSteps:
        """Next-step commands carrying this run's -p/-e."""
        return NextSteps(self.options.auth_flags())

    def workspace(self) -> Any:
        """Build the workspace client; imports databricks-sdk, so only on demand."""
        # deferred: keeps databricks-sdk (and requests) out of --help and the offline commands
        from stp_ext.workspace.auth import connect

        with self.renderer.status("Connecting to the workspace…"):
            return connect(
                profile=self.options.profile, use_env=self.options.use_env, debug=self.options.debug, clock=self.clock
            )

    def confirm(self, question: str, *, yes: bool) -> None:
        """Ask on a terminal unless --yes; scripts (no terminal) are never blocked on stdin."""
        if yes or not self.terminal.stdin_is_tty():
            return
        if not self.terminal.confirm(question):
            raise StpError("cancelled; nothing was changed")


def command_env() -> CommandEnv:
    ctx = click.get_current_context()
    opts = global_options(ctx)
    return CommandEnv(options=opts, renderer=Renderer(output=opts.output, debug=opts.debug, terminal=opts.terminal))


def config_file_option(required: bool = True) -> Callable[[F], F]:
    return click.option(
        "-f",
        "--file",
        "config_path",
        metavar="FILE",
        required=required,
        help="Partner config file (JSON with a top-level \"partner\" object); '-' reads stdin.",
    )


def yes_option(f: F) -> F:
    return click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (only asked on a terminal).")(f)


def _check_partner_id(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    # Ids are 32 hex characters; anything that is not a plain path segment would
    # change the URL we call, so it is refused before anything is sent.
    if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", value):
        raise click.BadParameter("expected the partner id, 32 hex characters (see `databricks-stp get`)")
    return value


def partner_id_option(f: F) -> F:
    return click.option(
        "--id",
        "partner_id",
        metavar="ID",
        callback=_check_partner_id,
        help="The partner id; skips looking up the active partner.",
    )(f)
