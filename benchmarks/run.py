"""Benchmarks of the client: start-up, a one-request command against the legacy CLI, requests per
command, and how fast failures end. Run with `make bench`.

What is measured is what users install: the wheel is built from this checkout
and installed into a fresh virtualenv (``build/bench-venv``), together with the
legacy databricks-cli for comparison; nothing runs from the editable checkout.
Every figure is paired with its comparison from the same run (runs alternate,
so a busy machine slows both), and shown as min / median / max of the ratios.
Peak memory is each process's maximum resident set size (what
``/usr/bin/time -v`` reports), read with ``os.wait4``.

``--write`` replaces the client section of benchmarks/BENCHMARKS.md (between
its markers) and leaves the other sections alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, Emulator  # noqa: E402 - needs the repo on sys.path

BENCH_MD = REPO / "benchmarks" / "BENCHMARKS.md"
BEGIN, END = "<!-- client benchmarks: begin (benchmarks/run.py --write) -->", "<!-- client benchmarks: end -->"
LEGACY_CLI = "databricks-cli==0.18.0"
PARTNERS = "/api/2.0/partnerhub/self-test-partners"
PROFILES = 32  # `get --all-profiles` row


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_mib: float
    status: int
    stderr: str


@dataclass
class Row:
    name: str
    ours: str
    theirs: str
    ratio: str
    target: str
    ok: bool | None


# -- the bench venv -------------------------------------------------------------------------


def bench_venv(path: Path, reuse: bool) -> Path:
    """A fresh virtualenv holding the wheel built from this checkout and the legacy CLI; its bin folder."""
    bin_dir = path / "bin"
    if reuse and (bin_dir / "databricks-stp").exists():
        return bin_dir
    shutil.rmtree(path, ignore_errors=True)
    with tempfile.TemporaryDirectory() as dist:
        subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", dist, str(REPO)], check=True)
        wheel = next(Path(dist).glob("databricks_stp-*.whl"))
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, str(wheel), LEGACY_CLI], check=True)
    return bin_dir


# -- measuring -------------------------------------------------------------------------------


def run_once(argv: Sequence[str], env: dict[str, str], stdin: str | None = None) -> Sample:
    """One process: wall time, peak RSS (os.wait4, as /usr/bin/time -v), exit status, stderr."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp:
        if stdin is not None:
            inp.write(stdin.encode())
            inp.seek(0)
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdin=inp, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return Sample(elapsed, usage.ru_maxrss / 1024, proc.returncode, err.read().decode(errors="replace"))


def paired(ours: Callable[[], Sample], theirs: Callable[[], Sample], runs: int) -> tuple[list[Sample], list[Sample]]:
    """Alternating runs after one warm-up pair (fills the OS file cache), so drift hits both."""
    a: list[Sample] = []
    b: list[Sample] = []
    for i in range(runs + 1):
        x, y = ours(), theirs()
        if i:
            a.append(x)
            b.append(y)
    return a, b


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def ms(samples: Sequence[Sample]) -> str:
    return f"{statistics.median(s.seconds for s in samples) * 1000:.0f} ms"


def mib(samples: Sequence[Sample]) -> str:
    return f"{statistics.median(s.peak_mib for s in samples):.0f} MiB"


def ratio_rows(name: str, a: list[Sample], b: list[Sample], time_target: float, mem_target: float) -> list[Row]:
    times = [x.seconds / y.seconds for x, y in zip(a, b)]
    mems = [x.peak_mib / y.peak_mib for x, y in zip(a, b)]
    return [
        Row(
            f"{name}: time",
            ms(a),
            ms(b),
            spread(times),
            f"median <= {time_target}x",
            statistics.median(times) <= time_target,
        ),
        Row(
            f"{name}: peak memory",
            mib(a),
            mib(b),
            spread(mems),
            f"median <= {mem_target}x",
            statistics.median(mems) <= mem_target,
        ),
    ]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    env.update(extra)
    return env


def legacy_env(emu_url: str, home: str) -> dict[str, str]:
    # The legacy client drops the port from the host; route it through the emulator as a proxy.
    return clean_env(
        HOME=home,
        DATABRICKS_HOST="http://127.0.0.1",
        DATABRICKS_TOKEN=DEFAULT_ADMIN_TOKEN,
        HTTP_PROXY=emu_url,
        http_proxy=emu_url,
        NO_PROXY="",
        no_proxy="",
    )


