"""Fault injection: make the emulator slow, failing or broken on purpose.

Arm it over HTTP (no auth; the emulator is for loopback use) or in Python:

    POST   /_emulator/faults   {"latency_ms": 200}                      every request 200 ms late
                               {"fail_next": 2, "status": 429, "retry_after": 1}
                               {"fail_next": 1, "status": 503}
                               {"fail_next": 1, "status": 500}
                               {"fail_next": 1, "mode": "drop"}          close the connection, no answer
                               {"fail_next": 1, "mode": "html"}          an HTML page instead of JSON
                               {"fail_next": 1, "mode": "malformed_json"}
                               "path_prefix": "/api/2.0/secrets"         only requests under this path
    DELETE /_emulator/faults   back to normal
    GET    /_emulator/requests the request log: [{"method", "path", "status"}]
    POST   /_emulator/reset    wipe partners and secrets

    emu.faults.arm(fail_next=1, status=503); emu.faults.clear()

Or at start-up: ``databricks-stp emulator --latency-ms 200 --fail-next 2 --fail-status 429``.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

MODES = ("status", "drop", "html", "malformed_json")


@dataclass
class FaultPlan:
    latency_ms: int = 0
    fail_next: int = 0
    status: int = 503
    retry_after: int | None = None
    mode: str = "status"
    path_prefix: str = "/"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        unknown = set(data) - set(asdict(cls()))
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        plan = cls(**data)
        plan.check()
        return plan

    def check(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if not (isinstance(self.latency_ms, int) and isinstance(self.fail_next, int)):
            raise ValueError("latency_ms and fail_next must be integers")
        if self.latency_ms < 0 or self.fail_next < 0 or not 100 <= int(self.status) <= 599:
            raise ValueError("latency_ms and fail_next must be >= 0 and status a valid HTTP status")


@dataclass(frozen=True)
class Fault:
    """What to do to one request: wait, then maybe fail it."""

    latency_s: float
    mode: str | None  # None: answer normally after the latency
    status: int
    retry_after: int | None


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plan = FaultPlan()

    def arm(self, **fields: Any) -> None:
        plan = FaultPlan.from_dict(fields)
        with self._lock:
            self._plan = plan

    def clear(self) -> None:
        with self._lock:
            self._plan = FaultPlan()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._plan)

    def take(self, path: str) -> Fault | None:
        """The fault for a request to ``path`` (counting it against fail_next), or None."""
        with self._lock:
            plan = self._plan
            if not path.startswith(plan.path_prefix):
                return None
            failing = plan.fail_next > 0
            if failing:
                plan.fail_next -= 1
            if not failing and plan.latency_ms == 0:
                return None
            return Fault(plan.latency_ms / 1000, plan.mode if failing else None, plan.status, plan.retry_after)
