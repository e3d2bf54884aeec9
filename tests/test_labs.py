"""`databricks labs stp`: the payload adapter, and the entrypoint run exactly as the Databricks CLI runs it.

The Databricks CLI runs ``<venv python> <checkout>/labs_entrypoint.py '<json>'``
with PYTHONPATH set to the checkout, auth as DATABRICKS_* variables, and
stdin/stdout/stderr passed through. The end-to-end tests below do the same in
a subprocess against the emulator.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO, write_profiles

from stp_ext.cli.labs import forget_profile, main, to_stp_argv
from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, Emulator

ENTRYPOINT = REPO / "labs_entrypoint.py"
ID = re.compile(r"^[0-9A-F]{32}$")


def payload(command: str, output_type: str = "", log_level: str = "disabled", **flags: str) -> dict[str, Any]:
    """What the Databricks CLI sends: every flag as a string, plus log_level."""
    return {
        "command": command,
        "flags": {**{k.replace("_", "-"): v for k, v in flags.items()}, "log_level": log_level},
        "output_type": output_type,
    }


# -- payload -> databricks-stp argv ----------------------------------------------------------------


def test_value_flags_become_long_options_and_empty_ones_are_left_out() -> None:
    argv = to_stp_argv(payload("create", file="p.json", basic_user="", no_secret="true", no_auth_header=""))
    assert argv == ["create", "--file=p.json", "--no-secret"]


def test_flat_names_map_to_subcommands() -> None:
    assert to_stp_argv(payload("secret-put", id="ABC", auth_header_stdin="true")) == [
        "secret",
        "put",
        "--id=ABC",
        "--auth-header-stdin",
    ]
    assert to_stp_argv(payload("connect-test", file="p.json"))[:2] == ["connect-test", "--file=p.json"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", ["--non-admin"]), ("TRUE", ["--non-admin"]), ("yes", ["--non-admin"]), ("false", ["--admin-only"])],
)
def test_on_off_pairs_use_both_spellings(value: str, expected: list[str]) -> None:
    assert to_stp_argv(payload("secret-status", non_admin=value)) == ["secret", "status", *expected]


def test_a_plain_switch_set_to_false_is_left_out() -> None:
    assert to_stp_argv(payload("delete", yes="false", keep_secret="")) == ["delete"]


def test_values_that_look_like_options_stay_values() -> None:
    assert to_stp_argv(payload("validate", file="-")) == ["validate", "--file=-"]
    assert to_stp_argv(payload("secret-put", basic_user="--debug"))[2] == "--basic-user=--debug"


def test_output_type_and_log_level() -> None:
    assert to_stp_argv(payload("validate", output_type="json", file="p.json"))[-2:] == ["-o", "json"]
    assert to_stp_argv(payload("validate", output_type="text", file="p.json"))[-2:] == ["-o", "text"]
    # No output type: no -o, so DATABRICKS_OUTPUT_FORMAT decides, as for databricks-stp.
    assert "-o" not in to_stp_argv(payload("validate", file="p.json"))
    assert to_stp_argv(payload("schema", log_level="debug"))[-1] == "--debug"
    assert to_stp_argv(payload("schema", log_level="trace"))[-1] == "--debug"
    for level in ("disabled", "info", "warn", "notset", ""):
        assert "--debug" not in to_stp_argv(payload("schema", log_level=level))


def test_commands_with_a_table_template_always_print_json() -> None:
    # The Databricks CLI parses their stdout as JSON to render labs.yml's table_template.
    assert to_stp_argv(payload("get")) == ["get", "-o", "json"]
    assert to_stp_argv(payload("get", output_type="text")) == ["get", "-o", "json"]


def test_flag_defaults_from_labs_yml_reach_the_command() -> None:
    assert to_stp_argv(payload("emulator", host="127.0.0.1", port="8765", state="", token="", user_token="")) == [
        "emulator",
        "--host=127.0.0.1",
        "--port=8765",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "expected one argument"),
        (["{", "x"], "expected one argument"),
        (["not json"], "the payload is not JSON"),
        (["[1, 2]"], "must be a JSON object"),
        (['{"flags": {}}'], 'no "command"'),
        (['{"command": ""}'], 'no "command"'),
        (['{"command": "get", "flags": "x"}'], '"flags" in the payload must be a JSON object'),
        (['{"command": "nope"}'], "unknown command 'nope'"),
        (['{"command": "secret"}'], "unknown command 'secret'"),
        (['{"command": "validate", "flags": {"file": "x", "bogus": "1"}}'], "has no flag 'bogus'"),
        (['{"command": "delete", "flags": {"yes": "maybe"}}'], "'yes' is a switch"),
        (['{"command": "delete", "flags": {"id": ["a"]}}'], "expected a string"),
        (['{"command": "schema", "output_type": "yaml"}'], "output type 'yaml'"),
    ],
)
def test_bad_payloads_exit_2_with_one_error_line(argv: list[str], message: str, capsys: Any) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    first = captured.err.splitlines()[0]
    assert first.startswith("Error: ") and message in first, captured.err


def test_unknown_command_lists_the_commands(capsys: Any) -> None:
    assert main(['{"command": "secret"}']) == 2
    hint = capsys.readouterr().err.splitlines()[1]
    assert "secret-put" in hint and "connect-test" in hint


def test_unknown_flags_left_empty_and_meta_flags_are_ignored() -> None:
    argv = to_stp_argv({"command": "schema", "flags": {"log_level": "info", "later-flag": ""}})
    assert argv == ["schema"]


def test_flag_values_that_are_not_strings_are_read_as_the_cli_would_write_them() -> None:
    flags: dict[str, Any] = {"yes": True, "id": None, "keep-secret": False}
    assert to_stp_argv({"command": "delete", "flags": flags}) == ["delete", "--yes"]
    assert to_stp_argv({"command": "emulator", "flags": {"port": 0}}) == ["emulator", "--port=0"]


def test_profile_settings_from_the_shell_are_dropped_only_with_a_host() -> None:
    environ = {"DATABRICKS_CONFIG_PROFILE": "p", "DATABRICKS_CONFIG_FILE": "f", "DATABRICKS_TOKEN": "t"}
    forget_profile(environ)
    assert environ["DATABRICKS_CONFIG_PROFILE"] == "p"
    environ["DATABRICKS_HOST"] = "https://h"
    forget_profile(environ)
    assert environ == {"DATABRICKS_TOKEN": "t", "DATABRICKS_HOST": "https://h"}


def test_in_process_run_keeps_the_exit_status(partner_file: Any, capsys: Any) -> None:
    assert main([json.dumps(payload("validate", file=str(partner_file())))]) == 0
    assert "is valid" in capsys.readouterr().out
    bad = partner_file("bad.json", hostnames="https://partner.example.com")
    assert main([json.dumps(payload("validate", output_type="json", file=str(bad)))]) == 2
    assert json.loads(capsys.readouterr().out)["valid"] is False


# -- the entrypoint, run the way the Databricks CLI runs it ------------------------------------


def labs_run(
    env: dict[str, str],
    cwd: Path,
    body: dict[str, Any],
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ENTRYPOINT), json.dumps(body)],
        env=env,
        cwd=cwd,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def cli_env(emulator: Emulator, tmp_path: Path) -> dict[str, str]:
    """The child environment the Databricks CLI builds: auth as variables, no config file."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    env.update(
        HOME=str(home),
        USERPROFILE=str(home),
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "src")]),
        DATABRICKS_HOST=emulator.url,
        DATABRICKS_TOKEN=DEFAULT_ADMIN_TOKEN,
        DATABRICKS_AUTH_TYPE="pat",
        DATABRICKS_CLI_VERSION="0.250.0",
        DATABRICKS_LABS_STATE_DIR=str(home / ".databricks" / "labs" / "stp" / "state"),
        DATABRICKS_STP_RETRY_TIMEOUT_SECONDS="3",
        DATABRICKS_STP_HTTP_TIMEOUT_SECONDS="3",
    )
    env.pop("DATABRICKS_OUTPUT_FORMAT", None)
    return env


