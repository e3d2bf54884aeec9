"""`get --all-profiles`: one table of every profile in the config file."""

from __future__ import annotations

from typing import Any

from stp_ext.cli.config_input import load_valid_config
from stp_ext.core.errors import CheckFailed, InputError
from stp_ext.core.wording import plural
from stp_ext.render.views import profiles as view
from stp_ext.services.profiles import query_all, read_profiles
from stp_ext.workspace.auth import config_file_path, connect


def show_all_profiles(env: Any, config_path: str | None) -> None:
    if env.options.profile or env.options.use_env:
        raise InputError(
            "--all-profiles asks every profile of the config file; it cannot be combined with -p or -e",
            hint="Leave out -p/-e, or leave out --all-profiles to ask one workspace.",
        )
    non_admin = None
    if config_path is not None:
        non_admin = load_valid_config(config_path, env.renderer).partner.is_non_admin
    path = config_file_path()
    profiles = read_profiles(path)

    def connect_profile(name: str) -> Any:
        return connect(profile=name, debug=env.options.debug, clock=env.clock)

    with env.renderer.status(f"Asking {plural(len(profiles), 'profile')}…"):
        rows = query_all(profiles, connect_profile, non_admin=non_admin)
    view.all_profiles(env.renderer, rows, str(path), judged=non_admin is not None)
    silent = [r for r in rows if not r.answered]
    if silent:
        raise CheckFailed(
            f"{len(silent)} of {plural(len(rows), 'profile')} did not answer: {', '.join(r.profile for r in silent)}",
            hint=f"Check one with: databricks-stp get -p {silent[0].profile} --debug",
        )