def api_requests(emu: Emulator) -> list[str]:
    return [r.path for r in emu.request_log if not r.path.startswith("/_emulator")]


# -- the benchmarks -----------------------------------------------------------------------------


def startup(bin_dir: Path, runs: int) -> list[Row]:
    env = clean_env()
    a, b = paired(
        lambda: run_once([str(bin_dir / "databricks-stp"), "--help"], env),
        lambda: run_once([str(bin_dir / "python"), "-c", "pass"], env),
        runs,
    )
    times = [x.seconds / y.seconds for x, y in zip(a, b)]
    return [
        Row(
            "`databricks-stp --help` vs `python -c pass`",
            ms(a),
            ms(b),
            spread(times, "{:.1f}"),
            "median < 10x",
            statistics.median(times) < 10,
        )
    ]


def sdk_import(bin_dir: Path, runs: int) -> list[Row]:
    """databricks-sdk's core as this tool loads it vs `import requests` (which any HTTP client pays)."""
    python = str(bin_dir / "python")
    timer = "import time; s = time.perf_counter(); {}; print(time.perf_counter() - s)"

    def seconds(statement: str) -> float:
        done = subprocess.run([python, "-c", timer.format(statement)], capture_output=True, text=True, check=True)
        return float(done.stdout)

    ours: list[float] = []
    base: list[float] = []
    for i in range(runs + 1):
        x = seconds("from stp_ext.workspace.sdk_seam import load_core; load_core()")
        y = seconds("import requests")
        if i:
            ours.append(x)
            base.append(y)
    ratios = [x / y for x, y in zip(ours, base)]
    return [
        Row(
            "loading databricks-sdk core (`load_core()`) vs `import requests`",
            f"{statistics.median(ours) * 1000:.0f} ms",
            f"{statistics.median(base) * 1000:.0f} ms",
            spread(ratios, "{:.1f}"),
            "median <= 3x",
            statistics.median(ratios) <= 3,
        )
    ]


# The core loader (stp_ext/workspace/sdk_seam.py, load_core) stays while it saves at least a fifth of a
# workspace command's wall time on a plain install (median ratio <= 0.8x): about 100 ms or more, what a user
# notices on every command and more than a request to a workspace takes; less than that does not pay for
# a hundred lines that register another package's modules in sys.modules.
LOADER_KEEP_RATIO = 0.8
CLI = "import sys; from stp_ext.cli import main; sys.exit(main())"


def core_loader(bin_dir: Path, emu: Emulator, runs: int) -> tuple[list[Row], str]:
    """`get -e` as shipped (load_core: databricks-sdk's core only) vs the same process after a plain
    `import databricks.sdk` (what load_core would do without its loader: the package __init__ imports
    every generated service module), both as `python -c` so they start alike."""
    python = str(bin_dir / "python")
    env = clean_env(DATABRICKS_HOST=emu.url, DATABRICKS_TOKEN=DEFAULT_ADMIN_TOKEN, HOME=tempfile.mkdtemp())
    a, b = paired(
        lambda: run_once([python, "-c", CLI, "get", "-e"], env),
        lambda: run_once([python, "-c", "import databricks.sdk; " + CLI, "get", "-e"], env),
        runs,
    )
    for sample in a + b:
        if sample.status != 0:
            raise SystemExit(f"`get -e` failed: {sample.stderr[:500]}")
    rows = ratio_rows(
        "`get -e` with the core loader vs after a plain `import databricks.sdk`", a, b, LOADER_KEEP_RATIO, 1.0
    )
    saved_ms = [(y.seconds - x.seconds) * 1000 for x, y in zip(a, b)]
    saved_mib = [y.peak_mib - x.peak_mib for x, y in zip(a, b)]
    verdict = "keeps its place" if rows[0].ok else "no longer pays for itself: remove it"
    prose = (
        "The core loader (`stp_ext/workspace/sdk_seam.py`, `load_core`: databricks-sdk's core without the "
        "package `__init__` that imports every generated service module) saves "
        f"{spread(saved_ms, '{:.0f}')} ms and {spread(saved_mib, '{:.0f}')} MiB (min / median / max) per "
        "workspace command on this plain install, against the same `get -e` after a plain "
        f"`import databricks.sdk`. It stays while the time ratio's median is <= {LOADER_KEEP_RATIO}x "
        f"(`LOADER_KEEP_RATIO`): it {verdict}."
    )
    return rows, prose


