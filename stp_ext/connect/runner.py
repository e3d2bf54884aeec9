"""Run the connect scenarios against a partner and collect the report.

Scenarios run in phases (see ``scenarios.SCENARIOS``); the scenarios of one
phase are independent and run concurrently, so a healthy partner is tested
in about three round trips.
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from stp_ext.connect import http, rules
from stp_ext.connect.report import ConnectTestReport, ScenarioResult
from stp_ext.connect.scenarios import SCENARIOS, Session

if TYPE_CHECKING:
    from stp_ext.partner_config import PartnerConfig

__all__ = ["ConnectTestReport", "ScenarioResult", "reroot", "run_connect_test"]


def reroot(url: str, base: str) -> str:
    """``url``'s path and query on ``base``'s scheme, host and port, after ``base``'s own path.

    ``reroot("https://partner.example.com/databricks/connect?v=2", "http://localhost:8080")``
    is ``http://localhost:8080/databricks/connect?v=2``; with the base
    ``http://localhost:8080/staging`` it is ``http://localhost:8080/staging/databricks/connect?v=2``.
    """
    original = urlsplit(url)
    root = urlsplit(base)
    path = root.path.rstrip("/") + (original.path or "/")
    return urlunsplit((root.scheme, root.netloc, path, original.query, ""))


def run_connect_test(
    partner: PartnerConfig,
    auth_header: str = "",
    *,
    url: str | None = None,
    overrides: dict[str, Any] | None = None,
    timeout: float = 10.0,
    max_body_bytes: int = http.DEFAULT_MAX_BODY_BYTES,
    max_workers: int = 4,
) -> ConnectTestReport:
    """Play Partner Connect against ``partner``'s endpoints and judge every answer.

    ``auth_header``: the exact Authorization value to send ("" sends none and
    skips the wrong-credentials scenario). ``url``: re-root the config's
    connect_url and delete_url on this base (see ``reroot``). ``overrides``:
    deep-merged into every connect body (``None`` values remove keys).
    """
    connect_url = reroot(partner.connect_url, url) if url else partner.connect_url
    delete_url = partner.delete_url
    if delete_url and url:
        delete_url = reroot(delete_url, url)
    local_host = urlsplit(url).hostname if url else None
    session = Session(
        partner=partner,
        connect_url=connect_url,
        delete_url=delete_url or None,
        auth_header=auth_header,
        hosts=rules.HostPolicy(allowed=tuple(partner.hostname_list), local=local_host),
        timeout=timeout,
        max_body_bytes=max_body_bytes,
        overrides=overrides,
    )
    results: dict[str, ScenarioResult] = {}
    phases = sorted({phase for _, phase, _ in SCENARIOS})
    with concurrent.futures.ThreadPoolExecutor(max_workers=max_workers) as pool:
        for phase in phases:
            futures = {name: pool.submit(function, session) for name, p, function in SCENARIOS if p == phase}
            for name, future in futures.items():
                results[name] = future.result()
    ordered = [results[name] for name, _, _ in SCENARIOS]
    return ConnectTestReport(
        passed=all(s.passed for s in ordered),
        scenarios=ordered,
        connect_url=connect_url,
        delete_url=delete_url or None,
    )
