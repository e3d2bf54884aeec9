"""Run the certification cases against a partner, independent ones at once."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from stp_ext.connect import http, rules
from stp_ext.connect.cases import CASES, Case
from stp_ext.connect.report import ERROR, ConnectTestReport, ScenarioResult
from stp_ext.connect.session import SLOW_AFTER, SUITE_TIMEOUT, Journey, Session
from stp_ext.connect.urls import reroot

if TYPE_CHECKING:
    from stp_ext.partner_config import PartnerConfig

__all__ = ["ConnectTestReport", "Interrupted", "ScenarioResult", "reroot", "run_connect_test"]

log = logging.getLogger(__name__)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``finished`` are the cases that had ended."""

    def __init__(self, finished: list[ScenarioResult], total: int) -> None:
        super().__init__()
        self.finished = finished
        self.total = total


def run_connect_test(
    partner: PartnerConfig,
    auth_header: str = "",
    *,
    url: str | None = None,
    overrides: dict[str, Any] | None = None,
    timeout: float = SUITE_TIMEOUT,
    max_body_bytes: int = http.DEFAULT_MAX_BODY_BYTES,
    max_workers: int = 4,
    new_user_action: str | None = None,
    test_connection_url: str | None = None,
    connectors_url: str | None = None,
    cases: Iterable[str] | None = None,
    cloud: str = "aws",
    supports_demo: bool = True,
    require_manual_signup: bool = False,
    strict: bool = False,
    slow_after: float = SLOW_AFTER,
) -> ConnectTestReport:
    """Play Partner Connect's certification cases against ``partner``'s endpoints.

    ``auth_header``: the exact Authorization value to send ("" sends none, and
    the wrong-credentials case cannot run: a certification failure). ``url``:
    re-root the config's URLs (and the test-connection and connectors URLs,
    and redirect pages on listed hosts) on this base (see ``reroot``).
    ``overrides``: deep-merged into every connect body (``None`` values remove
    keys). ``new_user_action``: what P302 must see (None: auto_add, the
    suite's default config, and the report says it was assumed).
    ``supports_demo``/``require_manual_signup``: the config fields of the
    suite's partner config. ``strict``: beyond-certification findings fail
    the run too. ``cases``: only these case ids. ``cloud``: the workspace's
    cloud (aws, azure, gcp) the requests speak for.
    """
    session = _session(
        partner,
        auth_header,
        url,
        test_connection_url=test_connection_url,
        connectors_url=connectors_url,
        new_user_action=new_user_action,
        timeout=timeout,
        max_body_bytes=max_body_bytes,
        overrides=overrides,
        supports_demo=supports_demo,
        require_manual_signup=require_manual_signup,
        slow_after=slow_after,
        cloud=cloud,
    )
    wanted = set(cases) if cases is not None else None
    chosen = [case for case in CASES if wanted is None or case.case_id in wanted]
    ordered = _run_all(chosen, session, max_workers)
    return ConnectTestReport(
        scenarios=ordered,
        connect_url=session.connect_url,
        delete_url=session.delete_url,
        strict=strict,
        new_user_action=session.new_user_action,
        new_user_action_assumed=session.new_user_action_assumed,
        one_reason=one_reason(ordered, session),
    )


def _session(
    partner: PartnerConfig,
    auth_header: str,
    url: str | None,
    *,
    test_connection_url: str | None,
    connectors_url: str | None,
    new_user_action: str | None,
    **settings: Any,
) -> Session:
    """What the cases of one run share: the endpoints re-rooted on ``url`` (when given), the hosts
    redirect_uri may name, and ``settings`` (Session's fields: timeout, overrides, cloud...) as given."""

    def local(target: str | None) -> str | None:
        return reroot(target, url) if target and url else target or None

    return Session(
        partner=partner,
        connect_url=local(partner.connect_url) or partner.connect_url,
        delete_url=local(partner.delete_url),
        auth_header=auth_header,
        hosts=rules.HostPolicy(
            allowed=tuple(partner.hostname_list),
            local=urlsplit(url).hostname if url else None,
            base=url,
            local_tolerated=False,  # the suite fails a redirect to an unlisted host, local or not
        ),
        new_user_action=new_user_action or "auto_add",
        new_user_action_assumed=new_user_action is None,
        test_connection_url=local(test_connection_url),
        connectors_url=local(connectors_url),
        **settings,
    )


