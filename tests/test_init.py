"""`init`: a starting config that `validate` accepts, from flags, answers or a shipped example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

from stp_ext.partner_config import INTEGRATION_TYPES
from stp_ext.services import init_config

SCHEMA_NAME = "partner-config.schema.json"


def _written(path: Path) -> dict:
    return json.loads(path.read_text())


def test_defaults_off_a_terminal_make_a_valid_config_with_its_schema_beside(run, tmp_path):
    target = tmp_path / "partner.json"
    result = run("init", "-f", str(target), "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["path"] == str(target)
    data = _written(target)
    assert data["$schema"] == f"./{SCHEMA_NAME}"
    schema = tmp_path / SCHEMA_NAME
    assert (target.parent / data["$schema"]).resolve() == schema
    assert schema.read_text() == run("schema").stdout  # the schema this version checks with
    checked = run("validate", "-f", str(target), "-o", "json")
    assert json.loads(checked.stdout) == {"valid": True, "findings": []}


def test_flags_and_derived_fields(run, tmp_path):
    target = tmp_path / "acme.json"
    result = run(
        "init", "-f", str(target), "--name", "Acme", "--connect-url", "https://app.acme.io/pc/connect",
        "--sign-up-url", "https://www.acme.io/join", "--category", "bi-and-viz",
        "--integration-type", "warehouse_write", "--feature", "UNITY_CATALOG,NON_ADMIN", "--auth-option", "auth_pat",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    partner = _written(target)["partner"]
    assert partner == {
        "name": "Acme",
        "category": "BI_AND_VIZ",
        "connect_url": "https://app.acme.io/pc/connect",
        "sign_up_url": "https://www.acme.io/join",
        "delete_url": "https://app.acme.io/databricks/delete",
        "terms_of_service_url": "https://app.acme.io/tos",
        "privacy_policy_url": "https://app.acme.io/privacy",
        "hostnames": "app.acme.io,www.acme.io",
        "supported_features": ["UNITY_CATALOG", "NON_ADMIN"],
        "integration_type": "WAREHOUSE_WRITE",
        "auth_options": ["AUTH_PAT"],
    }
    assert run("validate", "-f", str(target)).exit_code == 0
    empty = run("init", "-f", str(tmp_path / "e.json"), "--feature", "none", "--auth-option", "none")
    assert empty.exit_code == 0, empty.stderr
    assert _written(tmp_path / "e.json")["partner"]["supported_features"] == []


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        (["--category", "bogus"], "partner.category"),
        (["--connect-url", "ftp://x.example.com/c"], "partner.connect_url"),
        (["--hostnames", "https://acme.io"], "partner.hostnames"),
        (["--feature", "NON_ADMIN", "--auth-option", "AUTH_OAUTH_M2M,AUTH_PAT"], "partner.auth_options"),
    ],
)
def test_invalid_flags_write_nothing(run, tmp_path, flags, field):
    result = run("init", "-f", str(tmp_path / "p.json"), *flags)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: the config would not be valid: {field}")
    assert list(tmp_path.iterdir()) == []


def test_never_overwrites_without_force(run, tmp_path):
    target = tmp_path / "partner.json"
    target.write_text("my work")
    result = run("init", "-f", str(target))
    assert result.exit_code == 2
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert target.read_text() == "my work" and not (tmp_path / SCHEMA_NAME).exists()
    assert run("init", "-f", str(target), "--force").exit_code == 0
    assert _written(target)["partner"]["name"] == "Test Partner"


def test_a_foreign_schema_file_beside_is_not_replaced_without_force(run, tmp_path):
    (tmp_path / SCHEMA_NAME).write_text("{}")
    result = run("init", "-f", str(tmp_path / "p.json"))
    assert result.exit_code == 2 and SCHEMA_NAME in result.stderr
    assert not (tmp_path / "p.json").exists()
    # The same schema already there is fine (a second config in the same folder).
    assert run("init", "-f", str(tmp_path / "p.json"), "--force").exit_code == 0
    again = run("init", "-f", str(tmp_path / "q.json"), "-o", "json")
    assert again.exit_code == 0 and json.loads(again.stdout)["schema_written"] is False


@pytest.mark.parametrize("choice", [*init_config.example_names(), *INTEGRATION_TYPES])
def test_every_example_and_type_copies_to_a_valid_config(run, tmp_path, choice):
    target = tmp_path / "p.json"
    result = run("init", "--example", choice, "-f", str(target), "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = _written(target)
    assert data["$schema"] == f"./{SCHEMA_NAME}" and (tmp_path / SCHEMA_NAME).is_file()
    if choice in INTEGRATION_TYPES:
        assert data["partner"]["integration_type"] == choice
    else:
        shipped = json.loads((init_config.EXAMPLES_DIR / f"{choice}.json").read_text())
        assert data["partner"] == shipped["partner"]
    assert run("validate", "-f", str(target)).exit_code == 0


def test_unknown_example_lists_the_choices(run, tmp_path):
    result = run("init", "--example", "warehouse", "-f", str(tmp_path / "p.json"))
    assert result.exit_code == 2
    assert "non-admin" in result.stderr and "WAREHOUSE_READ" in result.stderr


def test_repository_examples_are_the_shipped_ones():
    """One source of truth: stp_ext/examples (shipped in the wheel); examples/ is its copy for the repository.

    Only "$schema" differs: each points at the schema from where the file lies.
    To refresh: for f in stp_ext/examples/*.json; do sed 's#"\\.\\./partner-config#"../stp_ext/partner-config#' \
    "$f" > "examples/$(basename "$f")"; done
    """
    shipped = {p.name: p.read_text() for p in init_config.EXAMPLES_DIR.glob("*.json")}
    repo = {p.name: p.read_text() for p in (REPO / "examples").glob("*.json")}
    assert sorted(repo) == sorted(shipped)
    for name, text in shipped.items():
        assert '"$schema": "../partner-config.schema.json"' in text
        assert repo[name] == text.replace('"../partner-config.schema.json"', '"../stp_ext/partner-config.schema.json"')


@pytest.fixture
def terminal(mocker):
    """The real Terminal reports a tty; init's click prompts then read the runner's input."""
    from stp_ext.core.terminal import Terminal

    mocker.patch.object(Terminal, "stdin_is_tty", return_value=True)


def test_on_a_terminal_it_asks_and_checks_each_answer(run, tmp_path, terminal):
    answers = [
        "Acme",  # name
        "bi",  # category: not a category -> asked again
        "4",  # BI_AND_VIZ by number
        "acme.io/connect",  # not an absolute URL -> asked again
        "https://app.acme.io/connect",
        "",  # sign-up: the derived default
        "-",  # no delete_url
        "",  # terms
        "",  # privacy
        "https://app.acme.io",  # a scheme in hostnames -> asked again
        "",  # hostnames: derived from the URLs
        "WAREHOUSE_READ",
        "1,2",  # UNITY_CATALOG, NON_ADMIN
        "AUTH_OAUTH_M2M,AUTH_PAT",  # together: invalid -> asked again
        "2",  # AUTH_PAT
    ]
    target = tmp_path / "p.json"
    result = run("init", "-f", str(target), input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.stderr
    asked = result.stderr
    for meaning in ("Databricks provides a SQL warehouse", "OAuth machine-to-machine", "Non-admin users may connect"):
        assert meaning in asked  # every choice is shown with its one-line meaning
    assert asked.count("Error:") == 4  # four bad answers, each refused at its own prompt and asked again
    assert _written(target)["partner"] == {
        "name": "Acme",
        "category": "BI_AND_VIZ",
        "connect_url": "https://app.acme.io/connect",
        "sign_up_url": "https://app.acme.io/sign-up",
        "terms_of_service_url": "https://app.acme.io/tos",
        "privacy_policy_url": "https://app.acme.io/privacy",
        "hostnames": "app.acme.io",
        "supported_features": ["UNITY_CATALOG", "NON_ADMIN"],
        "integration_type": "WAREHOUSE_READ",
        "auth_options": ["AUTH_PAT"],
    }
    assert run("validate", "-f", str(target)).exit_code == 0


def test_no_input_never_asks_even_on_a_terminal(run, tmp_path, terminal):
    result = run("init", "-f", str(tmp_path / "p.json"), "--no-input", "--name", "Quiet")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""


def test_existing_file_is_refused_before_any_question(run, tmp_path, terminal):
    (tmp_path / "p.json").write_text("{}")
    result = run("init", "-f", str(tmp_path / "p.json"), input="Acme\n")
    assert result.exit_code == 2
    assert "Partner name" not in result.stderr


def test_init_does_not_import_the_sdk(tmp_path):
    code = (
        "import sys\nfrom stp_ext.cli import main\n"
        f"sys.argv = ['databricks-stp', 'init', '-f', {str(tmp_path / 'p.json')!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "print('databricks.sdk' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr
    assert (tmp_path / "p.json").is_file()


def test_questions_go_through_the_terminal_seam(run, tmp_path):
    """With a scripted terminal: every question is the seam's; a refused answer is said and asked again."""
    from stp_ext.core.terminal import FakeTerminal

    fake = FakeTerminal(tty=True, replies=["Seam Co", "", "https://seam.example.com/c", "", "-", "", ""])
    fake.replies += ["seam.example.com/x", "", "2", "none", "AUTH_OAUTH_U2M"]
    target = tmp_path / "p.json"
    result = run("init", "-f", str(target), terminal=fake)
    assert result.exit_code == 0, result.stderr
    assert fake.replies == []  # every scripted answer was asked for
    assert len(fake.asked) == 11  # one question per field (delete_url answered "-": none)
    assert [line for line in fake.said if line.startswith("Error:")] == [fake.said[0]]  # the hostname with a path
    partner = _written(target)["partner"]
    assert partner["hostnames"] == "seam.example.com" and "delete_url" not in partner
    assert partner["integration_type"] == "CLUSTER_COMPUTE" and partner["supported_features"] == []
    assert run("validate", "-f", str(target)).exit_code == 0


def _converse(args: list[str], script: list[tuple[str, str]], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI in a pseudo-terminal: wait for each prompt text, then type its answer.

    Bounded: 20 s in all; returns the exit status and everything the terminal showed.
    """
    import os
    import pty
    import select
    import time

    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "stp_ext", *args], stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=env
    )
    os.close(follower)
    seen, deadline = "", time.monotonic() + 20
    pending = list(script)
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 4096).decode("utf-8", "replace")
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            while pending and pending[0][0] in seen:
                prompt, answer = pending.pop(0)
                seen = seen.replace(prompt, f"<{prompt}>", 1)  # each prompt answers once
                os.write(leader, answer.encode() + b"\r")
            if child.poll() is not None and not ready:
                break
        assert not pending, f"never asked {pending[0][0]!r}; the terminal showed:\n{seen}"
        return child.wait(timeout=5), seen
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=5)
        os.close(leader)


def test_in_a_pseudo_terminal_a_wrong_list_item_is_asked_again_and_earlier_answers_kept(tmp_path):
    """The reported bug: `m2m` at "Auth options" ended init with exit 2 and no file; `uc` was accepted."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")} | {"COLUMNS": "80", "NO_COLOR": "1"}
    status, shown = _converse(
        ["init", "-f", "p.json"],
        [
            ("Partner name", "Acme"),
            ("Number (1-9) or name", "12"),  # off the menu: the range is said, asked again
            ("choose a number from 1 to 9", "4"),
            ("Connect URL", "https://app.acme.io/connect"),
            ("Sign-up page URL", ""),
            ("Delete-connection URL", ""),
            ("Terms of service URL", ""),
            ("Privacy policy URL", ""),
            ("Hostnames", ""),
            ("Number (1-6) or name", "3"),
            ("Numbers (1-3) or names", "uc,NON_ADMIN"),
            ('Did you mean "UNITY_CATALOG"', "1,2"),
            ("Auth options", "m2m"),
            ('Did you mean "AUTH_OAUTH_M2M"', "AUTH_PAT"),
        ],
        tmp_path,
        env,
    )
    assert status == 0, shown
    assert '"UC" is not an allowed supported_features value' in shown
    partner = _written(tmp_path / "p.json")["partner"]
    assert partner["name"] == "Acme" and partner["category"] == "BI_AND_VIZ"  # earlier answers kept
    assert partner["supported_features"] == ["UNITY_CATALOG", "NON_ADMIN"]
    assert partner["auth_options"] == ["AUTH_PAT"]
    assert partner["integration_type"] == "WAREHOUSE_READ"
