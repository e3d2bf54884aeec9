"""Every network command under emulator faults: retried, failed at once, or bounded in time.

What a user relies on (DESIGN.md, principle 7): 429 and 503 are retried within
the budget and the command succeeds; other errors fail at once with one
``Error:`` line and exit 1; a workspace that drops connections or never
answers fails within DATABRICKS_STP_RETRY_TIMEOUT_SECONDS and
DATABRICKS_STP_HTTP_TIMEOUT_SECONDS (not the SDK's 300 s); an HTML page or
broken JSON is one clear line, never a traceback or the SDK's bug-report text.

Faults target the command's own call with ``path_prefix``. Retries and
back-offs run on a fake clock (``fake_clock``): the tests prove what is waited
and for how long without waiting it; only HTTP timeouts, which are real socket
waits, take real time.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_clock import FakeClock

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, Emulator
from stp_ext.workspace.sdk_seam import load_core

PARTNERS = "/api/2.0/partnerhub/self-test-partners"
SECRETS = "/api/2.0/secrets"
ME = "/api/2.0/preview/scim/v2/Me"
PROBE = "/.well-known/databricks-config"
FILE = "{file}"  # replaced by the partner config file's path
HEADER = "Bearer partner-s3cret"

RETRY_ENV = "DATABRICKS_STP_RETRY_TIMEOUT_SECONDS"
HTTP_ENV = "DATABRICKS_STP_HTTP_TIMEOUT_SECONDS"
# The SDK checks its deadline before each attempt, so the last attempt may start
# just before it, wait the HTTP timeout, and be followed by one back-off sleep
# (attempt number + up to 1 s of jitter: at most 2 s on the first retry).
BACKOFF = 2.0
MARGIN = 0.75


def bound(retry: float, http: float) -> float:
    return retry + http + BACKOFF + MARGIN


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    target: str  # path prefix of the request the command exists to make
    partner: bool = True  # an active partner with its secret exists before the command runs
    stdin: str | None = None

    def __str__(self) -> str:
        return self.name


CASES = (
    Case("create", ("create", "-f", FILE, "--auth-header-stdin"), f"{PARTNERS}/create", partner=False, stdin=HEADER),
    Case("get", ("get",), f"{PARTNERS}/get"),
    Case("update", ("update", "-f", FILE, "--yes"), f"{PARTNERS}/update/"),
    Case("delete", ("delete", "--yes"), f"{PARTNERS}/delete/"),
    Case("secret put", ("secret", "put", "--auth-header-stdin"), f"{SECRETS}/put", stdin=HEADER),
    Case("secret status", ("secret", "status"), f"{SECRETS}/list"),
    Case("secret delete", ("secret", "delete", "--yes"), f"{SECRETS}/delete"),
    Case("doctor", ("doctor",), ME),
)


@pytest.fixture(scope="module", autouse=True)
def _sdk_imported() -> None:
    """Import databricks-sdk once up front, so its one-off import cost is not timed as a request."""
    load_core()


@pytest.fixture
def fake_clock() -> FakeClock:
    """The clock a test hands its command (``run(..., clock=fake_clock)``), as a terminal is handed in."""
    return FakeClock()


def api(emu: Emulator, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        emu.url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {DEFAULT_ADMIN_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"{}")


def make_partner(emu: Emulator, config: Path) -> str:
    partner_id = api(emu, "POST", f"{PARTNERS}/create", json.loads(config.read_text()))["id"]
    api(emu, "POST", f"{SECRETS}/scopes/create", {"scope": "partner-connect"})
    api(emu, "POST", f"{SECRETS}/put", {"scope": "partner-connect", "key": partner_id, "string_value": HEADER})
    return partner_id


@pytest.fixture
def prepare(env_auth: Emulator, partner_file: Any, run: Any) -> Any:
    """Set up the workspace for a case; returns a function that runs it (on ``clock``, if given) and times it."""
    config = partner_file()

    def setup(case: Case, clock: FakeClock | None = None) -> Any:
        if case.partner:
            make_partner(env_auth, config)
        env_auth.clear_log()
        argv = [str(config) if arg == FILE else arg for arg in case.argv]

        def invoke() -> tuple[Any, float]:
            start = time.monotonic()
            result = run(*argv, "-e", "-o", "json", input=case.stdin, clock=clock)
            return result, time.monotonic() - start

        return invoke

    return setup


def statuses(emu: Emulator, prefix: str) -> list[int]:
    return [r.status for r in emu.request_log if r.path.startswith(prefix)]


def failure(case: Case, result: Any) -> str:
    """The message a user reads for the failure: the Error line, or doctor's failed row."""
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert result.exit_code == 1, result.stderr
    if case.name != "doctor":
        return lines[0]
    report = json.loads(result.stdout)
    failed = [c for c in report["checks"] if c["ok"] is False]
    assert lines[0] == f"Error: 1 check failed: {failed[0]['check']}"
    return failed[0]["detail"]


