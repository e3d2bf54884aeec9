"""doctor green and red paths against the emulator and the sample partner; demo end to end."""

from __future__ import annotations

import base64
import json
import urllib.request

import pytest

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN
from stp_ext.sample_partner.server import SamplePartner

HEADER = "Basic " + base64.b64encode(b"u:p").decode()


@pytest.fixture
def partner():
    with SamplePartner(port=0, auth_header=HEADER) as server:
        yield server


@pytest.fixture
def setup(workspace, run, partner_file, partner):
    """A NON_ADMIN partner pointing at the sample partner, created with its credential."""
    path = partner_file(
        connect_url=f"{partner.url}/connect",
        delete_url=f"{partner.url}/delete-connection",
        hostnames="127.0.0.1",
        supported_features=["NON_ADMIN"],
        auth_options=["AUTH_PAT"],
    )
    result = run(
        "create", "-f", str(path), "-p", "emu", "--basic-user", "u", "--basic-password-stdin", "-o", "json", input="p"
    )
    assert result.exit_code == 0, result.stderr
    return path, json.loads(result.stdout)["id"]


def _doctor(run, path, *args):
    result = run("doctor", "-f", str(path), "-p", "emu", "-o", "json", *args)
    return result, json.loads(result.stdout)


def test_doctor_green(setup, run):
    path, _ = setup
    result, report = _doctor(run, path)
    assert result.exit_code == 0, result.stderr
    assert report["passed"] is True
    names = [c["check"] for c in report["checks"]]
    assert names == [
        "config valid",
        "authenticated",
        "partner active",
        "secret present",
        "users can READ (NON_ADMIN)",
        "stored credential accepted",
        "connect endpoint reachable",
    ]
    assert all(c["ok"] for c in report["checks"])
    # The STORED credential reached the partner: it answered the unknown connection, not 401.
    assert "404 connection_not_found: the stored credential is accepted" in report["checks"][5]["detail"]
    assert "admin@example.com" in report["checks"][1]["detail"]


def test_doctor_points_at_missing_secret(setup, run, workspace):
    path, partner_id = setup
    assert run("secret", "delete", "-p", "emu", "-y").exit_code == 0
    result, report = _doctor(run, path)
    assert result.exit_code == 1
    failed = {c["check"]: c for c in report["checks"] if c["ok"] is False}
    assert set(failed) == {"secret present"}
    assert f"databricks-stp secret put --id {partner_id} --non-admin -p emu" == failed["secret present"]["fix"]
    assert result.stderr.startswith("Error: 1 check failed: secret present")


