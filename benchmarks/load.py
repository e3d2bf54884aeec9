"""Load on the local servers, against the machine's limits (``make bench``).

    python benchmarks/load.py                     # every row, 3 alternating rounds, wrk when installed
    python benchmarks/load.py --install-wrk       # as root: apt-get install wrk when it is missing
    python benchmarks/load.py --python-generator  # the multi-process Python generator instead of wrk
    python benchmarks/load.py --write             # also rewrite the load section of BENCHMARKS.md

Every server runs in a child process of its own (the emulator as users run
it: ``databricks-stp emulator``), and the load comes from another: wrk (one
thread) when present, else this script's multi-process selector generator
(``--worker``), which tests use too. The limits are measured in the same run:
a raw asyncio server (the most one Python process answers here) and the
standard library's threaded server writing each answer in one call (the bar
the emulator is held to). The generator's own CPU time is reported beside
each row: below 100% it waited for the server, so it was not the bottleneck.
Rows run in rounds of alternating order and each figure is min / median /
max over the rounds. Every request must answer 200 on its connection.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
BENCH_MD = REPO / "benchmarks" / "BENCHMARKS.md"
BEGIN, END = "<!-- load benchmarks: begin (benchmarks/load.py --write) -->", "<!-- load benchmarks: end -->"
TARGET_PER_SECOND = 2500  # at 32 keep-alive clients on 2 cores (issue 12.4)
TOKEN = "dapi-load-admin"
SCOPE = "load"
KEYS = 100  # secrets/put rotates over this many keys (a scope holds at most 1000)


# -- the request bytes ------------------------------------------------------------------------------


def _request(method: str, target: str, body: bytes = b"") -> bytes:
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def requests_for(kind: str) -> list[bytes]:
    """The requests one connection cycles through."""
    if kind == "get":
        return [_request("GET", f"/api/2.0/secrets/get?scope={SCOPE}&key=k{i}") for i in range(KEYS)]
    if kind == "put":
        return [
            _request(
                "POST",
                "/api/2.0/secrets/put",
                json.dumps({"scope": SCOPE, "key": f"k{i}", "string_value": "v" * 40}).encode(),
            )
            for i in range(KEYS)
        ]
    if kind == "plain":  # the baselines answer any path: the emulator's requests, byte for byte
        return requests_for("get")
    if kind == "plain-post":
        return requests_for("put")
    raise ValueError(kind)


# -- one load process -------------------------------------------------------------------------------


class _Conn:
    def __init__(self, port: int, requests: list[bytes], offset: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.requests = requests
        self.index = offset
        self.buffer = b""
        self.sent_at = 0.0

    def send(self) -> None:
        self.buffer = b""
        self.sent_at = time.perf_counter()
        self.sock.sendall(self.requests[self.index % len(self.requests)])  # small: fits the socket buffer
        self.index += 1

    def response(self) -> tuple[int, bool] | None:
        """(status, keep-alive) once a whole response is buffered, else None."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        length, keep = 0, True
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                keep = False
        if len(self.buffer) < end + 4 + length:
            return None
        return int(head[0].split()[1]), keep


def _drive(port: int, kind: str, connections: int, count: int, deadline: float, offset: int) -> dict[str, object]:
    """Send ``count`` requests over ``connections`` keep-alive connections; report latencies."""
    requests = requests_for(kind)
    selector = selectors.DefaultSelector()
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    left = count
    conns = [_Conn(port, requests, offset + i) for i in range(connections)]
    for conn in conns:
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        conn.send()
        left -= 1
    active = len(conns)
    while active and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            conn = key.data
            try:
                chunk = conn.sock.recv(65536)
            except OSError as e:
                chunk, first_error = b"", first_error or f"{type(e).__name__}: {e}"
            if not chunk:
                errors += 1
                first_error = first_error or "the server closed a keep-alive connection"
                selector.unregister(conn.sock)
                conn.sock.close()
                active -= 1
                continue
            conn.buffer += chunk
            done = conn.response()
            if done is None:
                continue
            latencies.append(time.perf_counter() - conn.sent_at)
            status, keep = done
            if status != 200 or not keep:
                errors += 1
                first_error = first_error or f"status {status}" + ("" if keep else ", Connection: close")
            if left > 0 and keep:
                conn.send()
                left -= 1
            else:
                selector.unregister(conn.sock)
                conn.sock.close()
                active -= 1
    errors += active  # cut off by the deadline
    if active:
        first_error = first_error or "the deadline passed with requests unanswered"
    return {"latencies": latencies, "errors": errors, "first_error": first_error}


