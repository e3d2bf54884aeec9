"""Hostile local input: every local read is capped, and an oversized credential is refused first.

`/dev/zero`, an endless pipe or a huge file behind any input (``-f``,
``--payload``, ``--auth-header-stdin``, ``--basic-password-stdin``) ends
within seconds with one ``Error:`` line naming the cap and exit 2, having
read at most the cap. A credential longer than a workspace secret can hold
(128 KiB) is refused before the partner, the scope or anything else is sent.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLE as EXAMPLE_PATH
from helpers import EndlessStream, one_error

from stp_ext.core import inputs
from stp_ext.core.errors import InputError

EXAMPLE = str(EXAMPLE_PATH)
POSIX_DEVICES = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="POSIX devices")


# -- the reader ----------------------------------------------------------------------------------


def test_an_endless_stream_is_read_only_up_to_the_cap() -> None:
    stream = EndlessStream()
    with pytest.raises(InputError, match="larger than 64 KiB"):
        inputs.read_stdin(limit=64 * 1024, stream=stream)
    assert stream.read_bytes <= 64 * 1024 + 1


def test_input_of_exactly_the_cap_is_read() -> None:
    assert inputs.read_stdin(limit=10, stream=io.BytesIO(b"0123456789")) == b"0123456789"
    with pytest.raises(InputError):
        inputs.read_stdin(limit=10, stream=io.BytesIO(b"0123456789A"))


@POSIX_DEVICES
def test_a_symlink_to_dev_zero_is_capped(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputError, match=r"link.json is larger than 1 MiB"):
        inputs.read_path(str(link), limit=inputs.MiB)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_is_read_and_capped(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = subprocess.Popen([sys.executable, "-c", f"open({str(fifo)!r}, 'wb').write(b'y' * 300000)"])
    try:
        with pytest.raises(InputError, match="larger than 100 KiB"):
            inputs.read_path(str(fifo), limit=100 * 1024)
    finally:
        writer.kill()
        writer.wait(timeout=10)


def test_a_directory_and_a_missing_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory, not a file"):
        inputs.read_path(str(tmp_path), limit=10)
    with pytest.raises(InputError, match="payload not found"):
        inputs.read_path(str(tmp_path / "nope"), limit=10, what="payload")


def test_text_that_is_not_utf8_is_named_by_offset() -> None:
    with pytest.raises(InputError, match="byte 0xff at offset 2"):
        inputs.decode_utf8(b"ab\xffc", "stdin")


def writes(workspace: Any) -> list[tuple[str, str, int]]:
    """Requests that change the workspace (secret put looks up the partner first: a GET)."""
    return [request for request in workspace.requests() if request[0] != "GET"]


# -- the reproductions, run as written (a real process, a real /dev/zero) -----------------


def run_cli(*args: str, stdin: Any = subprocess.DEVNULL, bound: float = 20.0) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "stp_ext", *args], stdin=stdin, capture_output=True, text=True, timeout=bound
    )
    # Startup is about half a second; reading 5 GB was 15 s. Seconds, not minutes.
    assert time.monotonic() - started < bound
    return result


@POSIX_DEVICES
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--payload", "/dev/zero", "--no-auth-header"], "Error: --payload /dev/zero is larger than 1 MiB"),
        (["--auth-header-stdin"], "Error: the Authorization header value on stdin is larger than 128 KiB"),
        (["--basic-user", "u", "--basic-password-stdin"], "Error: the password on stdin is larger than 128 KiB"),
    ],
)
def test_connect_test_on_dev_zero_ends_at_once_with_exit_2(args: list[str], expected: str) -> None:
    with open("/dev/zero", "rb") as zero:
        result = run_cli("connect-test", "-f", EXAMPLE, "--url", "http://127.0.0.1:9", *args, stdin=zero)
    assert result.returncode == 2, result.stderr
    assert one_error(result.stderr).startswith(expected)
    assert result.stdout == ""


@POSIX_DEVICES
@pytest.mark.parametrize("command", [["create", "-f", EXAMPLE], ["secret", "put", "--id", "X", "--force"]])
def test_workspace_commands_refuse_an_endless_credential_before_sending(command: list[str], workspace: Any) -> None:
    with open("/dev/zero", "rb") as zero:
        result = run_cli(*command, "--auth-header-stdin", "-p", "emu", stdin=zero)
    assert result.returncode == 2, result.stderr
    assert "larger than 128 KiB" in one_error(result.stderr)
    assert writes(workspace) == []


# -- a credential larger than a secret holds (issue 13.9) ----------------------------------------

BIG_HEADER = "Bearer " + "x" * 200_000


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (["create", "-f", EXAMPLE, "--auth-header-stdin"], BIG_HEADER),
        (["secret", "put", "--id", "ABC", "--force", "--auth-header-stdin"], BIG_HEADER),
        # The password fits on stdin, but Basic's base64 makes the header 4/3 as long.
        (["create", "-f", EXAMPLE, "--basic-user", "u", "--basic-password-stdin"], "p" * 100_000),
    ],
)
def test_an_oversized_credential_is_refused_before_anything_is_sent(
    argv: list[str], stdin: str, workspace: Any, run: Any
) -> None:
    result = run(*argv, "-p", "emu", input=stdin)
    assert result.exit_code == 2, result.stderr
    error = one_error(result.stderr)
    assert "128 KiB" in error and "nothing was sent" in error
    assert writes(workspace) == []  # no partner, no scope: nothing half done


def test_a_credential_of_exactly_128_kib_is_stored(workspace: Any, run: Any) -> None:
    header = "Bearer " + "y" * (128 * 1024 - len("Bearer "))
    result = run("secret", "put", "--id", "ABC", "--force", "--auth-header-stdin", "-p", "emu", input=header + "\n")
    assert result.exit_code == 0, result.stderr
    assert ("POST", "/api/2.0/secrets/put", 200) in workspace.requests("/api/")


# -- the Databricks config file is local input too -------------------------------------------------


@pytest.mark.parametrize("argv", [["get", "-p", "emu"], ["get"]])
def test_a_huge_databricks_config_file_is_refused_unread(
    argv: list[str], run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = tmp_path / "databrickscfg"
    with huge.open("wb") as stream:
        stream.truncate(4 * 1024**3)  # sparse: 4 GiB of NUL bytes, one endless "line"
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(huge))
    started = time.monotonic()
    result = run(*argv)
    assert time.monotonic() - started < 10
    assert result.exit_code == 2, result.stderr
    assert one_error(result.stderr) == f"Error: the config file {huge} is larger than 1 MiB"


def test_profile_completion_ignores_a_huge_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stp_ext.cli.profile_completion import profile_names

    huge = tmp_path / "databrickscfg"
    huge.write_bytes(b"[big]\nhost = h\n" + b"#" * (2 * 1024 * 1024))
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(huge))
    assert profile_names() == []
    huge.write_bytes(b"[small]\nhost = h\n")
    assert profile_names() == ["small"]
