"""Fault injection: make the emulator slow, failing or broken on purpose.

Clients must survive a workspace that is slow, throttles (429 with
Retry-After), is briefly unavailable (503), fails (500), answers HTML or
broken JSON, or drops the connection. Arm one plan at a time; each arming
replaces the previous plan.

Over HTTP (no auth: the emulator is meant for loopback use only):

    POST   /_emulator/faults    arm a plan, answers the plan now in force
        {"latency_ms": 200}                                every matching request 200 ms late
        {"fail_next": 2, "status": 429, "retry_after": 1}  the next 2 answer 429 with Retry-After: 1
        {"fail_next": 1, "status": 503}                    (status: 400-599, default 503)
        {"fail_next": 1, "mode": "drop"}                   close the connection without a byte
        {"fail_next": 1, "mode": "html"}                   an HTML page instead of JSON
        {"fail_next": 1, "mode": "malformed_json"}         truncated JSON (status may be 200 here)
        "path_prefix": "/api/2.0/secrets"                  only requests under this path (default "/")
    GET    /_emulator/faults    the plan in force (fail_next counts down)
    DELETE /_emulator/faults    back to normal
    GET    /_emulator/requests  the request log: {"requests": [{"method", "path", "status"}]};
                                status 0 marks a dropped connection
    POST   /_emulator/reset     wipe partners and secrets, clear faults and the log

The control API is itself never delayed or failed, and its requests are in the
log under ``/_emulator/...`` so tests can filter them out. Note that
databricks-sdk fetches ``/.well-known/databricks-config`` when it builds a
``Config``: use ``path_prefix`` to aim a fault at the API calls instead.

In Python:

    emu.faults.arm(fail_next=1, status=503, path_prefix="/api/2.0/secrets")
    emu.faults.clear()

At start-up: ``databricks-stp emulator --latency-ms 200 --fail-next 2 --fail-status 429``.
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
        for name in ("latency_ms", "fail_next", "status"):
            value = getattr(self, name)
            # bool is an int to Python, never to a user writing {"fail_next": true}
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        # An HTML page or broken JSON may come with a 200 (a misbehaving proxy); an error body may not.
        lowest = 400 if self.mode == "status" else 200
        if not lowest <= self.status <= 599:
            raise ValueError(f"status must be from {lowest} to 599 for mode {self.mode!r}, e.g. 429, 500 or 503")
        if self.retry_after is not None and (
            not isinstance(self.retry_after, int) or isinstance(self.retry_after, bool) or self.retry_after < 0
        ):
            raise ValueError("retry_after must be a non-negative integer (seconds)")
        if not isinstance(self.path_prefix, str) or not self.path_prefix.startswith("/"):
            raise ValueError("path_prefix must be a path starting with /")


@dataclass(frozen=True)
class Fault:
    """What to do to one request: wait, then maybe fail it."""

    latency_s: float
    mode: str | None  # None: answer normally after the latency
    status: int
    retry_after: int | None


class Faults:
    """The plan in force, shared by the request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plan = FaultPlan()

    def arm(
        self,
        *,
        latency_ms: int = 0,
        fail_next: int = 0,
        status: int = 503,
        retry_after: int | None = None,
        mode: str = "status",
        path_prefix: str = "/",
    ) -> None:
        """Replace the plan in force; ValueError names a bad field."""
        plan = FaultPlan(latency_ms, fail_next, status, retry_after, mode, path_prefix)
        plan.check()
        self._set(plan)

    def arm_from(self, data: dict[str, Any]) -> None:
        """Arm from a JSON object (the control API); unknown fields are refused, not ignored."""
        self._set(FaultPlan.from_dict(data))

    def _set(self, plan: FaultPlan) -> None:
        with self._lock:
            self._plan = plan

    def clear(self) -> None:
        self._set(FaultPlan())

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
