"""Independent calls at once, their outcomes in the order given.

A command whose requests do not depend on each other's answers (who am I, the
active partner, the scope's keys, its ACL) pays one round trip for all of them
instead of one each. Each call but the first runs in its own daemon thread
(the first in the caller's), so the number in flight is the number of calls
given: callers pass a handful. Every call is bounded by the transport's own
timeouts; the caller waits in short slices, so Ctrl-C reaches the main thread
at once. An exception is kept with its call's outcome, never raised in the
thread: ``Outcome.get()`` raises it where the caller reads that answer, so
errors surface in the same order as when the calls ran one after another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_SLICE_S = 0.1  # how long the caller waits at a time: bounds how late Ctrl-C is seen


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None

    def get(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def together(*calls: Callable[[], Any]) -> list[Outcome]:
    """Run ``calls`` concurrently; their outcomes, in the order of ``calls``."""
    outcomes = [Outcome() for _ in calls]

    def run(index: int) -> None:
        try:
            outcomes[index].value = calls[index]()
        except Exception as e:  # kept for the caller (get()); a thread must not die with it unseen
            outcomes[index].error = e

    threads = [threading.Thread(target=run, args=(i,), name=f"together-{i}", daemon=True) for i in range(1, len(calls))]
    for thread in threads:
        thread.start()
    if calls:
        run(0)
    for thread in threads:
        while thread.is_alive():
            thread.join(_SLICE_S)
    return outcomes


def in_background(call: Callable[[], Any]) -> Callable[[], Outcome]:
    """Start ``call`` now in a daemon thread; the function returned waits for its outcome."""
    outcome = Outcome()

    def run() -> None:
        try:
            outcome.value = call()
        except Exception as e:  # kept for the caller, as in together()
            outcome.error = e

    thread = threading.Thread(target=run, name="background", daemon=True)
    thread.start()

    def wait() -> Outcome:
        while thread.is_alive():
            thread.join(_SLICE_S)
        return outcome

    return wait
