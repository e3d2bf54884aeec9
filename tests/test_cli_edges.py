"""Rough edges of the command line: shared option types, only the options a command uses, suggestions."""

from __future__ import annotations

import pytest

OFFLINE = [["validate"], ["connect-test"], ["sample-partner"], ["emulator"], ["init"], ["demo"]]


@pytest.mark.parametrize(
    "command", [["doctor"], ["connect-test", "-f", "partner.json", "--no-auth-header"]], ids=["doctor", "connect-test"]
)
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "soon", "1e10", "3600.5"])
def test_every_timeout_refuses_what_is_not_a_time_limit(run, command, value):
    result = run(*command, "--timeout", value)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: Invalid value for '--timeout'")
    assert result.stderr.count("Error:") == 1


@pytest.mark.parametrize("command", OFFLINE, ids=lambda c: c[0])
def test_offline_commands_show_no_workspace_options(run, command):
    help_text = run(*command, "--help").stdout
    assert "--profile" not in help_text and "--env" not in help_text
    assert "--debug" in help_text


def test_schema_shows_no_output_option_it_would_ignore(run):
    help_text = run("schema", "--help").stdout
    assert "--output" not in help_text
    assert run("schema", "-o", "text").exit_code == 2


@pytest.mark.parametrize("command", [["create"], ["get"], ["doctor"], ["secret", "put"]], ids=lambda c: " ".join(c))
def test_workspace_commands_keep_profile_and_env(run, command):
    help_text = run(*command, "--help").stdout
    assert "--profile" in help_text and "--env" in help_text


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [(["crate"], "Did you mean 'create'?"), (["doctr"], "Did you mean 'doctor'?"), (["secret", "pt"], "'put'")],
)
def test_a_misspelt_command_gets_a_suggestion(run, typed, suggested):
    result = run(*typed)
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"Error: no such command {typed[-1]!r}.")
    assert suggested in first


def test_help_as_a_command_points_at_dash_dash_help(run):
    result = run("help")
    assert result.exit_code == 2
    assert "Did you mean 'databricks-stp --help'?" in result.stderr.splitlines()[0]


@pytest.mark.parametrize("name", ["DATABRICKS_STP_HTTP_TIMEOUT_SECONDS", "DATABRICKS_STP_RETRY_TIMEOUT_SECONDS"])
def test_a_timeout_variable_beyond_an_hour_is_refused_before_anything_is_sent(run, monkeypatch, env_auth, name):
    monkeypatch.setenv(name, "1e10")
    result = run("get", "-e")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {name}='1e10' is more than 3600 s (one hour)")
    assert env_auth.request_log == []


@pytest.mark.parametrize(
    ("token", "shown"), [("dapi€uro", "U+20AC at position 5"), ("dapi\nx", "U+000A at position 5")]
)
def test_a_token_that_cannot_travel_in_a_header_is_refused_before_anything_is_sent(
    run, monkeypatch, env_auth, token, shown
):
    """It read as "refused the credentials: 'latin-1' codec can't encode..." (exit 1)."""
    monkeypatch.setenv("DATABRICKS_TOKEN", token)
    result = run("get", "-e")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: the token of DATABRICKS_HOST/DATABRICKS_TOKEN (--env) contains ")
    assert shown in result.stderr and "€" not in result.stderr
    assert env_auth.request_log == []
