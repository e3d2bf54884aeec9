"""The auth rules of docs/cli.md, against the emulator, with temporary config files only."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path

import pytest
from helpers import free_port, get_failing, write_profiles

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN


def test_profile_from_config_file(workspace, run):
    result = run("get", "-p", "emu", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"partners": []}


@pytest.mark.parametrize("args", [["-p", "emu", "get"], ["get", "-p", "emu"], ["-o", "json", "get", "-p", "emu"]])
def test_common_options_before_or_after_the_subcommand(workspace, run, args):
    result = run(*args, "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"partners": []}


def test_explicit_profile_wins_over_environment(workspace, run, monkeypatch):
    # The SDK alone would take this host and this token and mix them with the profile.
    monkeypatch.setenv("DATABRICKS_HOST", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", "some-client")
    result = run("get", "-p", "emu", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert workspace.requests("/api/2.0/partnerhub")


class _WatchedEnvironment(MutableMapping[str, str]):
    """os.environ, with every change recorded."""

    def __init__(self, real: MutableMapping[str, str]) -> None:
        self.real, self.changed = real, []

    def __getitem__(self, name: str) -> str:
        return self.real[name]

    def __setitem__(self, name: str, value: str) -> None:
        self.changed.append(name)
        self.real[name] = value

    def __delitem__(self, name: str) -> None:
        self.changed.append(name)
        del self.real[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.real)

    def __len__(self) -> int:
        return len(self.real)

    def copy(self) -> dict[str, str]:
        return dict(self.real)


def test_an_explicit_profile_leaves_the_process_environment_alone(workspace, run, monkeypatch):
    """Other threads read it meanwhile: `get --all-profiles` lost rows to "unexpected KeyError:
    'DATABRICKS_CONFIG_FILE'" when one thread hid the variables while another listed them (for proxies)."""
    monkeypatch.setenv("DATABRICKS_HOST", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    watched = _WatchedEnvironment(os.environ)
    monkeypatch.setattr(os, "environ", watched)
    result = run("get", "-p", "emu", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert workspace.requests("/api/2.0/partnerhub")
    assert watched.changed == []


def test_an_explicit_profile_still_takes_the_other_settings_from_the_environment(workspace, monkeypatch):
    from stp_ext.workspace.auth import _config_class, _hidden_environment, _sdk_env_names
    from stp_ext.workspace.sdk_seam import load_core

    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    monkeypatch.setenv("DATABRICKS_RATE_LIMIT", "7")
    base = load_core().Config
    with _hidden_environment(base, _sdk_env_names(base)):
        cfg = _config_class(base)(profile="emu", config_file=str(workspace.config_file))
    assert cfg.token == DEFAULT_ADMIN_TOKEN  # the profile's, not the environment's
    assert cfg.rate_limit == 7  # not an auth setting: the environment still sets it


def test_an_sdk_without_the_environment_step_gets_the_variables_hidden_from_the_process(monkeypatch):
    from stp_ext.workspace.auth import _hidden_environment

    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    with _hidden_environment(object, {"DATABRICKS_TOKEN", "DATABRICKS_HOST"}):
        assert "DATABRICKS_TOKEN" not in os.environ
    assert os.environ["DATABRICKS_TOKEN"] == "dapi-wrong"


def test_env_wins_over_profile(env_auth, run):
    result = run("get", "-p", "does-not-exist", "-e", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"partners": []}


def test_env_ignores_the_config_file(env_auth, run, tmp_path, monkeypatch):
    bad = tmp_path / "cfg"
    bad.write_text("[DEFAULT]\nhost = http://127.0.0.1:1\ntoken = nope\ncluster_id = x\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(bad))
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", "ignored")
    result = run("-e", "get", "-o", "json")
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("missing", ["DATABRICKS_HOST", "DATABRICKS_TOKEN"])
def test_env_without_a_variable_names_it(env_auth, run, monkeypatch, missing):
    monkeypatch.delenv(missing)
    result = run("get", "-e")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: --env is set but {missing} is empty or not set")
    assert not env_auth.request_log


def test_missing_profile_names_the_file_and_lists_profiles(workspace, run):
    result = run("get", "-p", "nope")
    assert result.exit_code == 2
    first, hint = result.stderr.splitlines()[:2]
    assert first == f"Error: profile 'nope' not found in {workspace.config_file}"
    assert "emu" in hint and "emu-user" in hint
    assert not workspace.requests()


def test_missing_config_file_names_the_path(run, tmp_path, monkeypatch):
    path = tmp_path / "absent.cfg"
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(path))
    result = run("get", "-p", "emu")
    assert result.exit_code == 2
    assert str(path) in result.stderr.splitlines()[0]
    assert "does not exist" in result.stderr


def test_default_auth_uses_environment_like_the_sdk(emulator, run, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url + "/")  # trailing slash fixed like the SDK
    monkeypatch.setenv("DATABRICKS_TOKEN", DEFAULT_ADMIN_TOKEN)
    result = run("get", "-o", "json")
    assert result.exit_code == 0, result.stderr


def test_default_auth_uses_config_profile_variable(workspace, run, monkeypatch):
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "emu-user")
    result = run("get")
    # emu-user is not an admin: proves that profile (not DEFAULT) was used.
    assert result.exit_code == 1
    assert "admin" in result.stderr.lower()


def test_default_profile_when_nothing_is_set(workspace, run):
    result = run("get", "-o", "json")
    assert result.exit_code == 0, result.stderr


def test_no_auth_at_all_is_a_clear_error(run, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "none"))
    result = run("get")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.stderr