def assert_clear(message: str) -> None:
    """One line a person can act on: no SDK bug-report text, no raw HTML, no request dump."""
    assert "\n" not in message
    for noise in ("databricks-sdk-py/issues", "```", "<html", "Request log"):
        assert noise not in message


# -- retried: 429 with Retry-After and 503 -------------------------------------------

RETRYABLE = {
    "create": {"status": 429, "retry_after": 1, "fail_next": 2},
    "get": {"status": 503, "fail_next": 1},  # two 503s: test_retry_budget_is_configurable
    "update": {"status": 429, "retry_after": 1, "fail_next": 1},
    "delete": {"status": 503, "fail_next": 1},
    "secret put": {"status": 503, "fail_next": 1},
    "secret status": {"status": 429, "retry_after": 1, "fail_next": 1},
    "secret delete": {"status": 429, "retry_after": 1, "fail_next": 1},
    "doctor": {"status": 503, "fail_next": 1},
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_429_and_503_are_retried_within_the_budget(
    case: Case, prepare: Any, env_auth: Emulator, monkeypatch, fake_clock: FakeClock
) -> None:
    monkeypatch.setenv(RETRY_ENV, "6")  # the default budget: two back-offs of 1-1.25 s and 2-2.25 s fit in it
    invoke = prepare(case, fake_clock)
    fault = RETRYABLE[case.name]
    env_auth.faults.arm(path_prefix=case.target, **fault)
    result, elapsed = invoke()
    assert result.exit_code == 0, result.stderr
    assert statuses(env_auth, case.target) == [fault["status"]] * fault["fail_next"] + [200]
    if "retry_after" in fault:
        assert fake_clock.slept == [1] * fault["fail_next"]  # what the workspace asked for, no more
    else:
        assert len(fake_clock.slept) == 1 and 1 <= fake_clock.slept[0] <= 1.25  # the first back-off
    assert elapsed < 2  # the waits were on the fake clock
    if case.name == "doctor":
        assert json.loads(result.stdout)["passed"] is True


@pytest.mark.parametrize("retry_after", [30, 86400])
def test_retry_after_beyond_the_budget_fails_at_once(
    retry_after: int, env_auth: Emulator, run, fake_clock: FakeClock
) -> None:
    """It used to wait the whole Retry-After (31.4 s for 30; a day for 86400) and print "gave up after 6 s"."""
    env_auth.faults.arm(path_prefix=f"{PARTNERS}/get", fail_next=1, status=503, retry_after=retry_after)
    result, elapsed = _get(run, fake_clock)
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"Error: {env_auth.url} is busy or unavailable: Injected fault: HTTP 503")
    asked = rf"it asked to retry after {retry_after} s, more than the [23]\.\d s left of the retry budget"
    assert re.search(asked, first)
    assert re.search(r"gave up after 0\.\d s", first)  # the real time: nothing was waited
    assert fake_clock.slept == []
    assert statuses(env_auth, PARTNERS) == [503]
    assert elapsed < 1


def test_retry_after_within_the_budget_is_obeyed(env_auth: Emulator, run, fake_clock: FakeClock) -> None:
    env_auth.faults.arm(path_prefix=f"{PARTNERS}/get", fail_next=1, status=429, retry_after=2)
    result, _ = _get(run, fake_clock)
    assert result.exit_code == 0, result.stderr
    assert fake_clock.slept == [2]


