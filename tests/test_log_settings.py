"""DATABRICKS_LOG_LEVEL, DATABRICKS_LOG_FILE and DATABRICKS_LOG_FORMAT, as the Databricks CLI reads them.

Run end to end: `create` sends the endpoint credential to the emulator
(its secrets API), so the debug log would quote it if redaction failed.
"""

from __future__ import annotations

import base64
import json
import stat

import pytest

PASSWORD = "log-file-pass-1234"


def _create(run, partner_file, env):
    return run(
        "create", "-f", str(partner_file()), "-p", "emu", "--basic-user", "databricks", "--basic-password-stdin",
        "-o", "json", input=PASSWORD, env=env,
    )  # fmt: skip


def _assert_no_secret(text: str) -> None:
    assert PASSWORD not in text
    assert base64.b64encode(f"databricks:{PASSWORD}".encode()).decode() not in text
    assert "dapi" not in text  # the emulator's admin token


def test_log_file_gets_the_debug_log_with_secrets_redacted(workspace, run, partner_file, tmp_path):
    log = tmp_path / "stp.log"
    result = _create(run, partner_file, {"DATABRICKS_LOG_LEVEL": "debug", "DATABRICKS_LOG_FILE": str(log)})
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # the log went to the file, not to the terminal
    text = log.read_text()
    assert "/api/2.0/secrets/put" in text  # the HTTP exchange, as with --debug
    _assert_no_secret(text)
    # The file's records pass the same redaction filter as --debug's: a record quoting the credential
    # (as a peer's echo would) is written redacted.
    import logging

    logging.getLogger("stp_ext.test").warning("the partner echoed %s", PASSWORD)
    text = log.read_text()
    assert text.rstrip().endswith("the partner echoed ***REDACTED***")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    again = _create(run, partner_file, {"DATABRICKS_LOG_LEVEL": "trace", "DATABRICKS_LOG_FILE": str(log)})
    assert again.exit_code == 1  # one active partner already: the log is appended to
    assert log.read_text().startswith(text) and len(log.read_text()) > len(text)


def test_json_log_format_is_one_object_a_line(workspace, run, partner_file, tmp_path):
    log = tmp_path / "stp.jsonl"
    env = {"DATABRICKS_LOG_FILE": str(log), "DATABRICKS_LOG_FORMAT": "json"}
    result = run("--debug", "get", "-p", "emu", "-o", "json", env=env)  # --debug: level debug, as in the CLI
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records and all(set(r) >= {"time", "level", "logger", "msg"} for r in records)
    assert any(r["level"] == "DEBUG" and r["logger"].startswith("databricks") for r in records)
    _assert_no_secret(log.read_text())
    json.loads(result.stdout)  # stdout is still only the JSON document


def test_no_level_means_no_log(workspace, run, tmp_path):
    log = tmp_path / "stp.log"
    result = run("get", "-p", "emu", env={"DATABRICKS_LOG_FILE": str(log)})
    assert result.exit_code == 0 and not log.exists()  # disabled by default, as in the Databricks CLI


def test_info_level_on_stderr_by_default(workspace, run):
    result = run("get", "-p", "emu", "-o", "json", env={"DATABRICKS_LOG_LEVEL": "info"})
    assert result.exit_code == 0
    assert "DEBUG" not in result.stderr
    json.loads(result.stdout)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABRICKS_LOG_LEVEL": "loud"}, "Error: DATABRICKS_LOG_LEVEL='loud' is not a log level"),
        ({"DATABRICKS_LOG_LEVEL": "debug", "DATABRICKS_LOG_FORMAT": "xml"}, "Error: DATABRICKS_LOG_FORMAT='xml'"),
        ({"DATABRICKS_LOG_LEVEL": "debug", "DATABRICKS_LOG_FILE": "/nonexistent/dir/x.log"}, "Error: cannot open"),
    ],
)
def test_bad_settings_are_one_error_line(run, env, message):
    result = run("validate", "-f", "partner.json", env=env)
    assert result.exit_code == 2
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr
