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
        {"fail_next": 1, "mode": "json", "body": [1, 2]}   this JSON value as the answer (status default 503;
                                                           200 with a wrong shape tests a client's parsing)
        {"fail_next": 1, "mode": "drip", "status": 200}    a JSON answer sent one byte every drip_ms (1000)
        {"fail_next": 1, "mode": "huge", "status": 200,    a valid JSON object of size_bytes, streamed
         "size_bytes": 100000000}
        {"fail_next": 1, "status": 503, "retry_after": 86400}  Retry-After (seconds) on a status answer
        {"fail_next": 1, "mode": "echo", "status": 400}    a workspace quoting what it refuses: each string of
                                                           the request body in the message, without its
                                                           scheme ("value S3CR3T is invalid"), and the whole
                                                           body under "request" (JSON-escaped on the wire);
                                                           under /oidc, an OAuth error quoting the
                                                           Authorization header (Basic base64(id:secret))
                                                           and every form field
        {"fail_next": 1, "mode": "hang"}                   no answer at all: the connection is held, silent,
                                                           for hang_ms (default 600000), then closed; no
                                                           thread waits meanwhile
        "latency_ms", "drip_ms", "hang_ms"                 at most 3600000 (an hour)
        "path_prefix": "/api/2.0/secrets"                  only requests under this path (default "/api/":
                                                           the API calls, not the SDK's /.well-known or
                                                           /oidc requests; give "/" to hit everything, or
                                                           "/oidc/v1/token" for the OAuth token endpoint:
                                                           a hanging, dripping or echoing token answer, e.g.
        {"fail_next": 1, "mode": "drip", "status": 200, "path_prefix": "/oidc/v1/token",
         "body": {"access_token": "dose-x", "token_type": "Bearer", "expires_in": 3600}}
    GET    /_emulator/faults    the plan in force (fail_next counts down)
    DELETE /_emulator/faults    back to normal
    GET    /_emulator/requests  the request log: {"requests": [{"method", "path", "status"}], "dropped"};
                                status 0 marks a dropped connection; the newest 10,000 requests and
                                at most about 1 MiB (a path is kept to its first 1,024 characters)
    GET    /_emulator/health    {"status": "ok"}, for a CI job waiting for the emulator
    POST   /_emulator/reset     wipe partners and secrets, clear faults and the log

The control API is itself never delayed or failed, and is answered in the
server's I/O thread, so even with every worker busy (dripping answers, say) it
answers at once (a reset of a ``--state`` file excepted: it waits for the disk).
A latency or a hang holds no worker: the request waits on the server's timer.
Its requests are in the log under ``/_emulator/...`` so tests can filter them out. databricks-sdk
fetches ``/.well-known/databricks-config`` when it builds a ``Config`` for
OAuth: the default ``path_prefix`` leaves it alone, so a fault meets the
command's own call first.

In Python:

    emu.faults.arm(fail_next=1, status=503, path_prefix="/api/2.0/secrets")
    emu.faults.clear()

At start-up: ``databricks-stp emulator --latency-ms 200 --fail-next 2 --fail-status 429``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl

MODES = ("status", "drop", "html", "malformed_json", "json", "drip", "huge", "echo", "hang")
MAX_WAIT_MS = 3_600_000  # the longest latency or hang: an hour, the longest any client's test should wait
DEFAULT_PATH_PREFIX = "/api/"
# The largest answer "huge" streams: enough to test any client's size bound, small enough to be a test.
MAX_HUGE_BYTES = 1024 * 1024 * 1024
DRIP_BODY = b'{"partners": []}'


@dataclass
class FaultPlan:
    latency_ms: int = 0
    fail_next: int = 0
    status: int = 503
    retry_after: int | None = None
    mode: str = "status"
    path_prefix: str = DEFAULT_PATH_PREFIX
    body: Any = None  # mode "json": the answer; mode "drip": the answer dripped (default {"partners": []})
    drip_ms: int = 1000
    size_bytes: int = 1024 * 1024
    hang_ms: int = 600_000

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
        for name in ("latency_ms", "fail_next", "status", "drip_ms", "size_bytes", "hang_ms"):
            value = getattr(self, name)
            # bool is an int to Python, never to a user writing {"fail_next": true}
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        for name in ("latency_ms", "drip_ms", "hang_ms"):
            if getattr(self, name) > MAX_WAIT_MS:
                raise ValueError(f"{name} must be at most {MAX_WAIT_MS} (an hour)")
        # An HTML page or broken JSON may come with a 200 (a misbehaving proxy); an error body may not.
        lowest = 400 if self.mode in ("status", "echo") else 200
        if not lowest <= self.status <= 599:
            raise ValueError(f"status must be from {lowest} to 599 for mode {self.mode!r}, e.g. 429, 500 or 503")
        if self.retry_after is not None and (
            not isinstance(self.retry_after, int) or isinstance(self.retry_after, bool) or self.retry_after < 0
        ):
            raise ValueError("retry_after must be a non-negative integer (seconds)")
        if not isinstance(self.path_prefix, str) or not self.path_prefix.startswith("/"):
            raise ValueError("path_prefix must be a path starting with /")
        if self.size_bytes > MAX_HUGE_BYTES:
            raise ValueError(f"size_bytes must be at most {MAX_HUGE_BYTES}")
        if self.body is not None and self.mode not in ("json", "drip"):
            raise ValueError('body is only for mode "json" or "drip"')
        try:
            json.dumps(self.body)
        except (TypeError, ValueError):
            raise ValueError("body must be a JSON value") from None


@dataclass(frozen=True)
class Fault:
    """What to do to one request: wait, then maybe fail it."""

    latency_s: float
    mode: str | None  # None: answer normally after the latency
    status: int
    retry_after: int | None
    body: Any = None
    drip_s: float = 1.0
    size_bytes: int = 0
    hang_s: float = 0.0

    @property
    def wait_s(self) -> float:
        """How long the request waits before it is answered (a hang: before its connection is closed)."""
        return self.latency_s + (self.hang_s if self.mode == "hang" else 0.0)

    def body_chunks(self) -> tuple[int, Iterator[bytes]] | None:
        """For the body modes (json, drip, huge): the Content-Length and the chunks to send; else None."""
        if self.mode == "json":
            data = json.dumps(self.body).encode()
            return len(data), iter([data])
        if self.mode == "drip":
            data = DRIP_BODY if self.body is None else json.dumps(self.body).encode()
            return len(data), _drip(data, self.drip_s)
        if self.mode == "huge":
            return self.size_bytes, _huge(self.size_bytes)
        return None


def _drip(data: bytes, pause_s: float) -> Iterator[bytes]:
    for i in range(len(data)):
        if i:
            time.sleep(pause_s)
        yield data[i : i + 1]


def _huge(size: int) -> Iterator[bytes]:
    """A valid JSON object of exactly ``size`` bytes (at least 16), made in 64 KiB pieces, never held whole."""
    head, tail = b'{"partners": [], "padding": "', b'"}'
    size = max(size, len(head) + len(tail))
    yield head
    left = size - len(head) - len(tail)
    piece = b"x" * 65536
    while left > 0:
        yield piece[: min(left, len(piece))]
        left -= len(piece)
    yield tail


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
        path_prefix: str = DEFAULT_PATH_PREFIX,
        body: Any = None,
        drip_ms: int = 1000,
        size_bytes: int = 1024 * 1024,
        hang_ms: int = 600_000,
    ) -> None:
        """Replace the plan in force; ValueError names a bad field."""
        plan = FaultPlan(
            latency_ms, fail_next, status, retry_after, mode, path_prefix, body, drip_ms, size_bytes, hang_ms
        )
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

    def idle(self) -> bool:
        """No plan that delays or fails a request is armed (the server then answers in its I/O thread)."""
        plan = self._plan  # one read of a reference: no lock needed for a snapshot
        return plan.latency_ms == 0 and plan.fail_next == 0

    def spares(self, path: str) -> bool:
        """No fault applies to a request to ``path`` now: it is answered as quickly as with none armed.

        A guess without the lock (one read of a reference): the request's fault is taken later, by
        ``take``. The server only uses it to choose a thread (see ``EmulatorApp.hold`` for why a
        fault armed in between still never streams from the I/O thread).
        """
        plan = self._plan
        return not path.startswith(plan.path_prefix) or (plan.latency_ms == 0 and plan.fail_next == 0)

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
            return Fault(
                plan.latency_ms / 1000,
                plan.mode if failing else None,
                plan.status,
                plan.retry_after,
                plan.body,
                plan.drip_ms / 1000,
                plan.size_bytes,
                plan.hang_ms / 1000,
            )


def oauth_echo_answer(authorization: str, body: bytes) -> dict[str, Any]:
    """An OAuth server quoting what it refuses (RFC 6749's error shape): the Authorization header whole,
    ``Basic base64(client_id:client_secret)``, and each form field, ``client_secret`` included.

    A client must print neither: not the header, not the base64, not the decoded secret.
    """
    fields = [f"{name}={value}" for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)]
    quoted = [f"Authorization: {authorization}"] if authorization else []
    description = "Client authentication failed for " + ("; ".join(quoted + fields) or "an empty request")
    return {"error": "invalid_client", "error_description": description}


def echo_answer(body: bytes) -> dict[str, Any]:
    """The error a careless workspace sends: it quotes the values it refuses, secrets included.

    Clients must not print them: the credential comes back without its scheme
    in the message, and inside "request" JSON-escaped however JSON escapes it.
    """
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        document = None
    values = [value for value in document.values() if isinstance(value, str)] if isinstance(document, dict) else []
    message = "; ".join(f"value {value.split(' ')[-1]} is invalid" for value in values) or "invalid request"
    return {"error_code": "INVALID_PARAMETER_VALUE", "message": message, "request": document}
