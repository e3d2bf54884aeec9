"""`get --all-profiles`: every profile of the config file in one table, concurrently, one bad one spoiling nothing."""

from __future__ import annotations

import json
import socket
import time

import pytest
from fake_clock import FakeClock
from helpers import create_partner, free_port, interrupt

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN


@pytest.fixture
def three_profiles(workspace, profiles_file):
    profiles_file(
        {
            "admin": {"host": workspace.url, "token": DEFAULT_ADMIN_TOKEN},
            "user": {"host": workspace.url, "token": DEFAULT_USER_TOKEN},
            "closed": {"host": f"http://127.0.0.1:{free_port()}", "token": "dapi-nothing-listens"},
        },
        "three.cfg",
    )
    return workspace


def test_every_profile_gets_its_row(three_profiles, run, partner_file):
    path = partner_file(supported_features=["NON_ADMIN"], auth_options=["AUTH_PAT"])
    partner_id = create_partner(run, path, "--no-auth-header", profile="admin")["id"]
    started = time.monotonic()
    result = run("get", "--all-profiles", "-f", str(path), "-o", "json")
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed  # concurrent and bounded: the closed port costs its budget once
    assert result.exit_code == 1  # one profile did not answer
    assert result.stderr.startswith("Error: 1 of 3 profiles did not answer: closed\n")
    document = json.loads(result.stdout)
    assert document["all_answered"] is False
    rows = {row["profile"]: row for row in document["profiles"]}
    assert list(rows) == ["admin", "user", "closed"]  # file order

    admin = rows["admin"]
    assert admin["auth_ok"] is True and admin["admin"] is True and admin["user"] == "admin@example.com"
    assert admin["partner"] == {"id": partner_id, "name": "Test Partner"}
    assert admin["credential_stored"] is True
    assert admin["users_permission"] == "READ" and admin["users_ok"] is True
    assert admin["error"] is None

    user = rows["user"]
    assert user["auth_ok"] is True and user["admin"] is False
    assert user["partner"] is None and user["partner_note"] == "needs a workspace admin"
    assert user["error"] is None

    closed = rows["closed"]
    assert closed["auth_ok"] is False and closed["partner"] is None
    assert "cannot reach" in closed["error"]


def test_a_busy_workspace_is_waited_for_on_the_commands_clock(workspace, run, profiles_file):
    """The clock a command is given (here one whose sleeps cost nothing) times every profile's back-offs."""
    profiles_file({"admin": {"host": workspace.url, "token": DEFAULT_ADMIN_TOKEN}}, "one.cfg")
    workspace.emulator.faults.arm(path_prefix="/api/2.0/preview/scim/v2/Me", status=503, fail_next=1)
    clock = FakeClock()
    result = run("get", "--all-profiles", "-o", "json", clock=clock)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["profiles"][0]["auth_ok"] is True
    assert len(clock.slept) == 1 and 1 <= clock.slept[0] <= 1.25  # the first back-off, not waited


def test_table_and_exit_zero_when_every_profile_answers(three_profiles, run, partner_file, tmp_path, monkeypatch):
    config = tmp_path / "two.cfg"
    config.write_text(
        f"[admin]\nhost = {three_profiles.url}\ntoken = {DEFAULT_ADMIN_TOKEN}\n\n"
        f"[user]\nhost = {three_profiles.url}\ntoken = {DEFAULT_USER_TOKEN}\n\n"
        "[acct]\nhost = https://accounts.cloud.databricks.com\naccount_id = 00000000-0000\n"
    )
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    monkeypatch.setenv("COLUMNS", "200")  # one line per row, to read the cells
    none_yet = run("get", "--all-profiles")
    assert none_yet.exit_code == 0, none_yet.stderr
    assert "no active partner" in none_yet.stdout
    create_partner(run, partner_file(), "--no-auth-header", profile="admin")
    result = run("get", "--all-profiles")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    for expected in ("admin", "user", "acct", "Test Partner", "✓ stored", "needs a workspace admin", "skipped"):
        assert expected in text, expected


