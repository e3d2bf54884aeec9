"""The result of a connect-test run: cases, their named findings, and the two verdicts.

Every finding belongs to one of two sections, told apart by its severity:

- *certification* (``error``): an assertion of the public certification suite
  (databrickslabs/partner-connect-api, PartnerTestBase.scala and the test
  classes under src/test/.../tests/) fails. The certification verdict, the
  summary line, the exit code and ``passed`` follow these, and only these.
- *beyond certification* (``warning``): our stricter advice, which the suite
  would pass (exact redirect hosts, content types, a 10 s budget, the
  test-connection cases the public suite does not have). It fails a run only
  under ``--strict``.

``info`` findings are notes (why a case was skipped, which new_user_action was
assumed). ``to_dict`` gives the JSON of ``connect-test -o json``: scripts rely
on those keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stp_ext.core.logs import redact_peer

ERROR = "error"
WARNING = "warning"
INFO = "info"  # a remark that is not a problem, e.g. why a scenario was skipped

CERTIFICATION = "certification"
BEYOND = "beyond_certification"
NOTE = "note"
_SECTIONS = {ERROR: CERTIFICATION, WARNING: BEYOND, INFO: NOTE}


@dataclass(frozen=True)
class CheckFinding:
    """One broken (or doubtful) rule. ``check`` is a stable name scripts and tests can match.

    ``message`` is the whole text ("reuse by user2: ..."); ``detail`` the same
    without the step, so one finding repeated across cases can be shown once.
    """

    severity: str
    check: str
    message: str
    detail: str = ""

    def __post_init__(self) -> None:
        # Messages quote the partner's answers, and a partner may echo the credential back.
        object.__setattr__(self, "message", redact_peer(self.message))
        object.__setattr__(self, "detail", redact_peer(self.detail) if self.detail else self.message)

    @property
    def section(self) -> str:
        return _SECTIONS.get(self.severity, NOTE)

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "section": self.section, "check": self.check, "message": self.message}


@dataclass
class ScenarioResult:
    name: str
    passed: bool
    status: int | None  # the HTTP status of the decisive answer; None when there was none
    elapsed_ms: float
    findings: list[CheckFinding] = field(default_factory=list)
    case_id: str = ""  # the certification case (OnboardingTestCases.md), e.g. P100
    title: str = ""  # what the case checks, in a few words
    certification: bool = True  # False: a case the public suite does not have (P800, P801)

    @property
    def skipped(self) -> bool:
        return any(f.check == "skipped" for f in self.findings)

    @property
    def not_run(self) -> bool:
        """The suite would run it, but it could not run here (see its ``not_run`` finding)."""
        return any(f.check == "not_run" for f in self.findings)

    @property
    def outcome(self) -> str:
        if self.skipped:
            return "skipped"
        if self.not_run:
            return "not run"
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "case_id": self.case_id,
            "title": self.title,
            "certification": self.certification,
            "passed": self.passed,
            "skipped": self.skipped,
            "not_run": self.not_run,
            "status": self.status,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class FindingGroup:
    """One finding as it repeats across cases: shown once, with the cases it applies to."""

    severity: str
    check: str
    detail: str
    cases: tuple[str, ...]
    first: str = ""  # the whole message (with its step) where it was first seen

    @property
    def shown(self) -> str:
        """The text to show: with its step when it is one case's, else the part every case shares."""
        return self.first if len(self.cases) == 1 and self.first else self.detail

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "check": self.check, "message": self.shown, "cases": list(self.cases)}


@dataclass
class ConnectTestReport:
    scenarios: list[ScenarioResult]
    connect_url: str = ""
    delete_url: str | None = None
    strict: bool = False  # beyond-certification findings fail the run too
    new_user_action: str = "auto_add"  # what P302 expected
    new_user_action_assumed: bool = False  # not given: the suite's default config's value
    one_reason: str | None = None  # every failing case failed for this one reason (set by the runner)

    @property
    def cases(self) -> list[ScenarioResult]:
        """The certification cases: the ones the public suite has."""
        return [s for s in self.scenarios if s.certification]

    @property
    def certification_passed(self) -> bool:
        return all(s.passed for s in self.cases)

    @property
    def beyond(self) -> list[FindingGroup]:
        return self.groups(WARNING)

    @property
    def beyond_passed(self) -> bool:
        return not self.beyond

    @property
    def passed(self) -> bool:
        """What the exit code follows: certification, and beyond certification too under --strict."""
        return self.certification_passed and (self.beyond_passed or not self.strict)

    @property
    def failed(self) -> list[ScenarioResult]:
        return [s for s in self.cases if not s.passed]

    def count(self, severity: str) -> int:
        return sum(1 for s in self.scenarios for f in s.findings if f.severity == severity)

    @property
    def ran(self) -> list[ScenarioResult]:
        return [s for s in self.cases if not s.skipped]

    def groups(self, severity: str) -> list[FindingGroup]:
        """The findings of ``severity``, each distinct one once, in the order first seen, with its cases."""
        first: dict[tuple[str, str], str] = {}  # insertion-ordered: the order first seen
        cases: dict[tuple[str, str], list[str]] = {}
        for scenario in self.scenarios:
            for finding in scenario.findings:
                if finding.severity != severity or finding.check == "skipped":
                    continue
                key = (finding.check, finding.detail)
                first.setdefault(key, finding.message)
                seen = cases.setdefault(key, [])
                if scenario.case_id not in seen:
                    seen.append(scenario.case_id)
        return [
            FindingGroup(severity, check, detail, tuple(cases[(check, detail)]), message)
            for (check, detail), message in first.items()
        ]

    @property
    def summary(self) -> str:
        """'9 of 10 certification cases pass (1 skipped)': the line a partner reports."""
        passing = sum(1 for s in self.ran if s.passed)
        text = f"{passing} of {len(self.ran)} certification cases pass"
        extras = []
        not_run = sum(1 for s in self.ran if s.not_run)
        if not_run:
            extras.append(f"{not_run} not run")
        skipped = len(self.cases) - len(self.ran)
        if skipped:
            extras.append(f"{skipped} skipped")
        return text + (f" ({', '.join(extras)})" if extras else "")

    @property
    def beyond_summary(self) -> str:
        count = len(self.beyond)
        if not count:
            return "beyond certification: no findings"
        verdict = "fail the run (--strict)" if self.strict else "warnings only (--strict fails on them)"
        return f"beyond certification: {count} finding{'s' if count != 1 else ''}, {verdict}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "strict": self.strict,
            "summary": {
                "cases": len(self.cases),
                "ran": len(self.ran),
                "passed": sum(1 for s in self.ran if s.passed),
                "skipped": len(self.cases) - len(self.ran),
                "not_run": sum(1 for s in self.ran if s.not_run),
                "text": self.summary,
            },
            "certification": {
                "passed": self.certification_passed,
                "one_reason": self.one_reason,
                "new_user_action": self.new_user_action,
                "new_user_action_assumed": self.new_user_action_assumed,
                "findings": [g.to_dict() for g in self.groups(ERROR)],
            },
            "beyond_certification": {
                "passed": self.beyond_passed,
                "findings": [g.to_dict() for g in self.beyond],
            },
            "scenarios": [s.to_dict() for s in self.scenarios],
        }