def run_load(
    port: int, kind: str, clients: int, total: int, processes: int, timeout: float
) -> tuple[list[float], int, str | None, float]:
    """Latencies, errors, the first error and the wall time of ``total`` requests from ``clients`` connections.

    The load processes are this script again (``--worker``), so the load never
    shares an interpreter with the caller, on any platform.
    """
    processes = max(1, min(processes, clients))
    workers = []
    started = time.perf_counter()
    for p in range(processes):
        conns = clients // processes + (1 if p < clients % processes else 0)
        share = total // processes + (1 if p < total % processes else 0)
        job = json.dumps(
            {"port": port, "kind": kind, "connections": conns, "count": share, "timeout": timeout, "offset": p * 1000}
        )
        argv = [sys.executable, str(Path(__file__).resolve()), "--worker", job]
        workers.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
    latencies: list[float] = []
    errors, first_error = 0, None
    for worker in workers:
        try:
            out, _ = worker.communicate(timeout=timeout + 30)
            report = json.loads(out)
        except (subprocess.TimeoutExpired, ValueError) as e:
            worker.kill()
            worker.communicate()
            errors, first_error = errors + 1, first_error or f"a load process failed: {type(e).__name__}"
            continue
        latencies += report["latencies"]
        errors += report["errors"]
        first_error = first_error or report["first_error"]
    return latencies, errors, first_error, time.perf_counter() - started


def _worker(job: str) -> int:
    spec = json.loads(job)
    deadline = time.monotonic() + spec["timeout"]
    report = _drive(spec["port"], spec["kind"], spec["connections"], spec["count"], deadline, spec["offset"])
    print(json.dumps(report))
    return 0


# -- the servers ------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None  # not Linux


def cpu_seconds(pid: int) -> float | None:
    """The process's CPU time so far: a cost per request that other load on the machine does not skew."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None  # not Linux


@contextmanager
def emulator(state: str | None = None, request_log_size: int | None = None) -> Iterator[tuple[int, int]]:
    """``databricks-stp emulator`` in a child process: (pid, port)."""
    argv = [sys.executable, "-m", "stp_ext", "emulator", "--port", "0", "-o", "json", "--token", TOKEN]
    argv += ["--user-token", TOKEN + "-user"]
    if state:
        argv += ["--state", state]
    if request_log_size:
        argv += ["--request-log-size", str(request_log_size)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with _child(argv, env) as (process, first):
        text = first
        while True:
            try:
                info = json.loads(text)
                break
            except ValueError:
                line = process.stdout.readline()  # type: ignore[union-attr]
                if not line:
                    raise SystemExit(f"the emulator did not start: {text}") from None
                text += line
        yield process.pid, int(urlsplit(info["host"]).port or 0)


_BASELINE = r"""
import http.server, sys
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):  # one write: headers and body in one segment (no Nagle/delayed-ACK stall)
        self.wfile.write(ANSWER)
    def do_POST(self):  # reads the body, as any server must, then one write
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.wfile.write(ANSWER)
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""

# A raw asyncio protocol: finds each request's end, answers ``{}``; no routing, no checks, no bounds.
# What one Python process on this machine can answer at all: the ceiling above any real server.
_ASYNCIO = r"""
import asyncio
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
class P(asyncio.Protocol):
    def connection_made(self, transport):
        self.t, self.buf = transport, b""
    def data_received(self, data):
        buf = self.buf + data
        out = []
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].lower()
            i = head.find(b"content-length:")
            length = int(head[i + 15:].split(b"\r\n", 1)[0]) if i >= 0 else 0
            if len(buf) < end + 4 + length:
                break
            buf = buf[end + 4 + length:]
            out.append(ANSWER)
        self.buf = buf
        if out:
            self.t.write(b"".join(out))
async def main():
    server = await asyncio.get_running_loop().create_server(P, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


@contextmanager
def baseline() -> Iterator[tuple[int, int]]:
    """The standard library's threaded HTTP/1.1 server answering ``{}`` in one write: (pid, port)."""
    with _child([sys.executable, "-c", _BASELINE], dict(os.environ)) as (process, first):
        yield process.pid, int(first)


