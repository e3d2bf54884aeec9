"""Every command we tell the user to run next, and the "Done: … Not done: …" text.

Built from data in one place, so each suggestion carries the user's own
``-p NAME`` / ``-e`` (a hint that drops them sends the user to the wrong
workspace) and quotes what needs quoting.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

PROG = "databricks-stp"


@dataclass(frozen=True)
class NextSteps:
    """Commands to suggest, for a run with these auth flags (" -p NAME", " -e" or "")."""

    auth_flags: str = ""

    def _workspace_command(self, *words: str, extra_flags: str = "") -> str:
        # extra_flags: already-quoted options such as " --basic-user 'a b'".
        return " ".join([PROG, *words]) + extra_flags + self.auth_flags

    def validate(self, config_path: str | None) -> str:
        return f"{PROG} validate -f {_file(config_path)}"

    def connect_test(self, config_path: str | None, credential_flags: str = " --basic-user USER") -> str:
        return f"{PROG} connect-test -f {_file(config_path)}{credential_flags}"

    def create(self, config_path: str | None) -> str:
        return self._workspace_command("create", "-f", _file(config_path))

    def update(self, config_path: str | None) -> str:
        return self._workspace_command("update", "-f", _file(config_path))

    def get(self) -> str:
        return self._workspace_command("get")

    def delete(self, partner_id: str | None = None) -> str:
        return self._workspace_command("delete", *(("--id", partner_id) if partner_id else ()))

    def secret_put(self, partner_id: str, *, non_admin: bool | None = False, credential_flags: str = "") -> str:
        words = ["secret", "put", "--id", partner_id]
        if non_admin:
            words.append("--non-admin")
        return self._workspace_command(*words, extra_flags=credential_flags)

    def secret_delete(self, partner_id: str) -> str:
        return self._workspace_command("secret", "delete", "--id", partner_id)


def _file(config_path: str | None) -> str:
    if not config_path:
        return "partner.json"  # the name `init` writes
    return shlex.quote(config_path)


def done_not_done(done: Sequence[str], not_done: Sequence[str]) -> str:
    """``Done: a; b. Not done: c.`` (either half left out when empty)."""
    parts = []
    if done:
        parts.append(f"Done: {'; '.join(done)}.")
    if not_done:
        parts.append(f"Not done: {'; '.join(not_done)}.")
    return " ".join(parts)


def finish(command: str) -> str:
    return f"Finish with: {command}"
