"""The emulator under load on loopback, and its durability when killed mid-burst.

Users run the emulator in their CI, often with parallel jobs: concurrent
writes must all land, and a write it acknowledged must survive a crash
(state.py commits each write before answering).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from urllib.request import urlopen

import pytest
from helpers import example_partner

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, Emulator

SECRETS = "/api/2.0/secrets"
PARTNERS = "/api/2.0/partnerhub/self-test-partners"
SCOPE = "load"
THREADS = 32
REQUESTS_PER_THREAD = 24  # six rounds of the four-request mix per thread
AUTH = {"Authorization": f"Bearer {DEFAULT_ADMIN_TOKEN}", "Content-Type": "application/json"}
EXAMPLE = {"partner": example_partner()}
EXAMPLE.pop("$schema", None)


class Client:
    """One http.client connection per thread, reused for every request (reopened if the server closes it)."""

    def __init__(self, port: int, timeout: float = 10) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body) if body is not None else None
        self._conn.request(method, path, body=data, headers=AUTH)
        response = self._conn.getresponse()
        payload = response.read()
        return response.status, json.loads(payload or b"{}")

    def close(self) -> None:
        self._conn.close()


def put(client: Client, key: str, value: str) -> int:
    return client.call("POST", f"{SECRETS}/put", {"scope": SCOPE, "key": key, "string_value": value})[0]


def stored_value(client: Client, key: str) -> str | None:
    status, body = client.call("GET", f"{SECRETS}/get?{urlencode({'scope': SCOPE, 'key': key})}")
    return base64.b64decode(body["value"]).decode() if status == 200 else None


def value_of(thread: int, index: int) -> str:
    return f"Basic value-{thread}-{index}-" + "x" * (index % 7)


# -- concurrent clients ---------------------------------------------------------------------------


def _worker(port: int, thread: int) -> tuple[list[str], list[str]]:
    """A fixed mix: half secret puts (unique keys), a quarter secret lists, a quarter partner gets."""
    client, written, errors = Client(port), [], []
    try:
        for index in range(REQUESTS_PER_THREAD):
            kind = index % 4
            try:
                if kind in (0, 1):
                    key = f"t{thread}-k{index}"
                    status = put(client, key, value_of(thread, index))
                    if status == 200:
                        written.append(key)
                elif kind == 2:
                    status, body = client.call("GET", f"{SECRETS}/list?scope={SCOPE}")
                    if status == 200 and not isinstance(body.get("secrets", []), list):
                        status = -1
                else:
                    status, body = client.call("GET", f"{PARTNERS}/get")
                    if status == 200 and len(body.get("partners", [])) != 1:
                        status = -1
                if status != 200:
                    errors.append(f"thread {thread} request {index}: status {status}")
            except (OSError, http.client.HTTPException, ValueError) as e:
                errors.append(f"thread {thread} request {index}: {type(e).__name__}: {e}")
    finally:
        client.close()
    return written, errors


def test_concurrent_clients_lose_no_write(tmp_path: Path) -> None:
    with Emulator(state_path=tmp_path / "state.db") as emu:
        setup = Client(emu.port)
        assert setup.call("POST", f"{SECRETS}/scopes/create", {"scope": SCOPE})[0] == 200
        assert setup.call("POST", f"{PARTNERS}/create", EXAMPLE)[0] == 200

        start = threading.Barrier(THREADS)

        def run(thread: int) -> tuple[list[str], list[str]]:
            start.wait(timeout=10)  # all at once, not one after the other
            return _worker(emu.port, thread)

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            results = list(pool.map(run, range(THREADS)))

        errors = [error for _, thread_errors in results for error in thread_errors]
        assert errors == []
        assert len(emu.request_log) == 2 + THREADS * REQUESTS_PER_THREAD  # every request was answered once
        written = {key for keys, _ in results for key in keys}
        assert len(written) == THREADS * REQUESTS_PER_THREAD // 2
        for key in written:
            thread, index = (int(part[1:]) for part in key.split("-"))
            assert stored_value(setup, key) == value_of(thread, index), key
        status, body = setup.call("GET", f"{SECRETS}/list?scope={SCOPE}")
        assert status == 200
        assert {s["key"] for s in body["secrets"]} == written
        setup.close()


# -- durability when killed mid-burst --------------------------------------------------------------


def _start_emulator(state: Path) -> tuple[subprocess.Popen[str], int]:
    """`databricks-stp emulator --port 0 --state FILE -o json` in a subprocess; returns it and its port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stp_ext", "emulator", "--port", "0", "--state", str(state), "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    text = ""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        text += line
        try:
            info = json.loads(text)  # the document spans several lines (indented)
        except ValueError:
            continue
        return process, int(urlsplit(info["host"]).port or 0)
    process.kill()
    raise AssertionError(f"the emulator did not start: {text!r} {process.stderr.read() if process.stderr else ''}")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_every_acknowledged_write_survives_sigkill(tmp_path: Path, processes: list[Any]) -> None:
    state = tmp_path / "state.db"
    emulator, port = _start_emulator(state)
    processes.append(emulator)
    assert Client(port).call("POST", f"{SECRETS}/scopes/create", {"scope": SCOPE})[0] == 200

    acknowledged: dict[str, str] = {}
    lock = threading.Lock()
    enough = threading.Event()  # the kill comes once this many writes were acknowledged, mid-burst
    target = 150

    def writer(thread: int) -> int:
        client, failures = Client(port, timeout=5), 0
        for index in range(10_000):
            key, value = f"w{thread}-{index}", value_of(thread, index)
            try:
                status = put(client, key, value)
            except (OSError, http.client.HTTPException, ValueError):
                failures += 1  # the process is gone: stop
                break
            if status == 200:
                with lock:
                    acknowledged[key] = value
                    if len(acknowledged) >= target:
                        enough.set()
        client.close()
        return failures

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(writer, thread) for thread in range(8)]
        assert enough.wait(timeout=30), "the burst did not get going"
        os.kill(emulator.pid, signal.SIGKILL)
        emulator.wait(timeout=10)
        failures = sum(future.result(timeout=30) for future in futures)
    assert emulator.returncode == -signal.SIGKILL
    assert failures > 0  # the kill did land mid-burst: writers were cut off

    restarted, port = _start_emulator(state)
    processes.append(restarted)
    reader = Client(port)
    missing = {key: value for key, value in acknowledged.items() if stored_value(reader, key) != value}
    reader.close()
    assert missing == {}, f"{len(missing)} of {len(acknowledged)} acknowledged writes lost"


