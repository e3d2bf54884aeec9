"""`databricks-stp connect-test` and `sample-partner` on the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

import pytest
from connect_fixtures import BASIC_PASSWORD, BASIC_USER, sample_partner, write_config
from helpers import free_port, interrupt, invoke

from stp_ext.connect.cases import CASE_IDS
from stp_ext.sample_partner import FAULT_NAMES

SPEC_SCENARIO_KEYS = {
    "name", "case_id", "title", "certification", "passed", "skipped", "not_run", "status", "elapsed_ms", "findings",
}  # fmt: skip
CREDENTIAL = ["--basic-user", BASIC_USER, "--basic-password-stdin"]


def connect_test(config: Path, url: str, *args: str, credential: bool = True) -> Any:
    """``connect-test -f CONFIG --url URL ARGS`` with the basic credential (password on stdin), or none."""
    if credential:
        return invoke("connect-test", "-f", str(config), "--url", url, *CREDENTIAL, *args, input=BASIC_PASSWORD)
    return invoke("connect-test", "-f", str(config), "--url", url, "--no-auth-header", *args)


HOSTNAMES = ["--hostnames", "partner.example.com"]  # the redirect host the example config lists


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


def test_passes_against_a_correct_partner(config: Path) -> None:
    with sample_partner() as partner:
        result = connect_test(config, partner.url)
    assert result.exit_code == 0, result.stderr
    for case in ("P100", "P300", "P302", "P400", "P401", "P402", "P600", "P700", "AUTH"):
        assert case in result.stdout
    assert "✓ certification: 9 of 9 certification cases pass (1 skipped)" in result.stdout
    assert "✓ beyond certification: no findings" in result.stdout
    assert "P302 expects auto_add (assumed: the suite's default config" in result.stdout
    assert f"{partner.url}/databricks/connect" in result.stdout
    assert "Error" not in result.stderr and "Warning" not in result.stderr


def test_json_carries_case_ids_and_the_summary(config: Path) -> None:
    with sample_partner() as partner:
        result = connect_test(config, partner.url, "-o", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"passed", "strict", "summary", "certification", "beyond_certification", "scenarios"}
    assert document["passed"] is True and document["strict"] is False
    assert document["summary"] == {
        "cases": 10,
        "ran": 9,
        "passed": 9,
        "skipped": 1,
        "not_run": 0,
        "text": "9 of 9 certification cases pass (1 skipped)",
    }
    assert document["certification"] == {
        "passed": True,
        "one_reason": None,
        "new_user_action": "auto_add",
        "new_user_action_assumed": True,
        "findings": [],
    }
    assert document["beyond_certification"] == {"passed": True, "findings": []}
    assert [s["case_id"] for s in document["scenarios"]] == list(CASE_IDS)
    for scenario in document["scenarios"]:
        assert set(scenario) == SPEC_SCENARIO_KEYS
        assert scenario["name"] == scenario["case_id"] and scenario["title"]
        assert isinstance(scenario["elapsed_ms"], (int, float))
        assert scenario["certification"] is (scenario["case_id"] not in ("P800", "P801"))


def test_a_fault_fails_with_exit_1_and_names_the_finding(config: Path) -> None:
    with sample_partner(fault="bad_enum") as partner:
        text = connect_test(config, partner.url)
        as_json = connect_test(config, partner.url, "-o", "json")
    assert text.exit_code == 1
    assert "enum_value" in text.stdout and "signin" in text.stdout
    assert text.stderr.startswith("Error: connect-test failed: 1 of 9 certification cases pass")
    assert as_json.exit_code == 1
    document = json.loads(as_json.stdout)
    assert document["passed"] is False and document["certification"]["passed"] is False
    new = document["scenarios"][0]
    assert new["case_id"] == "P100" and new["passed"] is False
    assert {"severity": "error", "section": "certification", "check": "enum_value"}.items() <= new["findings"][
        0
    ].items()
    # The same finding in every case is listed once, with its cases.
    [group] = [g for g in document["certification"]["findings"] if g["check"] == "enum_value"]
    assert group["cases"][:3] == ["P100", "P300", "P302"] and "signin" in group["message"]
    assert " ".join(text.stdout.split()).count("redirect_value is 'signin'") == 1
    assert "Certification findings" in text.stdout
    assert "Error: connect-test failed" in as_json.stderr


def test_junit_xml_has_one_test_case_per_case(config: Path, tmp_path: Path) -> None:
    report = tmp_path / "cert.xml"
    with sample_partner(fault="demo_ignored") as partner:
        result = connect_test(config, partner.url, "--junit-xml", str(report))
    assert result.exit_code == 1
    suite = ElementTree.parse(report).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name", "").split()[0] for c in cases] == list(CASE_IDS)
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("12", "1", "3")
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name", "").split()[0] for c in failed] == ["P700"]
    failure = failed[0].find("failure")
    assert failure is not None and "redirect_value" in (failure.text or "")
    skipped = [c.get("name", "").split()[0] for c in cases if c.find("skipped") is not None]
    assert skipped == ["P800", "P801", "P900"]


def test_unwritable_junit_path_is_a_usage_error_before_anything_is_sent(config: Path, tmp_path: Path) -> None:
    with sample_partner() as partner:
        result = connect_test(
            config, partner.url, "--junit-xml", str(tmp_path / "missing-dir" / "cert.xml"), credential=False
        )
    assert result.exit_code == 2
    assert partner.state.accounts == {}


def test_options_name_the_extra_endpoints_and_the_new_user_action(config: Path) -> None:
    ingest = write_config(config.parent, "ingest.json", category="INGEST")
    with sample_partner(new_user_action="invite") as partner:
        result = connect_test(
            ingest,
            partner.url,
            "-o",
            "json",
            "--test-connection-url",
            "https://partner.example.com/test-connection",
            "--connectors-url",
            "https://partner.example.com/connectors",
            "--new-user-action",
            "invite",
        )
        wrong = connect_test(ingest, partner.url, "--case", "p302", "--new-user-action", "auto_add", "-o", "json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["summary"]["text"] == "10 of 10 certification cases pass"
    assert json.loads(result.stdout)["certification"]["new_user_action_assumed"] is False
    assert wrong.exit_code == 1
    [p302] = json.loads(wrong.stdout)["scenarios"]
    assert p302["case_id"] == "P302"
    assert {"error"} == {f["severity"] for f in p302["findings"] if f["check"] == "new_user_action"}
    assert "0 of 1 certification cases pass" in wrong.stderr


def test_no_credential_warns_and_fails_certification_on_auth(config: Path) -> None:
    with sample_partner(auth="") as partner:
        result = invoke("connect-test", "-f", str(config), "--url", partner.url, "-o", "json")
    assert result.exit_code == 1, result.stderr
    assert "Warning: no credential given" in result.stderr and "AUTH" in result.stderr
    assert "failing: AUTH" in result.stderr
    wrong = json.loads(result.stdout)["scenarios"][-1]
    assert wrong["case_id"] == "AUTH" and wrong["not_run"] and wrong["findings"][0]["check"] == "not_run"
    assert "--basic-user" in wrong["findings"][0]["message"]


def test_no_auth_header_is_silent(config: Path) -> None:
    with sample_partner(auth="") as partner:
        result = connect_test(config, partner.url, "--case", "P100", credential=False)
    assert result.exit_code == 0 and result.stderr == ""


def test_invalid_config_exits_2_and_sends_nothing(tmp_path: Path) -> None:
    bad = write_config(tmp_path, hostnames=["partner.example.com"], category="NOPE")
    with sample_partner() as partner:
        result = connect_test(bad, partner.url, credential=False)
        assert partner.state.accounts == {}
    assert result.exit_code == 2
    assert "partner.hostnames" in result.stderr and "partner.category" in result.stderr
    assert "Error:" in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "localhost:8080"], "not an absolute http(s) URL"),
        (["--url", "http://localhost:8080/?x=1"], "query or fragment"),
        (["--payload", "missing.json"], "--payload file not found: missing.json"),
        (["--timeout", "0"], "Invalid value for '--timeout'"),
        (["--url", "http://[::1"], "is not a valid URL"),
        (["--url", "http://a:99999"], "is not a valid URL"),
        (["--test-connection-url", "test-connection"], "not an absolute http(s) URL"),
        (["--new-user-action", "maybe"], "Invalid value for '--new-user-action'"),
        (["--case", "P999"], "Invalid value for '--case'"),
    ],
)
def test_bad_options_exit_2(config: Path, args: list[str], message: str) -> None:
    result = invoke("connect-test", "-f", str(config), "--no-auth-header", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_payload_must_be_a_json_object(config: Path, tmp_path: Path) -> None:
    payload = tmp_path / "payload.json"
    payload.write_text("[1, 2]")
    result = invoke("connect-test", "-f", str(config), "--no-auth-header", "--payload", str(payload))
    assert result.exit_code == 2 and "must hold a JSON object" in result.stderr
    payload.write_text("{nope")
    result = invoke("connect-test", "-f", str(config), "--no-auth-header", "--payload", str(payload))
    assert result.exit_code == 2 and "not valid JSON" in result.stderr


def test_payload_overrides_reach_the_partner(config: Path, tmp_path: Path) -> None:
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"cloud_provider": "mars"}))
    with sample_partner(auth="") as partner:
        result = connect_test(config, partner.url, "--payload", str(payload), credential=False)
    assert result.exit_code == 1
    assert "cloud_provider" in result.stdout and "400" in result.stdout


def test_config_and_credential_cannot_both_use_stdin() -> None:
    result = invoke("connect-test", "-f", "-", "--auth-header-stdin", input="x")
    assert result.exit_code == 2 and "stdin" in result.stderr


def test_unreachable_partner_is_a_finding_not_a_traceback(config: Path) -> None:
    result = connect_test(config, f"http://127.0.0.1:{free_port()}", credential=False)
    assert result.exit_code == 1
    assert "connection_refused" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_timeout_option(config: Path) -> None:
    with sample_partner(auth="", fault="slow", slow_seconds=3) as partner:
        started = time.monotonic()
        result = connect_test(config, partner.url, "--timeout", "0.2", "-o", "json", credential=False)
    assert result.exit_code == 1
    assert time.monotonic() - started < 1.5
    checks = {f["check"] for s in json.loads(result.stdout)["scenarios"] for f in s["findings"]}
    assert "timeout" in checks


@pytest.mark.parametrize("fault", ["continue_flood", "header_drip"])
def test_timeout_bounds_hostile_partners(config: Path, fault: str) -> None:
    # Today's figures before the fix: more than 100 s for --timeout 2 against either.
    with sample_partner(auth="", fault=fault) as partner:
        started = time.monotonic()
        result = connect_test(config, partner.url, "--timeout", "2", "--case", "P100", "-o", "json", credential=False)
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert 1.9 < elapsed < 3.0
    [p100] = json.loads(result.stdout)["scenarios"]
    assert [f["check"] for f in p100["findings"]] == ["timeout"]


def test_list_faults() -> None:
    result = invoke("sample-partner", "--list-faults", "-o", "json")
    assert result.exit_code == 0
    assert [f["name"] for f in json.loads(result.stdout)["faults"]] == list(FAULT_NAMES)
    text = invoke("sample-partner", "--list-faults")
    assert "not_idempotent" in text.stdout


@pytest.mark.parametrize("command", ["connect-test", "sample-partner"])
def test_help_has_examples(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and f"databricks-stp {command}" in result.stdout


def test_unknown_fault_is_a_usage_error() -> None:
    result = invoke("sample-partner", "--fault", "nope", "--no-auth-header")
    assert result.exit_code == 2


# -- real processes -------------------------------------------------------------


def _read_json_document(stream: IO[str], timeout: float = 10.0) -> dict[str, Any]:
    """Read lines until they form one JSON document (the server's announcement)."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        text += line
        try:
            document: dict[str, Any] = json.loads(text)
            return document
        except ValueError:
            continue
    raise AssertionError(f"no JSON announcement; got {text!r}")


def test_processes_end_to_end_without_databricks_sdk(config: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    password = tmp_path / "password"
    password.write_text(BASIC_PASSWORD)
    with password.open() as stdin:
        server = subprocess.Popen(
            [sys.executable, "-m", "stp_ext", "sample-partner", "--port", "0", *CREDENTIAL, "-o", "json", *HOSTNAMES],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    try:
        assert server.stdout is not None
        announced = _read_json_document(server.stdout)
        # Print the modules loaded at exit, to prove databricks-sdk never was.
        wrapper = tmp_path / "run.py"
        wrapper.write_text(
            "import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules)) + '\\n'))\n"
            "from stp_ext.cli import main\n"
            "sys.argv[0] = 'databricks-stp'\n"
            "main()\n"
        )
        client = subprocess.run(
            [sys.executable, str(wrapper), "connect-test", "-f", str(config), "--url", announced["url"], *CREDENTIAL],
            input=BASIC_PASSWORD,
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        assert client.returncode == 0, client.stdout + client.stderr
        modules = client.stderr.split("MODULES ", 1)[1].split()
        assert "stp_ext.connect" in modules
        assert not [m for m in modules if m.startswith(("databricks.sdk", "requests"))]
    finally:
        err = interrupt(server)
    assert server.returncode == 0
    assert "POST /databricks/connect -> 200" in err and "Stopped." in err
    assert BASIC_PASSWORD not in err


@pytest.mark.parametrize(("command", "verb"), [("connect-test", "Send Basic auth"), ("sample-partner", "Accept only")])
def test_credential_help_says_the_credential_is_given_not_stored(command: str, verb: str) -> None:
    result = invoke(command, "--help")
    flat = " ".join(result.stdout.split())
    assert "stored" not in flat.lower() and "Store " not in flat
    assert verb in flat


def test_help_lists_every_case_and_the_migration_note() -> None:
    flat = " ".join(invoke("connect-test", "--help").stdout.split())
    for case in CASE_IDS:
        assert f" {case} " in flat
    assert "Coming from the Scala suite" in flat and "--new-user-action" in flat


def test_cloud_option_speaks_for_a_gcp_workspace(config: Path) -> None:
    with sample_partner() as partner:
        result = connect_test(config, partner.url, "--cloud", "gcp", "--case", "P401")
    assert result.exit_code == 0, result.stdout
    assert invoke("connect-test", "-f", str(config), "--cloud", "gpc").exit_code == 2


def test_strict_fails_on_beyond_certification_findings_only(config: Path) -> None:
    with sample_partner(fault="error_text_plain") as partner:  # JSON errors labelled text/plain
        plain = connect_test(config, partner.url)
        strict = connect_test(config, partner.url, "--strict", "-o", "json")
    assert plain.exit_code == 0, plain.stdout + plain.stderr
    assert "✓ certification: 9 of 9 certification cases pass" in plain.stdout
    assert "Beyond certification (the suite would pass these; --strict fails on them):" in plain.stdout
    assert "! beyond certification: 1 finding, warnings only (--strict fails on them)" in plain.stdout
    assert "content_type (P402, AUTH)" in plain.stdout
    assert strict.exit_code == 1
    assert "Error: connect-test failed under --strict: 9 of 9 certification cases pass" in strict.stderr
    document = json.loads(strict.stdout)
    assert document["passed"] is False and document["strict"] is True
    assert document["certification"]["passed"] is True and document["beyond_certification"]["passed"] is False
    [group] = document["beyond_certification"]["findings"]
    assert group["check"] == "content_type" and group["cases"] == ["P402", "AUTH"]


def test_junit_puts_beyond_certification_in_system_out_or_failures_under_strict(config: Path, tmp_path: Path) -> None:
    normal, strict = tmp_path / "normal.xml", tmp_path / "strict.xml"
    with sample_partner(fault="error_text_plain") as partner:
        for path, extra in ((normal, []), (strict, ["--strict"])):
            connect_test(config, partner.url, "--case", "AUTH", "--junit-xml", str(path), *extra)
    [plain_case] = ElementTree.parse(normal).getroot().iter("testcase")
    assert plain_case.find("failure") is None
    assert "beyond certification content_type" in (plain_case.findtext("system-out") or "")
    [strict_case] = ElementTree.parse(strict).getroot().iter("testcase")
    assert "content_type" in (strict_case.findtext("failure") or "")


def test_demo_and_manual_signup_options(config: Path) -> None:
    with sample_partner(fault="demo_ignored") as partner:
        no_demo = connect_test(config, partner.url, "--no-demo", "--case", "P700")
        manual = connect_test(config, partner.url, "--require-manual-signup", "--case", "P300")
    assert no_demo.exit_code == 0 and "--no-demo" in no_demo.stdout
    assert manual.exit_code == 1 and "manual signup" in manual.stdout


def test_every_case_failing_for_one_reason_is_said_in_one_line(config: Path) -> None:
    with sample_partner() as partner:
        result = invoke(
            "connect-test", "-f", str(config), "--url", partner.url, "--basic-user", "someone-else",
            "--basic-password-stdin", input="wrong",
        )  # fmt: skip
    assert result.exit_code == 1
    assert "✗ every request was refused with 401: check the credential" in result.stdout
    # The finding itself once, with its cases, not once per case.
    assert result.stdout.count("got 401") == 1


def test_sample_partner_prints_a_command_that_passes_both_verdicts_as_pasted_twice(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "200"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    (tmp_path / "password.txt").write_text(BASIC_PASSWORD)
    made = subprocess.run(
        ["databricks-stp", "init", "--example", "partner", "-f", "partner.json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    with (tmp_path / "password.txt").open() as stdin:
        server = subprocess.Popen(
            [sys.executable, "-m", "stp_ext", "sample-partner", "--port", "0", *CREDENTIAL, *HOSTNAMES],
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
    try:
        assert server.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Test it"):
            line = server.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        assert "hostnames list partner.example.com" in lines[-1] and "password.txt" in lines[-1]
        command = server.stdout.readline().strip()
        assert command.startswith("databricks-stp connect-test -f partner.json --url http://127.0.0.1:")
        for _ in range(2):  # both verdicts pass twice in a row against one running partner
            run = subprocess.run(
                ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
            )
            assert run.returncode == 0, run.stdout + run.stderr
            assert "✓ certification: 9 of 9 certification cases pass (1 skipped)" in run.stdout
            assert "✓ beyond certification: no findings" in run.stdout
            assert "Warning" not in run.stderr
    finally:
        interrupt(server)
