"""Ctrl-C or SIGTERM in the middle of a multi-step command still says what was done and how to finish.

The interrupted command runs as a real process against the emulator; a
latency fault holds the second step open so the signal lands between
"partner created" (or deleted) and the secret step.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from stp_ext.render.views import demo as demo_view

SECRETS = "/api/2.0/secrets"


def _start(args: list[str], workspace) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABRICKS_CONFIG_FILE": str(workspace.config_file)}
    return subprocess.Popen(
        [sys.executable, "-m", "stp_ext", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(workspace, method: str, path_part: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(m == method and path_part in p and s == 200 for m, p, s in workspace.requests("/api/")):
            return
        time.sleep(0.02)
    raise AssertionError(f"no {method} {path_part} in {workspace.requests('/api/')}")


def _interrupt(process: subprocess.Popen[str], signum: int) -> tuple[int, str, str]:
    time.sleep(0.3)  # the secret request is now held open by the latency fault
    sent = time.monotonic()
    process.send_signal(signum)
    out, err = process.communicate(timeout=10)
    # About a second on an idle machine; the bound stays under the 4 s the held request would take, so
    # passing proves the command did not wait for the workspace's answer, even on a loaded CI runner.
    assert time.monotonic() - sent < 3, "the command must end without waiting for the held request"
    return process.returncode, out, err


@pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 130), (signal.SIGHUP, 129)],  # SIGHUP: a closed terminal (issue 22.6)
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_interrupted_create_names_the_partner_and_the_finishing_command(workspace, partner_file, run, signum, status):
    workspace.emulator.faults.arm(latency_ms=4000, path_prefix=SECRETS)
    process = _start(["create", "-f", str(partner_file()), "-p", "emu", "--no-auth-header"], workspace)
    _wait_for(workspace, "POST", "self-test-partners/create")
    code, _out, err = _interrupt(process, signum)
    workspace.emulator.faults.clear()
    # Only the interrupted command needs a process of its own (a signal); the look-up runs in-process.
    listed = run("get", "-p", "emu", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    partner_id = json.loads(listed.stdout)["partners"][0]["id"]
    lines = err.splitlines()
    assert code == status
    assert lines[0].startswith(f"Error: interrupted after partner {partner_id} was created.")
    assert f"Done: partner {partner_id} created." in lines[0]
    assert lines[1] == f"Finish with: databricks-stp secret put --id {partner_id} --no-auth-header -p emu"
    assert "Traceback" not in err


def test_interrupted_delete_says_the_secret_is_left_and_how_to_remove_it(workspace, partner_file, run):
    created = run("create", "-f", str(partner_file()), "-p", "emu", "--no-auth-header", "-o", "json")
    partner_id = json.loads(created.stdout)["id"]
    workspace.emulator.faults.arm(latency_ms=4000, path_prefix=SECRETS)
    process = _start(["delete", "-p", "emu", "--yes"], workspace)
    _wait_for(workspace, "DELETE", "self-test-partners/delete")
    code, _out, err = _interrupt(process, signal.SIGINT)
    workspace.emulator.faults.clear()
    lines = err.splitlines()
    assert code == 130
    assert lines[0].startswith(f"Error: interrupted after partner {partner_id} was deleted.")
    assert lines[1] == f"Finish with: databricks-stp secret delete --id {partner_id} -p emu"


def test_interrupted_demo_says_which_steps_ran(run, mocker):
    shown = demo_view.step

    def ctrl_c_after_create(render, result):
        shown(render, result)
        if result.step == "create with credential":
            raise KeyboardInterrupt

    mocker.patch.object(demo_view, "step", ctrl_c_after_create)
    result = run("demo")
    assert result.exit_code == 130
    first = result.stderr.splitlines()[0]
    assert first.startswith("Error: demo interrupted. Done: start local workspace and partner, validate, create")
    assert "nothing is left behind" in first