def against_legacy(bin_dir: Path, emu: Emulator, runs: int) -> tuple[list[Row], dict[str, int]]:
    env = clean_env(DATABRICKS_HOST=emu.url, DATABRICKS_TOKEN=DEFAULT_ADMIN_TOKEN, HOME=tempfile.mkdtemp())
    home = tempfile.mkdtemp()
    counts: dict[str, int] = {}

    def ours() -> Sample:
        emu.clear_log()
        sample = run_once([str(bin_dir / "databricks-stp"), "get", "-e"], env)
        counts["ours"] = len(api_requests(emu))
        return sample

    def theirs() -> Sample:
        emu.clear_log()
        sample = run_once([str(bin_dir / "databricks"), "secrets", "list-scopes"], legacy_env(emu.url, home))
        counts["theirs"] = len(api_requests(emu))
        return sample

    a, b = paired(ours, theirs, runs)
    for sample in a + b:
        if sample.status != 0:
            raise SystemExit(f"a compared command failed: {sample.stderr[:500]}")
    shutil.rmtree(home, ignore_errors=True)
    rows = ratio_rows("`databricks-stp get -e` vs legacy `databricks secrets list-scopes`", a, b, 1.2, 1.0)
    rows.append(
        Row(
            "requests sent: `get -e` vs legacy `secrets list-scopes`",
            str(counts["ours"]),
            str(counts["theirs"]),
            "",
            "<= legacy",
            counts["ours"] <= counts["theirs"],
        )
    )
    return rows, counts


def request_counts(bin_dir: Path, emu: Emulator) -> list[Row]:
    env = clean_env(DATABRICKS_HOST=emu.url, DATABRICKS_TOKEN=DEFAULT_ADMIN_TOKEN, HOME=tempfile.mkdtemp())
    stp = str(bin_dir / "databricks-stp")
    config = json.loads((REPO / "examples" / "non-admin.json").read_text())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "partner.json"
        path.write_text(json.dumps(config))

        def count(argv: list[str], stdin: str | None = None) -> int:
            emu.clear_log()
            sample = run_once([stp, *argv, "-e"], env, stdin)
            if sample.status != 0:
                raise SystemExit(f"{argv} failed: {sample.stderr[:500]}")
            return len(api_requests(emu))

        created = count(["create", "-f", str(path), "--basic-user", "u", "--basic-password-stdin"], "p")
        got = count(["get"])
        status = count(["secret", "status", "-f", str(path)])
        partner_id = json.loads(
            subprocess.run([stp, "get", "-e", "-o", "json"], env=env, capture_output=True, text=True).stdout
        )["partners"][0]["id"]
        updated = count(["update", "-f", str(path), "--id", partner_id, "--yes"])
        deleted = count(["delete", "--id", partner_id, "--yes"])
    for name, measured, most in (
        ("`create` with credential, NON_ADMIN", created, 4),
        ("`get`", got, 1),
        ("`secret status`", status, 4),
        ("`update --id`", updated, 1),
        ("`delete --id` (with secret)", deleted, 2),
    ):
        rows.append(Row(f"requests sent: {name}", str(measured), "", "", f"<= {most}", measured <= most))
    return rows


