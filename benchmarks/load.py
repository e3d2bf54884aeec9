"""Load on the local servers: keep-alive clients in separate processes against a server in its own process.

    python benchmarks/load.py                    # the emulator: GET and secrets/put at 32 clients
    python benchmarks/load.py --baseline         # also a stdlib keep-alive server: this machine's limit
    python benchmarks/load.py --json             # one JSON document (tests read it)

The server runs in a child process (``databricks-stp emulator``, as users run
it) and the load comes from other processes, so neither shares an interpreter
lock with the other. Each load process drives its connections with a selector
and pre-built request bytes: cheaper per request than any server, so the
figure measures the server. Every request must answer 200 on the connection
it was sent on (keep-alive): anything else is counted as an error. RSS is read
from /proc (Linux) before and after, to show memory stays flat.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
BENCH_MD = REPO / "benchmarks" / "BENCHMARKS.md"
BEGIN, END = "<!-- load benchmarks: begin (benchmarks/load.py --write) -->", "<!-- load benchmarks: end -->"
TARGET_PER_SECOND = 2500  # at 32 keep-alive clients on 2 cores (issue 12.4)
TOKEN = "dapi-load-admin"
SCOPE = "load"
KEYS = 100  # secrets/put rotates over this many keys (a scope holds at most 1000)


@dataclass
class Result:
    name: str
    clients: int
    requests: int
    errors: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float | None  # the server's CPU time (user + system) per request
    rss_before_kib: int | None
    rss_after_kib: int | None
    first_error: str | None


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
    if kind == "plain":  # the stdlib baseline serves any path
        return [_request("GET", "/")]
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
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):  # one write: headers and body in one segment (no Nagle/delayed-ACK stall)
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


@contextmanager
def baseline() -> Iterator[tuple[int, int]]:
    """The standard library's threaded HTTP/1.1 server answering ``{}``: the most a Python server does here."""
    with _child([sys.executable, "-c", _BASELINE], dict(os.environ)) as (process, first):
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


def measure(
    name: str, pid: int, port: int, kind: str, clients: int, total: int, processes: int, timeout: float
) -> Result:
    run_load(port, kind, clients, min(total, 2000), processes, timeout)  # warm-up
    before, cpu_before = rss_kib(pid), cpu_seconds(pid)
    latencies, errors, first_error, elapsed = run_load(port, kind, clients, total, processes, timeout)
    after, cpu_after = rss_kib(pid), cpu_seconds(pid)
    cpu = None
    if cpu_before is not None and cpu_after is not None and latencies:
        cpu = round((cpu_after - cpu_before) / len(latencies) * 1e6, 1)
    ordered = sorted(latencies) or [0.0]
    return Result(
        name=name,
        clients=clients,
        requests=len(latencies),
        errors=errors,
        seconds=round(elapsed, 3),
        per_second=round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        p50_ms=round(statistics.median(ordered) * 1000, 2),
        p99_ms=round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        cpu_us_per_request=cpu,
        rss_before_kib=before,
        rss_after_kib=after,
        first_error=first_error,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=32, help="keep-alive connections (default 32)")
    parser.add_argument("--requests", type=int, default=20_000, help="requests per measure (default 20000)")
    parser.add_argument("--processes", type=int, default=2, help="load processes sharing the clients (default 2)")
    parser.add_argument("--kinds", default="get,put", help="comma-separated: get, put (default both)")
    parser.add_argument("--state", metavar="FILE", help="run the emulator with --state FILE (durable writes)")
    parser.add_argument("--baseline", action="store_true", help="also measure a stdlib keep-alive server")
    parser.add_argument("--timeout", type=float, default=120, help="seconds one measure may take")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--write", action="store_true", help="also rewrite the load section of benchmarks/BENCHMARKS.md"
    )
    parser.add_argument("--worker", metavar="JOB", help=argparse.SUPPRESS)  # one load process (internal)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker)

    results: list[Result] = []
    if args.baseline:
        with baseline() as (pid, port):
            results.append(
                measure(
                    "stdlib keep-alive server (GET)",
                    pid,
                    port,
                    "plain",
                    args.clients,
                    args.requests,
                    args.processes,
                    args.timeout,
                )
            )
    with emulator(args.state) as (pid, port):
        _setup(port)
        for kind in args.kinds.split(","):
            label = {"get": "emulator GET secrets/get", "put": "emulator POST secrets/put"}[kind.strip()]
            results.append(
                measure(label, pid, port, kind.strip(), args.clients, args.requests, args.processes, args.timeout)
            )

    if args.json:
        print(json.dumps({"results": [asdict(r) for r in results]}, indent=2))
    else:
        for r in results:
            rss = f", RSS {r.rss_before_kib} -> {r.rss_after_kib} KiB" if r.rss_before_kib is not None else ""
            rss += f", server CPU {r.cpu_us_per_request} us/request" if r.cpu_us_per_request is not None else ""
            print(
                f"{r.name}: {r.per_second:.0f} req/s at {r.clients} clients, p50 {r.p50_ms} ms, p99 {r.p99_ms} ms, "
                f"{r.errors} errors ({r.requests} requests){rss}"
                + (f"; first error: {r.first_error}" if r.first_error else "")
            )
    if args.write:
        write_section(markdown(results, args))
    return 1 if any(r.errors for r in results) else 0


def markdown(results: Sequence[Result], args: argparse.Namespace) -> str:
    import platform

    baseline = next((r for r in results if r.name.startswith("stdlib")), None)
    rows = []
    for r in results:
        ratio = f"{r.per_second / baseline.per_second:.2f}x" if baseline and r is not baseline else "-"
        rss = f"{r.rss_before_kib} -> {r.rss_after_kib}" if r.rss_before_kib is not None else "n/a"
        cpu = f"{r.cpu_us_per_request:.0f}" if r.cpu_us_per_request is not None else "n/a"
        rows.append(
            f"| {r.name} | {r.per_second:.0f} | {ratio} | {r.p50_ms} | {r.p99_ms} | {cpu} | {r.errors} | {rss} |"
        )
    return "\n".join(
        [
            BEGIN,
            "## The emulator under load (`benchmarks/load.py`)",
            "",
            f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, {os.cpu_count()} cores; "
            f"{args.clients} keep-alive clients in {args.processes} load processes, {args.requests} requests "
            "per row after a warm-up; the server in its own process. Target: "
            f"{TARGET_PER_SECOND} req/s for GET and for secrets/put, no errors, flat RSS. Throughput on a "
            "shared machine varies run to run: the stdlib row, measured in the same run, is what this "
            "machine allowed then, and server CPU per request depends far less on other load.",
            "",
            "| measure | req/s | of stdlib | p50 ms | p99 ms | server CPU us/req | errors | RSS KiB before -> after |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            END,
        ]
    )


def write_section(text: str) -> None:
    current = BENCH_MD.read_text() if BENCH_MD.exists() else "# Benchmarks\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        BENCH_MD.write_text(head + text + rest.split(END, 1)[1])
    else:
        BENCH_MD.write_text(current.rstrip() + "\n\n" + text + "\n")


if __name__ == "__main__":
    sys.exit(main())
