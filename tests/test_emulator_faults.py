"""Fault injection: the control API, the Python API and the emulator CLI's fault flags."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_client import ADMIN_TOKEN, PARTNERS, SECRETS, RawClient, RunningEmulator, raw_exchange

from stp_ext.emulator import Emulator

SCOPES = f"{SECRETS}/scopes/list"


@pytest.fixture
def client(emulator: Emulator) -> RawClient:
    return RawClient(emulator.port)


def arm(client: RawClient, **plan: Any) -> dict[str, Any]:
    reply = client.post("/_emulator/faults", plan)
    assert reply.status == 200, reply.body
    return dict(reply.json())


def raw_get(port: int, path: str) -> bytes:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nConnection: close\r\n\r\n"
    )
    return raw_exchange(port, request.encode())


def test_latency_delays_api_calls_but_not_the_control_api(client: RawClient) -> None:
    assert arm(client, latency_ms=300)["latency_ms"] == 300

    def timed(path: str) -> float:
        started = time.perf_counter()
        assert client.get(path).status == 200  # delayed or not, answered normally
        return time.perf_counter() - started

    assert timed(SCOPES) >= 0.3
    assert timed("/_emulator/faults") < 0.3
    assert client.delete("/_emulator/faults").status == 200
    assert timed(SCOPES) < 0.3


def test_fail_next_with_429_and_retry_after_then_recover(client: RawClient) -> None:
    arm(client, fail_next=2, status=429, retry_after=3)
    for _ in range(2):
        reply = client.get(SCOPES)
        assert reply.status == 429
        assert reply.headers["Retry-After"] == "3"
        assert reply.content_type.startswith("application/json")
        assert reply.error_code
    reply = client.get(SCOPES)
    assert reply.status == 200
    assert "Retry-After" not in reply.headers


@pytest.mark.parametrize("status", [500, 503])
def test_fail_next_with_a_server_error(client: RawClient, status: int) -> None:
    arm(client, fail_next=1, status=status)
    reply = client.get(SCOPES)
    assert reply.status == status
    assert reply.content_type.startswith("application/json")
    assert set(reply.json()) == {"error_code", "message"}
    assert client.get(SCOPES).status == 200


def test_a_failed_request_changes_nothing(client: RawClient) -> None:
    """A client that retries after a 503 must not find the first attempt half-applied."""
    arm(client, fail_next=1, status=503)
    assert client.create_scope("s").status == 503
    assert client.scope_names() == []
    assert client.create_scope("s").status == 200


def test_drop_closes_the_connection_without_a_status_line(emulator: Emulator, client: RawClient) -> None:
    arm(client, fail_next=1, mode="drop")
    assert raw_get(emulator.port, SCOPES) == b""
    assert raw_get(emulator.port, SCOPES).startswith(b"HTTP/1.1 200")
    assert [(r.path, r.status) for r in emulator.request_log if r.path == SCOPES] == [(SCOPES, 0), (SCOPES, 200)]


def test_drop_is_seen_by_http_client_as_a_disconnect(client: RawClient) -> None:
    arm(client, fail_next=1, mode="drop")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        client.get(SCOPES)
    assert client.get(SCOPES).status == 200


def test_html_mode(client: RawClient) -> None:
    arm(client, fail_next=1, mode="html")
    reply = client.get(f"{PARTNERS}/get")
    assert reply.status == 503
    assert reply.content_type.startswith("text/html")
    assert reply.body.lstrip().startswith(b"<html")


@pytest.mark.parametrize("status", [200, 500])
def test_malformed_json_mode(client: RawClient, status: int) -> None:
    arm(client, fail_next=1, mode="malformed_json", status=status)
    reply = client.get(f"{PARTNERS}/get")
    assert reply.status == status
    assert reply.content_type.startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        reply.json()


def test_path_prefix_aims_the_fault(client: RawClient) -> None:
    arm(client, fail_next=1, status=503, path_prefix=SECRETS)
    assert client.get(f"{PARTNERS}/get").status == 200  # not matched, and not counted
    assert client.get("/.well-known/databricks-config").status == 200
    assert client.get(SCOPES).status == 503
    assert client.get(SCOPES).status == 200


def test_fail_next_counts_down(client: RawClient) -> None:
    arm(client, fail_next=3, status=500)
    statuses = []
    remaining = []
    for _ in range(4):
        statuses.append(client.get(SCOPES).status)
        remaining.append(client.get("/_emulator/faults").json()["fail_next"])
    assert statuses == [500, 500, 500, 200]
    assert remaining == [2, 1, 0, 0]


def test_the_control_api_is_never_failed(client: RawClient) -> None:
    arm(client, fail_next=5, status=503)
    for _ in range(3):
        assert client.get("/_emulator/faults").status == 200
        assert client.get("/_emulator/requests").status == 200
    assert client.get("/_emulator/faults").json()["fail_next"] == 5


def test_the_request_log_over_http(client: RawClient) -> None:
    arm(client, fail_next=1, status=429)
    client.get(SCOPES)
    client.get(f"{SECRETS}/list", scope="private-name")
    client.as_token("dapi-wrong").get(f"{PARTNERS}/get")
    api = [r for r in client.get("/_emulator/requests").json()["requests"] if not r["path"].startswith("/_emulator")]
    assert api == [
        {"method": "GET", "path": SCOPES, "status": 429},
        {"method": "GET", "path": f"{SECRETS}/list", "status": 404},
        {"method": "GET", "path": f"{PARTNERS}/get", "status": 403},
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "explode"},
        {"fail_next": -1},
        {"latency_ms": -5},
        {"latency_ms": 1.5},
        {"fail_next": True},
        {"status": "503"},
        {"status": 99},
        {"status": 600},
        {"retry_after": "soon"},
        {"path_prefix": 5},
        {"path_prefix": "api/2.0"},
        {"no_such_field": 1},
        [1, 2],
        "{not json",
    ],
)
def test_an_invalid_plan_is_refused_and_the_old_plan_stays(client: RawClient, body: Any) -> None:
    before = arm(client, fail_next=1, status=500, path_prefix="/api/2.0/nothing")
    reply = client.post("/_emulator/faults", body)
    assert reply.status == 400
    assert reply.content_type.startswith("application/json")
    assert reply.error_code
    assert client.get("/_emulator/faults").json() == before
    assert client.get(SCOPES).status == 200  # the emulator still answers normally


def test_the_python_api(emulator: Emulator, client: RawClient) -> None:
    emulator.faults.arm(fail_next=1, status=503, retry_after=2, path_prefix=SECRETS)
    assert client.get("/_emulator/faults").json()["fail_next"] == 1
    reply = client.get(SCOPES)
    assert (reply.status, reply.headers["Retry-After"]) == (503, "2")
    emulator.faults.arm(fail_next=5, status=500)
    emulator.faults.clear()
    assert client.get(SCOPES).status == 200
    assert emulator.faults.describe()["fail_next"] == 0
    with pytest.raises(ValueError):
        emulator.faults.arm(mode="explode")
    assert client.get(SCOPES).status == 200


def test_arming_replaces_the_plan(client: RawClient) -> None:
    arm(client, fail_next=5, status=500)
    plan = arm(client, fail_next=1, status=429)
    assert (plan["fail_next"], plan["status"]) == (1, 429)
    assert client.get(SCOPES).status == 429
    assert client.get(SCOPES).status == 200


# -- the emulator CLI's fault flags -------------------------------------------------------


@pytest.fixture
def start_emulator() -> Iterator[Any]:
    started: list[RunningEmulator] = []

    def start(*flags: str) -> RunningEmulator:
        started.append(RunningEmulator(*flags))
        return started[-1]

    yield start
    for running in started:
        running.stop()


def test_cli_fail_next_status_and_latency(start_emulator: Any) -> None:
    emu = start_emulator("--fail-next", "2", "--fail-status", "429", "--latency-ms", "150")
    assert emu.info["host"].startswith("http://127.0.0.1:")
    assert emu.info["admin_token"] == ADMIN_TOKEN
    client = RawClient(emu.port, emu.info["admin_token"])
    statuses = []
    started = time.perf_counter()
    for _ in range(3):
        statuses.append(client.get(SCOPES).status)
    assert statuses == [429, 429, 200]
    assert time.perf_counter() - started >= 3 * 0.15


@pytest.mark.parametrize(("mode", "expected"), [("drop", b""), ("html", b"HTTP/1.1 503")])
def test_cli_fail_mode(start_emulator: Any, mode: str, expected: bytes) -> None:
    emu = start_emulator("--fail-next", "1", "--fail-mode", mode)
    answer = raw_get(emu.port, SCOPES)
    if mode == "drop":
        assert answer == b""
    else:
        assert answer.startswith(expected)
        assert b"text/html" in answer
    assert raw_get(emu.port, SCOPES).startswith(b"HTTP/1.1 200")


def test_cli_fail_modes_are_the_emulators_own() -> None:
    from stp_ext.cli.emulator import emulator
    from stp_ext.emulator.faults import MODES

    option = next(p for p in emulator.params if p.name == "fail_mode")
    assert set(option.type.choices) == set(MODES) - {"json"}  # json needs a body: control API only


def test_cli_retry_after_and_echo(start_emulator: Any) -> None:
    emu = start_emulator("--fail-next", "1", "--fail-status", "503", "--retry-after", "7")
    assert raw_get(emu.port, SCOPES).split(b"\r\n\r\n")[0].lower().count(b"retry-after: 7") == 1
    echo = start_emulator("--fail-next", "1", "--fail-mode", "echo", "--fail-status", "400")
    answer = RawClient(echo.port).request("POST", "/api/2.0/secrets/put", json.dumps({"string_value": "Bearer S3CR3T"}))
    assert answer.status == 400 and "S3CR3T" in answer.body.decode()


def test_cli_without_fault_flags_answers_normally(start_emulator: Any) -> None:
    emu = start_emulator()
    assert RawClient(emu.port).get("/_emulator/faults").json()["fail_next"] == 0
    assert RawClient(emu.port).get(SCOPES).status == 200
