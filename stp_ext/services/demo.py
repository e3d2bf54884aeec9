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
from typing import Any

from stp_ext.core import auth_header
from stp_ext.core.errors import ExitCode, StpError
from stp_ext.core.wire import TransportFailure
from stp_ext.core.wording import plural

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
    from stp_ext.connect.runner import run_connect_test
    from stp_ext.emulator import Emulator
    from stp_ext.partner_config import load_partner_config
    from stp_ext.sample_partner.server import SamplePartner
    from stp_ext.services.credential import CredentialService
    from stp_ext.services.doctor import run_doctor
    from stp_ext.services.flows import create_partner, unfinished_create
    from stp_ext.services.next_steps import NextSteps
    from stp_ext.services.partners import PartnerService
    from stp_ext.workspace.auth import connect

    header = auth_header.basic(DEMO_USER, DEMO_PASSWORD)

    @contextmanager
    def step(name: str) -> Iterator[dict[str, str]]:
        started = time.perf_counter()
        outcome = {"detail": ""}
        try:
            yield outcome
        except StpError as e:
            result = StepResult(name, False, e.message, (time.perf_counter() - started) * 1000)
            results.append(result)
            on_step(result)
            raise DemoFailed(f"demo step {name!r} failed: {e.message}", e.hint, results) from None
        result = StepResult(name, True, outcome["detail"], (time.perf_counter() - started) * 1000)
        results.append(result)
        on_step(result)

    with tempfile.TemporaryDirectory(prefix="stp-demo-") as tmp, ExitStack() as servers:
        # Started inside the step, so its time is the servers' start-up, not 0 ms.
        with step("start local workspace and partner") as out:
            emu = servers.enter_context(Emulator(port=0))
            partner = servers.enter_context(SamplePartner(port=0, auth_header=header.value))
            out["detail"] = f"emulator {emu.url}, sample partner {partner.url}"
        path = Path(tmp) / "partner.json"
        path.write_text(json.dumps(demo_config(partner.url), indent=2))

        with step("validate") as out:
            report = load_partner_config(str(path))
            if not report.valid:
                raise StpError(f"{plural(len(report.errors), 'error')}: {report.errors[0].message}")
            config = report.partner
            out["detail"] = f"{path.name}: no errors, {plural(len(report.warnings), 'warning')}"

        workspace = connect(host=emu.url, token=emu.admin_token)
        partners = PartnerService(workspace)
        secrets = CredentialService(workspace)
        created_id: str | None = None
        try:
            with step("create with credential") as out:
                outcome = create_partner(workspace, config, header, steps=NextSteps(), status=_quiet)
                created = outcome.partner
                created_id = created.id
                unfinished = unfinished_create(outcome, NextSteps(), "")
                if unfinished is not None:
                    raise unfinished
                put = outcome.secret
                assert put is not None  # a finished create with a header stored it
                out["detail"] = f"partner {created.id}, secret {put.scope}/{put.key}, users can READ"

            with step("get") as out:
                listed = partners.list()
                out["detail"] = ", ".join(f"{p.name} ({p.id})" for p in listed)

            with step("secret status") as out:
                checks = secrets.status(created.id, non_admin=config.is_non_admin)
                failed = [c.check for c in checks if not c.ok]
                if failed:
                    raise StpError(f"failed checks: {', '.join(failed)}")
                out["detail"] = "; ".join(c.check for c in checks)

            with step("connect-test") as out:
                connect_report = run_connect_test(
                    config, header.value, timeout=5.0, test_connection_url=f"{partner.url}/test-connection"
                )
                if not connect_report.passed:
                    names = ", ".join(s.case_id for s in connect_report.failed)
                    raise StpError(f"{connect_report.summary}; failing: {names}")
                out["detail"] = connect_report.summary

            with step("doctor") as out:
                doctor = run_doctor(
                    connect=lambda: workspace, report=report, config_path=str(path), steps=NextSteps(), timeout=5.0
                )
                if not doctor.passed:
                    raise StpError(f"failed checks: {', '.join(c.check for c in doctor.failed)}")
                out["detail"] = f"{plural(len(doctor.checks), 'check')} passed"

            connection_id = ""
            for name, who in (
                ("click the tile as admin", "admin"),
                ("click again", "admin"),
                ("click as a non-admin", "user"),
            ):
                with step(name) as out:
                    click = _control(emu.url, "connect", {"user": who})
                    if not click["passed"]:
                        failed = [f["message"] for f in click["findings"] if f["severity"] == "error"]
                        raise StpError(f"the partner answered {click['status']}: {'; '.join(failed[:2])}")
                    connection_id = click["connection_id"]
                    out["detail"] = _click_detail(click)

            with step("delete the connection") as out:
                deleted = _control(emu.url, "delete-connection", {"connection_id": connection_id})
                if not deleted["passed"]:
                    raise StpError(f"the partner's delete_url answered {deleted['status']}")
                answer = deleted["response"].get("resource_status", "") if isinstance(deleted["response"], dict) else ""
                out["detail"] = f"delete_url answered {deleted['status']} {answer}; principal and token revoked"
        finally:
            if created_id is not None:
                with step("delete") as out:
                    partners.delete(created_id)
                    secret_deleted = secrets.delete(created_id, missing_ok=True)
                    out["detail"] = f"partner {created_id} and {'its secret' if secret_deleted else 'no secret'}"
    return results


def _control(emulator_url: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """One call of the emulator's Partner Connect control API (docs/partner-connect-in-a-box.md)."""
    from stp_ext.connect import http

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
