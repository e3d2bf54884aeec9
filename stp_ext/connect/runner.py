"""Run the certification cases against a partner, independent ones at once."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from stp_ext.connect import http, rules
from stp_ext.connect.cases import CASES
from stp_ext.connect.report import ConnectTestReport, ScenarioResult
from stp_ext.connect.session import Journey, Session
from stp_ext.connect.urls import reroot

if TYPE_CHECKING:
    from stp_ext.partner_config import PartnerConfig

__all__ = ["ConnectTestReport", "ScenarioResult", "reroot", "run_connect_test"]


def run_connect_test(
    partner: PartnerConfig,
    auth_header: str = "",
    *,
    url: str | None = None,
    overrides: dict[str, Any] | None = None,
    timeout: float = 10.0,
    max_body_bytes: int = http.DEFAULT_MAX_BODY_BYTES,
    max_workers: int = 4,
    new_user_action: str | None = None,
    test_connection_url: str | None = None,
    connectors_url: str | None = None,
    cases: Iterable[str] | None = None,
) -> ConnectTestReport:
    """Play Partner Connect's certification cases against ``partner``'s endpoints.

    ``auth_header``: the exact Authorization value to send ("" sends none and
    skips the wrong-credentials case). ``url``: re-root the config's URLs (and
    the test-connection and connectors URLs, and redirect pages on listed
    hosts) on this base (see ``reroot``). ``overrides``: deep-merged into every
    connect body (``None`` values remove keys). ``new_user_action``: what P302
    must see (None: any of the four). ``cases``: only these case ids.
    """

    def local(target: str | None) -> str | None:
        return reroot(target, url) if target and url else target or None

    connect_url = local(partner.connect_url) or partner.connect_url
    delete_url = local(partner.delete_url)
    session = Session(
        partner=partner,
        connect_url=connect_url,
        delete_url=delete_url,
        auth_header=auth_header,
        hosts=rules.HostPolicy(
            allowed=tuple(partner.hostname_list), local=urlsplit(url).hostname if url else None, base=url
        ),
        timeout=timeout,
        max_body_bytes=max_body_bytes,
        overrides=overrides,
        new_user_action=new_user_action,
        test_connection_url=local(test_connection_url),
        connectors_url=local(connectors_url),
    )
    wanted = set(cases) if cases is not None else None
    chosen = [case for case in CASES if wanted is None or case.case_id in wanted]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = [pool.submit(case.run, Journey(case.case_id, case.title, session)) for case in chosen]
        ordered = [future.result() for future in futures]
    return ConnectTestReport(
        passed=all(s.passed for s in ordered),
        scenarios=ordered,
        connect_url=connect_url,
        delete_url=delete_url,
    )
