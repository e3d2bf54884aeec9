"""The GitHub Action (action.yml) runs as written: its `run:` scripts, taken from the file, against the sample partner.

GitHub's runner is played by this test: each step's `env:` is evaluated (only
`${{ inputs.* }}` and `${{ github.action_path }}` may appear, and only there),
its `if:` is evaluated, `uses:` steps (setup-python, upload-artifact) are left
to GitHub, and GITHUB_PATH is honoured between steps. The install step really
installs this repository into a fresh virtualenv.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import REPO, write_partner_config

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN
from stp_ext.sample_partner.server import SamplePartner

ACTION = yaml.safe_load((REPO / "action.yml").read_text())
STEPS = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SECRET_INPUTS = ("auth-header", "basic-password", "databricks-token", "databricks-client-secret")
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache",
    ".mypy_cache", ".hypothesis",
)  # fmt: skip


def _step(step_id: str) -> dict[str, Any]:
    return next(step for step in STEPS if step.get("id") == step_id)


def _inputs(**given: str) -> dict[str, str]:
    declared = ACTION["inputs"]
    assert set(given) <= set(declared), set(given) - set(declared)
    return {name: given.get(name, str(spec.get("default", ""))) for name, spec in declared.items()}


def _value(expression: str, inputs: dict[str, str], action_path: Path) -> str:
    if expression == "github.action_path":
        return str(action_path)
    match = re.fullmatch(r"inputs\.([a-z0-9-]+)", expression)
    assert match, f"the test runner knows only inputs.* and github.action_path, not {expression!r}"
    return inputs[match.group(1)]


def _condition(condition: str | None, inputs: dict[str, str]) -> bool:
    if condition is None:
        return True
    result = True
    for term in (t.strip() for t in condition.split("&&")):
        if term == "always()":
            continue
        match = re.fullmatch(r"inputs\.([a-z0-9-]+) == '([^']*)'", term)
        assert match, f"unsupported condition {term!r}"
        result = result and inputs[match.group(1)] == match.group(2)
    return result


class Runner:
    """One job: a workspace folder, RUNNER_TEMP, GITHUB_PATH; the action checked out at ``action_path``."""

    def __init__(self, root: Path, action_path: Path) -> None:
        self.workdir = root / "work"
        self.temp = root / "runner-temp"
        self.github_path = root / "github-path"
        for folder in (self.workdir, self.temp):
            folder.mkdir(exist_ok=True)
        self.github_path.touch()
        self.action_path = action_path
        self.extra_env: dict[str, str] = {}

    def path(self) -> str:
        added = [line for line in self.github_path.read_text().splitlines() if line.strip()]
        # `python` on the runner: setup-python's; here, the interpreter running the tests.
        return os.pathsep.join([*reversed(added), str(Path(sys.executable).parent), os.environ["PATH"]])

    def run(self, step_id: str, inputs: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        step = _step(step_id)
        assert step["shell"] == "bash"
        # A clean runner: nothing of this test session's workspace or Python path leaks in.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "PYTHON", "VIRTUAL_ENV"))}
        env.update(self.extra_env)
        for name, raw in (step.get("env") or {}).items():
            env[name] = EXPRESSION.sub(lambda m: _value(m.group(1), inputs, self.action_path), str(raw))
        env.update(RUNNER_TEMP=str(self.temp), GITHUB_PATH=str(self.github_path), PATH=self.path())
        return subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """The install step, once: this repository (a copy, as GitHub checks it out) into a fresh virtualenv.

    About 30 s of CPU, so the tests that use it are marked ``packaging``: `make smoke` runs them.
    """
    root = tmp_path_factory.mktemp("action")
    action_path = root / "action-checkout"
    shutil.copytree(REPO, action_path, ignore=IGNORED)
    runner = Runner(root, action_path)
    done = runner.run("install", _inputs(), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "databricks-stp" in done.stdout  # its --version
    venv_bin = runner.github_path.read_text().strip()
    assert venv_bin.startswith(str(runner.temp))
    location = subprocess.run(
        [str(Path(venv_bin) / "python"), "-c", "import stp_ext; print(stp_ext.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=runner.workdir,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    ).stdout
    assert location.startswith(str(runner.temp)), location  # the installed package, not this checkout
    return runner


PASSWORD = "action-password-123"
HEADER = "Basic " + base64.b64encode(f"databricks:{PASSWORD}".encode()).decode()


def _readme_workflow_lines() -> list[str]:
    text = (REPO / "README.md").read_text().split("### GitHub Action", 1)[1]
    block = text.split("```yaml", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def _readme_step() -> dict[str, Any]:
    """The README's step as GitHub reads it, with the secret a repository would hold."""
    steps = yaml.safe_load("\n".join(_readme_workflow_lines()))
    assert isinstance(steps, list) and len(steps) == 1
    return dict(steps[0])


