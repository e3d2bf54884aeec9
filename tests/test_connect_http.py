"""connect-test's HTTP client against hostile peers: every wait bounded in total, Ctrl-C within a second."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from connect_fixtures import BASIC, BASIC_PASSWORD, BASIC_USER, partner_config, sample_partner, write_config
from helpers import interrupt

from stp_ext.connect import http, run_connect_test
from stp_ext.core.wire import TransportFailure
from stp_ext.servers.serving import LocalServer


def _post_connect(base: str, *, timeout: float, cancel: http.Cancel | None = None) -> http.HttpResponse:
    """An empty connect request, with the sample partner's credential."""
    headers = {"Authorization": BASIC, "Content-Type": "application/json"}
    return http.send("POST", f"{base}/connect", body=b"{}", headers=headers, timeout=timeout, cancel=cancel)


@pytest.mark.parametrize("fault", ["continue_flood", "header_drip", "slow"])
def test_timeout_bounds_the_whole_answer(fault: str) -> None:
    # 100 Continue every 2 s, or a byte every 0.2 s: each read is quick, the answer never comes.
    with sample_partner(fault=fault, slow_seconds=30) as partner:
        started = time.monotonic()
        with pytest.raises(TransportFailure) as caught:
            _post_connect(partner.url, timeout=1.0)
        elapsed = time.monotonic() - started
    assert caught.value.kind == "timeout"
    assert 0.9 < elapsed < 1.5


def test_a_hostile_partner_cannot_stretch_a_run() -> None:
    with sample_partner(fault="header_drip") as partner:
        started = time.monotonic()
        report = run_connect_test(partner_config(), BASIC, url=partner.url, timeout=1.0)
        elapsed = time.monotonic() - started
    assert not report.passed
    checks = {f.check for s in report.scenarios for f in s.findings if f.severity == "error"}
    assert checks == {"timeout", "not_run"}
    # The first wave of workers waits one second at once; every later case sees the endpoint timed out
    # and is not run: one timeout's worth in all (it was three rounds, one per wave of four workers).
    assert elapsed < 1.9


def test_cancel_ends_a_waiting_request_at_once() -> None:
    cancel = http.Cancel()
    outcome: list[Any] = []
    with sample_partner(fault="slow", slow_seconds=30) as partner:

        def call() -> None:
            try:
                _post_connect(partner.url, timeout=30, cancel=cancel)
            except TransportFailure as e:
                outcome.append(e.kind)

        thread = threading.Thread(target=call)
        thread.start()
        time.sleep(0.3)
        started = time.monotonic()
        cancel.cancel()
        thread.join(timeout=5)
        assert time.monotonic() - started < 0.5
    assert outcome == ["cancelled"]
    with pytest.raises(TransportFailure) as caught:  # and nothing new starts
        http.send("GET", "http://127.0.0.1:9/", timeout=1, cancel=cancel)
    assert caught.value.kind == "cancelled"


@pytest.mark.parametrize("url", ["http://a:99999/", "http://[::1/", "ftp://x/"])
def test_bad_urls_are_transport_errors(url: str) -> None:
    with pytest.raises(TransportFailure) as caught:
        http.send("GET", url, timeout=1)
    assert caught.value.kind == "bad_url"


def test_a_deeply_nested_answer_is_a_finding_not_a_lost_report() -> None:
    nested = b"[" * 200_000 + b"]" * 200_000

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(nested)))])
        return [nested]

    with LocalServer(app) as server:
        report = run_connect_test(partner_config(), BASIC, url=server.url, cases=["P100", "AUTH"])
    assert [s.case_id for s in report.scenarios] == ["P100", "AUTH"]
    checks = {f.check for s in report.scenarios for f in s.findings}
    assert "invalid_json" in checks or "json_not_object" in checks


def test_ctrl_c_ends_connect_test_within_a_second(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    password = tmp_path / "password"
    password.write_text(BASIC_PASSWORD)
    with sample_partner(fault="slow", slow_seconds=60) as partner, password.open() as stdin:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stp_ext",
                "connect-test",
                "-f",
                str(config),
                "--url",
                partner.url,
                "--basic-user",
                BASIC_USER,
                "--basic-password-stdin",
            ],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        time.sleep(2.0)  # the cases are all waiting on the silent partner now
        assert process.poll() is None
        sent = time.monotonic()
        err = interrupt(process)
        elapsed = time.monotonic() - sent
    assert process.returncode == 130, err
    assert elapsed < 1.0, elapsed
    # The four workers were all waiting on the silent partner: nothing had finished.
    assert "Interrupted after 0 of 12 cases had finished: none" in err
    assert "Traceback" not in err


def test_host_names_are_resolved_within_the_budget() -> None:
    with sample_partner() as partner:
        response = http.send("GET", f"http://localhost:{partner.port}/", timeout=5)
    assert response.status == 200
    started = time.monotonic()
    with pytest.raises(TransportFailure) as caught:
        http.send("GET", "http://no-such-host.invalid/", timeout=5)
    assert caught.value.kind in ("dns", "timeout")
    assert time.monotonic() - started < 5.5