def labs_main(env: dict[str, str], body: dict[str, Any], monkeypatch: Any, capsys: Any) -> tuple[int, str, str]:
    """What the entrypoint runs, in this process: ``stp_ext.cli.labs.main`` on the payload, in ``env``."""
    for name in [n for n in os.environ if n.startswith("DATABRICKS_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("DATABRICKS_") or name in ("HOME", "USERPROFILE"):
            monkeypatch.setenv(name, value)
    capsys.readouterr()
    status = main([json.dumps(body)])
    out, err = capsys.readouterr()
    return status, out, err


def test_lifecycle_through_the_entrypoint(
    cli_env: dict[str, str], tmp_path: Path, partner_file: Any, monkeypatch: Any, capsys: Any
) -> None:
    """The first step as the Databricks CLI runs it (a process, the secret on stdin); the other steps
    in this process through the same ``main``, as each process costs half a second of CPU and the
    process boundary is what the other entrypoint tests in this file check."""
    config = partner_file()

    created = labs_run(
        cli_env,
        tmp_path,
        payload("create", output_type="json", file=str(config), auth_header_stdin="true", no_secret=""),
        stdin="Bearer partner-secret\n",
    )
    assert created.returncode == 0, created.stderr
    document = json.loads(created.stdout)
    partner_id = document["id"]
    assert ID.match(partner_id)
    assert document["secret"]["key"] == partner_id
    assert "partner-secret" not in created.stdout + created.stderr

    def run(body: dict[str, Any]) -> tuple[int, str, str]:
        return labs_main(cli_env, body, monkeypatch, capsys)

    # get has a table_template: JSON on stdout whatever the output type, for the CLI to render.
    status, out, err = run(payload("get"))
    assert status == 0, err
    assert json.loads(out) == {"partners": [{"id": partner_id, "name": "Test Partner"}]}

    status, out, err = run(payload("secret-status", output_type="json", id="", non_admin="", file=""))
    assert status == 0, err
    assert all(check["ok"] for check in json.loads(out))

    status, out, err = run(payload("create", file=str(config), no_secret="true"))
    assert status == 1
    assert err.startswith("Error: ") and "already" in err
    assert "Traceback" not in err

    status, out, err = run(payload("delete", output_type="json", id="", yes="true", keep_secret=""))
    assert status == 0, err
    assert json.loads(out) == {"id": partner_id, "deleted": True, "secret_deleted": True}

    status, out, err = run(payload("delete", yes="true"))
    assert status == 1
    assert "no active self-testing partner" in err

    status, out, err = run(payload("get"))
    assert (status, json.loads(out)) == (0, {"partners": []})


def test_invalid_config_exits_2_and_sends_nothing(
    cli_env: dict[str, str], emulator: Emulator, tmp_path: Path, partner_file: Any
) -> None:
    bad = partner_file("bad.json", hostnames="https://partner.example.com")
    result = labs_run(cli_env, tmp_path, payload("create", file=str(bad), no_secret="true"))
    assert result.returncode == 2
    assert "Error: " in result.stderr
    assert [r for r in emulator.request_log if "partnerhub" in r.path] == []


def test_bad_payload_through_the_entrypoint(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ENTRYPOINT), "{not json"], env=cli_env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: the payload is not JSON")


def test_debug_log_level_shows_the_translation_and_redacts(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = labs_run(cli_env, tmp_path, payload("get", log_level="debug"))
    assert result.returncode == 0, result.stderr
    assert "running databricks-stp get -o json --debug" in result.stderr
    assert DEFAULT_ADMIN_TOKEN not in result.stderr
    json.loads(result.stdout)


def test_a_profile_left_in_the_shell_does_not_mix_in(
    cli_env: dict[str, str], tmp_path: Path, partner_file: Any
) -> None:
    # The Databricks CLI resolved the workspace and cleared its profile; the user's shell still names one.
    config_file = write_profiles(
        tmp_path / "databrickscfg", {"elsewhere": {"host": "http://127.0.0.1:9", "token": "dapi-wrong"}}
    )
    env = {**cli_env, "DATABRICKS_CONFIG_PROFILE": "elsewhere", "DATABRICKS_CONFIG_FILE": str(config_file)}
    result = labs_run(env, tmp_path, payload("create", output_type="json", file=str(partner_file()), no_secret="true"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["secret"] is None


def test_output_format_variable_is_honoured_without_output_type(
    cli_env: dict[str, str], tmp_path: Path, partner_file: Any
) -> None:
    env = {**cli_env, "DATABRICKS_OUTPUT_FORMAT": "json"}
    result = labs_run(env, tmp_path, payload("validate", file=str(partner_file())))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["valid"] is True


def test_offline_commands_do_not_import_the_sdk(tmp_path: Path, partner_file: Any) -> None:
    body = json.dumps(payload("validate", output_type="json", file=str(partner_file())))
    code = (
        "import sys\n"
        "from stp_ext.cli.labs import main\n"
        f"status = main([{body!r}])\n"
        "sys.stderr.write('SDK=%s STATUS=%s' % ('databricks.sdk' in sys.modules, status))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert "SDK=False STATUS=0" in result.stderr, result.stderr
    assert json.loads(result.stdout)["valid"] is True


def test_install_hook(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "labs_install.py")], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "is ready for `databricks labs stp`" in result.stdout