@contextmanager
def silent_host() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def failures(bin_dir: Path, emu: Emulator, runs: int) -> list[Row]:
    """How long a failing command takes to say so, with the shipped defaults unless stated."""
    stp = str(bin_dir / "databricks-stp")
    home = tempfile.mkdtemp()

    def ours(host: str, **extra: str) -> Sample:
        env = clean_env(DATABRICKS_HOST=host, DATABRICKS_TOKEN="dapi-x", HOME=home)
        env.update(extra)
        return run_once([stp, "get", "-e"], env)

    def theirs(host: str) -> Sample:
        return run_once(
            [str(bin_dir / "databricks"), "secrets", "list-scopes"],
            clean_env(DATABRICKS_HOST=host, DATABRICKS_TOKEN="dapi-x", HOME=home),
        )

    rows = []

    def success() -> Sample:
        return ours(emu.url, DATABRICKS_TOKEN=DEFAULT_ADMIN_TOKEN)

    def against_success(name: str, failing: Callable[[], Sample]) -> Row:
        """A failure that retrying cannot fix should cost about what a success costs, not ten seconds."""
        a, b = paired(failing, success, runs)
        if any(x.status != 1 for x in a):
            raise SystemExit(f"{name}: expected exit 1, got {[x.status for x in a]}: {a[0].stderr[:300]}")
        times = [x.seconds / y.seconds for x, y in zip(a, b)]
        return Row(
            f"`get -e`, {name}: time to fail vs a successful `get -e`",
            ms(a),
            ms(b),
            spread(times),
            "median <= 1.5x",
            statistics.median(times) <= 1.5,
        )

    closed = f"http://127.0.0.1:{free_port()}"
    rows.append(against_success("closed port (was 9.7 s)", lambda: ours(closed)))
    rows.append(against_success("unknown host (was 9.8 s)", lambda: ours("https://no-such-workspace.invalid")))
    a, b = paired(lambda: ours(closed), lambda: theirs(closed), runs)
    times = [x.seconds / y.seconds for x, y in zip(a, b)]
    rows.append(
        Row(
            "`get -e`, closed port (was 2.06x): time to fail vs the legacy CLI",
            ms(a),
            ms(b),
            spread(times),
            "median <= 1.0x",
            statistics.median(times) <= 1.0,
        )
    )

    def throttled() -> Sample:
        emu.faults.arm(path_prefix=f"{PARTNERS}/get", fail_next=1, status=503, retry_after=86400)
        return ours(emu.url, DATABRICKS_TOKEN=DEFAULT_ADMIN_TOKEN)

    rows.append(against_success("503 with Retry-After: 86400 (was: a day)", throttled))

    def single(name: str, target_s: float, sample: Sample, note: str = "") -> Row:
        ok = sample.seconds < target_s and sample.status == 1
        value = f"{sample.seconds * 1000:.0f} ms, {sample.peak_mib:.0f} MiB"
        return Row(f"`get -e`, {name}: time to fail{note}", value, "", "", f"< {target_s:g} s", ok)

    with silent_host() as port:
        note = " (HTTP timeout 8 s, plus one retry at most)"
        rows.append(single("a host that never answers", 8 + 8 + 1, ours(f"http://127.0.0.1:{port}"), note))
    body = {"partners": [], "padding": "x" * 14}  # 40 bytes
    emu.faults.arm(path_prefix=f"{PARTNERS}/get", fail_next=1, mode="drip", status=200, body=body, drip_ms=1000)
    drip = ours(emu.url, DATABRICKS_STP_HTTP_TIMEOUT_SECONDS="2")
    rows.append(single("a 40-byte answer at 1 byte/s", 2 * 2 + 1, drip, " (HTTP timeout 2 s; was 37.6 s)"))
    emu.faults.arm(path_prefix=f"{PARTNERS}/get", fail_next=1, mode="huge", status=200, size_bytes=100_000_000)
    huge = ours(emu.url)
    row = single("a 100 MB answer", 8 + 1, huge, " (was 70 s and 1.18 GB)")
    row.target += ", < 120 MiB"
    row.ok = bool(row.ok) and huge.peak_mib < 120
    rows.append(row)

    emu.faults.clear()
    shutil.rmtree(home, ignore_errors=True)
    return rows