def test_readme_shows_the_five_lines_a_partner_adds():
    lines = _readme_workflow_lines()
    assert len(lines) == 5
    step = _readme_step()
    assert step["uses"].split("@")[0].endswith("databricks-stp")
    assert set(step["with"]) <= set(ACTION["inputs"])
    assert step["with"]["basic-password"] == "${{ secrets.PARTNER_PASSWORD }}"  # a secret, never a literal


def _readme_inputs() -> dict[str, str]:
    given = {k: str(v).replace("${{ secrets.PARTNER_PASSWORD }}", PASSWORD) for k, v in _readme_step()["with"].items()}
    return given


@pytest.fixture
def partner_config(installed: Runner):
    with SamplePartner(port=0, auth_header=HEADER) as partner:
        _config_for(partner, installed.workdir)
        yield partner


def _config_for(partner: SamplePartner, workdir: Path, **changes: str) -> None:
    """workdir/partner.json: the shipped example, with its endpoints on ``partner``."""
    connect_url, delete_url = f"{partner.url}/databricks/connect", f"{partner.url}/databricks/delete"
    write_partner_config(workdir, connect_url=connect_url, delete_url=delete_url, hostnames="127.0.0.1", **changes)


def _junit(path: Path) -> str:
    text = path.read_text()
    assert "<testsuite" in text
    return text


@pytest.mark.packaging
@pytest.mark.slow
@pytest.mark.parametrize("credential", ["readme", "header"])
def test_connect_test_step_passes_against_the_sample_partner(installed, partner_config, credential):
    """The README's five lines (basic auth from a secret), and an Authorization header from a secret."""
    report = installed.workdir / "databricks-stp-connect-test.xml"
    report.unlink(missing_ok=True)
    given = _readme_inputs() if credential == "readme" else {"auth-header": HEADER}
    done = installed.run("connect-test", _inputs(**given))
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'failures="0"' in _junit(report)
    assert PASSWORD not in done.stdout + done.stderr and HEADER not in done.stdout + done.stderr


@pytest.mark.packaging
@pytest.mark.slow
def test_connect_test_step_fails_with_the_wrong_credential(installed, partner_config):
    done = installed.run(
        "connect-test", _inputs(**{"basic-user": "databricks", "basic-password": "wrong", "junit-xml": "bad.xml"})
    )
    assert done.returncode == 1
    assert 'failures="0"' not in _junit(installed.workdir / "bad.xml")
    assert "Error:" in done.stderr