def test_sdk_warnings_do_not_reach_the_user(workspace, run):
    result = run("get", "-p", "emu")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_unreachable_workspace_fails_fast_with_defaults(run, tmp_path, monkeypatch):
    """Nothing listens on the port: the SDK's 300 s budget would hang; ours gives up within 15 s."""
    monkeypatch.delenv("DATABRICKS_STP_RETRY_TIMEOUT_SECONDS")
    monkeypatch.delenv("DATABRICKS_STP_HTTP_TIMEOUT_SECONDS")
    result, elapsed, first = get_failing(run, f"http://127.0.0.1:{free_port()}", monkeypatch)
    assert elapsed < 15
    assert first.startswith("Error: cannot reach http://127.0.0.1:")
    assert "connection refused" in result.stderr


def test_workspace_that_never_answers_times_out(run, monkeypatch):
    monkeypatch.setenv("DATABRICKS_STP_HTTP_TIMEOUT_SECONDS", "0.5")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # accepts connections, never answers
        result, elapsed, _ = get_failing(run, f"http://127.0.0.1:{listener.getsockname()[1]}", monkeypatch)
    assert elapsed < 2
    assert "cannot reach" in result.stderr and "timed out" in result.stderr


def test_invalid_timeout_variable(run, monkeypatch, env_auth):
    monkeypatch.setenv("DATABRICKS_STP_HTTP_TIMEOUT_SECONDS", "soon")
    result = run("get", "-e")
    assert result.exit_code == 2
    assert "DATABRICKS_STP_HTTP_TIMEOUT_SECONDS" in result.stderr


def test_config_file_path_follows_variable(tmp_path: Path, monkeypatch):
    from stp_ext.workspace.auth import config_file_path

    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "x.cfg"))
    assert config_file_path() == tmp_path / "x.cfg"


def _first_error_of_profile(run, tmp_path: Path, monkeypatch, name: str, fields: dict[str, str]) -> tuple[str, Path]:
    """`get -p NAME` with a config file holding only that profile: exit 2; its first stderr line, the file."""
    config = write_profiles(tmp_path / "cfg", {name: fields})
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    result = run("get", "-p", name)
    assert result.exit_code == 2
    return result.stderr.splitlines()[0], config


def test_profile_without_host_is_named(run, tmp_path, monkeypatch):
    first, config = _first_error_of_profile(run, tmp_path, monkeypatch, "nohost", {"token": "dapi-x"})
    assert first == f"Error: profile 'nohost' in {config} has no host"


def test_sdk_auth_errors_are_short_without_debug(run, tmp_path, monkeypatch):
    fields = {"host": "http://127.0.0.1:9", "auth_type": "no-such-type"}
    first, _ = _first_error_of_profile(run, tmp_path, monkeypatch, "weird", fields)
    assert first.startswith("Error: cannot authenticate with profile 'weird'")
    assert "Config:" not in first


# -- a host copied from the browser (issue 10.1) --------------------------------------------


@pytest.mark.parametrize("suffix", ["/?o=123", "/some/path?o=123#notebook/1", "/"])
def test_a_browser_url_names_the_workspace_from_the_environment(env_auth, run, monkeypatch, suffix):
    monkeypatch.setenv("DATABRICKS_HOST", env_auth.url + suffix)
    for argv in (["get", "-e", "-o", "json"], ["get", "-o", "json"]):  # --env and the SDK's default auth
        result = run(*argv)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == {"partners": []}
    assert {r.path for r in env_auth.request_log} == {"/api/2.0/partnerhub/self-test-partners/get"}


