"""The terminal seam: prompts and confirmations only on a terminal, never blocking a script.

Both sides of the rule are tested end to end (CLI → emulator) with a
FakeTerminal, and the real Terminal is checked under a real pseudo-terminal.
"""

from __future__ import annotations

import base64
import json
import os
import sys

import pytest
from emulator_client import RawClient
from helpers import create_partner

from stp_ext.core.terminal import FakeTerminal, Terminal


def _active_ids(run) -> list[str]:
    return [p["id"] for p in json.loads(run("get", "-p", "emu", "-o", "json").stdout)["partners"]]


def test_answering_no_on_a_terminal_changes_nothing(workspace, run, partner_file):
    partner_id = create_partner(run, partner_file(), "--no-secret")["id"]
    before = len(workspace.requests("/api/"))
    terminal = FakeTerminal(tty=True, answers=[False])
    result = run("delete", "-p", "emu", terminal=terminal)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cancelled; nothing was changed")
    assert terminal.asked == [f"Delete partner {partner_id} and all of its Partner Connect connections?"]
    changes = [r for r in workspace.requests("/api/")[before:] if r[0] != "GET"]
    assert changes == []
    assert _active_ids(run) == [partner_id]


def test_answering_yes_on_a_terminal_deletes(workspace, run, partner_file):
    create_partner(run, partner_file(), "--no-secret")
    terminal = FakeTerminal(tty=True, answers=[True])
    assert run("delete", "-p", "emu", terminal=terminal).exit_code == 0
    assert _active_ids(run) == []


def test_no_terminal_never_asks_and_never_blocks(workspace, run, partner_file):
    create_partner(run, partner_file(), "--no-secret")
    terminal = FakeTerminal(tty=False)  # any question would fail the test: no answers scripted
    result = run("delete", "-p", "emu", terminal=terminal)
    assert result.exit_code == 0, result.stderr
    assert terminal.asked == []
    assert _active_ids(run) == []


def test_password_prompt_on_a_terminal_is_hidden_and_stored(workspace, run, partner_file):
    partner_id = create_partner(run, partner_file(), "--no-secret")["id"]
    terminal = FakeTerminal(tty=True, secrets=["s3cret-pass"])
    result = run("secret", "put", "-p", "emu", "--basic-user", "svc", terminal=terminal)
    assert result.exit_code == 0, result.stderr
    assert terminal.asked == ["Password for svc"]
    assert "s3cret-pass" not in result.stdout + result.stderr
    stored = RawClient(workspace.emulator.port).secret_value("partner-connect", partner_id)
    assert stored == b"Basic " + base64.b64encode(b"svc:s3cret-pass")


@pytest.mark.parametrize("typed", ["", "   "])
def test_an_empty_or_blank_password_at_the_prompt_is_refused_before_anything_is_sent(
    workspace, run, partner_file, typed
):
    path = partner_file()
    terminal = FakeTerminal(tty=True, secrets=[typed])
    result = run("create", "-f", str(path), "-p", "emu", "--basic-user", "svc", terminal=terminal)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: the password for svc typed at the prompt is empty")
    assert "--no-auth-header" in result.stderr
    assert _active_ids(run) == []  # refused before the partner was created
    terminal = FakeTerminal(tty=True, secrets=[typed])
    assert run("create", "-f", str(path), "-p", "emu", terminal=terminal).exit_code == 2  # the header prompt too


def test_no_terminal_refuses_a_password_it_cannot_prompt_for(workspace, run, partner_file):
    create_partner(run, partner_file(), "--no-secret")
    terminal = FakeTerminal(tty=False)
    result = run("secret", "put", "-p", "emu", "--basic-user", "svc", terminal=terminal)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: no password for --basic-user")
    assert terminal.asked == []


def test_spinners_go_through_the_terminal_seam(workspace, run):
    terminal = FakeTerminal(tty=True)
    result = run("get", "-p", "emu", "-o", "json", terminal=terminal)
    assert result.exit_code == 0
    assert terminal.spinners == ["Connecting to the workspace…", "Reading the self-testing partner…"]
    assert json.loads(result.stdout) == {"partners": []}  # stdout stays one JSON document


def test_real_spinner_draws_nothing_off_a_terminal(capsys):
    with Terminal().spinner("Waiting…"):
        pass
    assert capsys.readouterr() == ("", "")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_real_terminal_knows_a_pty_from_a_pipe():
    import pty

    controller, device = pty.openpty()
    saved = sys.stdin
    try:
        with open(device, closefd=False) as stream:
            sys.stdin = stream
            assert Terminal().stdin_is_tty() is True
        read_end, write_end = os.pipe()
        with open(read_end) as pipe:
            sys.stdin = pipe
            assert Terminal().stdin_is_tty() is False
        os.close(write_end)
    finally:
        sys.stdin = saved
        os.close(controller)
        os.close(device)


def test_real_terminal_asks_on_a_pty_and_reads_the_hidden_answer(tmp_path):
    """The real prompt, in a child process on a pseudo-terminal: the answer is read and not echoed."""
    import pty
    import subprocess
    import time

    controller, device = pty.openpty()
    script = (
        "from stp_ext.core.terminal import Terminal; t = Terminal(); "
        "print('GOT', t.hidden_prompt('Pass'), t.stdin_is_tty())"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdin=device, stdout=subprocess.PIPE, stderr=device)
    os.close(device)
    seen = b""
    deadline = time.monotonic() + 10
    while b"Pass" not in seen and time.monotonic() < deadline:
        seen += os.read(controller, 1024)
    os.write(controller, b"hunter2\n")
    out, _ = child.communicate(timeout=10)
    os.close(controller)
    assert out.decode().strip() == "GOT hunter2 True"
    assert b"hunter2" not in seen