def _create_in(workdir: Path, emulator: Any) -> None:
    """`create -f partner.json -e` with HEADER, as the workflow's earlier step would have done."""
    env = {"DATABRICKS_HOST": emulator.url, "DATABRICKS_TOKEN": DEFAULT_ADMIN_TOKEN}
    created = subprocess.run(
        [sys.executable, "-m", "stp_ext", "create", "-f", "partner.json", "-e", "--auth-header-stdin"],
        input=HEADER,
        cwd=workdir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr


@pytest.mark.packaging
@pytest.mark.slow
def test_doctor_step_against_the_emulator(installed, partner_config, emulator):
    _create_in(installed.workdir, emulator)
    inputs = _inputs(**{"doctor": "true", "databricks-host": emulator.url, "databricks-token": DEFAULT_ADMIN_TOKEN})
    assert _condition(_step("doctor").get("if"), inputs)
    assert not _condition(_step("doctor").get("if"), _inputs())  # off by default
    done = installed.run("doctor", inputs)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'failures="0"' in _junit(installed.workdir / "databricks-stp-doctor.xml")
    assert DEFAULT_ADMIN_TOKEN not in done.stdout + done.stderr


def test_the_action_keeps_inputs_out_of_scripts_and_secrets_off_argv():
    assert ACTION["runs"]["using"] == "composite"
    for step in STEPS:
        if "uses" in step:
            assert re.fullmatch(r"actions/(setup-python|upload-artifact)@v\d+", step["uses"]), step["uses"]
            continue
        assert step["shell"] == "bash"
        script = step["run"]
        assert "${{" not in script, f"step {step['id']}: inputs reach scripts through env only"
        assert script.lstrip().startswith("set -euo pipefail")
        for name, raw in (step.get("env") or {}).items():
            for expression in EXPRESSION.findall(str(raw)):
                assert expression == "github.action_path" or expression.removeprefix("inputs.") in ACTION["inputs"]
            if any(f"inputs.{secret}" in str(raw) for secret in SECRET_INPUTS) and not name.startswith("DATABRICKS_"):
                # a secret only meets bash builtins: tested with `[`, piped to stdin by printf
                uses = [line.strip() for line in script.splitlines() if f"${name}" in line]
                allowed = (
                    f"printf '%s' \"${name}\" |",
                    f'if [ -n "${name}" ]; then',
                    f'elif [ -n "${name}" ]; then',
                    f'if [ -z "${name}" ]; then',
                )
                assert uses and all(line.startswith(allowed) for line in uses), uses
    upload = next(step for step in STEPS if "upload-artifact" in step.get("uses", ""))
    assert "inputs.junit-xml" in upload["with"]["path"] and "inputs.doctor-junit-xml" in upload["with"]["path"]
    assert upload["if"].startswith("always()")


# -- the inputs for the optional cases, a service principal, and empty inputs ----------------------------
# These run the steps' scripts with this checkout's databricks-stp (on PATH beside the test's Python):
# no install step, so they are quick and run in `make test`.


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path, REPO)


@pytest.fixture
def ingest_partner(runner: Runner):
    """The sample partner, and an INGEST config pointing at it (P900 is the connector list of ingestion partners)."""
    with SamplePartner(port=0, auth_header=HEADER) as partner:
        _config_for(partner, runner.workdir, category="INGEST")
        yield partner


def _cases(report: Path) -> dict[str, str]:
    """JUnit test case name -> "passed", "failed" or "skipped"."""
    import xml.etree.ElementTree as ET

    outcome = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        outcome[case.get("name", "")] = (
            "failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds else "passed"
        )
    return outcome


def test_connect_test_step_runs_p800_p801_and_p900_through_their_inputs(runner, ingest_partner):
    given = {"basic-user": "databricks", "basic-password": PASSWORD}
    given["test-connection-url"] = f"{ingest_partner.url}/test-connection"
    given["connectors-url"] = f"{ingest_partner.url}/connectors"
    done = runner.run("connect-test", _inputs(**given))
    assert done.returncode == 0, done.stdout + done.stderr
    cases = _cases(runner.workdir / "databricks-stp-connect-test.xml")
    for case_id in ("P800", "P801", "P900"):
        assert [v for k, v in cases.items() if k.startswith(case_id)] == ["passed"], cases
    assert PASSWORD not in done.stdout + done.stderr


