"""The result of a connect-test run: scenarios and their named findings.

``to_dict`` gives exactly the JSON of spec/cli.md: scripts rely on those keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"
INFO = "info"  # a remark that is not a problem, e.g. why a scenario was skipped


@dataclass(frozen=True)
class CheckFinding:
    """One broken (or doubtful) rule. ``check`` is a stable name scripts and tests can match."""

    severity: str
    check: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "check": self.check, "message": self.message}


@dataclass
class ScenarioResult:
    name: str
    passed: bool
    status: int | None  # the HTTP status of the decisive answer; None when there was none
    elapsed_ms: float
    findings: list[CheckFinding] = field(default_factory=list)

    @property
    def skipped(self) -> bool:
        return any(f.check == "skipped" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
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

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "scenarios": [s.to_dict() for s in self.scenarios]}