def waiting_in_line(bin_dir: Path, emu: Emulator, runs: int) -> list[Row]:
    """Commands whose requests do not wait for each other: many profiles at once, a silent partner once."""
    stp = str(bin_dir / "databricks-stp")
    rows = []
    with tempfile.TemporaryDirectory() as home:
        config = Path(home) / "databrickscfg"
        config.write_text(
            "".join(f"[p{i}]\nhost = {emu.url}\ntoken = {DEFAULT_ADMIN_TOKEN}\n\n" for i in range(PROFILES))
        )
        env = clean_env(HOME=home, DATABRICKS_CONFIG_FILE=str(config))
        emu.faults.arm(latency_ms=200)
        try:
            samples = [run_once([stp, "get", "--all-profiles", "-o", "json"], env) for _ in range(runs + 1)][1:]
        finally:
            emu.faults.clear()
        if any(x.status != 0 for x in samples):
            raise SystemExit(f"get --all-profiles failed: {samples[0].stderr[:300]}")
        seconds = [x.seconds for x in samples]
        rows.append(
            Row(
                f"`get --all-profiles`, {PROFILES} profiles, 200 ms of latency per answer (was 3.5 s): time",
                f"{statistics.median(seconds) * 1000:.0f} ms",
                "",
                "s: " + spread(seconds),
                "median < 1.5 s",
                statistics.median(seconds) < 1.5,
            )
        )
        partner = Path(home) / "partner.json"
        partner.write_text((REPO / "examples" / "partner.json").read_text())
        with silent_host() as port:
            argv = [stp, "connect-test", "-f", str(partner), "--no-auth-header", "--timeout", "2"]
            argv += ["--url", f"http://127.0.0.1:{port}"]
            silent = [run_once(argv, env) for _ in range(max(1, runs // 2))]
        seconds = [x.seconds for x in silent]
        rows.append(
            Row(
                "`connect-test --timeout 2`, a partner that accepts and never answers (was 6.1 s): time",
                f"{statistics.median(seconds) * 1000:.0f} ms",
                "",
                "s: " + spread(seconds),
                "median < 3 s, exit 1",
                statistics.median(seconds) < 3 and all(x.status == 1 for x in silent),
            )
        )
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| measure | databricks-stp | comparison | ratio min / median / max | target | ok |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        mark = "n/a" if row.ok is None else ("yes" if row.ok else "**no**")
        lines.append(f"| {row.name} | {row.ours} | {row.theirs} | {row.ratio} | {row.target} | {mark} |")
    return "\n".join(lines)


def section(rows: list[Row], venv: Path, runs: int, prose: str) -> str:
    where = venv.relative_to(REPO) if venv.is_relative_to(REPO) else venv
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    # Other work on the machine slows both sides of a ratio, and one side more when its process is bigger.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return f"""{BEGIN}
## The client: start-up, one request, failures

`make bench` ({stamp}, Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load} at the end,
{runs} runs per figure after a warm-up): the wheel built from this checkout in a fresh virtualenv (`{where}`) with
the legacy `{LEGACY_CLI}` beside it, both against the emulator in the same run.

{table(rows)}

{prose}

Reproduce a figure with public tools, in that virtualenv:

```sh
databricks-stp emulator --port 8765 &
export DATABRICKS_HOST=http://127.0.0.1:8765 DATABRICKS_TOKEN=dapi-emulator-admin
/usr/bin/time -v databricks-stp get -e            # "Elapsed (wall clock)" and "Maximum resident set size"
HOME=$(mktemp -d) DATABRICKS_HOST=http://127.0.0.1 HTTP_PROXY=http://127.0.0.1:8765 \\
  /usr/bin/time -v databricks secrets list-scopes   # the legacy CLI drops the port: the emulator acts as proxy
python -X importtime -c "from stp_ext.workspace.sdk_seam import load_core; load_core()" 2>&1 | sort -t'|' -k2 -n | tail
/usr/bin/time -v python -c "import databricks.sdk,sys; from stp_ext.cli import main; sys.exit(main())" get -e # plain
curl -s 127.0.0.1:8765/_emulator/requests          # the requests each command sent
```
{END}"""


def write(text: str) -> None:
    current = BENCH_MD.read_text() if BENCH_MD.exists() else "# Benchmarks\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        BENCH_MD.write_text(head + text + tail)
    else:
        BENCH_MD.write_text(current.rstrip() + "\n\n" + text + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per figure, after one warm-up")
    parser.add_argument("--venv", type=Path, default=REPO / "build" / "bench-venv", help="where to make the bench venv")
    parser.add_argument("--reuse", action="store_true", help="reuse the bench venv if it exists (skip the build)")
    parser.add_argument("--write", action="store_true", help="rewrite the client section of benchmarks/BENCHMARKS.md")
    args = parser.parse_args()
    bin_dir = bench_venv(args.venv, args.reuse)
    rows = startup(bin_dir, args.runs)
    rows += sdk_import(bin_dir, args.runs)
    with Emulator(port=0) as emu:
        loader_rows, loader_prose = core_loader(bin_dir, emu, args.runs)
        rows += loader_rows
        legacy_rows, _ = against_legacy(bin_dir, emu, args.runs)
        rows += legacy_rows
        rows += request_counts(bin_dir, emu)
        rows += failures(bin_dir, emu, args.runs)
        rows += waiting_in_line(bin_dir, emu, args.runs)
    output = section(rows, args.venv, args.runs, loader_prose)
    print(table(rows))
    if args.write:
        write(output)
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
