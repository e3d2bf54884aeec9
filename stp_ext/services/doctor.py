"""`doctor`: one checklist for the whole setup, each failed row with its fix.

Checks run in order and keep going after a failure where they can, so one
run shows every missing piece; rows that cannot run without an earlier one
(no workspace, no partner) are reported as skipped. Reads that do not depend
on each other go out at once (who am I and the active partner; the connect
endpoint's probe, which needs no workspace, runs meanwhile); the rows keep
their order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from stp_ext.connect.credential_probe import probe_credential
from stp_ext.connect.probe import probe_connect
from stp_ext.core.errors import StpError, WorkspaceError
from stp_ext.core.logs import register_secret
from stp_ext.core.together import Outcome, in_background, together
from stp_ext.core.wording import plural
from stp_ext.services.credential import SCOPE, SECRETS, CredentialService
from stp_ext.services.partners import PartnerService

if TYPE_CHECKING:
    from stp_ext.partner_config import ConfigReport, PartnerConfig
    from stp_ext.services.next_steps import NextSteps
    from stp_ext.workspace.client import Workspace

ME_PATH = "/api/2.0/preview/scim/v2/Me"
ENDPOINT_ROW = "connect endpoint reachable"
CREDENTIAL_ROW = "stored credential accepted"


@dataclass
class DoctorCheck:
    check: str
    ok: bool | None  # None: skipped, because an earlier check failed or nothing to check
    detail: str
    fix: str | None = None
    warning: str | None = None  # passed, with something to know (e.g. `users` may overwrite the credential)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["warning"] is None:
            data.pop("warning")  # the documented shape, plus "warning" only when there is one
        return data


@dataclass
class DoctorReport:
    checks: list[DoctorCheck]

    @property
    def passed(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    @property
    def failed(self) -> list[DoctorCheck]:
        return [c for c in self.checks if c.ok is False]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [c.to_dict() for c in self.checks]}


def run_doctor(
    *,
    connect: Callable[[], Workspace],
    report: ConfigReport | None,
    config_path: str | None,
    steps: NextSteps,
    timeout: float = 10.0,
    endpoint_url: str | None = None,
    skip_endpoint: bool = False,
) -> DoctorReport:
    checks: list[DoctorCheck] = []
    config = report.partner if report is not None and report.valid else None
    if report is not None:
        checks.append(_config_row(report, config_path, steps))

    # The connect endpoint's row needs nothing from the workspace: it is asked meanwhile, in the background.
    endpoint_row: Callable[[], Outcome] | None = None
    if not skip_endpoint and config is not None:
        endpoint_row = in_background(partial(_probe_connect, config.connect_url, endpoint_url, timeout))

    try:
        workspace = connect()
        me_answer, partners_answer = _me_and_partners(workspace)
        checks.append(_authenticated_row(workspace, me_answer.get()))
    except StpError as e:
        checks.append(DoctorCheck("authenticated", False, e.message, e.hint or "Check -p PROFILE or -e."))
        checks += [DoctorCheck(name, None, "skipped: no workspace") for name in _NEED_A_WORKSPACE]
        if endpoint_row is not None:
            checks.append(endpoint_row().get())
        return DoctorReport(checks)

    partner = _partner_row(partners_answer, config, config_path, steps)
    checks.append(partner.check)
    non_admin = config.is_non_admin if config is not None else None
    secret = _SecretRows([DoctorCheck("secret present", None, "skipped: no active partner")])
    if partner.id is not None:
        secret = _secret_rows(workspace, partner.id, non_admin, steps)
    checks += secret.rows

    if skip_endpoint:
        checks.append(DoctorCheck(CREDENTIAL_ROW, None, "skipped: --skip-endpoint"))
    elif config is None or not partner.matches or partner.id is None:
        why = "give -f FILE to check it" if config is None else "the active partner is not the one in the file"
        checks.append(DoctorCheck(CREDENTIAL_ROW, None, f"skipped: {why}"))
    elif not secret.stored:
        checks.append(DoctorCheck(CREDENTIAL_ROW, None, "skipped: no stored credential"))
    elif not config.delete_url:
        checks.append(DoctorCheck(CREDENTIAL_ROW, None, "skipped: the config has no delete_url to send it to"))
    else:
        args = (workspace, partner.id, config.delete_url, endpoint_url, timeout, steps, non_admin)
        checks.append(_probe_credential(*args))

    checks += _endpoint_rows(skip_endpoint, config, endpoint_row)
    return DoctorReport(checks)


def _endpoint_rows(
    skip_endpoint: bool, config: PartnerConfig | None, probe: Callable[[], Outcome] | None
) -> list[DoctorCheck]:
    """The connect endpoint's row, last: the probe's answer, or why it was not asked."""
    if skip_endpoint:
        return [DoctorCheck(ENDPOINT_ROW, None, "skipped: --skip-endpoint")]
    if config is None:
        return [DoctorCheck(ENDPOINT_ROW, None, "skipped: give -f FILE to check the connect_url")]
    return [probe().get()] if probe is not None else []


# The rows after "authenticated" that cannot run without a workspace (the endpoint's row can).
_NEED_A_WORKSPACE = ("partner active", "secret present", CREDENTIAL_ROW)


def _config_row(report: ConfigReport, config_path: str | None, steps: NextSteps) -> DoctorCheck:
    if report.valid:
        return DoctorCheck(
            "config valid", True, f"{report.source}: no errors, {plural(len(report.warnings), 'warning')}"
        )
    errors = plural(len(report.errors), "error")
    return DoctorCheck("config valid", False, f"{report.source}: {errors}", steps.validate(config_path))


def _me_and_partners(workspace: Workspace) -> tuple[Outcome, Outcome]:
    """Who am I and the active partner do not depend on each other: one round trip for both. Other
    auth than a PAT fetches a token first, one request at a time: who am I goes first and gets it."""
    me_call, partners_call = (lambda: workspace.read("GET", ME_PATH)), PartnerService(workspace).list
    if workspace.info.auth_type == "pat":
        me_answer, partners_answer = together(me_call, partners_call)
        return me_answer, partners_answer
    me_answer = Outcome(me_call())
    return me_answer, together(partners_call)[0]


def _authenticated_row(workspace: Workspace, me: Any) -> DoctorCheck:
    groups = {g.text("display") for g in me.objects("groups")}
    user = me.text("userName") or "unknown user"
    role = "admin" if "admins" in groups else "not an admin"
    return DoctorCheck("authenticated", True, f"{user} ({role}) on {workspace.host} via {workspace.info.source}")


@dataclass
class _PartnerRow:
    check: DoctorCheck
    id: str | None = None  # the active partner, if there is one
    matches: bool = False  # the active partner is the one in -f FILE: its URLs may get its credential


def _partner_row(
    partners_answer: Outcome, config: PartnerConfig | None, config_path: str | None, steps: NextSteps
) -> _PartnerRow:
    try:
        partners = partners_answer.get()
    except StpError as e:
        return _PartnerRow(DoctorCheck("partner active", False, e.message, e.hint))
    if not partners:
        return _PartnerRow(
            DoctorCheck("partner active", False, "no active self-testing partner", steps.create(config_path))
        )
    active = partners[0]
    if config is not None and active.name != config.name:
        file_arg = config_path or "partner.json"  # only for prose; commands come from `steps`
        detail = f"active partner {active.id} is named {active.name!r}, {file_arg} says {config.name!r}"
        return _PartnerRow(DoctorCheck("partner active", False, detail, steps.update(config_path)), active.id)
    return _PartnerRow(
        DoctorCheck("partner active", True, f"{active.name} ({active.id})"), active.id, config is not None
    )


@dataclass
class _SecretRows:
    rows: list[DoctorCheck]
    stored: bool = False  # the partner's credential is in the scope: worth proving against the endpoint


def _secret_rows(workspace: Workspace, partner_id: str, non_admin: bool | None, steps: NextSteps) -> _SecretRows:
    put = steps.secret_put(partner_id, non_admin=non_admin)
    try:
        status = CredentialService(workspace).status(partner_id, non_admin=non_admin)
    except StpError as e:
        return _SecretRows([DoctorCheck("secret present", False, e.message, e.hint)])
    present = {c.check: c for c in status}["secret present"]
    rows = [DoctorCheck("secret present", present.ok, present.detail, None if present.ok else put)]
    for users in status[2:]:  # the `users` row, named for what the partner needs
        if non_admin:
            fix = None if users.ok else put
            rows.append(DoctorCheck("users can READ (NON_ADMIN)", users.ok, users.detail, fix, warning=users.warning))
        elif users.warning:  # admin-only or unknown: a row only when users hold too much
            rows.append(DoctorCheck(users.check, True, users.detail, warning=users.warning))
    return _SecretRows(rows, bool(present.ok))


def _probe_credential(
    workspace: Workspace,
    partner_id: str,
    delete_url: str,
    base_url: str | None,
    timeout: float,
    steps: NextSteps,
    non_admin: bool | None,
) -> DoctorCheck:
    """Read the stored credential (Secrets API get) and prove it against the partner (credential_probe)."""
    import base64
    import binascii

    try:
        answer = workspace.read("GET", f"{SECRETS}/get", query={"scope": SCOPE, "key": partner_id})
        value = base64.b64decode(answer.text("value") or "", validate=True).decode("utf-8")
    except StpError as e:
        if isinstance(e, WorkspaceError) and e.status == 403:
            return DoctorCheck(CREDENTIAL_ROW, None, f"skipped: this user may not read {SCOPE}/{partner_id}")
        return DoctorCheck(CREDENTIAL_ROW, False, f"cannot read {SCOPE}/{partner_id}: {e.message}", e.hint)
    except (binascii.Error, UnicodeDecodeError):
        return DoctorCheck(CREDENTIAL_ROW, False, f"{SCOPE}/{partner_id} is not a UTF-8 header value")
    register_secret(value)  # never printed, whatever the partner echoes back
    fix = steps.secret_put(partner_id, non_admin=non_admin) + "   # store the value your endpoint accepts"
    result = probe_credential(delete_url, value, url=base_url, timeout=timeout, fix=fix)
    return DoctorCheck(CREDENTIAL_ROW, result.ok, result.detail, result.fix, warning=result.warning)


def _probe_connect(connect_url: str, base_url: str | None, timeout: float) -> DoctorCheck:
    """connect-test's machinery on one safe request (see ``stp_ext.connect.probe``)."""
    result = probe_connect(connect_url, url=base_url, timeout=timeout)
    return DoctorCheck(ENDPOINT_ROW, result.ok, result.detail, result.fix)
