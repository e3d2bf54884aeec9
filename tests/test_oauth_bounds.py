"""OAuth M2M's own requests are bounded and worded like every workspace call (issue 22.1).

Reported: the SDK sent them through its own session. A token endpoint that
never answered kept `get` running forever; a token dripped at 1 byte/s took
82 s; a discovery document that hung 60 s was then "refused the credentials";
a 400 MB token answer took the process to 1.67 GB; an answer without
`expires_in` was "unexpected NotImplementedError ... report it"; one such
profile blanked `get --all-profiles`; an OAuth error echoing the request
printed `Basic base64(client_id:client_secret)`.

Each runs `get` with M2M credentials against the emulator, whose fault modes
(on the /oidc paths) play the hostile token endpoint and discovery document.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from helpers import error_lines, one_error
from test_emulator_oauth import TOKEN_PATH, ask_token

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator
from stp_ext.emulator.oauth import DISCOVERY

HTTP_ENV = "DATABRICKS_STP_HTTP_TIMEOUT_SECONDS"
BASIC = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()


@pytest.fixture
def m2m(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", DEFAULT_CLIENT_ID)
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    monkeypatch.setenv(HTTP_ENV, "1")
    return emulator


def timed_get(run: Any, *args: str) -> tuple[Any, float]:
    started = time.monotonic()
    result = run("get", *args)
    return result, time.monotonic() - started


def one_clean_line(result: Any) -> str:
    assert result.exit_code == 1, result.stderr
    assert DEFAULT_CLIENT_SECRET not in result.stdout + result.stderr and BASIC not in result.stderr
    error = one_error(result.stderr)  # one Error line, no traceback, nothing unexpected...
    assert result.stderr.startswith(error + "\n")  # ...and it comes first
    return error


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"latency_ms": 2500}, "no answer (timed out)"),  # never answers (within the test's patience)
        ({"fail_next": 1, "mode": "drip", "status": 200, "drip_ms": 300}, "still arriving after the HTTP timeout"),
        ({"fail_next": 1, "mode": "huge", "status": 200, "size_bytes": 50_000_000}, "larger than 1 MiB"),
    ],
    ids=["hanging", "dripping", "huge"],
)
def test_a_hostile_token_endpoint_costs_one_http_timeout_at_most(
    m2m: Emulator, run: Any, fault: dict[str, Any], reason: str
) -> None:
    m2m.faults.arm(path_prefix=TOKEN_PATH, **fault)
    result, elapsed = timed_get(run)
    first = one_clean_line(result)
    assert first.startswith(f"Error: cannot get an OAuth token from {m2m.url}{TOKEN_PATH}: "), first
    assert reason in first
    assert elapsed < 3  # the HTTP timeout is 1 s; it took 82 s, or for ever


def test_a_hanging_discovery_document_is_not_refused_credentials(m2m: Emulator, run: Any) -> None:
    m2m.faults.arm(path_prefix=DISCOVERY, latency_ms=2500)
    result, elapsed = timed_get(run)
    first = one_clean_line(result)
    assert first == (
        f"Error: cannot reach {m2m.url}: no answer (timed out) (asking its OIDC discovery document, which OAuth needs)"
    )
    assert elapsed < 3


def test_a_token_answer_without_expires_in_is_used(m2m: Emulator, run: Any) -> None:
    status, issued = ask_token(m2m.port, {"grant_type": "client_credentials"}, "Basic " + BASIC)
    assert status == 200
    answer = {"access_token": issued["access_token"], "token_type": "Bearer"}  # no expires_in
    m2m.faults.arm(path_prefix=TOKEN_PATH, fail_next=1, mode="json", status=200, body=answer)
    result = run("get", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["partners"] == []
    assert issued["access_token"] not in result.stdout + result.stderr


def test_an_oauth_error_echoing_the_request_prints_no_credential(m2m: Emulator, run: Any) -> None:
    echo = {
        "error": "invalid_client",
        "error_description": f"Authorization: Basic {BASIC} (client {DEFAULT_CLIENT_ID}, secret "
        f"{DEFAULT_CLIENT_SECRET}) and Basic {BASIC.rstrip('=')} refused",
    }
    for args in ([], ["--debug"]):
        m2m.faults.arm(path_prefix=TOKEN_PATH, fail_next=1, mode="json", status=401, body=echo)
        result = run("get", *args)
        first = error_lines(result.stderr)[0]
        assert "refused the credentials" in first and "invalid_client" in first, first
        assert BASIC not in result.stderr and BASIC.rstrip("=") not in result.stderr
        assert DEFAULT_CLIENT_SECRET not in result.stdout + result.stderr


def test_one_hanging_oauth_profile_does_not_blank_all_profiles(
    emulator: Emulator, run: Any, profiles_file: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HTTP_ENV, "1")
    profiles_file(
        {
            "good": {"host": emulator.url, "token": DEFAULT_ADMIN_TOKEN},
            "m2m": {
                "host": emulator.url,
                "auth_type": "oauth-m2m",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
        }
    )
    emulator.faults.arm(path_prefix=TOKEN_PATH, latency_ms=2500)
    result, elapsed = timed_get(run, "--all-profiles", "-o", "json")
    assert result.exit_code == 1
    rows = {row["profile"]: row for row in json.loads(result.stdout)["profiles"]}
    assert rows["good"]["auth_ok"] is True and rows["good"]["error"] is None, rows
    assert rows["m2m"]["auth_ok"] is False and "cannot get an OAuth token" in rows["m2m"]["error"], rows
    assert elapsed < 4
