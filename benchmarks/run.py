"""Benchmarks: start-up, a network command against the legacy CLI, round trips, emulator load.

Every figure is a ratio or a count measured in this one run, on this machine,
so the table means the same on a laptop and in CI. Run with `make bench`;
``--write`` also rewrites benchmarks/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, Emulator  # noqa: E402 - needs the repo on sys.path

BIN = Path(sys.executable).parent
STP = [str(BIN / "databricks-stp")] if (BIN / "databricks-stp").exists() else [sys.executable, "-m", "stp_ext"]
LEGACY = BIN / "databricks"


@dataclass
class Row:
    name: str
    value: str
    target: str
    ok: bool | None


def timed(argv: Sequence[str], env: dict[str, str], runs: int) -> float:
    """Median wall time of ``runs`` runs (after one warm-up run that fills the OS caches)."""
    samples = []
    for i in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[:500]}")
        if i:
            samples.append(elapsed)
    return statistics.median(samples)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    env.update(extra)
    return env


def startup(runs: int) -> list[Row]:
    env = clean_env()
    baseline = timed([sys.executable, "-c", "pass"], env, runs)
    helped = timed([*STP, "--help"], env, runs)
    ratio = helped / baseline
    return [Row("`databricks-stp --help` / `python -c pass`", f"{ratio:.1f}x", "< 10x", ratio < 10)]


def against_legacy(emu: Emulator, runs: int) -> list[Row]:
    env = clean_env(DATABRICKS_HOST=emu.url, DATABRICKS_TOKEN=DEFAULT_ADMIN_TOKEN)
    ours = timed([*STP, "get", "-e"], env, runs)
    if not LEGACY.exists():
        return [Row("`get -e` / legacy `secrets list-scopes`", "legacy databricks-cli not installed", "<= 1.5x", None)]
    home = tempfile.mkdtemp()
    legacy_env = clean_env(
        HOME=home,
        # The legacy client drops the port from the host; route it through the emulator as a proxy.
        DATABRICKS_HOST="http://127.0.0.1",
        DATABRICKS_TOKEN=DEFAULT_ADMIN_TOKEN,
        HTTP_PROXY=emu.url,
        http_proxy=emu.url,
        NO_PROXY="",
        no_proxy="",
    )
    theirs = timed([str(LEGACY), "secrets", "list-scopes"], legacy_env, runs)
    shutil.rmtree(home, ignore_errors=True)
    ratio = ours / theirs
    return [
        Row(
            "`databricks-stp get -e` / legacy `databricks secrets list-scopes`",
            f"{ratio:.2f}x ({ours * 1000:.0f} ms / {theirs * 1000:.0f} ms)",
            "<= 1.5x",
            ratio <= 1.5,
        )
    ]


def round_trips(emu: Emulator) -> list[Row]:
    env = clean_env(DATABRICKS_HOST=emu.url, DATABRICKS_TOKEN=DEFAULT_ADMIN_TOKEN)
    config = json.loads((REPO / "examples" / "non-admin.json").read_text())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "partner.json"
        path.write_text(json.dumps(config))

        def count(argv: list[str], stdin: str | None = None) -> int:
            emu.clear_log()
            done = subprocess.run([*STP, *argv, "-e"], env=env, input=stdin, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"{argv} failed: {done.stderr}")
            return len([r for r in emu.request_log if not r.path.startswith("/_emulator")])

        created = count(["create", "-f", str(path), "--basic-user", "u", "--basic-password-stdin"], "p")
        got = count(["get"])
        partner_id = json.loads(
            subprocess.run([*STP, "get", "-e", "-o", "json"], env=env, capture_output=True, text=True).stdout
        )["partners"][0]["id"]
        updated = count(["update", "-f", str(path), "--id", partner_id, "--yes"])
        deleted = count(["delete", "--id", partner_id, "--yes"])
    for name, measured, most in (
        ("`create` with credential, NON_ADMIN", created, 5),
        ("`get`", got, 2),
        ("`update --id`", updated, 2),
        ("`delete --id` (with secret)", deleted, 3),
    ):
        rows.append(Row(f"requests: {name}", str(measured), f"<= {most}", measured <= most))
    return rows


def load(emu: Emulator, total: int) -> list[Row]:
    return [_load_level(emu, clients, total) for clients in (1, 8, 32)]


def _load_level(emu: Emulator, clients: int, total: int) -> Row:
    """``clients`` threads, each on one kept-alive connection, share ``total`` requests:
    a mix of secret puts, secret lists and partner gets."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    per_client = total // clients
    headers = {"Authorization": f"Bearer {DEFAULT_ADMIN_TOKEN}", "Content-Type": "application/json"}
    # A scope per level: a scope holds at most 1000 secrets, as in a workspace.
    scope = f"bench-{clients}"
    setup = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    setup.request("POST", "/api/2.0/secrets/scopes/create", body=json.dumps({"scope": scope}), headers=headers)
    setup.getresponse().read()
    setup.close()

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
        mine = []
        for i in range(per_client):
            body = None
            if i % 3 == 0:
                method, path = "POST", "/api/2.0/secrets/put"
                body = json.dumps({"scope": scope, "key": f"k{index}-{i}", "string_value": "v"})
            elif i % 3 == 1:
                method, path = "GET", f"/api/2.0/secrets/list?scope={scope}"
            else:
                method, path = "GET", "/api/2.0/partnerhub/self-test-partners/get"
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    errors.append(response.status)
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
    return Row(
        f"emulator, {clients} concurrent client(s)",
        f"{len(latencies) / elapsed:.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms",
        "no errors",
        not errors,
    )


def table(rows: list[Row]) -> str:
    lines = ["| measure | value | target | ok |", "|---|---|---|---|"]
    for row in rows:
        mark = "n/a" if row.ok is None else ("yes" if row.ok else "**no**")
        lines.append(f"| {row.name} | {row.value} | {row.target} | {mark} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (median)")
    parser.add_argument("--requests", type=int, default=1536, help="requests per load level")
    parser.add_argument("--write", action="store_true", help="rewrite benchmarks/BENCHMARKS.md")
    args = parser.parse_args()
    rows = startup(args.runs)
    with Emulator(port=0) as emu:
        rows += against_legacy(emu, args.runs)
        rows += round_trips(emu)
        rows += load(emu, args.requests)
    output = table(rows)
    print(output)
    if args.write:
        stamp = time.strftime("%Y-%m-%d")
        (REPO / "benchmarks" / "BENCHMARKS.md").write_text(
            "# Benchmarks\n\n"
            f"Latest figures from `make bench` ({stamp}, Python {sys.version.split()[0]}, {os.cpu_count()} cores). "
            "Ratios and counts are measured in one run, so they hold across machines better than seconds do.\n\n"
            f"{output}\n"
        )
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