def test_connect_test_step_runs_only_the_cases_asked_with_a_payload(runner, ingest_partner):
    (runner.workdir / "extra.json").write_text(json.dumps({"user_info": {"first_name": "Ada"}}))
    given = {"auth-header": HEADER, "case": "P100, P800", "payload": "extra.json"}
    given["test-connection-url"] = f"{ingest_partner.url}/test-connection"
    done = runner.run("connect-test", _inputs(**given))
    assert done.returncode == 0, done.stdout + done.stderr
    ran = {
        name.split()[0].rstrip(":")
        for name, outcome in _cases(runner.workdir / "databricks-stp-connect-test.xml").items()
        if outcome != "skipped"
    }
    assert ran == {"P100", "P800"}


def test_connect_test_step_passes_the_suite_settings(runner, ingest_partner):
    given = {"auth-header": HEADER, "case": "P700, P300", "supports-demo": "false"}
    done = runner.run("connect-test", _inputs(**given, **{"require-manual-signup": "true", "strict": "true"}))
    assert done.returncode == 1  # the sample partner signs known users in: a manual-signup partner answers 404
    cases = _cases(runner.workdir / "databricks-stp-connect-test.xml")
    assert [v for k, v in cases.items() if k.startswith("P700")] == ["skipped"]  # --no-demo
    assert [v for k, v in cases.items() if k.startswith("P300")] == ["failed"]
    assert "manual signup" in done.stdout


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"basic-user": "databricks", "basic-password": ""}, "basic-password"),
        ({"config": ""}, "config"),
    ],
)
def test_connect_test_step_names_an_empty_input(runner, given, named):
    done = runner.run("connect-test", _inputs(**given))
    assert done.returncode == 2
    assert done.stderr.startswith(f"Error: the {named} input is empty")
    assert f"::error::the {named} input is empty" in done.stdout  # the annotation on the run's page


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"databricks-host": ""}, "databricks-host"),
        ({"databricks-token": ""}, "databricks-token"),
        ({"databricks-token": "", "databricks-client-id": "sp-id"}, "databricks-client-secret"),
    ],
)
def test_doctor_step_names_an_empty_input(runner, given, named):
    inputs = _inputs(
        **{"doctor": "true", "databricks-host": "https://x.cloud.databricks.com", "databricks-token": "t", **given}
    )
    done = runner.run("doctor", inputs)
    assert done.returncode == 2
    assert done.stderr.startswith(f"Error: the {named} input is empty")


def test_doctor_step_with_a_service_principal(runner, ingest_partner, emulator):
    from stp_ext.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    _create_in(runner.workdir, emulator)
    given = {"doctor": "true", "databricks-host": emulator.url}
    given |= {"databricks-client-id": DEFAULT_CLIENT_ID, "databricks-client-secret": DEFAULT_CLIENT_SECRET}
    done = runner.run("doctor", _inputs(**given))
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'failures="0"' in _junit(runner.workdir / "databricks-stp-doctor.xml")
    assert ("POST", "/oidc/v1/token", 200) in [(r.method, r.path, r.status) for r in emulator.request_log]
    assert DEFAULT_CLIENT_SECRET not in done.stdout + done.stderr


def test_readme_shows_a_service_principal_example():
    text = (REPO / "README.md").read_text().split("### GitHub Action", 1)[1]
    block = text.split("```yaml", 2)[2].split("```", 1)[0]
    (step,) = yaml.safe_load(block)
    given = step["with"]
    assert set(given) <= set(ACTION["inputs"])
    assert {"databricks-client-id", "databricks-client-secret", "test-connection-url", "connectors-url"} <= set(given)
    assert "databricks-token" not in given
    for secret in SECRET_INPUTS:  # a secret input only ever from a secret, never a literal
        assert secret not in given or given[secret].startswith("${{ secrets."), secret
