"""Shared fixtures: an emulator on a free port, a config file pointing at it, a CLI runner.

Tests never touch the developer's own ~/.databrickscfg or DATABRICKS_* variables:
``clean_env`` (autouse) removes them and points HOME at a temporary folder.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from emulator_client import RawClient
from helpers import invoke, write_partner_config, write_profiles

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN, Emulator

# hypothesis loads every installed plugin when imported; trio (a dependency of selenium, for the
# browser test) registers one, which imports trio whole: 0.1 s of CPU in every pytest-xdist worker for
# a random-seed hook these tests never use. Set before any test module imports hypothesis.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")


def pytest_configure(config: pytest.Config) -> None:
    """Let the tests' Ctrl-C reach their child processes however pytest was started.

    A script's `pytest &` starts pytest with SIGINT ignored, and an ignored signal stays ignored
    in every child, so the CLI under test would never see the Ctrl-C. A terminal leaves SIGINT at
    its default; so does this, for pytest and therefore for what it starts.
    """
    if hasattr(signal, "SIGINT") and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# The tests `make test-oldest-sdk` runs again on the oldest databricks-sdk the range allows (marker `sdk`):
# every test given a workspace by these fixtures (a command run through databricks-sdk against the
# emulator), and these modules whole (the seam's contracts, the loader, auth, OAuth and its bounds,
# network failures, the emulator's fidelity to the SDK's own clients).
SDK_FIXTURES = frozenset({"workspace", "env_auth", "profiles_file"})
SDK_MODULES = frozenset(
    {
        "test_sdk_seam",
        "test_sdk_loader",
        "test_auth",
        "test_oauth_bounds",
        "test_emulator_oauth",
        "test_workspace_network",
        "test_workspace_shapes",
        "test_faults_cli",
        "test_fidelity_sdk",
    }
)


# The tests that import databricks-sdk whole in the test process (its WorkspaceClient, as a partner
# would use it: 2.2 s of CPU, once per process). Collected right after the slow tests they fall in
# the first worker's share of `--dist worksteal` (each worker starts with a contiguous block of the
# collection, and others steal from its end), so one worker pays that import instead of two.
WHOLE_SDK = ("test_fidelity_sdk.py::", "test_partner_connect_box.py::test_the_provisioned_credentials_work_through")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that talk to a workspace through databricks-sdk (`sdk`); start the slow ones
    (sustained load, real timeouts) first, then the ones importing databricks-sdk whole.

    pytest-xdist hands tests out in collection order; a slow test collected last
    runs alone at the end while the other workers sit idle.
    """
    for item in items:
        module = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
        if module in SDK_MODULES or SDK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.sdk)

    def order(item: pytest.Item) -> tuple[bool, bool]:
        whole_sdk = any(part in item.nodeid for part in WHOLE_SDK)
        return item.get_closest_marker("slow") is None, not whole_sdk

    items.sort(key=order)  # stable: otherwise file order


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection loaded (test modules, stp_ext, databricks-sdk's core, hypothesis).

    It lives until the end anyway; frozen, the garbage collector's passes during the run skip
    it (measured over a `make test` run: 5.7 s of collector time in the workers, 4.9 s frozen).
    """
    gc.freeze()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "ARM_", "AZURE_", "GOOGLE_")) or name in ("NO_COLOR", "CI"):
            monkeypatch.delenv(name, raising=False)
    # Not mktemp("home"): a numbered folder lists every folder of the run first, for every test.
    home = Path(tempfile.mkdtemp(prefix="home-", dir=tmp_path_factory.getbasetemp()))
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


@pytest.fixture(autouse=True)
def isolated_secrets() -> Iterator[None]:
    """Each CLI run is a process of its own: secrets one test registers (a 1-character password)
    must not redact another test's output."""
    from stp_ext.core.logs import restore_secrets, saved_secrets

    saved = saved_secrets()
    yield
    restore_secrets(saved)


@pytest.fixture(scope="session")
def untrusted_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server TLS context with a self-signed certificate for 127.0.0.1 (no client trusts it).

    One per worker; an EC key, as an RSA key costs a few hundred milliseconds to make.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(port=0).start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def admin(emulator: Emulator) -> RawClient:
    """A raw HTTP client of the emulator, signed in as the workspace admin."""
    return RawClient(emulator.port, DEFAULT_ADMIN_TOKEN)


@pytest.fixture
def user(emulator: Emulator) -> RawClient:
    """A raw HTTP client of the emulator, signed in as a plain (non-admin) workspace user."""
    return RawClient(emulator.port, DEFAULT_USER_TOKEN)


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
    config = write_profiles(
        tmp_path / "databrickscfg",
        {
            "DEFAULT": {"host": emulator.url, "token": DEFAULT_ADMIN_TOKEN},
            "emu": {"host": emulator.url, "token": DEFAULT_ADMIN_TOKEN},
            "emu-user": {"host": emulator.url, "token": DEFAULT_USER_TOKEN},
        },
    )
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    return Workspace(emulator=emulator, config_file=config)


@pytest.fixture
def profiles_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Write a Databricks config file from {name: {key: value}} and point DATABRICKS_CONFIG_FILE at it."""

    def write(profiles: dict[str, dict[str, str]], filename: str = "databrickscfg") -> Path:
        path = write_profiles(tmp_path / filename, profiles)
        monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(path))
        return path

    return write


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
        return write_partner_config(tmp_path, filename, **overrides)

    return write


@pytest.fixture
def run() -> Any:
    """Invoke the CLI in-process; returns click's Result (stdout and stderr apart).

    ``run(*args, input=..., env=..., terminal=FakeTerminal(...), clock=FakeClock())``.
    """
    return invoke