def test_a_browser_url_in_a_profile_names_the_workspace(emulator, run, tmp_path, monkeypatch):
    config = tmp_path / "cfg"
    url = f"{emulator.url}/?o=123"
    profile = f"host = {url}\ntoken = {DEFAULT_ADMIN_TOKEN}\n"
    config.write_text(f"[DEFAULT]\n{profile}[copied]\n{profile}")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    for argv in (["get", "-p", "copied"], ["get"]):
        result = run(*argv, "-o", "json")
        assert result.exit_code == 0, result.stderr


def test_debug_says_how_the_host_was_taken(env_auth, run, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", env_auth.url + "/?o=123")
    result = run("get", "-e", "--debug")
    assert result.exit_code == 0, result.stderr
    assert f"workspace host {env_auth.url}/?o=123 taken as {env_auth.url}" in result.stderr


def test_labs_passes_a_browser_url_through(env_auth, monkeypatch, capsys):
    from stp_ext.cli import labs

    monkeypatch.setenv("DATABRICKS_HOST", env_auth.url + "/?o=123")
    status = labs.main([json.dumps({"command": "get", "flags": {}})])
    assert status == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out) == {"partners": []}


@pytest.mark.parametrize(
    ("raw", "host"),
    [
        ("https://adb-123.4.azuredatabricks.net/?o=123", "https://adb-123.4.azuredatabricks.net"),
        ("adb-123.4.azuredatabricks.net/", "https://adb-123.4.azuredatabricks.net"),
        ("https://dbc-1.cloud.databricks.com:443/login.html#x", "https://dbc-1.cloud.databricks.com"),
        ("HTTP://127.0.0.1:8765/api/2.0?o=1", "http://127.0.0.1:8765"),
        ("https://user@host.example.com/", "https://host.example.com"),
    ],
)
def test_normalize_host(raw, host):
    from stp_ext.workspace.auth import normalize_host

    assert normalize_host(raw) == host


# -- leftovers and typos name themselves (issue 10.5) -------------------------------------------


@pytest.mark.parametrize(
    ("present", "absent"), [("DATABRICKS_TOKEN", "DATABRICKS_HOST"), ("DATABRICKS_HOST", "DATABRICKS_TOKEN")]
)
def test_a_leftover_variable_is_named_with_the_ways_out(workspace, run, monkeypatch, present, absent):
    monkeypatch.setenv(present, "x" if present == "DATABRICKS_TOKEN" else workspace.url)
    result = run("get")
    assert result.exit_code == 2
    first, hint = result.stderr.splitlines()[:2]
    assert first.startswith(f"Error: {present} is set but {absent} is not")
    assert str(workspace.config_file) in first
    assert f"unset {present}" in hint and f"set {absent}" in hint
    assert "docs" not in result.stderr


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("host = https://x\n[a]\ntoken = y\n", 1, "comes before any [profile] header"),
        ("[a]\nhost = https://x\nhost = https://y\n", 3, "'host' is set twice in [a]"),
        ("[a]\nhost = https://x\n[a]\n", 3, "[a] appears twice"),
    ],
)
@pytest.mark.parametrize("argv", [["get", "-p", "a"], ["get"]])
def test_a_config_file_that_does_not_parse_is_one_line(run, tmp_path, monkeypatch, text, line, what, argv):
    config = tmp_path / "cfg"
    config.write_text(text)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    result = run(*argv)
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"Error: cannot read the config file {config}: line {line}")
    assert what in first
    for noise in ("PosixPath", "unexpected", "report", "Traceback"):
        assert noise not in result.stderr


@pytest.mark.parametrize(
    ("given", "hint"), [("[emu]", "without brackets: -p emu"), ("default", "Did you mean -p DEFAULT?")]
)
def test_a_mistyped_profile_gets_a_hint(workspace, run, given, hint):
    result = run("get", "-p", given)
    assert result.exit_code == 2
    assert hint in result.stderr
    assert "Profiles in that file: DEFAULT, emu, emu-user" in result.stderr
    assert not workspace.requests()


# -- the SDK internals relied on degrade instead of crashing (issue 11.5) --------------------


def test_the_sdk_hooks_relied_on_exist_in_this_release():
    from stp_ext.workspace.auth import sdk_hooks_present
    from stp_ext.workspace.sdk_seam import load_core

    assert sdk_hooks_present(load_core().Config) == dict.fromkeys(
        ("_fix_host_if_needed", "_resolve_host_metadata", "_load_from_env"), True
    )