# -- failed at once: 500 --------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_500_fails_at_once_with_one_error_line(case: Case, prepare: Any, env_auth: Emulator) -> None:
    invoke = prepare(case)
    env_auth.faults.arm(path_prefix=case.target, fail_next=1, status=500)
    result, elapsed = invoke()
    message = failure(case, result)
    assert "Injected fault: HTTP 500" in message
    assert_clear(message)
    assert statuses(env_auth, case.target) == [500]  # not retried
    assert elapsed < 1.0  # the budget is 3 s: no retry, no back-off


# -- bounded: dropped connections and answers slower than the HTTP timeout ------------------

SLOW = {"drop": {"fail_next": 1000, "mode": "drop"}, "latency": {"latency_ms": 2500}}
LATENCY = ("secret status", "doctor")  # and get, in test_http_timeout_is_configurable
WRITES = ("create", "update", "delete", "secret put", "secret delete")


@pytest.mark.parametrize(
    ("case", "kind"), [(case, "latency" if case.name in LATENCY else "drop") for case in CASES], ids=str
)
def test_dropped_or_slow_workspace_fails_within_the_budget(
    case: Case, kind: str, prepare: Any, env_auth: Emulator, monkeypatch, fake_clock: FakeClock
) -> None:
    monkeypatch.setenv(RETRY_ENV, "1")
    monkeypatch.setenv(HTTP_ENV, "1")
    invoke = prepare(case, fake_clock)
    env_auth.faults.arm(path_prefix=case.target, **SLOW[kind])
    result, elapsed = invoke()
    message = failure(case, result)
    reason = "timed out" if kind == "latency" else "closed without an answer"
    assert reason in message
    if case.name in WRITES:
        # The request went out and no answer came: it may have been done, so it is not repeated.
        assert f"no answer from {env_auth.url} to " in message
        assert "may or may not have been made" in message
        check = "secret status" if case.target.startswith(SECRETS) else "databricks-stp get"
        assert check in result.stderr or "Finish with" in result.stderr  # how to find out, or how to finish
        assert len(statuses(env_auth, case.target)) == 1
    else:
        assert f"cannot reach {env_auth.url}: " in message
        assert "gave up after 1.0 s" in message  # the real elapsed time (fake back-offs included)
    assert elapsed < bound(1, 1)


def test_a_personal_access_token_sends_no_probe(env_auth: Emulator, run) -> None:
    """One request for `get`: the host-metadata answer is for OAuth, and a PAT needs none of it."""
    result, _ = _get(run)
    assert result.exit_code == 0, result.stderr
    assert [r.path for r in env_auth.request_log] == [f"{PARTNERS}/get"]


def test_a_fault_with_the_default_prefix_meets_the_command(env_auth: Emulator, run) -> None:
    """The README's "a 500 fails at once" holds with no path_prefix: the fault is not used up elsewhere."""
    env_auth.faults.arm(fail_next=1, status=500)
    result, _ = _get(run)
    assert result.exit_code == 1
    assert "Injected fault: HTTP 500" in result.stderr
    assert statuses(env_auth, PARTNERS) == [500]


# -- HTML pages and broken JSON -------------------------------------------------------------

BODIES = {
    "html-502": {"mode": "html", "status": 502},
    "html-200": {"mode": "html", "status": 200},
    "malformed-500": {"mode": "malformed_json", "status": 500},
    "malformed-200": {"mode": "malformed_json", "status": 200},
}


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_html_or_malformed_json_is_one_clear_line(case: Case, body: str, prepare: Any, env_auth: Emulator) -> None:
    invoke = prepare(case)
    env_auth.faults.arm(path_prefix=case.target, fail_next=1, **BODIES[body])
    result, elapsed = invoke()
    message = failure(case, result)
    assert_clear(message)
    if BODIES[body]["status"] == 200:
        assert "not JSON" in message  # a proxy's login page, or a host that is not a workspace
        assert "cannot reach" not in message  # it was reached: it answered the wrong thing
    else:
        assert f"HTTP {BODIES[body]['status']}" in message
    assert elapsed < 1.0


# -- the budget and the timeout are the user's to set -------------------------------------------


def _get(run, clock: FakeClock | None = None) -> tuple[Any, float]:
    start = time.monotonic()
    result = run("get", "-e", "-o", "json", clock=clock)
    return result, time.monotonic() - start


