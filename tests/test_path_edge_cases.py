"""`-f PATH` edge cases through create, validate, update and connect-test.

A path that cannot give a config is bad input caught locally: exit 2, one
``Error:`` line, and nothing sent (the emulator's request log stays empty;
connect-test is pointed at the emulator with --url so that anything it sent
would be logged there too). Paths that do lead to a valid config (a symlink,
stdin, a pipe, ``~``) work.
"""

from __future__ import annotations

import builtins
import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from helpers import example_partner, one_error
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stp_ext.core import inputs
from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, Emulator
from stp_ext.partner_config import validate_partner_config
from stp_ext.partner_config.model import FIELDS
from stp_ext.sample_partner import SamplePartner

EXAMPLE = {"partner": example_partner()}
EXAMPLE.pop("$schema", None)
VALID = json.dumps(EXAMPLE)
PARTNERS = "/api/2.0/partnerhub/self-test-partners"
COMMANDS = ("create", "validate", "update", "connect-test")


def argv(command: str, path: str, url: str) -> list[str]:
    """The command with -f PATH and whatever else it needs to run without asking anything."""
    return {
        "create": ["create", "-f", path, "--no-secret", "-p", "emu"],
        "validate": ["validate", "-f", path],
        "update": ["update", "-f", path, "--yes", "-p", "emu"],
        # One case: the point is the path; without a credential the AUTH case could not run.
        "connect-test": ["connect-test", "-f", path, "--no-auth-header", "--url", url, "--case", "P100"],
    }[command]


# -- paths that give no config: exit 2, one Error line, nothing sent --------------------------------


def _directory(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str | None]:
    return str(tmp), "is a directory, not a file"


def _missing(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str | None]:
    return str(tmp / "nope.json"), f"config file not found: {tmp / 'nope.json'}"


def _dangling_symlink(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str | None]:
    link = tmp / "link.json"
    link.symlink_to(tmp / "gone.json")
    return str(link), "config file not found"


def _unreadable(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str | None]:
    path = tmp / "secret.json"
    path.write_text(VALID)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # root reads any file whatever its mode: make open() refuse it as it would refuse anyone else.
        def refusing_open(file: Any, *args: Any, **kwargs: Any) -> Any:
            if os.fspath(file) == str(path):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return builtins.open(file, *args, **kwargs)

        monkeypatch.setattr(inputs, "open", refusing_open, raising=False)
    else:
        path.chmod(0)
    return str(path), f"cannot read {path}: permission denied"


def _huge(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str | None]:
    path = tmp / "huge.json"
    with path.open("wb") as stream:
        stream.truncate(4 * 1024**3)  # sparse: 4 GiB that must not be read whole
    return str(path), "is larger than 1 MiB"


def _endless(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str | None]:
    return "/dev/zero", "/dev/zero is larger than 1 MiB"


def _empty_device(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str | None]:
    return "/dev/null", "/dev/null is empty"


def _empty_path(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str | None]:
    return "", "the path after -f is empty"  # -f "$CONFIG" with CONFIG unset


def _empty_stdin(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str | None]:
    return "-", "<stdin> is empty"