# -- keep-alive throughput, errors and memory, with the load generator of benchmarks/load.py -------


def _load_module() -> Any:
    """benchmarks/load.py: the same generator `make bench` runs (keep-alive clients in other processes)."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "load.py"
    spec = importlib.util.spec_from_file_location("stp_load_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def load() -> Any:
    return _load_module()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["get", "put"])
def test_32_keep_alive_clients_get_every_answer_on_their_connection(load: Any, kind: str) -> None:
    """Every request answered 200 on the connection it came on: none closed, none refused, none lost."""
    with load.emulator() as (_, port):
        load._setup(port)
        latencies, errors, first_error, elapsed = load.run_load(
            port, kind, clients=32, total=2000, processes=2, timeout=60
        )
    assert (errors, first_error) == (0, None)
    assert len(latencies) == 2000
    # Not a speed target (CI machines vary, and share their cores); a floor that a server
    # closing every connection or serialising clients behind one slow lock would miss.
    assert len(latencies) / elapsed > 200, elapsed


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the server's RSS from /proc")
def test_memory_stays_flat_under_sustained_load(load: Any) -> None:
    """The request log is a ring: once full, more requests cost no more memory.

    Measured: 6,000 more requests grow an emulator whose log is full by 4 to 8 KiB; with no
    bound on the log they grow it by about 1.5 MiB (260 bytes a request). A log of 1,000
    (--request-log-size) fills as a log of 10,000 does, in a tenth of the requests.
    """
    with load.emulator(request_log_size=1000) as (pid, port):
        load._setup(port)
        filled = load.run_load(port, "get", clients=16, total=1_500, processes=2, timeout=120)
        before = load.rss_kib(pid)
        more = load.run_load(port, "get", clients=16, total=6_000, processes=2, timeout=120)
        after = load.rss_kib(pid)
        log = json.loads(urlopen(f"http://127.0.0.1:{port}/_emulator/requests", timeout=10).read())
    assert filled[1] == more[1] == 0, (filled[2], more[2])
    assert len(log["requests"]) == 1000 and log["dropped"] > 6_000  # the option reached the server
    assert after - before < 512, (before, after)


def test_the_request_log_keeps_the_newest_and_counts_the_rest() -> None:
    with Emulator(request_log_size=5) as emu:
        client = Client(emu.port)
        for _ in range(8):
            assert client.call("GET", f"{SECRETS}/scopes/list")[0] == 200
        assert len(emu.request_log) == 5
        assert emu.dropped_requests == 3
        status, body = client.call("GET", "/_emulator/requests")
        assert status == 200
        # The newest five (the log request itself is recorded after it answers) and the count.
        assert len(body["requests"]) == 5 and body["dropped"] == 3
        assert all(r["path"] == f"{SECRETS}/scopes/list" for r in body["requests"])
        client.close()


def test_slow_answers_do_not_queue_each_other() -> None:
    """Quick answers come from the server's I/O thread; once a latency fault is armed they go to workers."""
    with Emulator() as emu:
        emu.faults.arm(latency_ms=400, path_prefix=f"{SECRETS}/scopes/list")

        def one(_: int) -> int:
            client = Client(emu.port)
            try:
                return client.call("GET", f"{SECRETS}/scopes/list")[0]
            finally:
                client.close()

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(one, range(8)))
        elapsed = time.monotonic() - started
        assert statuses == [200] * 8
        assert elapsed < 2.0, f"8 answers delayed 0.4 s each took {elapsed:.1f} s: they queued"


