"""A clock for retry tests: waits cost nothing, and durations stay honest.

``time()`` is the real time plus every sleep skipped so far, so "gave up after
N s" in a message is what a user would have waited, while the test itself
only spends the real time of its HTTP exchanges. A command gets it as it gets
its terminal: ``run(..., clock=FakeClock())`` (``cli.main(..., clock=...)``).
"""

from __future__ import annotations

import time


class FakeClock:
    def __init__(self) -> None:
        self.slept: list[float] = []
        self._skipped = 0.0

    def time(self) -> float:
        # Epoch seconds like databricks-sdk's RealClock: the SDK's token expiry checks compare against it.
        return time.time() + self._skipped

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._skipped += max(0.0, seconds)

    @property
    def skipped(self) -> float:
        return self._skipped
