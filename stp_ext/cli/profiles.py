"""`get --all-profiles`: one table of every profile in the config file."""

from __future__ import annotations

from typing import Any

from stp_ext.errors import CheckFailed, InputError


def show_all_profiles(env: Any, config_path: str | None) -> None:
    from stp_ext.profiles_status import query_all, read_profiles
    from stp_ext.workspace import config_file_path, connect

    if env.options.profile or env.options.use_env:
        raise InputError(
            "--all-profiles asks every profile of the config file; it cannot be combined with -p or -e",
            hint="Leave out -p/-e, or leave out --all-profiles to ask one workspace.",
        )
    non_admin = None
    if config_path is not None:
        from stp_ext.cli.config_input import load_valid_config

        non_admin = load_valid_config(config_path, env.renderer).partner.is_non_admin
    path = config_file_path()
    profiles = read_profiles(path)

    def connect_profile(name: str) -> Any:
        return connect(profile=name, debug=env.options.debug)

    with env.renderer.status(f"Asking {len(profiles)} profiles…"):
        rows = query_all(profiles, connect_profile, non_admin=non_admin)
    for row in rows:
        if row.warning:
            env.renderer.warning(f"profile {row.profile}: {row.warning}")
    if env.renderer.is_json:
        env.renderer.json(
            {
                "config_file": str(path),
                "all_answered": all(r.answered for r in rows),
                "profiles": [r.to_dict() for r in rows],
            }
        )
    else:
        _table(env.renderer, rows, str(path), judged=non_admin is not None)
    silent = [r for r in rows if not r.answered]
    if silent:
        raise CheckFailed(
            f"{len(silent)} of {len(rows)} profiles did not answer: {', '.join(r.profile for r in silent)}",
            hint=f"Check one with: databricks-stp get -p {silent[0].profile} --debug",
        )


def _table(render: Any, rows: list[Any], path: str, *, judged: bool) -> None:
    from stp_ext.render import _escape as esc  # names and messages from servers are data, never markup

    def auth(row: Any) -> str:
        if row.skipped:
            return "[dim]skipped[/]"
        if not row.auth_ok:
            return "[red]✗[/]"
        role = " (admin)" if row.admin else ""
        return f"[green]✓[/] {esc(row.user or '')}{role}"

    def partner(row: Any) -> str:
        if row.partner_id:
            return f"{esc(row.partner_name or '')}\n[cyan]{esc(row.partner_id)}[/]"
        return f"[dim]{esc(row.partner_note or '')}[/]"

    def credential(row: Any) -> str:
        if row.credential_stored is None:
            return ""
        return "[green]✓ stored[/]" if row.credential_stored else "[red]✗ missing[/]"

    def users(row: Any) -> str:
        if row.credential_stored is None:
            return ""
        text = esc(row.users_permission or "none")
        if row.warning:
            return f"[yellow]⚠ {text}[/]"
        if row.users_ok is False:
            return f"[red]✗ {text}[/]"
        return f"[green]✓ {text}[/]" if row.users_ok else text

    from stp_ext.render import Column

    render.table(
        [
            Column("Profile", no_wrap=True),
            "Host",
            "Auth",
            "Active partner",
            Column("Credential", no_wrap=True),
            Column("users", no_wrap=True),
            "Error",
        ],
        [
            (
                esc(r.profile),
                esc(r.host or ""),
                auth(r),
                partner(r),
                credential(r),
                users(r),
                f"[red]{esc(r.error)}[/]" if r.error else esc(r.skipped or ""),
            )
            for r in rows
        ],
        title=f"Self-testing partner in every profile of {esc(path)}",
        caption=None
        if judged
        else "users: the ACL of `users` on scope partner-connect (NON_ADMIN needs READ; give -f FILE to judge it).",
    )
