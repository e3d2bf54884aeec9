"""The automated cases of the Partner Connect certification suite, as connect-test scenarios.

One function per case of OnboardingTestCases.md that the public suite
(databrickslabs/partner-connect-api at HEAD, src/test/scala/com/databricks/
partnerconnect/client/tests/) automates, with the suite's own assertions and
skip rules (PartnerTestBase.scala: validateNewConnection, signInAndValidate,
validateSignIn, validateRedirectValue, validateRedirectUri, validateError).
Each function names the Scala file it follows. Every case starts from a fresh
account, a random sub-domain of databricks-test.com, so the cases are
independent of each other and of earlier runs, and run at once.

P800 and P801 (test-connection) are not in the public suite: they run when
asked, and their findings are beyond certification.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from stp_ext.connect import rules
from stp_ext.connect.catalog import CASE_IDS, NEW_USER_ACTIONS
from stp_ext.connect.http import HttpResponse
from stp_ext.connect.payload import Caller, new_account_domain, random_id
from stp_ext.connect.report import CheckFinding, ScenarioResult
from stp_ext.connect.session import Journey


def p100(j: Journey) -> ScenarioResult:
    """A new user of a new account in a new workspace connects: the trial flow (PartnerConnectTest.scala)."""
    user = Caller.in_account("user1", new_account_domain("p100"))
    j.connect_new(user, "new connection", redirects=("create_trial",))
    return j.result()


def p300(j: Journey) -> ScenarioResult:
    """The user who created the connection reuses it (PartnerConnectTest.scala)."""
    user = Caller.in_account("user1", new_account_domain("p300"))
    doc = j.connect_new(user, "new connection", redirects=("create_trial",))
    connection_id = _connection_id(j, doc)
    if connection_id is None:
        return j.result()
    j.reuse(user, connection_id, "reuse by user1")
    return j.result()


def p302(j: Journey) -> ScenarioResult:
    """A never-seen user of the same account reuses the connection: the declared new_user_action (NewUserTests.scala).

    The suite runs the one test of the config's new_user_action; connect-test
    takes it from --new-user-action, else the suite's default config (auto_add).
    """
    domain = new_account_domain("p302")
    workspace = random_id()
    expected = j.session.new_user_action
    if j.session.new_user_action_assumed:
        j.note("new_user_action", f"assumed new_user_action {expected} (pass --new-user-action)")
    first = Caller.in_account("user1", domain, workspace)
    doc = j.connect_new(first, "new connection by user1")
    connection_id = _connection_id(j, doc)
    if connection_id is None:
        return j.result()
    second = Caller.in_account("user2", domain, workspace)
    step = "reuse by never-seen user2"
    response, _ = j.reuse(second, connection_id, step, expected=())
    if response is None:
        return j.result()
    outcomes = {action: _new_user_outcome(j, action, response, step) for action in NEW_USER_ACTIONS}
    ok, findings = outcomes[expected]
    j.add(findings)
    if ok:
        j.note("new_user_action", f"new_user_action {expected}, as expected")
    else:
        seen = next((action for action, (matches, _) in outcomes.items() if matches), None)
        also = f"; the answer is that of new_user_action {seen}" if seen else ""
        j.add([rules.error("new_user_action", f"expected the answer of new_user_action {expected}{also}")], step)
    return j.result()


def _new_user_outcome(j: Journey, action: str, response: HttpResponse, step: str) -> tuple[bool, list[CheckFinding]]:
    """Judge P302's answer as if the partner declared ``action``: (matches, findings)."""
    probe = Journey(j.case_id, j.title, j.session)
    if action in ("auto_add", "invite") and j.session.require_manual_signup:
        probe.expect_manual_signup(response, step)  # signInAndValidate, then nothing more (NewUserTests)
    elif action in ("auto_add", "invite"):
        doc = probe.answer(response, (200,), f"expected exactly 200 for new_user_action {action}", step)
        if doc is not None:
            redirects = ("sign_in", "create_trial") if action == "auto_add" else ("contact_admin",)
            findings, page = rules.connection(
                doc, established=True, hosts=j.session.hosts, uses_u2m=j.session.uses_u2m, redirects=redirects
            )
            probe.add(findings, step)
            user_status = "new" if action == "auto_add" else "not_applicable"
            probe.add(rules.expect(doc, "user_status", user_status, f"new_user_action {action}"), step)
            if not any(f.severity == "error" for f in probe.findings):
                probe.check_page(page, step)
    else:
        status, reason = (404, "account_not_found") if action == "not_found" else (500, "general_error")
        probe.expect_error(response, status, (reason,), f"expected {status} for new_user_action {action}", step)
    ok = not any(f.severity == "error" for f in probe.findings)
    return ok, probe.findings