@pytest.mark.slow  # real time is the point: an HTTP timeout is a socket wait
def test_http_timeout_is_configurable(env_auth: Emulator, run, monkeypatch) -> None:
    env_auth.faults.arm(path_prefix=f"{PARTNERS}/get", latency_ms=1500)
    monkeypatch.setenv(RETRY_ENV, "1")
    monkeypatch.setenv(HTTP_ENV, "1")
    short, elapsed = _get(run)
    assert short.exit_code == 1
    assert "no answer (timed out)" in short.stderr
    assert elapsed < bound(1, 1)

    monkeypatch.setenv(HTTP_ENV, "4")
    patient, elapsed = _get(run)
    assert patient.exit_code == 0, patient.stderr
    assert json.loads(patient.stdout) == {"partners": []}
    assert 1.5 <= elapsed < 4


def test_retry_budget_is_configurable(env_auth: Emulator, run, monkeypatch, fake_clock: FakeClock) -> None:
    monkeypatch.setenv(RETRY_ENV, "1")
    env_auth.faults.arm(path_prefix=f"{PARTNERS}/get", fail_next=3, status=503)
    short, _ = _get(run, fake_clock)
    assert short.exit_code == 1
    # It was reached and kept answering 503: that is not "cannot reach".
    assert short.stderr.startswith(f"Error: {env_auth.url} is busy or unavailable: Injected fault: HTTP 503")
    assert "(gave up after 1.0 s)" in short.stderr.splitlines()[0]
    # The back-off was cut to end at the budget, for one last try there.
    assert statuses(env_auth, PARTNERS) == [503, 503]
    assert len(fake_clock.slept) == 1 and 0.9 < fake_clock.slept[0] <= 1.0

    monkeypatch.setenv(RETRY_ENV, "8")
    env_auth.clear_log()
    env_auth.faults.arm(path_prefix=f"{PARTNERS}/get", fail_next=2, status=503)
    patient, _ = _get(run, fake_clock)
    assert patient.exit_code == 0, patient.stderr
    assert statuses(env_auth, PARTNERS) == [503, 503, 200]


def test_fractional_retry_budget_stays_bounded(env_auth: Emulator, run, monkeypatch) -> None:
    """0.5 s must not turn into no budget at all (the SDK reads 0 as its 300 s default)."""
    monkeypatch.setenv(RETRY_ENV, "0.5")
    monkeypatch.setenv(HTTP_ENV, "1")
    env_auth.faults.arm(path_prefix=f"{PARTNERS}/get", fail_next=1000, mode="drop")
    result, elapsed = _get(run)
    assert result.exit_code == 1
    assert "cannot reach" in result.stderr
    assert elapsed < bound(1, 1)


@pytest.mark.parametrize("name", [RETRY_ENV, HTTP_ENV])
@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "soon"])
def test_a_budget_that_is_not_a_positive_number_is_refused(env_auth: Emulator, run, monkeypatch, name, value) -> None:
    monkeypatch.setenv(name, value)
    result = run("get", "-e")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"Error: {name}={value!r} is not a positive number of seconds"
    assert env_auth.request_log == []  # refused before anything was sent


def test_a_slow_successful_create_is_an_unknown_outcome_not_unreachable(
    env_auth: Emulator, run, partner_file, monkeypatch
) -> None:
    """9 s of latency on /create said "cannot reach" while the partner existed: now it says how to find out."""
    monkeypatch.setenv(HTTP_ENV, "0.5")
    env_auth.faults.arm(path_prefix=f"{PARTNERS}/create", latency_ms=1000)
    result = run("create", "-f", str(partner_file()), "--no-auth-header", "-e")
    assert result.exit_code == 1
    first, hint = result.stderr.splitlines()[:2]
    assert first.startswith(f"Error: no answer from {env_auth.url} to POST {PARTNERS}/create: no answer (timed out)")
    assert "the change may or may not have been made" in first
    assert "cannot reach" not in first
    assert "databricks-stp get" in hint
    assert statuses(env_auth, f"{PARTNERS}/create") in ([], [200])  # sent once, never repeated
    env_auth.faults.clear()
    time.sleep(0.7)  # the workspace finishes what it was asked
    assert json.loads(run("get", "-e", "-o", "json").stdout)["partners"]  # it was done: `get` tells
    assert len(statuses(env_auth, f"{PARTNERS}/create")) == 1
