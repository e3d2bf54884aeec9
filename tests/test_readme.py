"""The README's commands are real: every `databricks-stp` line parses, and the manual's examples run.

The examples run verbatim in a sandbox: a profile `my-workspace` pointing at
an emulator, a partner.json served by the sample partner, password.txt and
header.txt beside it. Only the fixed ports are replaced by free ones. Lines
with pipes and redirections run through bash; plain lines run in this process
with the words bash would pass (a process each costs half a second of CPU).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import click
import pytest
from helpers import free_port, invoke, write_profiles

from stp_ext.cli import cli
from stp_ext.core import auth_header
from stp_ext.emulator import DEFAULT_ADMIN_TOKEN
from stp_ext.sample_partner.server import SamplePartner

README = Path(__file__).resolve().parent.parent / "README.md"
BIN = Path(sys.executable).parent


def _readme_command_lines() -> list[str]:
    lines, fenced = [], False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced and "databricks-stp " in line and not line.lstrip().startswith(("#", "pip", "pipx", "eval", "_")):
            lines.append(line.split("  #")[0].strip())
    return lines


def _arguments(line: str) -> list[str]:
    command = line.split("|")[-1]  # `printf ... | databricks-stp ...`
    words = shlex.split(command.replace("&", ""))
    words = words[words.index("databricks-stp") + 1 :]
    if "<" in words:
        words = words[: words.index("<")]
    return words


@pytest.mark.parametrize("line", _readme_command_lines())
def test_readme_command_parses(line):
    """Each command and option in the README exists (click parses it, nothing runs)."""
    args = _arguments(line)
    try:
        ctx = cli.make_context("databricks-stp", list(args))
    except click.exceptions.Exit:
        return  # --version answered
    command: click.Command = cli
    while isinstance(command, click.Group):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # click 9 folds protected_args into args
            remaining = [*ctx.protected_args, *ctx.args]
        name, sub, rest = command.resolve_command(ctx, remaining)
        assert sub is not None, f"unknown command {name!r} in: {line}"
        command = sub
        try:
            ctx = sub.make_context(name, rest, parent=ctx)
        except click.exceptions.Exit:
            break  # an eager option such as --list-faults answered and exited


def test_readme_has_the_two_command_quick_start():
    text = README.read_text()
    quick = text.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert [line for line in quick.strip().splitlines()] == ["make demo", "make test"]


# Each README example block, run in order, with the exit status a user sees.
CREATE_BASIC = "databricks-stp create -f partner.json -p my-workspace --basic-user databricks --basic-password-stdin"
CREATE_HEADER = "databricks-stp create -f partner.json -p my-workspace --auth-header-stdin"
SCENARIO = [
    ("databricks-stp validate -f partner.json", 0),
    (f"{CREATE_BASIC} < password.txt", 0),
    (f"printf 'Bearer %s' \"$PARTNER_TOKEN\" | {CREATE_HEADER}", 1),  # one active partner at a time
    ("databricks-stp get -p my-workspace", 0),
    ("databricks-stp secret put --basic-user databricks --basic-password-stdin < password.txt", 0),
    ("databricks-stp secret status -f partner.json", 0),
    ("databricks-stp connect-test -f partner.json --basic-user databricks --basic-password-stdin < password.txt", 0),
    ("databricks-stp doctor -f partner.json -p my-workspace", 0),
    ("databricks-stp update -f partner-v2.json -p my-workspace", 0),
    ("databricks-stp secret put -f partner.json --auth-header-stdin < header.txt", 0),
    ("databricks-stp secret delete --yes", 0),
    ("databricks-stp delete -p my-workspace", 0),
    ("databricks-stp delete --id 0123456789ABCDEF0123456789ABCDEF --yes --keep-secret", 1),
    ("databricks-stp create -f partner.json -p my-workspace --no-auth-header", 0),
    ("databricks-stp sample-partner --list-faults", 0),
]


def test_scenario_lines_are_in_the_readme():
    lines = set(_readme_command_lines())
    for command, _ in SCENARIO:
        assert command in lines, command


# Redirections, pipes and variables: these lines run through bash.
_SHELL_SYNTAX = re.compile(r"[<>|$&;`]")


def test_readme_examples_run(emulator, tmp_path, monkeypatch):
    password = "readme-password"
    header = "Basic " + base64.b64encode(f"databricks:{password}".encode()).decode()
    with SamplePartner(port=0, auth_header=header) as partner:
        example = json.loads((README.parent / "examples" / "partner.json").read_text())["partner"]
        example.update(
            connect_url=f"{partner.url}/databricks/connect",
            delete_url=f"{partner.url}/databricks/delete",
            hostnames="127.0.0.1",
        )
        (tmp_path / "partner.json").write_text(json.dumps({"partner": example}))
        (tmp_path / "partner-v2.json").write_text(json.dumps({"partner": {**example, "name": "Test Partner v2"}}))
        (tmp_path / "password.txt").write_text(password + "\n")
        (tmp_path / "header.txt").write_text(header + "\n")
        profile = {"host": emulator.url, "token": DEFAULT_ADMIN_TOKEN}
        config = write_profiles(tmp_path / "databrickscfg", {"DEFAULT": profile, "my-workspace": profile})
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "DATABRICKS_CONFIG_FILE": str(config),
            "PARTNER_TOKEN": "partner-token",
        }
        monkeypatch.chdir(tmp_path)
        for command, expected in SCENARIO:
            if _SHELL_SYNTAX.search(command):
                done = subprocess.run(
                    ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
                )
                status, stdout, stderr = done.returncode, done.stdout, done.stderr
            else:  # plain words: what bash would pass, run in this process (half a second less each)
                words = shlex.split(command)
                assert words[0] == "databricks-stp"
                result = invoke(*words[1:], env=env)
                status, stdout, stderr = result.exit_code, result.stdout, result.stderr
            assert status == expected, f"{command}\n{stdout}\n{stderr}"
            if expected:
                assert re.match(r"Error: ", stderr.splitlines()[-2] if "\n" in stderr.strip() else stderr)
            assert "Traceback" not in stderr
            assert password not in stdout + stderr


def test_readme_ci_job_runs_as_written(emulator, tmp_path):
    """The CI snippet, verbatim but for its ports: emulator, sample partner, create, connect-test, doctor."""
    text = README.read_text()
    block = text.split("In a CI job:", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [line for line in block.strip().splitlines() if not line.rstrip().endswith("&")]
    started = [line for line in block.strip().splitlines() if line.rstrip().endswith("&")]
    assert [line.split()[1] for line in started] == ["emulator", "sample-partner"]
    password = "ci-password"
    (tmp_path / "password.txt").write_text(password)
    # What the recipe's `sample-partner --port 8766 --hostnames partner.example.com --basic-user ...` runs.
    header = auth_header.basic("databricks", password).value
    with SamplePartner(port=0, auth_header=header, hostnames="partner.example.com") as partner:
        script = "set -e\n" + "\n".join(lines)
        script = script.replace("127.0.0.1:8765", f"127.0.0.1:{emulator.port}")
        script = script.replace("127.0.0.1:8766", f"127.0.0.1:{partner.port}")
        (tmp_path / "partner.json").write_text((README.parent / "examples" / "partner.json").read_text())
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        env.pop("DATABRICKS_CONFIG_FILE", None)
        done = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 0, done.stdout + done.stderr
    # Both verdicts pass, with no warning anywhere.
    assert "✓ certification: 9 of 9 certification cases pass (1 skipped)" in done.stdout
    assert "✓ beyond certification: no findings" in done.stdout
    assert "Warning" not in done.stdout + done.stderr
    for report in ("connect-test.xml", "doctor.xml"):
        assert "<testsuite " in (tmp_path / report).read_text()


# -- Install and the first hour, as a new user does them ------------------------------------------------


def _fenced_after(heading: str, fence: str = "```sh") -> list[str]:
    block = README.read_text().split(heading, 1)[1].split(fence, 1)[1].split("```", 1)[0]
    return [line for line in block.strip().splitlines() if line.strip()]


def test_readme_says_plainly_it_is_not_on_pypi_yet():
    install = README.read_text().split("## Install", 1)[1].split("\n## ", 1)[0]
    assert "not on PyPI yet" in install
    commands = [line.split("#")[0].strip() for line in _fenced_after("## Install")]
    assert commands == ["pipx install .", "pip install .", "databricks-stp --version"]


@pytest.mark.packaging  # a pip install into a fresh virtualenv: `make smoke` runs it
@pytest.mark.slow
def test_readme_install_then_the_first_hour_outside_the_checkout(emulator, tmp_path):
    """`pip install .` verbatim in a fresh virtualenv; then, outside the checkout: init, validate, --all-profiles."""
    import shutil
    import time

    from stp_ext.emulator import DEFAULT_USER_TOKEN

    checkout = tmp_path / "checkout"
    shutil.copytree(
        README.parent,
        checkout,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"),
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"  # an activated virtualenv
    pip_line = next(line.split("#")[0].strip() for line in _fenced_after("## Install") if line.startswith("pip "))
    for line in (pip_line, "databricks-stp --version"):
        done = subprocess.run(["bash", "-c", line], cwd=checkout, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"

    home = tmp_path / "elsewhere"
    home.mkdir()
    config = home / "databrickscfg"
    config.write_text(
        f"[admin]\nhost = {emulator.url}\ntoken = {DEFAULT_ADMIN_TOKEN}\n\n"
        f"[user]\nhost = {emulator.url}\ntoken = {DEFAULT_USER_TOKEN}\n\n"
        f"[closed]\nhost = http://127.0.0.1:{free_port()}\ntoken = dapi-nobody-listens\n"
    )
    env.update(DATABRICKS_CONFIG_FILE=str(config), DATABRICKS_OUTPUT_FORMAT="json", HOME=str(home))

    def stp(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "databricks-stp"), *args],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import stp_ext; print(stp_ext.__file__)"],
        cwd=home, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert where.stdout.startswith(str(venv)), where.stdout  # the installed wheel, not the checkout
    assert stp("init", "--no-input").returncode == 0
    assert (home / "partner.json").is_file() and (home / "partner-config.schema.json").is_file()
    assert json.loads(stp("validate", "-f", "partner.json").stdout) == {"valid": True, "findings": []}
    assert stp("create", "-f", "partner.json", "-p", "admin", "--no-auth-header").returncode == 0

    started = time.monotonic()
    glance = stp("get", "--all-profiles", "-f", "partner.json")
    elapsed = time.monotonic() - started
    assert glance.returncode == 1 and "1 of 3 profiles did not answer: closed" in glance.stderr
    rows = {row["profile"]: row for row in json.loads(glance.stdout)["profiles"]}
    assert rows["admin"]["partner"]["name"] == "Test Partner" and rows["admin"]["credential_stored"] is True
    assert rows["user"]["auth_ok"] is True and rows["user"]["partner_note"] == "needs a workspace admin"
    assert rows["closed"]["auth_ok"] is False and "cannot reach" in rows["closed"]["error"]
    assert elapsed < 10, elapsed  # a few seconds: the profiles are asked at once


# Hosts whose URLs resolve today, and placeholders that are not meant to (reserved names, local servers).
REAL_HOSTS = {"github.com", "keepachangelog.com", "semver.org"}
REAL_REPOSITORIES = {"databricks/databricks-sdk-py", "databrickslabs/partner-connect-api"}
PLACEHOLDER = re.compile(
    r"(^|\.)(example\.com|example|localhost|127\.0\.0\.1)$|^(dbc-1234abcd-5678\.cloud\.databricks\.com"
    r"|adb-123\.4\.azuredatabricks\.net|accounts\.cloud\.databricks\.com|\.\.\.)$"
)


def test_every_url_resolves_or_is_marked_as_the_future_home():
    from urllib.parse import urlsplit

    sources = [README, *sorted((README.parent / "examples").glob("*.json"))]
    for source in sources:
        for line in source.read_text().splitlines():
            for url in re.findall(r"https?://[^\s)`\"'<>]+", line):
                parts = urlsplit(url.rstrip(".,:"))
                host = parts.hostname or "..."
                if PLACEHOLDER.search(host):
                    continue
                repository = "/".join(parts.path.strip("/").split("/")[:2])
                if host == "github.com" and repository not in REAL_REPOSITORIES:
                    assert "future" in line and "home" in line, f"{source.name}: {url} is not marked as the future home"
                    continue
                assert host in REAL_HOSTS, f"{source.name}: {url}"
