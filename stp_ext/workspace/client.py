"""The one HTTP path to the workspace: ``Workspace.do``, its retries, its bounds, its error messages.

Auth (which host, which credentials) is ``stp_ext.workspace.auth``; requests
go through databricks-sdk's ApiClient, so authentication headers, the user
agent and error parsing are the SDK's. What to retry, for how long, and what
to tell the user is decided here, one attempt at a time:

* a host name that does not resolve, a TLS failure, plain HTTP sent to an
  HTTPS port (or the reverse), a refused connection and an answer too large
  fail on the first try: retrying cannot fix them (nothing listens on a
  refused port; a proxy that restarts answers 503, which is retried);
* 429 and 503 are retried within the retry budget, honouring Retry-After
  only when it fits in what is left of it;
* a request that was sent and got no answer (timed out, connection dropped)
  is retried once if it is a read and the budget still holds a whole HTTP
  timeout; a write is not retried, and the error says its outcome is unknown
  and how to find out;
* every answer is read by one bounded reader: at most ``MAX_BODY_BYTES`` and
  within the HTTP timeout, however slowly it arrives.

Every "gave up" message states the time really spent. Time comes from the
clock the command was given (``stp_ext.core.clock``): tests give one whose
sleeps cost nothing, so retry tests do not wait.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
from dataclasses import dataclass
from typing import Any

import requests

from stp_ext.core.clock import Clock, MonotonicClock
from stp_ext.core.errors import AuthConfigError, NotFoundError, OutcomeUnknownError, WorkspaceError
from stp_ext.core.inputs import MAX_SECONDS
from stp_ext.core.logs import redact_peer
from stp_ext.core.wire import BACKOFF, NEVER, ONCE, TransportFailure, classify
from stp_ext.workspace import sdk_seam
from stp_ext.workspace.sdk_seam import load_core
from stp_ext.workspace.shapes import Shape
from stp_ext.workspace.transport import MAX_BODY_BYTES, Answer, bound_session, last_answer

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_ENV = "DATABRICKS_STP_HTTP_TIMEOUT_SECONDS"
RETRY_TIMEOUT_ENV = "DATABRICKS_STP_RETRY_TIMEOUT_SECONDS"
# How long one request may take (connect, send, the whole answer), and how long
# to keep retrying 429/503 and dropped reads. A typo in the host fails at once
# whatever these say; a host that never answers costs one HTTP timeout.
DEFAULT_HTTP_TIMEOUT = 8.0
DEFAULT_RETRY_TIMEOUT = 6.0
READS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Timeouts:
    http_seconds: float
    retry_seconds: float

    @classmethod
    def from_environment(cls) -> Timeouts:
        return cls(
            http_seconds=_positive_number(HTTP_TIMEOUT_ENV, DEFAULT_HTTP_TIMEOUT),
            retry_seconds=_positive_number(RETRY_TIMEOUT_ENV, DEFAULT_RETRY_TIMEOUT),
        )

    @property
    def sdk_retry_seconds(self) -> int:
        # Whole seconds, rounded up: the SDK reads 0 as "not set" and waits its 300 s default.
        return max(1, math.ceil(self.retry_seconds))


def _positive_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not math.isfinite(value) or value <= 0:  # nan and inf too: they would crash or wait forever
        raise AuthConfigError(f"{name}={raw!r} is not a positive number of seconds")
    if value > MAX_SECONDS:  # 1e10 overflows the sockets' and the SDK's waits
        raise AuthConfigError(f"{name}={raw!r} is more than {MAX_SECONDS:g} s (one hour), the longest wait allowed")
    return value


@dataclass(frozen=True)
class WorkspaceInfo:
    host: str
    auth_type: str
    profile: str | None
    source: str  # how the workspace was chosen, for messages: "profile 'emu' in ~/.databrickscfg"


@dataclass(frozen=True)
class HintRule:
    """A next step for a workspace error: matched on status and/or words of the message, first match wins."""

    status: int | None
    words: str | None
    hint: str  # {host} and {source} are filled in

    def matches(self, status: int | None, message: str) -> bool:
        if self.status is not None and status != self.status:
            return False
        return self.words is None or self.words in message.lower()


_TOKEN_REFUSED = (
    "The token was refused by {host}. Check the host and token of {source}, or log in again (databricks auth login)."
)
HINT_RULES = (
    HintRule(401, None, _TOKEN_REFUSED),
    HintRule(None, "invalid access token", _TOKEN_REFUSED),
    HintRule(403, "admin", "Only workspace admins can do this. Use an admin's credentials instead of {source}."),
)


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


class Workspace:
    """A configured databricks-sdk ApiClient, with errors turned into domain errors."""

    def __init__(self, api_client: Any, info: WorkspaceInfo, timeouts: Timeouts, clock: Clock | None = None) -> None:
        _prefer_reason_phrase(api_client)
        self._api = api_client
        self.info = info
        self.timeouts = timeouts
        self._clock = clock or MonotonicClock()
        # One attempt at a time through the SDK's request path (auth, user agent, error parsing).
        # Without it (a future SDK), requests fall back to ApiClient.do and the SDK's own retries.
        path = sdk_seam.request_path(api_client)
        self._session = bound_session(path.session, timeouts.http_seconds) if path else None
        if path is not None and self._session is None:
            logger.debug("databricks-sdk's session is not a requests.Session: using ApiClient.do")
        self._one_attempt = path if self._session is not None else None

    @property
    def host(self) -> str:
        return self.info.host

    def do(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one API call, retried as the module docstring says; the JSON object it answered."""
        core = load_core()
        clock = self._clock
        started = clock.time()
        deadline = started + self.timeouts.retry_seconds
        method = method.upper()
        attempt = 0
        timeouts_retried = 0
        while True:
            attempt += 1
            try:
                content = self._attempt(method, path, body, query)
                return self._json_object(method, path, content)
            except core.DatabricksError as e:
                error = self._api_error(e)
                if error.status not in (429, 503) or self._one_attempt is None:  # the fallback path retried already
                    raise error from None
                asked = _retry_after(last_answer(self._session))
                now = clock.time()
                if asked is not None:
                    # Retry-After beyond what is left of the budget: the workspace said not before then.
                    if now + asked > deadline:
                        raise self._gave_up(error, now - started, asked, deadline - now) from None
                    wait = max(asked, 0.25)  # Retry-After: 0 must not turn into a request storm
                else:
                    budgeted = self._within_budget(_backoff(attempt), now, deadline)
                    if budgeted is None:
                        raise self._gave_up(error, now - started) from None
                    wait = budgeted
            except TransportFailure as failure:
                now = clock.time()
                pause = self._network_pause(failure, method, attempt, now - started, deadline - now, timeouts_retried)
                if pause is None:
                    if failure.maybe_acted_on and method not in READS:
                        raise self._outcome_unknown(method, path, failure, now - started) from None
                    raise self._unreachable(failure, now - started) from None
                if failure.retry == ONCE:
                    timeouts_retried += 1
                wait = pause
            logger.debug("retrying %s %s in %s (attempt %d)", method, path, _seconds(wait), attempt + 1)
            clock.sleep(wait)

    def _network_pause(
        self, failure: TransportFailure, method: str, attempt: int, spent: float, left: float, timeouts_retried: int
    ) -> float | None:
        """How long to wait before trying again after a network failure (``core.wire.KINDS`` says which
        kinds a retry can help); None: do not try again."""
        if self._one_attempt is None:
            return None  # the fallback path (ApiClient.do) retried already
        if failure.maybe_acted_on and method not in READS:
            return None  # it may have been done: repeating a write is not ours to decide
        if failure.retry == BACKOFF:
            return self._within_budget(_backoff(attempt), 0.0, left)
        if failure.retry == ONCE:
            # Once, and only if a whole HTTP timeout still fits: a silent host costs one timeout, two at most.
            return 0.0 if timeouts_retried == 0 and left >= self.timeouts.http_seconds else None
        return None  # NEVER: retrying cannot fix it

    @staticmethod
    def _within_budget(wait: float, now: float, deadline: float) -> float | None:
        """The back-off, shortened to end at the deadline for a last try; None when no time is left."""
        left = deadline - now
        return min(wait, left) if left > 0.05 else None

    def read(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> Shape:
        """``do``, with the answer read through ``Shape`` (typed fields, one clear error for a wrong shape)."""
        answer = self.do(method, path, body=body, query=query)
        hint = f"Is {self.host} a Databricks workspace URL? Check the host in {self.info.source}."
        return Shape(answer, f"{self.host} answered {method.upper()} {path}", hint)

    def _attempt(self, method: str, path: str, body: dict[str, Any] | None, query: dict[str, Any] | None) -> bytes:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            if self._one_attempt is None:
                result = self._api.do(method, path, body=body, query=query, headers=headers)
                return json.dumps(result).encode()
            headers["User-Agent"] = self._one_attempt.user_agent  # what ApiClient.do would add
            response = self._one_attempt.perform(method, f"{self.host}{path}", query=query, headers=headers, body=body)
            return bytes(response.content)
        except requests.RequestException as e:
            raise classify(e) from None
        except ValueError as e:
            # The SDK's credential providers report a refused token request (OAuth M2M with a wrong
            # client secret: "invalid_client: ...") as a bare ValueError raised before anything is sent.
            raise WorkspaceError(
                f"{self.host} refused the credentials of {self.info.source}: {redact_peer(str(e))}",
                hint="Check client_id and client_secret (or the token) there; `databricks auth login` renews them.",
                status=401,
            ) from None
        except TimeoutError as e:  # the SDK's retry loop gave up (fallback path only)
            cause = e.__cause__
            if isinstance(cause, requests.RequestException):
                raise classify(cause) from None
            raise

    def _json_object(self, method: str, path: str, content: bytes) -> dict[str, Any]:
        if not content.strip():
            return {}
        try:
            result = json.loads(content)
        except (ValueError, UnicodeDecodeError):
            raise self._not_json(method, path) from None
        if isinstance(result, dict):
            return result
        raise WorkspaceError(
            f"{self.host} answered {method} {path} with JSON that is not an object",
            hint=f"Is {self.host} a Databricks workspace URL? Check the host in {self.info.source}.",
        )

    def _api_error(self, error: Any) -> WorkspaceError:
        answer = last_answer(self._session)
        status = answer.status if answer is not None else _status_of(error)
        code = error.error_code if isinstance(error.error_code, str) else None
        message = redact_peer(str(error)).strip() or f"HTTP {status}"
        hint = next(
            (
                rule.hint.format(host=self.host, source=self.info.source)
                for rule in HINT_RULES
                if rule.matches(status, message)
            ),
            None,
        )
        cls = NotFoundError if status == 404 else WorkspaceError
        return cls(message, hint, status=status, error_code=code)

    def _not_json(self, method: str, path: str) -> WorkspaceError:
        return WorkspaceError(
            f"{self.host} answered {method} {path} with a body that is not JSON",
            hint=f"Is {self.host} a Databricks workspace URL? Check the host in {self.info.source}.",
        )

    def _gave_up(
        self, last: WorkspaceError, elapsed: float, asked: float | None = None, left: float = 0.0
    ) -> WorkspaceError:
        why = f"gave up after {_seconds(elapsed)}"
        if asked is not None:
            budget = f"the {_seconds(max(left, 0))} left of the retry budget"
            why = f"it asked to retry after {asked:g} s, more than {budget}; {why}"
        return WorkspaceError(
            f"{self.host} is busy or unavailable: {last.message} ({why})",
            hint=f"Try again later; {RETRY_TIMEOUT_ENV} sets how long to keep retrying.",
            status=last.status,
            error_code=last.error_code,
        )

    def _unreachable(self, failure: TransportFailure, elapsed: float) -> WorkspaceError:
        if failure.kind == "connection_refused":  # failed on the first try: nothing was waited for
            return WorkspaceError(
                f"cannot reach {self.host}: {failure.message}",
                hint=f"Check the host in {self.info.source}, and that the workspace (or emulator) is up.",
            )
        if failure.retry == NEVER:  # retrying cannot fix these: no "gave up", just what is wrong
            return WorkspaceError(
                f"cannot use {self.host}: {failure.message}",
                hint=f"Check the host in {self.info.source}." + (f" {failure.hint}" if failure.hint else ""),
            )
        return WorkspaceError(
            f"cannot reach {self.host}: {failure.message} (gave up after {_seconds(elapsed)})",
            hint=f"Check the host in {self.info.source} and your network. "
            f"{RETRY_TIMEOUT_ENV} and {HTTP_TIMEOUT_ENV} set how long to wait.",
        )

    def _outcome_unknown(self, method: str, path: str, failure: TransportFailure, elapsed: float) -> WorkspaceError:
        check = "databricks-stp secret status" if "/secrets/" in path else "databricks-stp get"
        return OutcomeUnknownError(
            f"no answer from {self.host} to {method} {path}: {failure.message} after {_seconds(elapsed)}; "
            "the change may or may not have been made",
            hint=f"Check with `{check}` before trying again; {HTTP_TIMEOUT_ENV} sets how long to wait for an answer.",
        )


def _backoff(attempt: int) -> float:
    """1, 2, 3 s... (at most 5) plus a little jitter, so many clients do not retry in step."""
    return float(min(attempt, 5)) + random.uniform(0, 0.25)


def _retry_after(answer: Answer | None) -> float | None:
    """The Retry-After the workspace sent, in seconds; None when it sent none (or an HTTP date)."""
    raw = answer.retry_after if answer is not None else None
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def _prefer_reason_phrase(api_client: Any) -> None:
    """Take error messages from the JSON ``message``, else ``x-databricks-reason-phrase``, else the status.

    The SDK would otherwise dig a message out of an HTML page, or print a long
    "report this bug" text. Error customizers are the SDK's extension point for
    this; ApiClient has no public way to add one, so this reaches its parser and
    degrades to the SDK's own messages if that ever moves (a test pins it).
    """
    hooks = sdk_seam.error_hooks(api_client, load_core())
    if hooks is None:
        return
    base = hooks.customizer_base

    # base is the SDK's error customizer class, found at run time: mypy sees a variable.
    class ReasonPhrase(base):  # type: ignore[misc,valid-type]
        def customize_error(self, response: Any, kwargs: dict[str, Any]) -> None:
            try:
                payload = response.json()
            except ValueError:
                payload = None
            if isinstance(payload, dict) and isinstance(payload.get("message"), str) and payload["message"]:
                # Also undoes the SDK's habit of appending its config dump to 401/403 messages:
                # our hint names the profile or variables to check instead.
                kwargs["message"] = payload["message"]
                return
            status = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
            kwargs["message"] = response.headers.get("x-databricks-reason-phrase") or (
                status if payload is not None else f"{status}, and the answer is not JSON"
            )

    class AnyBody:
        """The last deserializer: any error body (an HTML page, truncated JSON) gives an error.

        Without it the SDK answers these with a multi-line "report this bug"
        text and a request dump, and skips the customizers.
        """

        def deserialize_error(self, response: Any, content: bytes) -> dict[str, Any]:
            return {"message": f"HTTP {response.status_code}"}

    hooks.customizers.append(ReasonPhrase())
    if hooks.parsers is not None:
        hooks.parsers.append(AnyBody())


def _status_by_class() -> dict[type, int]:
    """databricks-sdk's own status table (status -> error class), inverted."""
    try:
        # deferred: databricks-sdk is loaded by sdk_seam.load_core (its fast loader), before this runs
        from databricks.sdk.errors import platform

        return {cls: status for status, cls in platform.STATUS_CODE_MAPPING.items()}
    except (ImportError, AttributeError):  # a release without the table: the status stays unknown
        return {}


def _status_of(error: Any) -> int | None:
    # Only when no answer was seen (the fallback path): the error's class, chosen by
    # status when the error_code is unknown, tells the status.
    table = _status_by_class()
    return next((table[cls] for cls in type(error).__mro__ if cls in table), None)


__all__ = [
    "DEFAULT_HTTP_TIMEOUT",
    "DEFAULT_RETRY_TIMEOUT",
    "HTTP_TIMEOUT_ENV",
    "MAX_BODY_BYTES",
    "RETRY_TIMEOUT_ENV",
    "Timeouts",
    "Workspace",
    "WorkspaceInfo",
]