BAD_PATHS = {
    "directory": _directory,
    "missing": _missing,
    "dangling symlink": _dangling_symlink,
    "unreadable": _unreadable,
    "huge": _huge,
    "endless": _endless,
    "empty device": _empty_device,
    "empty path": _empty_path,
    "empty stdin": _empty_stdin,
}


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="POSIX devices")
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", BAD_PATHS)
def test_a_path_that_gives_no_config_is_exit_2_and_sends_nothing(
    case: str, command: str, workspace: Any, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, expected = BAD_PATHS[case](tmp_path, monkeypatch)
    result = run(*argv(command, path, workspace.url), input="")
    assert result.exit_code == 2
    error = one_error(result.stderr)
    assert expected in error
    assert result.stdout == ""
    assert workspace.emulator.request_log == []


def test_a_dangling_symlink_is_named_as_one(run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = _dangling_symlink(tmp_path, monkeypatch)
    result = run("validate", "-f", path)
    assert result.stderr.splitlines()[1] == "It is a symbolic link to a file that does not exist."


@pytest.mark.parametrize(
    "args",
    [
        ["create", "--auth-header-stdin", "-p", "emu"],
        ["secret", "put", "--id", "ABC", "--basic-user", "svc", "--basic-password-stdin", "-p", "emu"],
        ["connect-test", "--auth-header-stdin", "--url", "{url}"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_config_and_credential_cannot_both_come_from_stdin(args: list[str], workspace: Any, run: Any) -> None:
    args = [workspace.url if a == "{url}" else a for a in args]
    result = run(*args, "-f", "-", input=VALID)
    assert result.exit_code == 2
    assert one_error(result.stderr) == "Error: the config file and the credential cannot both come from stdin"
    assert workspace.emulator.request_log == []


# -- paths that do give a valid config ------------------------------------------------------------


def _symlink(tmp: Path) -> tuple[str, str | None]:
    target = tmp / "real.json"
    target.write_text(VALID)
    (tmp / "link.json").symlink_to(target)
    return str(tmp / "link.json"), None


def _stdin(tmp: Path) -> tuple[str, str | None]:
    return "-", VALID


def _pipe(tmp: Path) -> tuple[str, str | None]:
    """What `-f <(cat partner.json)` gives: /dev/fd/N, a pipe that can be read once."""
    read_end, write_end = os.pipe()
    os.write(write_end, VALID.encode())
    os.close(write_end)
    return f"/dev/fd/{read_end}", None


def _home(tmp: Path) -> tuple[str, str | None]:
    (Path.home() / "partner.json").write_text(VALID)
    return "~/partner.json", None


def _odd_name(tmp: Path) -> tuple[str, str | None]:
    path = tmp / "my configs" / "partner (v2) é.json"
    path.parent.mkdir()
    path.write_text(VALID)
    return str(path), None


GOOD_PATHS = {"symlink": _symlink, "stdin": _stdin, "pipe": _pipe, "home": _home, "odd name": _odd_name}


@pytest.fixture
def sample() -> Any:
    with SamplePartner(auth_header="", hostnames="partner.example.com") as partner:
        yield partner


@pytest.mark.skipif(not os.path.exists("/dev/fd"), reason="POSIX /dev/fd")
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", GOOD_PATHS)
def test_a_path_to_a_valid_config_works(
    case: str, command: str, workspace: Any, sample: Any, run: Any, tmp_path: Path
) -> None:
    if command == "update":
        assert run("create", "-f", _first_config(tmp_path), "-p", "emu").exit_code == 0
        workspace.emulator.clear_log()
    path, stdin = GOOD_PATHS[case](tmp_path)
    try:
        result = run(*argv(command, path, sample.url), input=stdin)
    finally:
        if path.startswith("/dev/fd/"):
            os.close(int(path.rsplit("/", 1)[1]))
    assert result.exit_code == 0, result.stderr
    if command in ("create", "update"):
        sent = [r.path for r in workspace.emulator.request_log if r.path.startswith(PARTNERS)]
        assert sent[-1].startswith(f"{PARTNERS}/{command}")


def _first_config(tmp: Path) -> str:
    first = tmp / "first.json"
    first.write_text(VALID)
    return str(first)


# -- whatever the invalid config, nothing is sent ----------------------------------------------------


@pytest.fixture(scope="module")
def shared_emulator() -> Any:
    with Emulator(port=0) as emu:
        yield emu


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
)
field_names = st.sampled_from([spec.name for spec in FIELDS] + ["hostname", "conect_url", "partner"])
# One to three changes to the valid example: a field removed, or set to any JSON value.
changes = st.lists(st.tuples(field_names, st.none() | json_values.map(lambda v: ("set", v))), min_size=1, max_size=3)


def _changed(edits: list[tuple[str, Any]]) -> dict[str, Any]:
    partner = dict(EXAMPLE["partner"])
    for field, edit in edits:
        if edit is None:
            partner.pop(field, None)
        else:
            partner[field] = edit[1]
    return {"partner": partner}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=changes.map(_changed) | json_values)
def test_an_invalid_config_never_causes_a_request(
    document: Any, shared_emulator: Emulator, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assume(any(f.severity == "error" for f in validate_partner_config(document)))
    monkeypatch.setenv("DATABRICKS_HOST", shared_emulator.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", DEFAULT_ADMIN_TOKEN)
    path = tmp_path / "invalid.json"
    path.write_text(json.dumps(document))
    shared_emulator.clear_log()
    result = run("create", "-f", str(path), "--no-secret", "-e")
    assert result.exit_code == 2
    assert "nothing was sent" in one_error(result.stderr)
    assert shared_emulator.request_log == []
