"""Shell completion of `-p/--profile`: the profile names of the config file.

Runs on every Tab press, so it reads the file with configparser only (no
databricks-sdk, no network) and never fails: a missing or broken file
completes nothing.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import Any

from stp_ext.core.errors import InputError


def profile_names() -> list[str]:
    path = Path(os.environ.get("DATABRICKS_CONFIG_FILE") or "~/.databrickscfg").expanduser()
    # deferred: keeps --version light (~5 ms); only completing -p reads the file
    from stp_ext.core.inputs import MiB, read_path

    parser = configparser.ConfigParser(default_section="__no_default__", interpolation=None)
    try:
        # Capped: completion runs at every Tab press and must never hang on a huge file.
        parser.read_string(read_path(str(path), limit=MiB).decode("utf-8"), source=str(path))
    except (configparser.Error, InputError, UnicodeDecodeError):
        return []
    return parser.sections()


def complete_profile(_ctx: Any, _param: Any, incomplete: str) -> list[Any]:
    from click.shell_completion import CompletionItem  # deferred: loaded only when a shell completes

    return [CompletionItem(name) for name in profile_names() if name.startswith(incomplete)]