def one_reason(results: Sequence[ScenarioResult], session: Session) -> str | None:
    """When every failing certification case failed for the same reason, that reason in one line.

    A partner whose endpoint is down, silent, or refusing the credential
    fails every case; the report then says why once instead of N times.
    """
    failed = [s for s in results if s.certification and not s.passed and not s.skipped]
    if len(failed) < 2:
        return None
    firsts = [next((f for f in s.findings if f.severity == ERROR), None) for s in failed]
    if any(f is None for f in firsts):
        return None
    checks = {f.check for f in firsts if f is not None}
    if checks <= {"timeout", "not_run"} and len(session.dead) == 1 and "timeout" in checks:
        endpoint = next(iter(session.dead))
        return (
            f"{endpoint} never answered within {session.timeout:g} s; every case that needs it failed or was "
            "not run (a silent endpoint costs one timeout per run)"
        )
    details = {(f.check, f.detail) for f in firsts if f is not None}
    if len(details) != 1:
        return None
    check, _ = details.pop()
    if check == "connection_refused":
        return f"nothing is listening at {session.connect_url}: every request was refused"
    if check == "status_code" and all(s.status == 401 for s in failed):
        return (
            "every request was refused with 401: check the credential (--basic-user with --basic-password-stdin, "
            "or --auth-header-stdin: the Authorization value the partner gave Databricks)"
        )
    return f"all {len(failed)} failing cases fail on one finding: {check} (listed above)"


def _run_all(chosen: Sequence[Case], session: Session, max_workers: int) -> list[ScenarioResult]:
    """Run the cases on daemon worker threads; the main thread only waits, so Ctrl-C reaches it.

    Daemon threads, not a ThreadPoolExecutor: the interpreter joins an
    executor's threads at exit, so a worker blocked on a silent peer would
    hold Ctrl-C hostage. On Ctrl-C every open request is cancelled (its
    socket shut down) and ``Interrupted`` carries the finished cases.
    """
    results: list[ScenarioResult | None] = [None] * len(chosen)
    todo: queue.Queue[tuple[int, Case]] = queue.Queue()
    for index, case in enumerate(chosen):
        todo.put((index, case))
    lock = threading.Lock()
    finished = threading.Event()
    count = [0]

    def work() -> None:
        while True:
            try:
                index, case = todo.get_nowait()
            except queue.Empty:
                return
            results[index] = _run_case(case, session)
            with lock:
                count[0] += 1
                if count[0] == len(chosen):
                    finished.set()

    if not chosen:
        return []
    for number in range(min(max_workers, len(chosen))):
        threading.Thread(target=work, name=f"connect-test-{number}", daemon=True).start()
    try:
        while not finished.wait(0.05):
            pass
    except KeyboardInterrupt:
        finished_before = [r for r in results if r is not None]  # before cancelling fails the rest
        session.cancel.cancel()
        raise Interrupted(finished_before, len(chosen)) from None
    return [r for r in results if r is not None]


def _run_case(case: Case, session: Session) -> ScenarioResult:
    """One case; an exception of ours (or an answer nothing can read) fails the case, not the report."""
    journey = Journey(case.case_id, case.title, session, certification=case.certification)
    try:
        return case.run(journey)
    except Exception as e:
        log.debug("%s raised", case.case_id, exc_info=True)
        journey.add([rules.error("internal_error", f"connect-test could not finish the case: {type(e).__name__}: {e}")])
        return journey.result()
