"""Shell completion of -p/--profile lists the config file's profiles, in bash, zsh and fish."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CODE = (
    "import sys\nfrom stp_ext.cli import main\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
    "print('sdk imported:', 'databricks.sdk' in sys.modules, file=sys.stderr)"
)


def _complete(shell: str, words: str, cword: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        _DATABRICKS_STP_COMPLETE=f"{shell}_complete",
        COMP_WORDS=words,
        COMP_CWORD=cword,
        DATABRICKS_CONFIG_FILE=str(config),
    )
    return subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "cfg"
    path.write_text(
        "[dev]\nhost = https://dev.example.com\n\n[staging]\nhost = https://s.example.com\n\n"
        "[prod]\nhost = https://p.example.com\n"
    )
    return path


def test_bash_completes_every_profile_after_p(config: Path) -> None:
    done = _complete("bash", "databricks-stp get -p ", "3", config)
    assert done.stdout.split() == ["plain,dev", "plain,staging", "plain,prod"]
    assert "sdk imported: False" in done.stderr  # a Tab press stays fast


def test_zsh_completes_a_prefix_on_the_group(config: Path) -> None:
    done = _complete("zsh", "databricks-stp --profile st", "2", config)
    assert done.stdout.split() == ["plain", "staging", "_"]


def test_fish_completes_after_a_subcommand(config: Path) -> None:
    # fish passes the word being completed as COMP_CWORD.
    done = _complete("fish", "databricks-stp secret status -p p", "p", config)
    assert done.stdout.split() == ["plain,prod"]


def test_no_config_file_completes_nothing(tmp_path: Path) -> None:
    done = _complete("bash", "databricks-stp get -p ", "3", tmp_path / "missing")
    assert done.stdout.strip() == ""
    assert "Traceback" not in done.stderr