def p400(j: Journey) -> ScenarioResult:
    """The same new-connection request twice: two new connections (DeleteConnectionTests.scala)."""
    user = Caller.in_account("user1", new_account_domain("p400"))
    body = j.session.connect_body(user)  # built once: the second request is byte-for-byte the same
    first = j.connect_new(user, "first new connection", body=body)
    if first is None:
        return j.result()
    j.connect_new(user, "same request again", body=body)
    return j.result()


def p401(j: Journey) -> ScenarioResult:
    """Delete the connection through delete_url, then connect again: a new connection (DeleteConnectionTests.scala)."""
    deleted = _connected_then_deleted(j, "p401")
    if isinstance(deleted, ScenarioResult):
        return deleted
    j.connect_new(deleted[0], "new connection after the delete")
    return j.result()


def p402(j: Journey) -> ScenarioResult:
    """Delete the connection, then reuse it: 404 connection_not_found (DeleteConnectionTests.scala)."""
    deleted = _connected_then_deleted(j, "p402")
    if isinstance(deleted, ScenarioResult):
        return deleted
    user, connection_id = deleted
    step = "reuse of the deleted connection"
    response, _ = j.reuse(user, connection_id, step, expected=(404,))
    j.expect_error(
        response,
        404,
        ("connection_not_found",),
        "expected 404 connection_not_found for a deleted connection (the user is told to re-create it)",
        step,
    )
    return j.result()


def p600(j: Journey) -> ScenarioResult:
    """One user connects from two workspaces: a new connection and a reuse in each (MultipleWorkspaceTests.scala)."""
    domain = new_account_domain("p600")
    user_id = random_id()
    for number in (1, 2):
        user = Caller(f"user1@{domain}", "Self", "Test user1", user_id, random_id())
        connection_id = _connection_id(j, j.connect_new(user, f"new connection from workspace {number}"))
        if connection_id is None:
            return j.result()
        j.reuse(user, connection_id, f"reuse in workspace {number}")
    return j.result()


def p700(j: Journey) -> ScenarioResult:
    """demo: true for two users of one account: a new trial each time, and each can reuse (DemoFlowTests.scala)."""
    if not j.session.supports_demo:
        return j.skip("the partner does not support demo (--no-demo); the suite runs P700 only for those that do")
    domain = new_account_domain("p700")
    workspace = random_id()
    for name in ("user1", "user2"):
        user = Caller.in_account(name, domain, workspace)
        step = f"demo connection by {name}"
        doc = j.connect_new(user, step, demo=True, redirects=("create_trial",))
        if doc is None:
            return j.result()
        j.add(rules.expect(doc, "user_status", "new", "demo: true (P700)"), step)
        j.add(rules.expect(doc, "account_status", "new", "demo: true (P700)"), step)
        connection_id = _connection_id(j, doc)
        if connection_id is None:
            return j.result()
        j.reuse(user, connection_id, f"reuse by {name}")  # signInAndValidate: the default redirect_values
    return j.result()


