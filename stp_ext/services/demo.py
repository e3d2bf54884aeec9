"""`demo`: the whole flow on the embedded defaults, no workspace needed.

It starts a workspace emulator and the sample partner on free ports in this
process, then walks the steps a partner takes with a real workspace, through
the same services the commands use: validate, create with a credential, get,
secret status, connect-test, doctor; then the journey a user takes, through
the emulator's Partner Connect control API: click the tile as the admin,
click again (the connection is reused), click as the non-admin user (the
partner is NON_ADMIN: a new user joins), delete the connection; and delete.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stp_ext.connect import http
from stp_ext.connect.runner import run_connect_test
from stp_ext.core import auth_header
from stp_ext.core.errors import ExitCode, StpError
from stp_ext.core.wire import TransportFailure
from stp_ext.core.wording import plural
from stp_ext.emulator import Emulator
from stp_ext.partner_config import load_partner_config
from stp_ext.sample_partner.server import SamplePartner
from stp_ext.services.credential import CredentialService
from stp_ext.services.doctor import run_doctor
from stp_ext.services.flows import create_partner, unfinished_create
from stp_ext.services.next_steps import NextSteps
from stp_ext.services.partners import PartnerService
from stp_ext.workspace.auth import connect

if TYPE_CHECKING:
    from stp_ext.core.auth_header import AuthHeader
    from stp_ext.partner_config import ConfigReport, PartnerConfig
    from stp_ext.workspace.client import Workspace

DEMO_USER = "demo-user"
DEMO_PASSWORD = "demo-password"  # a throwaway credential for a throwaway local partner


@dataclass
class StepResult:
    step: str
    ok: bool
    detail: str
    elapsed_ms: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["elapsed_ms"] = round(self.elapsed_ms, 1)
        return data


def demo_config(partner_url: str) -> dict[str, Any]:
    """A NON_ADMIN warehouse partner served by the sample partner (so the ACL path runs too)."""
    return {
        "partner": {
            "name": "Demo Partner",
            "category": "DATA_PREP_AND_TRANSFORM",
            "connect_url": f"{partner_url}/connect",
            "sign_up_url": f"{partner_url}/sign-up",
            "delete_url": f"{partner_url}/delete-connection",
            "terms_of_service_url": f"{partner_url}/terms",
            "privacy_policy_url": f"{partner_url}/privacy",
            "hostnames": "127.0.0.1,localhost",
            "supported_features": ["UNITY_CATALOG", "NON_ADMIN"],
            "integration_type": "WAREHOUSE_READ_WRITE",
            "auth_options": ["AUTH_PAT"],
        }
    }


@contextmanager
def _quiet(_message: str) -> Iterator[None]:
    yield  # the demo prints a line per step, not spinners


class DemoFailed(StpError):
    def __init__(self, message: str, hint: str | None, results: list[StepResult]) -> None:
        super().__init__(message, hint)
        self.results = results


class DemoInterrupted(DemoFailed):
    """Ctrl-C or SIGTERM during the demo: what ran is reported; the local servers are gone with it."""

    exit_code = ExitCode.INTERRUPTED


def run_demo(on_step: Callable[[StepResult], None]) -> list[StepResult]:
    """Run every step, reporting each as it finishes; stops at the first failed step (after cleanup).

    Ctrl-C (or SIGTERM) stops it too, and says which steps had run: the
    emulator and the sample partner live in this process, so nothing is left.
    """
    results: list[StepResult] = []
    try:
        return _run_steps(on_step, results)
    except KeyboardInterrupt:
        done = ", ".join(r.step for r in results) or "none"
        raise DemoInterrupted(
            f"demo interrupted. Done: {done}. The local emulator and sample partner stopped with it: "
            "nothing is left behind",
            None,
            results,
        ) from None


def _run_steps(on_step: Callable[[StepResult], None], results: list[StepResult]) -> list[StepResult]:
    header = auth_header.basic(DEMO_USER, DEMO_PASSWORD)
    steps = _Steps(on_step, results)
    with tempfile.TemporaryDirectory(prefix="stp-demo-") as tmp, ExitStack() as servers:
        # Started inside the step, so its time is the servers' start-up, not 0 ms.
        with steps.step("start local workspace and partner") as out:
            emu = servers.enter_context(Emulator(port=0))
            partner = servers.enter_context(SamplePartner(port=0, auth_header=header.value))
            out["detail"] = f"emulator {emu.url}, sample partner {partner.url}"
        path = Path(tmp) / "partner.json"
        path.write_text(json.dumps(demo_config(partner.url), indent=2))

        with steps.step("validate") as out:
            report = load_partner_config(str(path))
            if not report.valid:
                raise StpError(f"{plural(len(report.errors), 'error')}: {report.errors[0].message}")
            out["detail"] = f"{path.name}: no errors, {plural(len(report.warnings), 'warning')}"

        workspace = connect(host=emu.url, token=emu.admin_token)
        with _deleted_at_the_end(steps, workspace) as created:
            _create(steps, workspace, report.partner, header, created)
            _read_back(steps, workspace, report.partner, created.id)
            _connect_test(steps, report.partner, header.value, partner.url)
            _doctor(steps, workspace, report, path)
            _journey(steps, emu.url)
    return results


class _Steps:
    """The demo's steps, each timed and reported as it finishes; the first that fails ends the demo."""

    def __init__(self, on_step: Callable[[StepResult], None], results: list[StepResult]) -> None:
        self.on_step = on_step
        self.results = results  # the caller's list: what ran is still there after Ctrl-C

    @contextmanager
    def step(self, name: str) -> Iterator[dict[str, str]]:
        started = time.perf_counter()
        outcome = {"detail": ""}
        try:
            yield outcome
        except StpError as e:
            self._report(StepResult(name, False, e.message, (time.perf_counter() - started) * 1000))
            raise DemoFailed(f"demo step {name!r} failed: {e.message}", e.hint, self.results) from None
        self._report(StepResult(name, True, outcome["detail"], (time.perf_counter() - started) * 1000))

    def _report(self, result: StepResult) -> None:
        self.results.append(result)
        self.on_step(result)