def test_without_the_config_hooks_the_host_is_still_normalised(env_auth, run, monkeypatch):
    """A release that renamed the Config steps: the overrides never run; the host is fixed afterwards."""
    from stp_ext.workspace import auth as workspace_auth

    monkeypatch.setattr(workspace_auth, "_config_class", lambda base: base)
    monkeypatch.setattr(workspace_auth, "sdk_hooks_present", lambda cls: {"_fix_host_if_needed": False})
    monkeypatch.setenv("DATABRICKS_HOST", env_auth.url + "/?o=123")
    result = run("get", "-e", "-o", "json")
    assert result.exit_code == 0, result.stderr


def test_without_the_client_internals_requests_go_through_the_sdk(env_auth, run, monkeypatch):
    """No session to bound or no _perform: ApiClient.do with the SDK's retries; still one clear answer."""
    from stp_ext.workspace import client as workspace

    monkeypatch.setattr(workspace, "bound_session", lambda session, seconds: None)
    result = run("get", "-e", "-o", "json")
    assert result.exit_code == 0, result.stderr
    env_auth.faults.arm(path_prefix="/api/2.0/partnerhub", fail_next=1, status=500)
    result = run("get", "-e")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Injected fault: HTTP 500")


def test_without_the_error_parser_hook_errors_are_the_sdks(env_auth, run, monkeypatch):
    from stp_ext.workspace.sdk_seam import load_core

    monkeypatch.delattr(load_core(), "_ErrorCustomizer")
    env_auth.faults.arm(path_prefix="/api/2.0/partnerhub", fail_next=1, status=500)
    result = run("get", "-e")
    assert result.exit_code == 1, result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr


# -- OAuth M2M still gets the host-metadata probe it needs ----------------------------------------


def test_oauth_m2m_still_works_and_keeps_its_probe(emulator, run, monkeypatch):
    """OAuth needs the host-metadata answer (its OIDC endpoint): skipping the probe is for tokens only."""
    from stp_ext.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    monkeypatch.setenv("DATABRICKS_HOST", f"{emulator.url}/?o=123")
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", DEFAULT_CLIENT_ID)
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    result = run("get", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"partners": []}
    paths = [r.path for r in emulator.request_log]
    assert paths[0] == "/.well-known/databricks-config"  # still sent, once
    assert paths.count("/.well-known/databricks-config") == 1
    assert any(p.startswith("/oidc/") and p.endswith("/token") for p in paths)
    assert paths[-1] == "/api/2.0/partnerhub/self-test-partners/get"


@pytest.mark.parametrize("host", ["closed", "https://no-such-workspace.invalid"])
def test_oauth_against_an_unreachable_host_fails_at_once_naming_it(run, monkeypatch, host):
    """It said "oauth-m2m: Invalid URL 'None'" (exit 2) after the probe's back-offs."""
    if host == "closed":
        host = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("DATABRICKS_HOST", host)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", "sp")
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", "sp-secret")
    started = time.monotonic()
    result = run("get")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"Error: cannot reach {host}: ")
    assert first.endswith("(asking its host metadata, which OAuth needs)")
    assert "None" not in result.stderr
    assert elapsed < 1


def test_oauth_probe_is_sent_once_when_it_is_dropped(emulator, run, monkeypatch):
    from stp_ext.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    emulator.faults.arm(path_prefix="/.well-known/", fail_next=100, mode="drop")
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", DEFAULT_CLIENT_ID)
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    result = run("get")
    assert result.exit_code == 1
    assert "closed without an answer (asking its host metadata" in result.stderr
    assert [r.path for r in emulator.request_log] == ["/.well-known/databricks-config"]


def test_env_with_a_service_principal_uses_oauth_m2m(emulator, run, monkeypatch):
    """-e reads DATABRICKS_CLIENT_ID/SECRET when DATABRICKS_TOKEN is not set (CI with a service principal)."""
    from stp_ext.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", DEFAULT_CLIENT_ID)
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    result = run("get", "-e", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert ("POST", "/oidc/v1/token", 200) in [(r.method, r.path, r.status) for r in emulator.request_log]
    assert DEFAULT_CLIENT_SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize(("present", "absent"), [("CLIENT_ID", "CLIENT_SECRET"), ("CLIENT_SECRET", "CLIENT_ID")])
def test_env_with_half_a_service_principal_names_the_missing_variable(emulator, run, monkeypatch, present, absent):
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    monkeypatch.setenv(f"DATABRICKS_{present}", "some-value")
    result = run("get", "-e")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"Error: --env is set with DATABRICKS_{present} but DATABRICKS_{absent} is empty or not set"
    )
    assert not emulator.request_log


def test_env_without_a_credential_says_both_ways(emulator, run, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    result = run("get", "-e")
    assert result.exit_code == 2
    assert "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET" in result.stderr
