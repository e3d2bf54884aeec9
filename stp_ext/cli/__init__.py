"""The `databricks-stp` command group.

Commands are loaded lazily from the table below, so `--help` and the offline
commands import neither databricks-sdk nor the modules of other commands.
Every failure is turned into one ``Error:`` line (plus a next step) and an
exit status in ``StpGroup.main``: the one place that maps exceptions to exit
codes.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from stp_ext import __version__
from stp_ext.cli.options import GlobalOptions, SuggestingGroup, common_options
from stp_ext.core import log_settings, user_agent
from stp_ext.core.errors import ExitCode, StpError
from stp_ext.core.logs import clean_lines, configure_logging, redact, redact_peer, traceback_text
from stp_ext.render import Renderer

# name -> "module:attribute"; the order is the order of `--help`.
COMMANDS: dict[str, str] = {
    "init": "stp_ext.cli.init:init",
    "create": "stp_ext.cli.partners:create",
    "get": "stp_ext.cli.partners:get",
    "update": "stp_ext.cli.partners:update",
    "delete": "stp_ext.cli.partners:delete",
    "secret": "stp_ext.cli.secret:secret",
    "validate": "stp_ext.cli.validate:validate",
    "schema": "stp_ext.cli.validate:schema",
    "connect-test": "stp_ext.cli.connect_test:connect_test",
    "doctor": "stp_ext.cli.doctor:doctor",
    "emulator": "stp_ext.cli.emulator:emulator",
    "demo": "stp_ext.cli.demo:demo",
    "sample-partner": "stp_ext.cli.servers:sample_partner",
}


def _version_message() -> str:
    # Read the SDK's version from package metadata: importing it costs a second.
    from importlib.metadata import PackageNotFoundError, version

    try:
        sdk = version("databricks-sdk")
    except PackageNotFoundError:
        sdk = "not installed"
    python = ".".join(str(part) for part in sys.version_info[:3])
    return f"databricks-stp {__version__} (databricks-sdk {sdk}, Python {python})"


class StpGroup(SuggestingGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    # click's main is typed with overloads on standalone_mode; ours always returns the exit status.
    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        configure_logging(debug=False)
        user_agent.set_command([])  # named again when the command is resolved (one process may run many)
        # terminal and clock: the seams tests use to answer prompts (stp_ext.core.terminal.FakeTerminal)
        # and to skip waits (tests/fake_clock.py); a run without them gets the real ones.
        seams = {name: extra.pop(name, None) for name in ("terminal", "clock")}
        options = GlobalOptions(**{name: seam for name, seam in seams.items() if seam is not None})
        restore_signals, received = _signals_interrupt()
        try:
            # DATABRICKS_LOG_LEVEL/FILE/FORMAT as the Databricks CLI reads them (a bad value is one Error line).
            log_settings.configure(debug=False)
            result = super().main(
                args, prog_name or "databricks-stp", complete_var, standalone_mode=False, obj=options, **extra
            )
            code = result if isinstance(result, int) else ExitCode.OK
        except StpError as e:
            _report(options, e.message, e.hint, e)
            code = e.exit_code
        except click.UsageError as e:
            command = e.ctx.command_path if e.ctx else "databricks-stp"
            hint = _file_hint(e, command, options) or f"Run '{command} --help' for usage and examples."
            _report(options, e.format_message(), hint, e)
            code = ExitCode.USAGE
        except click.ClickException as e:
            _report(options, e.format_message(), None, e)
            code = e.exit_code
        except (click.Abort, KeyboardInterrupt) as e:
            _report(options, "interrupted", None, e)
            code = ExitCode.INTERRUPTED
        except Exception as e:  # the last line of defence: one line, never a raw traceback
            _report(
                options,
                f"unexpected {type(e).__name__}: {redact_peer(str(e))}",
                "Rerun with --debug for details, and report it if it persists.",
                e,
            )
            code = ExitCode.FAILURE
        finally:
            restore_signals()
        if code == ExitCode.INTERRUPTED and received and received[0] == "SIGHUP":
            code = ExitCode.HANGUP  # the same report; a status that tells a supervisor why
        if standalone_mode:
            sys.exit(int(code))
        return int(code)


def _file_hint(error: click.UsageError, command: str, options: GlobalOptions) -> str | None:
    """`validate partner.json`: the file was given without -f; say so, with the command to run."""
    import shlex

    if not (isinstance(error, click.MissingParameter) and error.param and error.param.name == "config_path"):
        return None
    import os

    # A word that names a file (not an option's value such as a profile name).
    files = [w for w in options.command_args if w.lower().endswith(".json") or os.path.isfile(w)]
    if not files:
        return None
    rest = [word for word in options.command_args if word != files[0]]
    fixed = " ".join([command, "-f", shlex.quote(files[0]), *map(shlex.quote, rest)])
    return f"Give the file with -f: {fixed}"


def _signals_interrupt() -> tuple[Any, list[str]]:
    """Treat SIGTERM and SIGHUP like Ctrl-C, so a multi-step command stopped by a supervisor, a
    closed terminal or a dropped SSH session still says what it did and how to finish.

    Returns a function that puts the old handlers back, and the list the handler appends the
    signal's name to (the exit status tells SIGHUP apart: 129).
    """
    import signal
    import threading

    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        return (lambda: None), received  # signals can only be handled on the main thread

    def interrupt(signum: int, _frame: Any) -> None:
        received.append(signal.Signals(signum).name)
        raise KeyboardInterrupt

    # SIGHUP does not exist on Windows.
    signums = [signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    previous = {signum: signal.signal(signum, interrupt) for signum in signums}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore, received


def _report(options: GlobalOptions, message: str, hint: str | None, error: BaseException) -> None:
    try:
        if options.debug:
            sys.stderr.write(clean_lines(redact(traceback_text(error))))  # its messages: redact_peer'd
        Renderer().error(redact(message), redact(hint) if hint else None)
    except OSError:  # stderr is gone (SIGHUP: the terminal closed): the exit status still tells
        pass


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(_version_message())
    ctx.exit(0)


@click.group(
    name="databricks-stp",
    cls=StpGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the versions of databricks-stp, databricks-sdk and Python.",
)
@common_options
def cli() -> None:
    """Manage and self-test a Databricks Partner Connect self-testing partner.

    A self-testing partner is a Partner Connect tile that only your workspace
    sees. Create it from a config file, store the credential Databricks sends
    to your connect endpoint, and test your endpoints the way Databricks calls
    them.

    \b
    Examples:
      databricks-stp init
      databricks-stp validate -f partner.json
      databricks-stp create -f partner.json -p my-workspace --basic-user u \\
          --basic-password-stdin
      databricks-stp get -o json
      databricks-stp get --all-profiles
      databricks-stp demo
    """


def main() -> None:
    cli.main(prog_name="databricks-stp")