@dataclass
class _Created:
    id: str = ""  # the demo partner, once the workspace has it ("" before)


@contextmanager
def _deleted_at_the_end(steps: _Steps, workspace: Workspace) -> Iterator[_Created]:
    """The demo partner and its secret are deleted as the last step, whatever happened after it was created."""
    created = _Created()
    try:
        yield created
    finally:
        if created.id:
            with steps.step("delete") as out:
                PartnerService(workspace).delete(created.id)
                secret_deleted = CredentialService(workspace).delete(created.id, missing_ok=True)
                out["detail"] = f"partner {created.id} and {'its secret' if secret_deleted else 'no secret'}"


def _create(steps: _Steps, workspace: Workspace, config: PartnerConfig, header: AuthHeader, created: _Created) -> None:
    with steps.step("create with credential") as out:
        outcome = create_partner(workspace, config, header, steps=NextSteps(), status=_quiet)
        created.id = outcome.partner.id
        unfinished = unfinished_create(outcome, NextSteps(), "")
        if unfinished is not None:
            raise unfinished
        put = outcome.secret
        assert put is not None  # a finished create with a header stored it
        out["detail"] = f"partner {created.id}, secret {put.scope}/{put.key}, users can READ"


def _read_back(steps: _Steps, workspace: Workspace, config: PartnerConfig, partner_id: str) -> None:
    """`get` and `secret status`, as a partner checks what create did."""
    with steps.step("get") as out:
        out["detail"] = ", ".join(f"{p.name} ({p.id})" for p in PartnerService(workspace).list())

    with steps.step("secret status") as out:
        checks = CredentialService(workspace).status(partner_id, non_admin=config.is_non_admin)
        failed = [c.check for c in checks if not c.ok]
        if failed:
            raise StpError(f"failed checks: {', '.join(failed)}")
        out["detail"] = "; ".join(c.check for c in checks)


def _connect_test(steps: _Steps, config: PartnerConfig, header_value: str, partner_url: str) -> None:
    with steps.step("connect-test") as out:
        report = run_connect_test(
            config, header_value, timeout=5.0, test_connection_url=f"{partner_url}/test-connection"
        )
        if not report.passed:
            names = ", ".join(s.case_id for s in report.failed)
            raise StpError(f"{report.summary}; failing: {names}")
        out["detail"] = report.summary


def _doctor(steps: _Steps, workspace: Workspace, report: ConfigReport, path: Path) -> None:
    with steps.step("doctor") as out:
        doctor = run_doctor(
            connect=lambda: workspace, report=report, config_path=str(path), steps=NextSteps(), timeout=5.0
        )
        if not doctor.passed:
            raise StpError(f"failed checks: {', '.join(c.check for c in doctor.failed)}")
        out["detail"] = f"{plural(len(doctor.checks), 'check')} passed"


def _journey(steps: _Steps, emulator_url: str) -> None:
    """A user's clicks on the tile, through the emulator's Partner Connect control API, then the connection's delete."""
    connection_id = ""
    for name, who in (
        ("click the tile as admin", "admin"),
        ("click again", "admin"),
        ("click as a non-admin", "user"),
    ):
        with steps.step(name) as out:
            click = _control(emulator_url, "connect", {"user": who})
            if not click["passed"]:
                failed = [f["message"] for f in click["findings"] if f["severity"] == "error"]
                raise StpError(f"the partner answered {click['status']}: {'; '.join(failed[:2])}")
            connection_id = click["connection_id"]
            out["detail"] = _click_detail(click)

    with steps.step("delete the connection") as out:
        deleted = _control(emulator_url, "delete-connection", {"connection_id": connection_id})
        if not deleted["passed"]:
            raise StpError(f"the partner's delete_url answered {deleted['status']}")
        answer = deleted["response"].get("resource_status", "") if isinstance(deleted["response"], dict) else ""
        out["detail"] = f"delete_url answered {deleted['status']} {answer}; principal and token revoked"


def _control(emulator_url: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """One call of the emulator's Partner Connect control API (docs/partner-connect-in-a-box.md)."""
    url = f"{emulator_url}/_emulator/partner-connect/{action}"
    try:
        response = http.send(
            "POST", url, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, timeout=15.0
        )
        answer = response.json()
    except (TransportFailure, ValueError) as e:
        raise StpError(f"POST {url}: {getattr(e, 'message', e)}") from None
    if response.status != 200 or not isinstance(answer, dict):
        message = answer.get("message") if isinstance(answer, dict) else None
        raise StpError(f"POST {url} answered {response.status}: {message or response.text[:200]}")
    return answer


def _click_detail(click: dict[str, Any]) -> str:
    """What a click did, in a line: new or reused, who, what was provisioned, where the user lands."""
    answer = click["response"] if isinstance(click["response"], dict) else {}
    landed = f"{answer.get('redirect_value')} ({answer.get('user_status')} user)"
    if click["established"]:
        return f"{click['user']} reused connection {click['connection_id']}: {landed}"
    made = click["provisioned"] or {}
    given = ["service principal" if made.get("service_principal") else ""]
    given += ["PAT" if made.get("personal_access_token") else "", "OAuth secret" if made.get("oauth_secret") else ""]
    compute = made.get("compute")
    given.append(f"{compute['kind']} {compute['id']}" if compute else "")
    return f"{click['user']} connected, {', '.join(g for g in given if g)} sent: {landed}"
