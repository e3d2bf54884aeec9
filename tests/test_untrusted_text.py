"""Data is data: any partner name is shown whole and harmless by every command.

A partner name comes from the user's file and back from the workspace. It may
look like rich markup (``ACME [/beta] Data`` once crashed `create` after the
partner was made), carry ANSI/OSC escape sequences or a right-to-left
override, or be 10 KB long. Whatever it is, no command crashes, the name is
shown verbatim (control characters escaped, e.g. ``\\x1b``), JSON carries it
exactly, nothing raw reaches the terminal, and ids and commands to copy are
never split whatever the width.
"""

from __future__ import annotations

import json
import re

import pytest
from helpers import error_lines
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stp_ext.render import Renderer, clean
from stp_ext.render.views import demo as demo_view
from stp_ext.services.demo import StepResult

# What must never reach a terminal raw (our own newlines aside).
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")

HOSTILE = [
    "ACME [/beta] Data",
    "[beta]",
    "[bold red]x[/]",
    "name\\",
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
    "\u202eevil\u202c.exe",
    "line one\nError: forged",
    "tab\there\r\x00\x9b",
    "שלום \u200f partner",
    "A" * 5000 + " " + "B" * 5000,
]
names = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(min_size=1, max_size=40),
    st.text(alphabet=st.sampled_from("[]/\\\x1b\x07\n\u202e ab"), min_size=1, max_size=30),
)
widths = st.sampled_from([20, 40, 80, 100_000])
SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def _safe(result) -> None:
    assert result.exit_code in (0, 1, 2), result.stderr
    assert "unexpected" not in result.stderr, result.stderr
    for stream in (result.stdout, result.stderr):
        assert not RAW.search(stream), repr(stream[:300])
    assert len(error_lines(result.stderr)) <= 1, result.stderr


@SETTINGS
@given(name=names, width=widths)
@example(name="ACME [/beta] Data", width=80)
@example(name="A" * 10240, width=20)
@example(name=" / ", width=20)  # names ending in a space, at widths that end the line there
@example(name="[\U000ba3a9 ", width=20)
@example(name="[\U000ba3a9 ", width=40)
@example(name="[\U000ba3a9 ", width=80)
def test_any_partner_name_is_shown_whole_and_safely(workspace, run, partner_file, name, width):
    env = {"COLUMNS": str(width)}
    path = partner_file(name=name)
    checked = run("validate", "-f", str(path), env=env)
    _safe(checked)
    as_json = run("validate", "-f", str(path), "-o", "json", env=env)
    _safe(as_json)
    if checked.exit_code != 0:
        assert json.loads(as_json.stdout)["valid"] is False
        refused = run("create", "-f", str(path), "-p", "emu", "--no-secret", env=env)
        _safe(refused)
        assert refused.exit_code == 2
        return
    wide = width == 100_000  # where prose cells are not folded, the name reads verbatim
    created = run("create", "-f", str(path), "-p", "emu", "--no-auth-header", env=env)
    _safe(created)
    assert created.exit_code == 0
    assert clean(name) in created.stdout  # create prints lines: whole at any width
    partner_id = re.search(r"id:\s+([0-9A-F]{32})", created.stdout).group(1)
    try:
        listed = run("get", "-p", "emu", env=env)
        _safe(listed)
        assert partner_id in listed.stdout  # never split
        if wide:
            assert clean(name) in listed.stdout
        assert json.loads(run("get", "-p", "emu", "-o", "json").stdout)["partners"][0]["name"] == name

        doctor = run("doctor", "-p", "emu", env=env)
        _safe(doctor)
        assert partner_id in doctor.stdout
        if wide:
            assert clean(name) in doctor.stdout
        doctor_json = json.loads(run("doctor", "-p", "emu", "-o", "json").stdout)
        active = next(c for c in doctor_json["checks"] if c["check"] == "partner active")
        assert name in active["detail"]
    finally:
        deleted = run("delete", "-p", "emu", "--yes", env=env)
        _safe(deleted)
        assert deleted.exit_code == 0
        assert partner_id in deleted.stdout


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, width=widths)
def test_demo_lines_show_any_detail_whole_and_safely(capsys, monkeypatch, name, width):
    render = Renderer()
    with monkeypatch.context() as patch:
        patch.setenv("COLUMNS", str(width))
        demo_view.step(render, StepResult("get", True, f"{name} (0123456789ABCDEF0123456789ABCDEF)", 1.0))
        demo_view.finished(render, [], passed=True, next_commands=["databricks-stp create -f partner.json -p PROFILE"])
    out = capsys.readouterr().out
    assert not RAW.search(out)
    # A detail is prose: it may break at its spaces to fit the width, but every word is shown, in order.
    assert " ".join(clean(name).split()) in " ".join(out.split())
    assert "0123456789ABCDEF0123456789ABCDEF" in out  # an id is never split
    assert "databricks-stp create -f partner.json -p PROFILE" in out.splitlines()[-1]  # a command stays whole

    json_render = Renderer(output="json")
    result = StepResult("get", True, name, 1.0)
    demo_view.finished(json_render, [result], passed=True)
    assert json.loads(capsys.readouterr().out)["steps"][0]["detail"] == name