def test_users_holding_manage_are_flagged(three_profiles, run, partner_file):
    from emulator_client import RawClient

    RawClient(three_profiles.emulator.port).create_scope("partner-connect", initial_manage_principal="users")
    path = partner_file(supported_features=["NON_ADMIN"], auth_options=["AUTH_PAT"])
    create_partner(run, path, "--no-secret", profile="admin")
    result = run("get", "--all-profiles", "-f", str(path), "-o", "json")
    admin = json.loads(result.stdout)["profiles"][0]
    assert admin["users_permission"] == "MANAGE" and admin["credential_stored"] is False, json.dumps(admin)
    assert "overwrite" in admin["warning"]
    assert "Warning: profile admin:" in result.stderr


def test_all_profiles_refuses_profile_and_env(workspace, run):
    for flag in (["-p", "emu"], ["-e"]):
        result = run("get", "--all-profiles", *flag)
        assert result.exit_code == 2
        assert "cannot be combined with -p or -e" in result.stderr
    assert workspace.requests() == []


def test_missing_config_file(run, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "nope.cfg"))
    result = run("get", "--all-profiles")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: config file ") and "does not exist" in result.stderr


def test_file_only_with_all_profiles(workspace, run, partner_file):
    result = run("get", "-p", "emu", "-f", str(partner_file()))
    assert result.exit_code == 2


def test_ctrl_c_ends_it_at_once(tmp_path):
    """A profile whose host never answers: Ctrl-C still ends the command within a second (exit 130)."""
    import os
    import subprocess
    import sys

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the backlog) and never answers
    try:
        config = tmp_path / "silent.cfg"
        config.write_text(f"[silent]\nhost = http://127.0.0.1:{silent.getsockname()[1]}\ntoken = dapi-x\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
        env.update(DATABRICKS_CONFIG_FILE=str(config), DATABRICKS_STP_HTTP_TIMEOUT_SECONDS="30")
        process = subprocess.Popen(
            [sys.executable, "-m", "stp_ext", "get", "--all-profiles"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)  # started, and waiting on the silent host
        assert process.poll() is None
        sent = time.monotonic()
        err = interrupt(process)
        assert time.monotonic() - sent < 1.5
        assert process.returncode == 130, err
        assert err.strip().splitlines()[-1] == "Error: interrupted"
    finally:
        silent.close()


@pytest.mark.parametrize("columns", ["60", "100", "140"])
def test_the_partner_id_is_never_split(three_profiles, run, partner_file, monkeypatch, columns):
    partner_id = create_partner(run, partner_file(), "--no-auth-header", profile="admin")["id"]
    monkeypatch.setenv("COLUMNS", columns)
    result = run("get", "--all-profiles")  # the closed-port profile makes it exit 1; the table is still printed
    assert result.exit_code == 1, result.stderr
    assert partner_id in result.stdout  # whole, on one line, to copy


def test_profiles_and_their_reads_are_asked_at_once(workspace, run, profiles_file, partner_file):
    """Each profile's four reads (Me, partner, keys, ACL) and the profiles themselves go out together.

    Every answer comes 1 s late: one after another this took 4 s per profile (6 profiles: 4 s with
    8 at a time, 24 s in a row); at once, about 1 s. The rows stay in file order whatever answers first.
    """
    path = partner_file(supported_features=["NON_ADMIN"], auth_options=["AUTH_PAT"])
    _create_as = run("create", "-f", str(path), "-p", "emu", "--no-auth-header", "-o", "json")
    assert _create_as.exit_code == 0, _create_as.stderr
    names = [f"p{i}" for i in range(6)]
    profiles_file({name: {"host": workspace.url, "token": DEFAULT_ADMIN_TOKEN} for name in names}, "six.cfg")
    workspace.emulator.clear_log()
    workspace.emulator.faults.arm(latency_ms=1000)
    started = time.monotonic()
    result = run("get", "--all-profiles", "-o", "json")
    elapsed = time.monotonic() - started
    workspace.emulator.faults.clear()
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["profiles"]
    assert [row["profile"] for row in rows] == names
    assert all(row["credential_stored"] is True and row["users_permission"] == "READ" for row in rows)
    assert len(workspace.requests("/api/")) == 4 * len(names)  # one of each read per profile, no more
    assert elapsed < 3, elapsed  # 4 s at the least if any profile sent its reads one after another
