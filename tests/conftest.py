"""Shared fixtures: an emulator on a free port, a config file pointing at it, a CLI runner.

Tests never touch the developer's own ~/.databrickscfg or DATABRICKS_* variables:
``clean_env`` (autouse) removes them and points HOME at a temporary folder.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN, Emulator

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "partner.json"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "ARM_", "AZURE_", "GOOGLE_")) or name in ("NO_COLOR", "CI"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    # Fail fast in tests that talk to nothing; the defaults are for humans.
    monkeypatch.setenv("DATABRICKS_STP_RETRY_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("DATABRICKS_STP_HTTP_TIMEOUT_SECONDS", "3")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The CLI reconfigures library loggers on every run; give each test the state it started with,
    so caplog in a later test still sees records (propagation back on)."""
    names = ("databricks", "stp_ext", "urllib3", "werkzeug")
    saved = {n: (lg.handlers[:], lg.level, lg.propagate) for n in names for lg in [logging.getLogger(n)]}
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(port=0).start()
    try:
        yield emu
    finally:
        emu.stop()


@dataclass
class Workspace:
    """An emulator plus a config file with profiles `emu` (admin) and `emu-user` (non-admin)."""

    emulator: Emulator
    config_file: Path

    @property
    def url(self) -> str:
        return self.emulator.url

    def requests(self, prefix: str = "/") -> list[tuple[str, str, int]]:
        return [(r.method, r.path, r.status) for r in self.emulator.request_log if r.path.startswith(prefix)]


@pytest.fixture
def workspace(emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    config = tmp_path / "databrickscfg"
    config.write_text(
        f"[DEFAULT]\nhost = {emulator.url}\ntoken = {DEFAULT_ADMIN_TOKEN}\n\n"
        f"[emu]\nhost = {emulator.url}\ntoken = {DEFAULT_ADMIN_TOKEN}\n\n"
        f"[emu-user]\nhost = {emulator.url}\ntoken = {DEFAULT_USER_TOKEN}\n"
    )
    config.chmod(0o600)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    return Workspace(emulator=emulator, config_file=config)


@pytest.fixture
def env_auth(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """DATABRICKS_HOST/DATABRICKS_TOKEN pointing at the emulator, for -e."""
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", DEFAULT_ADMIN_TOKEN)
    return emulator


@pytest.fixture
def partner_file(tmp_path: Path) -> Any:
    """Write a partner config (the example, with overrides) and return its path."""

    def write(filename: str = "partner.json", /, **overrides: Any) -> Path:
        data = json.loads(EXAMPLE.read_text())
        data.pop("$schema", None)
        data["partner"].update(overrides)
        path = tmp_path / filename
        path.write_text(json.dumps(data, indent=2))
        return path

    return write


@pytest.fixture
def run() -> Any:
    """Invoke the CLI in-process; returns click's Result (stdout and stderr apart)."""
    from stp_ext.cli import cli

    try:
        runner = CliRunner(mix_stderr=False)  # click < 8.2 mixes stderr into stdout by default
    except TypeError:
        runner = CliRunner()  # click >= 8.2 keeps them apart and dropped the argument

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None, terminal: Any = None) -> Result:
        # terminal: a stp_ext.terminal.FakeTerminal to answer prompts (default: the real one, no tty here).
        extra = {"terminal": terminal} if terminal is not None else {}
        return runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=False, **extra)

    return invoke
