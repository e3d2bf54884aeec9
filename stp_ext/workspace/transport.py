"""The transport under ``Workspace.do``: one bounded reader for every answer.

databricks-sdk's ApiClient sends through a ``requests`` session. The adapter
mounted here reads every answer itself, whatever the call site, with the
tool's one capped reader (``stp_ext.core.wire.read_capped``): at most
``MAX_BODY_BYTES``, and all of it within the HTTP timeout, however slowly it
drips (requests' own timeout only bounds each wait for the next bytes). A
response hook remembers the status and Retry-After of the last answer, which
the SDK's error classes do not keep. What a failure means, and whether a
retry can help, is ``stp_ext.core.wire.classify``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
import requests.adapters

from stp_ext.core.wire import AnswerTooLarge, AnswerTooSlow, read_capped
from stp_ext.workspace.sdk_seam import settle_body

logger = logging.getLogger(__name__)

# The largest answer read from a workspace. The APIs used here answer a few KiB
# (a secret scope lists at most 1000 keys); 16 MiB leaves room and keeps a
# runaway answer from taking the machine's memory.
MAX_BODY_BYTES = 16 * 1024 * 1024


# requests' types, so that the SDK and ``Workspace`` handle them as the failures of a request; each
# is raised from the reader's own exception, which ``classify`` finds in the chain.
class ResponseTooLarge(requests.exceptions.RequestException):
    """The answer is larger than the adapter's cap."""


class ResponseTooSlow(requests.exceptions.ReadTimeout):
    """The answer kept coming, too slowly to finish within the HTTP timeout."""


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None


class BoundedAdapter(requests.adapters.HTTPAdapter):
    """Reads each whole answer within ``total_seconds`` and ``max_bytes``."""

    def __init__(self, total_seconds: float, max_bytes: int = MAX_BODY_BYTES) -> None:
        super().__init__()
        self.total_seconds = total_seconds
        self.max_bytes = max_bytes

    # requests' HTTPAdapter.send names each keyword; we pass them all through unchanged.
    def send(self, request: Any, stream: bool = False, **kwargs: Any) -> Any:  # type: ignore[override]
        started = time.monotonic()
        response = super().send(request, stream=True, **kwargs)
        if stream:  # the caller reads the body itself (the SDK's raw downloads; not used here)
            return response
        try:
            body = read_bounded(response.raw, started + self.total_seconds, self.max_bytes)
        except BaseException:
            response.close()
            raise
        settle_body(response, body)  # later reads of .content return it
        release = getattr(response.raw, "release_conn", None)
        if callable(release):
            release()
        return response


def read_bounded(raw: Any, deadline: float, max_bytes: int) -> bytes:
    """All of a urllib3 response body, or ResponseTooSlow / ResponseTooLarge."""
    read1 = getattr(raw, "read1", None)

    def read(size: int) -> bytes:
        return bytes(read1(size, decode_content=True) if callable(read1) else raw.read(8192, decode_content=True))

    try:
        body = read_capped(read, deadline, max_bytes)
    except AnswerTooSlow as e:
        raise ResponseTooSlow(str(e)) from e
    if body.truncated:
        too_large = AnswerTooLarge(max_bytes)
        raise ResponseTooLarge(str(too_large)) from too_large
    return body.data


def bound_session(session: Any, total_seconds: float) -> Any:
    """Mount the bounded reader and the answer hook on the SDK's session; None if it is not a Session."""
    if not isinstance(session, requests.Session):
        return None
    adapter = BoundedAdapter(total_seconds)
    session.mount("https://", adapter)
    session.mount("http://", adapter)

    # Per thread: requests of one session may run at once (`get --all-profiles`, doctor), and each
    # retry must read its own answer's Retry-After. The hook runs in the thread that sent the request.
    answers = threading.local()
    # Our own attribute on the SDK's session (read back by last_answer()): mypy cannot know it.
    session.stp_answers = answers  # type: ignore[attr-defined]

    def remember(response: Any, *args: Any, **kwargs: Any) -> Any:
        answers.last = Answer(response.status_code, response.headers.get("Retry-After"))
        return response

    session.hooks.setdefault("response", []).append(remember)
    return session


def last_answer(session: Any) -> Answer | None:
    """The last answer this thread got on ``session``."""
    return getattr(getattr(session, "stp_answers", None), "last", None)