def wrong_credentials(j: Journey) -> ScenarioResult:
    """A wrong Authorization header: 401 unauthorized (PartnerConnectErrorTest.scala).

    The suite always sends Basic credentials and always runs this case, so a
    run without a credential cannot show that the partner checks it.
    """
    if not j.session.auth_header:
        return j.not_run(
            "not run: the certification suite always sends Basic credentials and checks that wrong ones get 401; "
            "pass the credential the partner gave Databricks (--basic-user with --basic-password-stdin, or "
            "--auth-header-stdin) instead of --no-auth-header"
        )
    bogus = "Basic " + base64.b64encode(f"badUser:wrong-{secrets.token_hex(6)}".encode()).decode()
    user = Caller.in_account("user1", new_account_domain("auth"))
    step = "connect with a wrong credential"
    response = j.send("POST", j.session.connect_url, j.session.connect_body(user), step, auth_header=bogus)
    j.expect_error(
        response,
        401,
        ("unauthorized",),
        "expected 401 for a wrong Authorization header (the endpoint must check the credential)",
        step,
    )
    return j.result()


def p800(j: Journey) -> ScenarioResult:
    """test-connection on a live connection: 200 with valid test results (not in the public suite)."""
    url = j.session.test_connection_url
    if not url:
        return j.skip("no test-connection URL (pass --test-connection-url if the partner implements it)")
    user = Caller.in_account("user1", new_account_domain("p800"))
    connection_id = _connection_id(j, j.connect_new(user, "new connection"))
    if connection_id is None:
        return j.result()
    step = "test-connection"
    response = j.send("POST", url, _connection_info(connection_id, user.on(j.session.cloud)), step)
    if response is not None:
        doc = j.answer(response, (200,), "expected 200 from test-connection for a live connection", step)
        if doc is not None:
            j.add(rules.test_results(doc), step)
    return j.result()


def p801(j: Journey) -> ScenarioResult:
    """test-connection on a deleted connection: 404 connection_not_found (not in the public suite)."""
    url = j.session.test_connection_url
    if not url:
        return j.skip("no test-connection URL (pass --test-connection-url if the partner implements it)")
    deleted = _connected_then_deleted(j, "p801")
    if isinstance(deleted, ScenarioResult):
        return deleted
    user, connection_id = deleted
    step = "test-connection of the deleted connection"
    response = j.send("POST", url, _connection_info(connection_id, user.on(j.session.cloud)), step)
    j.expect_error(
        response, 404, ("connection_not_found",), "expected 404 from test-connection for a deleted connection", step
    )
    return j.result()


def p900(j: Journey) -> ScenarioResult:
    """An ingestion partner's connector list: non-empty, each named, source or target (GetConnectorsTests.scala).

    The suite runs it for every INGEST partner and fails when the config has
    no get_connectors_path.
    """
    url = j.session.connectors_url
    if j.session.partner.category != "INGEST":
        return j.skip(f"the connector list is for INGEST partners; the category is {j.session.partner.category}")
    if not url:
        return j.not_run(
            "not run: the certification suite requires the connector list of an INGEST partner "
            "(get_connectors_path); pass --connectors-url with the partner's connectors endpoint"
        )
    user = Caller.in_account("user1", new_account_domain("p900"))
    if _connection_id(j, j.connect_new(user, "new connection")) is None:
        return j.result()
    token = ""
    for page in (1, 2):  # the first page, and once more when a pagination_token comes back
        step = f"connectors page {page}"
        response = j.send("GET", _with_query(url, {"pagination_token": token}), None, step)
        if response is None:
            return j.result()
        doc = j.answer(response, (200,), "expected 200 from the connector list", step)
        if doc is None:
            return j.result()
        j.add(rules.connectors(doc), step)
        next_token = doc.get("pagination_token")
        if not isinstance(next_token, str):  # the suite asks again for any token, even an empty one
            break
        token = next_token
    return j.result()