def test_doctor_points_at_missing_acl(setup, run, workspace):
    path, _ = setup
    request = urllib.request.Request(
        workspace.url + "/api/2.0/secrets/acls/delete",
        data=json.dumps({"scope": "partner-connect", "principal": "users"}).encode(),
        headers={"Authorization": f"Bearer {DEFAULT_ADMIN_TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()
    result, report = _doctor(run, path)
    assert result.exit_code == 1
    failed = [c for c in report["checks"] if c["ok"] is False]
    assert [c["check"] for c in failed] == ["users can READ (NON_ADMIN)"]
    assert "--non-admin" in failed[0]["fix"]


def test_doctor_fails_a_stored_credential_the_partner_refuses(setup, run, workspace):
    """Every row but one passes: the secret exists, users can read it, but it is not what the partner takes."""
    path, partner_id = setup
    result = run(
        "secret", "put", "--id", partner_id, "--non-admin", "-p", "emu",
        "--basic-user", "u", "--basic-password-stdin", input="not-p",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    result, report = _doctor(run, path)
    assert result.exit_code == 1
    (failed,) = [c for c in report["checks"] if c["ok"] is False]
    assert failed["check"] == "stored credential accepted"
    assert "HTTP 401 unauthorized: the partner refuses the stored credential" in failed["detail"]
    assert failed["fix"].startswith(f"databricks-stp secret put --id {partner_id} --non-admin -p emu")
    assert base64.b64encode(b"u:not-p").decode() not in result.stdout + result.stderr


def test_doctor_without_partner(workspace, run, partner_file):
    result, report = _doctor(run, partner_file())
    assert result.exit_code == 1
    by_name = {c["check"]: c for c in report["checks"]}
    assert by_name["partner active"]["ok"] is False
    assert "databricks-stp create -f" in by_name["partner active"]["fix"]
    assert by_name["secret present"]["ok"] is None  # skipped, not failed twice


def test_doctor_bad_auth(emulator, run, partner_file, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    result = run("doctor", "-e", "-o", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["checks"][0] == {
        "check": "authenticated",
        "ok": False,
        "detail": "Invalid access token.",
        "fix": report["checks"][0]["fix"],
    }


def test_doctor_renamed_partner_and_unreachable_endpoint(setup, run, partner_file, partner):
    other = partner_file("other.json", name="Another Name", connect_url="http://127.0.0.1:9/connect")
    result, report = _doctor(run, other)
    assert result.exit_code == 1
    failed = {c["check"] for c in report["checks"] if c["ok"] is False}
    assert failed == {"partner active", "connect endpoint reachable"}


def test_doctor_url_reroots_the_endpoint_probe(setup, run, partner_file, partner):
    # The config names production; --url probes the same path on a local build, as connect-test --url does.
    production = partner_file("prod.json", connect_url="https://partner.invalid/connect", hostnames="partner.invalid")
    _, report = _doctor(run, production, "--url", partner.url)
    row = report["checks"][-1]
    assert row["check"] == "connect endpoint reachable" and row["ok"] is True, row
    assert f"{partner.url}/connect answered HTTP 401" in row["detail"] and "unauthorized" in row["detail"]
    assert run("doctor", "-f", str(production), "-p", "emu", "--url", "http://[::1").exit_code == 2


def test_doctor_endpoint_row_judges_the_answer_like_connect_test(setup, run, partner_file):
    with SamplePartner(port=0, auth_header=HEADER, fault="error_not_json") as broken:
        path = partner_file("broken.json", connect_url=f"{broken.url}/connect", hostnames="127.0.0.1")
        _, report = _doctor(run, path)
    row = report["checks"][-1]
    # A plain-text error body fails the suite (invalid_json); its label alone would be beyond certification.
    assert row["ok"] is False and "invalid_json" in row["detail"] and "error_reason" in row["fix"]


def test_doctor_skip_endpoint_and_junit(setup, run, tmp_path):
    path, _ = setup
    junit = tmp_path / "doctor.xml"
    result, report = _doctor(run, path, "--skip-endpoint", "--junit-xml", str(junit))
    assert result.exit_code == 0, result.stderr
    assert report["checks"][-1] == {
        "check": "connect endpoint reachable",
        "ok": None,
        "detail": "skipped: --skip-endpoint",
        "fix": None,
    }
    from xml.etree import ElementTree

    suite = ElementTree.parse(junit).getroot().find("testsuite")
    names = [c.get("name") for c in suite.findall("testcase")]
    assert names == [c["check"] for c in report["checks"]]
    assert suite.get("skipped") == "2" and suite.get("failures") == "0"  # --skip-endpoint: no partner call


def test_doctor_junit_records_failures(setup, run, tmp_path, workspace):
    path, _ = setup
    assert run("secret", "delete", "-p", "emu", "-y").exit_code == 0
    junit = tmp_path / "doctor.xml"
    result, _ = _doctor(run, path, "--junit-xml", str(junit))
    assert result.exit_code == 1
    from xml.etree import ElementTree

    suite = ElementTree.parse(junit).getroot().find("testsuite")
    failed = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["secret present"]
    assert "Fix: databricks-stp secret put" in failed[0].find("failure").text


def test_doctor_text_output(setup, run):
    path, _ = setup
    result = run("doctor", "-f", str(path), "-p", "emu")
    assert result.exit_code == 0
    assert "connect endpoint reachable" in result.stdout


def test_demo_end_to_end(run):
    result = run("demo")
    assert result.exit_code == 0, result.stderr
    for step in ("validate", "create with credential", "get", "secret status", "connect-test", "doctor", "delete"):
        assert step in result.stdout
    assert "All 12 steps passed" in result.stdout


def test_demo_json(run):
    result = run("demo", "-o", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert [s["step"] for s in report["steps"]][-1] == "delete"
    connect_test = next(s for s in report["steps"] if s["step"] == "connect-test")
    # P800 and P801 are beyond certification; P900 is for INGEST partners only.
    assert connect_test["detail"] == "9 of 9 certification cases pass (1 skipped)"
    assert all(s["ok"] for s in report["steps"])
    # The journey: a click provisions and connects, a second reuses, the non-admin joins, delete reaches the partner.
    journey = {s["step"]: s["detail"] for s in report["steps"]}
    assert "admin@example.com connected, service principal, PAT, warehouse" in journey["click the tile as admin"]
    assert "admin@example.com reused connection" in journey["click again"]
    assert "user@example.com reused connection" in journey["click as a non-admin"]
    assert journey["delete the connection"].startswith("delete_url answered 200 resources_deleted")
    # The first step times the servers' start-up (it reported 0 ms when they started before it).
    assert report["steps"][0]["elapsed_ms"] > 0
    validate = next(s for s in report["steps"] if s["step"] == "validate")
    assert validate["detail"] == "partner.json: no errors, 0 warnings"
