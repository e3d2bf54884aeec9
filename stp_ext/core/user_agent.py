"""What our User-Agent says beyond ``databricks-stp/<version>``, as the Databricks CLI says it.

The Databricks CLI tags every request with the command that sent it
(``cmd/<command>``, words joined by ``_``), and a labs project run by it adds
the CLI's version from ``DATABRICKS_CLI_VERSION`` (``cli/<version>``, as
databricks-labs-blueprint does). The CLI layer names the command here when it
resolves it; the workspace layer adds :func:`extras` to every client it
builds. Standard library only: `--help` must not import databricks-sdk.
"""

from __future__ import annotations

import os
import re

CLI_VERSION_ENV = "DATABRICKS_CLI_VERSION"

# What databricks-sdk accepts in a User-Agent value: letters, digits and _.+- (a semver fits).
_VALUE = re.compile(r"[0-9A-Za-z_.+-]{1,64}")

_command: str | None = None


def set_command(words: list[str]) -> None:
    """The command being run, as its words (``["secret", "put"]`` -> ``cmd/secret_put``)."""
    global _command
    joined = "_".join(words)
    _command = joined if _VALUE.fullmatch(joined) else None


def extras() -> list[tuple[str, str]]:
    """The (key, value) pairs to add: ``cmd`` when a command is known, ``cli`` when the Databricks CLI runs us."""
    pairs = []
    if _command:
        pairs.append(("cmd", _command))
    version = os.environ.get(CLI_VERSION_ENV, "").strip()
    if _VALUE.fullmatch(version):  # anything else is not a version: left out rather than sent
        pairs.append(("cli", version))
    return pairs
