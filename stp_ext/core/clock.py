"""The clock seam: where workspace calls read the time and wait (retries, back-offs, the SDK's own waits).

Like the terminal (``stp_ext.core.terminal``), the clock travels with the
command's environment: ``cli.main(..., clock=...)`` puts one on the run's
options, the command hands it to ``workspace.auth.connect``, and from there
it reaches ``Workspace`` and databricks-sdk's ``Config``. Tests pass a clock
whose sleeps cost nothing (``tests/fake_clock.py``), so retry tests do not wait.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """databricks-sdk's Clock interface: ``time()`` in seconds and ``sleep(seconds)``."""

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real clock, immune to wall-clock jumps while measuring elapsed time.

    databricks-sdk only subtracts and compares its clock's readings (retry
    deadlines), so it may run on this one as well as on its own epoch clock.
    """

    def time(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