# -- the harness of `make bench` (its logic, not its timings) -------------------------------------

WRK_REPORT = """Running 4s test @ http://127.0.0.1:1/api/2.0/secrets/put
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     9.53ms    2.01ms  31.50ms   90.00%
  Latency Distribution
     50%  950.00us
     75%    9.90ms
     90%   11.00ms
     99%    1.20s
  13456 requests in 4.00s, 1.39MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   3363.50
Transfer/sec:    356.21KB
"""


def test_wrk_reports_are_read_with_their_units_and_errors(load: Any) -> None:
    found = load.parse_wrk(WRK_REPORT)
    assert (found["p50_ms"], found["p99_ms"]) == (pytest.approx(0.95), 1200.0)
    assert (found["requests"], found["per_second"]) == (13456, 3363.5)
    assert found["errors"] == 2 + 1 + 4 and found["first_error"].startswith("Socket errors")
    with pytest.raises(ValueError):
        load.parse_wrk("wrk: connection refused")  # no report: never read as zeros


def test_rounds_alternate_and_ratios_pair_rounds(load: Any) -> None:
    rows = load.ROWS[:3]
    assert load.alternating(rows, 3) == [list(rows), list(reversed(rows)), list(rows)]
    sample = lambda rate: load.Sample(rate, 1.0, 2.0, 10, 0, None, None, None, None)  # noqa: E731
    samples = {rows[0]: [sample(100), sample(300)], rows[1]: [sample(200), sample(100)]}
    assert load.ratios(samples, rows[0], rows[1]) == [0.5, 3.0]  # each round against its own
    assert load.spread([3.0, 1.0, 2.0], "{:.1f}") == "1.0 / 2.0 / 3.0"


@pytest.mark.parametrize("server", ["asyncio_server", "baseline"])
def test_the_limit_servers_answer_both_kinds_on_kept_connections(load: Any, server: str) -> None:
    with getattr(load, server)() as (_, port):
        for kind in ("plain", "plain-post"):
            found = load.drive_python(port, kind, clients=4, total=200, processes=1)
            assert (found["requests"], found["errors"], found["first_error"]) == (200, 0, None)
