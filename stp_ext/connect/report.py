"""The result of a connect-test run: scenarios and their named findings.

``to_dict`` gives the JSON of ``connect-test -o json``: scripts rely on those
keys. Every scenario is a certification case and carries its id (``P100``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stp_ext.logs import redact_peer

ERROR = "error"
WARNING = "warning"
INFO = "info"  # a remark that is not a problem, e.g. why a scenario was skipped


@dataclass(frozen=True)
class CheckFinding:
    """One broken (or doubtful) rule. ``check`` is a stable name scripts and tests can match."""

    severity: str
    check: str
    message: str

    def __post_init__(self) -> None:
        # Messages quote the partner's answers, and a partner may echo the credential back.
        object.__setattr__(self, "message", redact_peer(self.message))

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "check": self.check, "message": self.message}


@dataclass
class ScenarioResult:
    name: str
    passed: bool
    status: int | None  # the HTTP status of the decisive answer; None when there was none
    elapsed_ms: float
    findings: list[CheckFinding] = field(default_factory=list)
    case_id: str = ""  # the certification case (OnboardingTestCases.md), e.g. P100
    title: str = ""  # what the case checks, in a few words

    @property
    def skipped(self) -> bool:
        return any(f.check == "skipped" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "case_id": self.case_id,
            "title": self.title,
            "passed": self.passed,
            "skipped": self.skipped,
            "status": self.status,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class ConnectTestReport:
    passed: bool
    scenarios: list[ScenarioResult]
    connect_url: str = ""
    delete_url: str | None = None

    @property
    def failed(self) -> list[ScenarioResult]:
        return [s for s in self.scenarios if not s.passed]

    def count(self, severity: str) -> int:
        return sum(1 for s in self.scenarios for f in s.findings if f.severity == severity)

    @property
    def ran(self) -> list[ScenarioResult]:
        return [s for s in self.scenarios if not s.skipped]

    @property
    def summary(self) -> str:
        """'9 of 10 certification cases pass (1 skipped)': the line a partner reports."""
        passing = sum(1 for s in self.ran if s.passed)
        text = f"{passing} of {len(self.ran)} certification cases pass"
        skipped = len(self.scenarios) - len(self.ran)
        return text + (f" ({skipped} skipped)" if skipped else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "summary": {
                "cases": len(self.scenarios),
                "ran": len(self.ran),
                "passed": sum(1 for s in self.ran if s.passed),
                "skipped": len(self.scenarios) - len(self.ran),
                "text": self.summary,
            },
            "scenarios": [s.to_dict() for s in self.scenarios],
        }