def _connected_then_deleted(j: Journey, case: str) -> tuple[Caller, str] | ScenarioResult:
    """A new user of a new account connects, then deletes the connection through delete_url.

    The user and the deleted connection's id; or the case's result, to end it early: skipped when the
    config has no delete_url, else what went wrong (the findings say why).
    """
    if not j.session.delete_url:
        return j.skip("the config has no delete_url")
    user = Caller.in_account("user1", new_account_domain(case))
    connection_id = _connection_id(j, j.connect_new(user, "new connection"))
    if connection_id is None or not j.delete(user, connection_id, "delete-connection"):
        return j.result()
    return user, connection_id


def _connection_id(j: Journey, doc: dict[str, object] | None) -> str | None:
    """The new connection's id, or None (the findings already say why) to end the case early."""
    if doc is None:
        return None
    connection_id = doc.get("connection_id")
    return connection_id if isinstance(connection_id, str) and connection_id else None


def _connection_info(connection_id: str, caller: Caller) -> dict[str, object]:
    # ConnectionInfo (connection_id) plus what ApiSpecifications.md shows beside it.
    return {
        "connection_id": connection_id,
        "cloud_provider": caller.cloud_provider,
        "databricks_organization_id": caller.org_id,
    }


def _with_query(url: str, query: dict[str, str]) -> str:
    parts = urlsplit(url)
    joined = "&".join(q for q in (parts.query, urlencode(query)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, ""))


@dataclass(frozen=True)
class Case:
    case_id: str
    title: str
    checks: str  # what it asserts, for --help and the README
    run: Callable[[Journey], ScenarioResult]
    source: str = ""  # the public suite's file that asserts it ("" : not in the public suite)

    @property
    def certification(self) -> bool:
        return bool(self.source)


# The report's order: OnboardingTestCases.md's.
SUITE_TESTS = "src/test/scala/com/databricks/partnerconnect/client/tests/"

CASES: tuple[Case, ...] = (
    Case(
        "P100",
        "new user, new account",
        "200/201, configured_resources true, a connection_id, redirect_value create_trial",
        p100,
        "PartnerConnectTest.scala",
    ),
    Case(
        "P300",
        "the same user reuses the connection",
        "exactly 200, configured_resources false, no connection_id (manual signup: 404)",
        p300,
        "PartnerConnectTest.scala",
    ),
    Case(
        "P302",
        "a never-seen user of the account reuses it",
        "the answer of the declared new_user_action (default auto_add)",
        p302,
        "NewUserTests.scala",
    ),
    Case(
        "P400",
        "the same new-connection request twice",
        "both are valid new connections",
        p400,
        "DeleteConnectionTests.scala",
    ),
    Case(
        "P401",
        "delete the connection, connect again",
        "delete_url answers 200 with a resource_status; a valid new connection",
        p401,
        "DeleteConnectionTests.scala",
    ),
    Case(
        "P402",
        "delete the connection, then reuse it",
        "404 connection_not_found",
        p402,
        "DeleteConnectionTests.scala",
    ),
    Case(
        "P600",
        "the same user from a second workspace",
        "a new connection and a reuse in each, all valid",
        p600,
        "MultipleWorkspaceTests.scala",
    ),
    Case(
        "P700",
        "demo: true for two users of one account",
        "create_trial, user_status and account_status new each time; each can reuse",
        p700,
        "DemoFlowTests.scala",
    ),
    Case("P800", "test-connection on a live connection", "200 with valid test results (beyond certification)", p800),
    Case("P801", "test-connection on a deleted connection", "404 connection_not_found (beyond certification)", p801),
    Case(
        "P900",
        "the connector list (INGEST partners)",
        "200, non-empty, named source/target connectors",
        p900,
        "GetConnectorsTests.scala",
    ),
    Case(
        "AUTH", "wrong credentials", "401 error_reason unauthorized", wrong_credentials, "PartnerConnectErrorTest.scala"
    ),
)
if tuple(case.case_id for case in CASES) != CASE_IDS:  # one list of ids, checked where the cases are
    raise RuntimeError("stp_ext.connect.catalog.CASE_IDS does not match CASES")
