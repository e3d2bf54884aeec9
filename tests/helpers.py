"""The one copy of what many tests need: repository paths, the example config, a CLI runner,
a partner-config writer and a Databricks config-file writer.

Fixtures built on these live in conftest.py; import from here only where a
plain function is needed (module-level constants, parametrize lists, helpers
of other helper modules).
"""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

REPO = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = REPO / "examples"
EXAMPLE = EXAMPLES_DIR / "partner.json"


DROP = object()  # as a value in example_partner(...): remove that field


def example_partner(**changes: Any) -> dict[str, Any]:
    """The ``partner`` object of examples/partner.json with ``changes`` (DROP removes the key)."""
    partner: dict[str, Any] = json.loads(EXAMPLE.read_text())["partner"]
    for key, value in changes.items():
        if value is DROP:
            partner.pop(key, None)
        else:
            partner[key] = value
    return partner


def write_partner_config(directory: Path, filename: str = "partner.json", /, **changes: Any) -> Path:
    path = directory / filename
    path.write_text(json.dumps({"partner": example_partner(**changes)}, indent=2))
    return path


def write_profiles(path: Path, profiles: Mapping[str, Mapping[str, str]]) -> Path:
    """A Databricks config file (mode 0600) with one ``[name]`` section per profile."""
    sections = [
        "\n".join([f"[{name}]", *(f"{key} = {value}" for key, value in fields.items())])
        for name, fields in profiles.items()
    ]
    path.write_text("\n\n".join(sections) + "\n")
    path.chmod(0o600)
    return path


def cli_runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2 mixes stderr into stdout
    except TypeError:
        return CliRunner()  # click >= 8.2 keeps them apart and dropped the argument


def invoke(
    *args: str,
    input: str | bytes | None = None,
    env: dict[str, str] | None = None,
    terminal: Any = None,
    clock: Any = None,
) -> Result:
    """Run the CLI in-process; stdout and stderr apart.

    ``terminal``: a FakeTerminal to answer prompts; ``clock``: a FakeClock (tests/fake_clock.py) for the
    command's workspace calls, so their back-offs cost nothing. Both reach the command through ``cli.main``;
    nothing is patched.
    """
    from stp_ext.cli import cli

    seams = {name: seam for name, seam in (("terminal", terminal), ("clock", clock)) if seam is not None}
    return cli_runner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False, **seams)


def rss_kib(pid: int) -> int | None:
    """A process's resident memory in KiB, from /proc (None where there is no /proc: not Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on once this returns (bound, then released by the OS)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def error_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that start with ``Error:``: the CLI's one-line message for the user."""
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def one_error(stderr: str, debug: bool = False) -> str:
    """The one ``Error:`` line of ``stderr``; a traceback only with ``debug`` (--debug), never an internal failure."""
    errors = error_lines(stderr)
    assert len(errors) == 1, stderr
    assert ("Traceback" in stderr) == debug, stderr
    assert "unexpected" not in stderr and "RecursionError" not in stderr, stderr
    return errors[0]


def create_partner(
    run: Any, path: Path, *args: str, profile: str = "emu", input: str | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """``create -f PATH -p PROFILE -o json ARGS`` through the CLI; asserts it succeeded, returns its JSON."""
    result = run("create", "-f", str(path), "-p", profile, "-o", "json", *args, input=input, env=env)
    assert result.exit_code == 0, result.stderr
    created: dict[str, Any] = json.loads(result.stdout)
    return created


def get_failing(run: Any, host: str, monkeypatch: Any) -> tuple[Result, float, str]:
    """``get -e`` against ``host`` (token ``dapi-x``), which must fail as a peer does: exit 1, no traceback.

    Returns the result, the seconds it took and its first stderr line.
    """
    monkeypatch.setenv("DATABRICKS_HOST", host)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-x")
    started = time.monotonic()
    result = run("get", "-e")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result, elapsed, result.stderr.splitlines()[0]


class EndlessStream(io.RawIOBase):
    """A stream that never ends (spaces: JSON whitespace, so only its size can be wrong); counts what was read."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        buffer[:size] = b" " * size
        self.read_bytes += size
        return size


def interrupt(process: subprocess.Popen[str], timeout: float = 10) -> str:
    """Ctrl-C for a child: SIGINT, then its stderr once it has exited (killed if it has not within ``timeout``)."""
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    return str(err)
