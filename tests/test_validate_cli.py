"""`databricks-stp validate` and `schema`: exit codes, stdout/stderr, JSON shapes, import cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLE, REPO, invoke, write_partner_config

from stp_ext.partner_config import partner_json_schema


@pytest.fixture(autouse=True)
def _no_output_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABRICKS_OUTPUT_FORMAT", raising=False)


def config(tmp_path: Path, **changes: Any) -> str:
    return str(write_partner_config(tmp_path, **changes))


def error_lines(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


def test_valid_file_text() -> None:
    result = invoke("validate", "-f", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert "✓" in result.stdout and "is valid" in result.stdout
    assert result.stderr == ""


def test_valid_file_json() -> None:
    result = invoke("validate", "-f", str(EXAMPLE), "-o", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"valid": True, "findings": []}
    assert result.stderr == ""


def test_warnings_only_exit_zero(tmp_path: Path) -> None:
    path = config(tmp_path, hostnames="a.example.com, b.example.com")
    result = invoke("validate", "-f", path)
    assert result.exit_code == 0
    assert "partner.hostnames" in result.stdout and "1 warning" in result.stdout
    document = json.loads(invoke("-o", "json", "validate", "-f", path).stdout)
    assert document["valid"] is True
    assert [f["severity"] for f in document["findings"]] == ["warning"]


def test_errors_exit_two_with_one_error_line(tmp_path: Path) -> None:
    path = config(tmp_path, hostnames="https://a.example.com", category="bi")
    result = invoke("validate", "-f", path)
    assert result.exit_code == 2
    assert "partner.hostnames" in result.stdout and "partner.category" in result.stdout
    assert "2 errors" in result.stdout
    assert error_lines(result) == [f"Error: {path} has 2 errors"]


def test_errors_in_json_mode(tmp_path: Path) -> None:
    path = config(tmp_path, hostnames=["a.example.com", "b.example.com"])
    result = invoke("validate", "-f", path, "-o", "json")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert set(document) == {"valid", "findings"}
    assert document["valid"] is False
    [finding] = document["findings"]
    assert set(finding) == {"severity", "field", "message", "hint"}
    assert finding["field"] == "partner.hostnames"
    assert finding["hint"] == 'Use "a.example.com,b.example.com".'
    assert error_lines(result) == [f"Error: {path} has 1 error"]


def test_output_format_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_OUTPUT_FORMAT", "json")
    result = invoke("validate", "-f", str(EXAMPLE))
    assert json.loads(result.stdout)["valid"] is True


def test_invalid_json_is_reported_as_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"partner": {"name": "x",}}')
    result = invoke("validate", "-f", str(path), "-o", "json")
    assert result.exit_code == 2
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["field"] == "(file)" and "line 1, column 26" in finding["message"]
    assert "trailing comma" in finding["hint"]


@pytest.mark.parametrize("output", ["text", "json"])
def test_missing_file_is_one_error_line_and_no_stdout(tmp_path: Path, output: str) -> None:
    result = invoke("validate", "-f", str(tmp_path / "nope.json"), "-o", output)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert error_lines(result) == [f"Error: config file not found: {tmp_path / 'nope.json'}"]
    assert "Traceback" not in result.stderr


def test_binary_file_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(b"\x00\x01\x02")
    result = invoke("validate", "-f", str(path))
    assert result.exit_code == 2
    assert error_lines(result) == [f"Error: {path} is not a text file (NUL byte at offset 0)"]


def test_stdin() -> None:
    result = invoke("validate", "-f", "-", "-o", "json", input=EXAMPLE.read_bytes())
    assert result.exit_code == 0
    assert json.loads(result.stdout)["valid"] is True


def test_stdin_invalid_names_stdin() -> None:
    result = invoke("validate", "-f", "-", input='{"partner": {}}')
    assert result.exit_code == 2
    assert error_lines(result) == ["Error: <stdin> has 8 errors"]


def test_file_option_is_required() -> None:
    result = invoke("validate")
    assert result.exit_code == 2
    assert len(error_lines(result)) == 1 and "--file" in result.stderr


def test_markup_in_user_text_is_shown_verbatim(tmp_path: Path) -> None:
    path = config(tmp_path, category="[/bold][red]x", **{"[b]": 1})
    result = invoke("validate", "-f", path)
    assert result.exit_code == 2, result.stderr
    assert "[/bold][red]x" in result.stdout


def test_output_options_after_the_subcommand_and_auth_options_only_before() -> None:
    result = invoke("validate", "-f", str(EXAMPLE), "--debug", "-o", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["valid"] is True
    # validate talks to no workspace: -p/-e are not its options, though the group still takes them.
    assert invoke("validate", "-f", str(EXAMPLE), "-p", "any").exit_code == 2
    assert invoke("-p", "any", "-e", "validate", "-f", str(EXAMPLE)).exit_code == 0


def test_schema_prints_the_schema() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == partner_json_schema()
    assert result.stderr == ""


def test_schema_is_json_in_every_output_mode() -> None:
    text = invoke("-o", "text", "schema").stdout
    assert text == invoke("-o", "json", "schema").stdout
    assert text == (REPO / "stp_ext" / "partner-config.schema.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["validate", "schema"])
def test_help_has_examples(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    # The \b paragraph keeps one example per line.
    examples = result.stdout.split("Examples:", 1)[1].splitlines()
    assert any(line.strip().startswith(f"databricks-stp {command}") for line in examples)


# -- no databricks-sdk on the offline paths -------------------------------------------------

_WRAPPER = """
import atexit, os, runpy, sys

def dump():
    with open(os.environ["STP_MODULES_OUT"], "w") as out:
        out.write("\\n".join(sorted(sys.modules)))

atexit.register(dump)
sys.argv = ["databricks-stp", *sys.argv[1:]]
runpy.run_module("stp_ext", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["validate", "-f", "examples/partner.json"], 0),
        (["validate", "-f", "examples/partner.json", "-o", "json"], 0),
        (["schema"], 0),
        (["--help"], 0),
    ],
)
def test_offline_commands_do_not_import_databricks_sdk(tmp_path: Path, args: list[str], exit_code: int) -> None:
    out = tmp_path / "modules.txt"
    env = {**os.environ, "STP_MODULES_OUT": str(out)}
    env.pop("DATABRICKS_OUTPUT_FORMAT", None)
    completed = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == exit_code, completed.stderr
    modules = out.read_text().splitlines()
    assert "stp_ext.cli" in modules
    assert [m for m in modules if m == "databricks.sdk" or m.startswith("databricks.sdk.")] == []
    assert "requests" not in modules
