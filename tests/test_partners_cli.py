"""create / get / update / delete end to end: CLI -> databricks-sdk -> HTTP -> emulator."""

from __future__ import annotations

import json
import re

import pytest
from helpers import create_partner

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN

PARTNERS = "/api/2.0/partnerhub/self-test-partners"
ID = re.compile(r"^[0-9A-F]{32}$")


def test_lifecycle_with_profile(workspace, run, partner_file):
    path = partner_file()
    created = create_partner(run, path, "--no-secret")
    assert ID.match(created["id"])
    assert created == {"id": created["id"], "name": "Test Partner", "secret": None}

    listed = run("get", "-p", "emu", "-o", "json")
    assert json.loads(listed.stdout) == {"partners": [{"id": created["id"], "name": "Test Partner"}]}

    renamed = partner_file("v2.json", name="Test Partner v2")
    updated = run("update", "-f", str(renamed), "-p", "emu", "-o", "json")
    assert updated.exit_code == 0, updated.stderr
    assert json.loads(updated.stdout) == {"id": created["id"], "updated": True}
    listed = run("get", "-p", "emu", "-o", "json")
    assert json.loads(listed.stdout)["partners"][0]["name"] == "Test Partner v2"

    deleted = run("delete", "-p", "emu", "-o", "json")
    assert deleted.exit_code == 0, deleted.stderr
    assert json.loads(deleted.stdout) == {"id": created["id"], "deleted": True, "secret_deleted": False}
    assert json.loads(run("get", "-p", "emu", "-o", "json").stdout) == {"partners": []}


def test_lifecycle_with_env(env_auth, run, partner_file):
    path = partner_file()
    result = run("create", "-f", str(path), "-e", "--no-secret", "-o", "json")
    assert result.exit_code == 0, result.stderr
    partner_id = json.loads(result.stdout)["id"]
    assert run("get", "-e").exit_code == 0
    assert run("update", "-f", str(path), "-e", "--yes").exit_code == 0
    deleted = run("delete", "-e", "--yes", "-o", "json")
    assert json.loads(deleted.stdout)["id"] == partner_id


def test_text_output_shows_tables_and_panels(workspace, run, partner_file):
    created = run("create", "-f", str(partner_file()), "-p", "emu", "--no-secret")
    assert created.exit_code == 0
    assert "Self-testing partner created" in created.stdout
    partner_id = re.search(r"[0-9A-F]{32}", created.stdout).group(0)
    listed = run("get", "-p", "emu")
    assert partner_id in listed.stdout and "Test Partner" in listed.stdout
    assert "ID" in listed.stdout and "Name" in listed.stdout


def test_get_with_no_partner_is_success(workspace, run):
    result = run("get", "-p", "emu")
    assert result.exit_code == 0
    assert "No active self-testing partner" in result.stdout


def test_second_create_names_the_active_partner_and_hints_with_the_users_profile(workspace, run, partner_file):
    path = partner_file()
    partner_id = create_partner(run, path, "--no-secret")["id"]
    result = run("create", "-f", str(path), "-p", "emu", "--no-secret")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (f"Error: Workspace already has an active self-testing partner: 'Test Partner' ({partner_id})")
    assert "databricks-stp update -f partner.json -p emu" in lines[1]
    assert "databricks-stp delete -p emu" in lines[1]


def test_no_active_partner_hint_keeps_the_users_profile(workspace, run):
    result = run("delete", "-p", "emu", "--yes")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1] == "Create one with: databricks-stp create -f partner.json -p emu"


@pytest.mark.parametrize("command", [["update", "-f", "{path}"], ["delete"]])
def test_update_or_delete_without_partner(workspace, run, partner_file, command):
    args = [a.format(path=partner_file()) for a in command]
    result = run(*args, "-p", "emu", "--yes")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no active self-testing partner")


def test_invalid_config_sends_nothing(workspace, run, partner_file):
    path = partner_file(category="data_prep", hostnames="https://partner.example.com")
    result = run("create", "-f", str(path), "-p", "emu")
    assert result.exit_code == 2
    assert result.stderr.count("Error:") == 1
    assert "nothing was sent" in result.stderr
    assert workspace.requests() == []


def test_unreadable_config_file_is_exit_2(workspace, run, tmp_path):
    result = run("create", "-f", str(tmp_path / "missing.json"), "-p", "emu")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert workspace.requests() == []


def test_non_admin_is_told_admin_is_required(workspace, run, partner_file):
    result = run("create", "-f", str(partner_file()), "-p", "emu-user", "--no-secret")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: Workspace admin is required"
    assert "admin" in lines[1]


def test_bad_token_message_comes_from_reason_phrase(emulator, run, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-not-a-real-token")
    result = run("get", "-e")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: Invalid access token."
    assert "DATABRICKS_HOST/DATABRICKS_TOKEN" in lines[1]
    assert "dapi-not-a-real-token" not in result.stderr


def test_id_skips_the_lookup(workspace, run, partner_file):
    partner_id = create_partner(run, partner_file(), "--no-secret")["id"]
    workspace.emulator.clear_log()
    assert run("update", "-f", str(partner_file()), "--id", partner_id, "-p", "emu", "-y").exit_code == 0
    calls = [(m, p) for m, p, _ in workspace.requests(PARTNERS)]
    assert calls == [("PUT", f"{PARTNERS}/update/{partner_id}")]
    workspace.emulator.clear_log()
    assert run("delete", "--id", partner_id, "--keep-secret", "-p", "emu", "-y").exit_code == 0
    calls = [(m, p) for m, p, _ in workspace.requests(PARTNERS)]
    assert calls == [("DELETE", f"{PARTNERS}/delete/{partner_id}")]


def test_unknown_id_is_404_with_hint(workspace, run):
    result = run("delete", "--id", "0" * 32, "-p", "emu", "-y")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "databricks-stp get" in result.stderr


def test_malformed_id_is_refused_locally(workspace, run):
    result = run("delete", "--id", "../scim/v2/Me", "-p", "emu", "-y")
    assert result.exit_code == 2
    assert workspace.requests() == []


def test_get_makes_one_round_trip(workspace, run):
    # A personal access token needs nothing from the SDK's /.well-known/databricks-config probe.
    workspace.emulator.clear_log()
    assert run("get", "-p", "emu").exit_code == 0
    assert [p for _, p, _ in workspace.requests()] == [f"{PARTNERS}/get"]


def test_json_output_is_only_json(workspace, run, partner_file):
    for args in (["get"], ["create", "-f", str(partner_file()), "--no-secret"], ["delete", "-y"]):
        result = run(*args, "-p", "emu", "-o", "json")
        assert result.exit_code == 0, result.stderr
        json.loads(result.stdout)


def test_output_format_from_environment(workspace, run, monkeypatch):
    monkeypatch.setenv("DATABRICKS_OUTPUT_FORMAT", "json")
    result = run("get", "-p", "emu")
    assert json.loads(result.stdout) == {"partners": []}
    monkeypatch.setenv("DATABRICKS_OUTPUT_FORMAT", "yaml")
    result = run("get", "-p", "emu")
    assert result.exit_code == 2
    assert "DATABRICKS_OUTPUT_FORMAT" in result.stderr


def test_unknown_option_is_usage_error(run):
    result = run("get", "--bogus")
    assert result.exit_code == 2
    first, hint = result.stderr.splitlines()
    assert first.startswith("Error: No such option") and "--bogus" in first
    assert hint == "Run 'databricks-stp get --help' for usage and examples."


def test_token_never_printed_with_debug(workspace, run, partner_file):
    result = run("create", "-f", str(partner_file()), "-p", "emu", "--no-secret", "--debug")
    assert result.exit_code == 0
    assert DEFAULT_ADMIN_TOKEN not in result.stdout + result.stderr
    assert "self-test-partners/create" in result.stderr  # debug does log the traffic


@pytest.mark.parametrize("command", [["update", "-f", "{path}"], ["delete"]])
def test_unknown_id_hint_keeps_the_users_profile(workspace, run, partner_file, command):
    args = [a.format(path=partner_file()) for a in command]
    result = run(*args, "--id", "0" * 32, "-p", "emu", "--yes")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1] == (
        "Run `databricks-stp get -p emu` to see the active partner's id, or leave out --id."
    )


def test_hints_quote_the_users_file_and_keep_the_profile(workspace, run, tmp_path):
    path = tmp_path / "my partner.json"
    path.write_text('{"partner": {"name": "x"}}')
    result = run("create", "-f", str(path), "-p", "emu", "--no-secret")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].endswith(f"run: databricks-stp validate -f '{path}'")
    put = run("secret", "put", "-p", "emu", "--no-auth-header")
    assert put.exit_code == 1
    assert put.stderr.splitlines()[1] == "Create one with: databricks-stp create -f partner.json -p emu"