@contextmanager
def asyncio_server() -> Iterator[tuple[int, int]]:
    """A raw asyncio server answering ``{}``: (pid, port)."""
    with _child([sys.executable, "-c", _ASYNCIO], dict(os.environ)) as (process, first):
        yield process.pid, int(first)


@contextmanager
def _child(argv: Sequence[str], env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert process.stdout is not None
        yield process, process.stdout.readline()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _setup(port: int) -> None:
    """The scope and keys the GET and put loads use."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    conn.request("POST", "/api/2.0/secrets/scopes/create", json.dumps({"scope": SCOPE}), headers)
    conn.getresponse().read()
    for i in range(KEYS):
        conn.request(
            "POST", "/api/2.0/secrets/put", json.dumps({"scope": SCOPE, "key": f"k{i}", "string_value": "v"}), headers
        )
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"set-up failed: secrets/put answered {response.status}")
    conn.close()


# -- rows measured against the machine's limits (make bench) ------------------------------------------

ROUND_SECONDS = 4.0  # one measure of one row with wrk
WRK_THREADS = 1  # one generator thread: on 2 cores the server gets the other
_WRK_REQUESTS = {
    # wrk sends the same request each time (no Lua per request: the generator stays cheap).
    "get": ("GET", f"/api/2.0/secrets/get?scope={SCOPE}&key=k1", ""),
    "put": ("POST", "/api/2.0/secrets/put", json.dumps({"scope": SCOPE, "key": "k1", "string_value": "v" * 40})),
    "plain": ("GET", f"/api/2.0/secrets/get?scope={SCOPE}&key=k1", ""),  # the baselines answer any path
    "plain-post": ("POST", "/api/2.0/secrets/put", json.dumps({"scope": SCOPE, "key": "k1", "string_value": "v" * 40})),
}


@dataclass(frozen=True)
class Row:
    name: str
    server: str  # asyncio, stdlib, emulator, durable
    kind: str  # get, put, plain, plain-post
    clients: int


ROWS = (
    Row("raw asyncio server, GET (the ceiling)", "asyncio", "plain", 32),
    Row("stdlib one-write server, GET", "stdlib", "plain", 32),
    Row("stdlib one-write server, POST with a body", "stdlib", "plain-post", 32),
    Row("emulator GET secrets/get", "emulator", "get", 32),
    Row("emulator POST secrets/put", "emulator", "put", 32),
    Row("emulator POST secrets/put, durable (--state)", "durable", "put", 32),
    Row("emulator GET secrets/get, 128 clients", "emulator", "get", 128),
    Row("emulator POST secrets/put, 128 clients", "emulator", "put", 128),
)
# (row, the row it is compared with, target ratio): each ratio is taken within one round.
TARGETS = (
    (ROWS[3], ROWS[1], 0.9),
    (ROWS[4], ROWS[2], 0.9),
    (ROWS[5], ROWS[4], 0.5),
)


@dataclass
class Sample:
    per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    first_error: str | None
    server_cpu_us: float | None  # the server's CPU (user + system) per request
    generator_busy: float | None  # the generator's CPU time over wall time, per generator thread/process
    rss_kib: int | None


def find_wrk(install: bool) -> str | None:
    """wrk from PATH; with ``install``, as root, from the distribution (apt-get) when missing."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet)  # type: ignore[call-overload]
    return shutil.which("wrk")


def wrk_script(kind: str) -> str:
    method, _, body = _WRK_REQUESTS[kind]
    lines = [
        f"wrk.method = {json.dumps(method)}",
        f'wrk.headers["Authorization"] = "Bearer {TOKEN}"',
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    if body:
        lines.append(f"wrk.body = {json.dumps(body)}")
    return "\n".join(lines) + "\n"


def parse_wrk(out: str) -> dict[str, Any]:
    """Requests, req/s, p50/p99 (ms) and errors from wrk's report (run with --latency)."""

    def ms(text: str) -> float:
        match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
        if not match:
            raise ValueError(f"not a wrk duration: {text!r}")
        factor = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[match.group(2)]
        return float(match.group(1)) * factor

    found: dict[str, Any] = {"errors": 0, "first_error": None}
    for line in out.splitlines():
        stripped = line.strip()
        if stripped.startswith("50%"):
            found["p50_ms"] = ms(stripped.split()[1])
        elif stripped.startswith("99%"):
            found["p99_ms"] = ms(stripped.split()[1])
        elif stripped.startswith("Requests/sec:"):
            found["per_second"] = float(stripped.split()[1])
        elif re.match(r"\d+ requests in ", stripped):
            found["requests"] = int(stripped.split()[0])
        elif stripped.startswith("Non-2xx or 3xx responses:"):
            found["errors"] += int(stripped.split(":")[1])
            found["first_error"] = found["first_error"] or stripped
        elif stripped.startswith("Socket errors:"):
            counts = [int(n) for n in re.findall(r"\d+", stripped)]
            found["errors"] += sum(counts)
            found["first_error"] = found["first_error"] or stripped
    missing = {"p50_ms", "p99_ms", "per_second", "requests"} - set(found)
    if missing:
        raise ValueError(f"wrk's report lacks {sorted(missing)}: {out[:300]!r}")
    return found


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def drive_wrk(wrk: str, port: int, kind: str, clients: int, seconds: float, script: str) -> dict[str, Any]:
    _, target, _ = _WRK_REQUESTS[kind]
    argv = [wrk, f"-t{WRK_THREADS}", f"-c{clients}", f"-d{seconds:g}s", "--latency", "-s", script]
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run([*argv, f"http://127.0.0.1:{port}{target}"], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    found = parse_wrk(done.stdout)
    found["generator_busy"] = (_children_cpu() - cpu) / elapsed / WRK_THREADS
    return found


def drive_python(port: int, kind: str, clients: int, total: int, processes: int) -> dict[str, Any]:
    """The multi-process selector generator (when wrk is missing)."""
    cpu = _children_cpu()
    latencies, errors, first_error, elapsed = run_load(port, kind, clients, total, processes, 120)
    ordered = sorted(latencies) or [0.0]
    return {
        "per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "requests": len(latencies),
        "errors": errors,
        "first_error": first_error,
        "generator_busy": (_children_cpu() - cpu) / elapsed / processes if elapsed else None,
    }


def sample(
    row: Row,
    pid: int,
    port: int,
    *,
    wrk: str | None,
    seconds: float,
    total: int,
    processes: int,
    scripts: dict[str, str],
) -> Sample:
    cpu_before = cpu_seconds(pid)
    if wrk is not None:
        found = drive_wrk(wrk, port, row.kind, row.clients, seconds, scripts[row.kind])
    else:
        found = drive_python(port, row.kind, row.clients, total, processes)
    cpu_after = cpu_seconds(pid)
    cpu = None
    if cpu_before is not None and cpu_after is not None and found["requests"]:
        cpu = (cpu_after - cpu_before) / found["requests"] * 1e6
    return Sample(
        per_second=found["per_second"],
        p50_ms=found["p50_ms"],
        p99_ms=found["p99_ms"],
        requests=found["requests"],
        errors=found["errors"],
        first_error=found["first_error"],
        server_cpu_us=cpu,
        generator_busy=found["generator_busy"],
        rss_kib=rss_kib(pid),
    )


def alternating(rows: Sequence[Row], rounds: int) -> list[list[Row]]:
    """The order of each round: forwards, then backwards, and so on, so drift over time hits every row alike."""
    return [list(rows) if r % 2 == 0 else list(reversed(rows)) for r in range(rounds)]


def spread(values: Sequence[float], fmt: str = "{:.0f}") -> str:
    if not values:
        return "n/a"
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def ratios(samples: dict[Row, list[Sample]], row: Row, other: Row) -> list[float]:
    return [a.per_second / b.per_second for a, b in zip(samples[row], samples[other]) if b.per_second]


def bench(args: argparse.Namespace) -> tuple[dict[Row, list[Sample]], str]:
    """Every row, ``args.rounds`` times in alternating order, all servers up throughout; the generator's name."""
    import tempfile

    wrk = None if args.python_generator else find_wrk(install=args.install_wrk)
    generator = (
        f"wrk ({WRK_THREADS} thread, {args.seconds:g} s per measure)"
        if wrk
        else f"the Python generator of this script ({args.processes} processes, {args.requests} requests per measure)"
    )
    samples: dict[Row, list[Sample]] = {row: [] for row in ROWS}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        scripts = {}
        for kind in _WRK_REQUESTS:
            path = Path(tmp) / f"{kind}.lua"
            path.write_text(wrk_script(kind))
            scripts[kind] = str(path)
        servers = {
            "asyncio": stack.enter_context(asyncio_server()),
            "stdlib": stack.enter_context(baseline()),
            "emulator": stack.enter_context(emulator()),
            "durable": stack.enter_context(emulator(state=str(Path(tmp) / "state.db"))),
        }
        _setup(servers["emulator"][1])
        _setup(servers["durable"][1])
        options = {"wrk": wrk, "total": args.requests, "processes": args.processes, "scripts": scripts}
        for row in ROWS:  # warm-up: the servers' first requests, the page cache, the CPU's clocks
            pid, port = servers[row.server]
            sample(row, pid, port, seconds=1.0, **options)  # type: ignore[arg-type]
        for order in alternating(ROWS, args.rounds):
            for row in order:
                pid, port = servers[row.server]
                taken = sample(row, pid, port, seconds=args.seconds, **options)  # type: ignore[arg-type]
                samples[row].append(taken)
                if not args.json:
                    print(
                        f"{row.name} ({row.clients} clients): {taken.per_second:.0f} req/s, p50 {taken.p50_ms:.2f} ms, "
                        f"p99 {taken.p99_ms:.2f} ms, {taken.errors} errors",
                        flush=True,
                    )
    return samples, generator


def limits_markdown(samples: dict[Row, list[Sample]], generator: str, args: argparse.Namespace) -> str:
    import platform

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    load = f"{getattr(args, 'load_start', 'unknown')} at the start, {load}"
    stdlib = {"plain": ROWS[1], "plain-post": ROWS[2], "get": ROWS[1], "put": ROWS[2]}
    lines = [
        "| measure | clients | req/s | of stdlib | p50 ms | p99 ms | server CPU us/req | generator busy | errors "
        "| RSS KiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row, taken in samples.items():
        compared = stdlib[row.kind]
        of_stdlib = "-" if row.server == "stdlib" else spread(ratios(samples, row, compared), "{:.2f}")
        cpu = [s.server_cpu_us for s in taken if s.server_cpu_us is not None]
        busy = [s.generator_busy * 100 for s in taken if s.generator_busy is not None]
        rss = max((s.rss_kib for s in taken if s.rss_kib is not None), default=None)
        lines.append(
            f"| {row.name} | {row.clients} | {spread([s.per_second for s in taken])} | {of_stdlib} "
            f"| {spread([s.p50_ms for s in taken], '{:.1f}')} | {spread([s.p99_ms for s in taken], '{:.1f}')} "
            f"| {spread(cpu)} | {spread(busy)}% | {sum(s.errors for s in taken)} | {rss or 'n/a'} |"
        )
    checks = [
        "| target | ratio min / median / max | ok |",
        "|---|---|---|",
    ]
    for row, other, least in TARGETS:
        values = ratios(samples, row, other)
        ok = bool(values) and statistics.median(values) >= least
        checks.append(
            f"| {row.name} >= {least}x {other.name} | {spread(values, '{:.2f}')} | {'yes' if ok else '**no**'} |"
        )
    # On a shared machine the throughput ratio also measures how the scheduler shares the cores out (a
    # threaded server's syscalls run beside its other threads; a one-thread server waits its turn). The
    # CPU each answer costs, in the same round, does not depend on that: the ratio were each given a core.
    for row, other, least in TARGETS:
        cpu = [
            b.server_cpu_us / a.server_cpu_us
            for a, b in zip(samples[row], samples[other])
            if a.server_cpu_us and b.server_cpu_us
        ]
        ok = bool(cpu) and statistics.median(cpu) >= least
        checks.append(
            f"| CPU per answer: {other.name} over {row.name} >= {least} | {spread(cpu, '{:.2f}')} "
            f"| {'yes' if ok else '**no**'} |"
        )
    ceiling = samples[ROWS[0]]
    busy = [s.generator_busy for s in ceiling if s.generator_busy is not None]
    outpaces = bool(busy) and max(busy) < 0.95
    checks.append(
        f"| the generator outpaces the fastest server (its CPU busy < 95% while driving the asyncio ceiling) "
        f"| {spread([b * 100 for b in busy])}% busy | {'yes' if outpaces else '**no**'} |"
    )
    return "\n".join(
        [
            BEGIN,
            "## The emulator under load, against the machine's limits (`benchmarks/load.py`)",
            "",
            f"`make bench` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python {platform.python_version()}, "
            f"{os.cpu_count()} cores, load average {load} at the end). The load comes from {generator}; "
            f"{args.rounds} rounds, each row once per round, rows in alternating order (forwards, backwards), "
            "after a 1 s warm-up of every row; every server in its own process, all of them up throughout. "
            "Each cell is min / median / max over the rounds; a ratio is taken within one round. "
            "The raw asyncio server (routing, checks and bounds: none) is the most one Python process answers "
            "here; the stdlib server (`ThreadingHTTPServer`, one write per answer) is the bar the emulator is "
            'held to. "Generator busy" is the generator\'s CPU time over the wall time: under 100% it waited for '
            "the server, so the server, not the generator, set the pace.",
            "",
            *lines,
            "",
            *checks,
            "",
            "Reproduce a row with public tools (Debian: `apt-get install wrk`), servers as this script starts them:",
            "",
            "```sh",
            "databricks-stp emulator --port 8765 --token dapi-load-admin &         # add --state FILE for durable",
            "curl -s -H 'Authorization: Bearer dapi-load-admin' -d '{\"scope\": \"load\"}' \\",
            "  127.0.0.1:8765/api/2.0/secrets/scopes/create",
            "cat > put.lua <<'LUA'",
            wrk_script("put").rstrip(),
            "LUA",
            'sed \'/wrk.body/d; s/"POST"/"GET"/\' put.lua > get.lua',
            "wrk -t1 -c32 -d4s --latency -s put.lua http://127.0.0.1:8765/api/2.0/secrets/put",
            "wrk -t1 -c32 -d4s --latency -s get.lua 'http://127.0.0.1:8765/api/2.0/secrets/get?scope=load&key=k1'",
            "python benchmarks/load.py --print-server stdlib    # or asyncio: prints its port, serves until Ctrl-C",
            "```",
            END,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="rounds over every row, alternating order (default 3)")
    parser.add_argument("--seconds", type=float, default=ROUND_SECONDS, help="seconds per measure with wrk")
    parser.add_argument(
        "--requests", type=int, default=20_000, help="requests per measure with the Python generator (default 20000)"
    )
    parser.add_argument("--processes", type=int, default=2, help="Python generator processes (default 2)")
    parser.add_argument("--python-generator", action="store_true", help="use the Python generator even if wrk is here")
    parser.add_argument("--install-wrk", action="store_true", help="as root, apt-get install wrk when it is missing")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--write", action="store_true", help="also rewrite the load section of benchmarks/BENCHMARKS.md"
    )
    parser.add_argument("--print-server", choices=["stdlib", "asyncio"], help="run one baseline server until Ctrl-C")
    parser.add_argument("--worker", metavar="JOB", help=argparse.SUPPRESS)  # one load process (internal)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker)
    if args.print_server:
        script = _BASELINE if args.print_server == "stdlib" else _ASYNCIO
        with contextlib.suppress(KeyboardInterrupt):
            subprocess.run([sys.executable, "-c", script], check=False)
        return 0

    args.load_start = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    samples, generator = bench(args)
    if args.json:
        document = {
            "generator": generator,
            "rows": [{**asdict(row), "samples": [asdict(s) for s in taken]} for row, taken in samples.items()],
        }
        print(json.dumps(document, indent=2))
    text = limits_markdown(samples, generator, args)
    if not args.json:
        print(text)
    if args.write:
        write_section(text)
    return 1 if any(s.errors for taken in samples.values() for s in taken) else 0


def write_section(text: str) -> None:
    current = BENCH_MD.read_text() if BENCH_MD.exists() else "# Benchmarks\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        BENCH_MD.write_text(head + text + rest.split(END, 1)[1])
    else:
        BENCH_MD.write_text(current.rstrip() + "\n\n" + text + "\n")


if __name__ == "__main__":
    sys.exit(main())