@pytest.mark.parametrize("message", ["line one\nError: forged", "\x1b]0;owned\x07title", "\u202etxt"])
def test_error_line_stays_one_line_and_escapes_control_characters(capsys, message):
    Renderer().error(f"the workspace said: {message}", hint=f"hint {message}")
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0] == f"Error: the workspace said: {clean(message)}"
    assert not RAW.search(err)


def test_clean_shows_control_characters_escaped():
    assert clean("a\x1b[31mb\nc\u202ed\x9b") == "a\\x1b[31mb\\nc\\u202ed\\x9b"
    assert clean("ACME [/beta] Data") == "ACME [/beta] Data"


def test_debug_logs_show_peer_text_escaped(capsys):
    """--debug logs quote peers (answers, paths): control characters there are shown escaped too."""
    import logging

    from stp_ext.core.logs import configure_logging

    configure_logging(debug=True)
    logging.getLogger("stp_ext.test").debug("answer: %s", "\x1b]0;owned\x07\x1b[2J\nError: forged")
    err = capsys.readouterr().err
    # Logs keep their line breaks (the SDK logs bodies over several lines), indented so that no
    # peer text starts a line (issue 22.6); every other control is escaped.
    assert "answer: \\x1b]0;owned\\x07\\x1b[2J\n  Error: forged" in err
    assert not error_lines(err)
    assert not RAW.search(err)


def test_emulator_profile_snippet_keeps_its_section_headers(capsys):
    from stp_ext.render.views import servers as servers_view

    info = {
        "host": "http://127.0.0.1:8765",
        "admin_token": "dapi-a",
        "user_token": "dapi-u",
        "client_id": "cid",
        "client_secret": "csecret",
        "state": None,
    }
    servers_view.emulator_running(Renderer(), info)
    lines = capsys.readouterr().out.splitlines()
    for header, token in (("[emu]", "dapi-a"), ("[emu-user]", "dapi-u")):
        at = lines.index(header)  # a line of its own, ready to paste into ~/.databrickscfg
        assert [line.replace(" ", "") for line in lines[at + 1 : at + 3]] == [
            "host=http://127.0.0.1:8765",
            f"token={token}",
        ]
    assert "[emu-m2m]" in lines


def test_a_peer_message_cannot_forge_an_error_line_in_a_debug_traceback(run, monkeypatch):
    """Reported: with --debug the traceback kept the workspace's message raw, newline included."""
    from test_redaction import _answer
    from test_workspace_network import listening

    forged = {"error_code": "BAD_REQUEST", "message": "refused\nError: forged by the peer\x1b[2J"}
    with listening(_answer(400, forged)) as peer:
        monkeypatch.setenv("DATABRICKS_HOST", f"http://127.0.0.1:{peer.port}")
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-x")
        result = run("get", "-e", "--debug")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr  # --debug shows it...
    assert "refused\\nError: forged by the peer\\x1b[2J" in result.stderr  # ...the peer's words escaped in it
    errors = error_lines(result.stderr)
    assert len(errors) == 1 and "forged" in errors[0], result.stderr
    assert not RAW.search(result.stderr.replace("\n", ""))
