"""The worker threads that run slow answers, and the hand-off of their bytes back to the I/O loop.

Slow work (a Partner Connect click calling a partner, a dripped answer, the
sample partner's slow faults) runs here, so the loop keeps answering
everyone else. At most ``size`` threads, started when a task finds none idle
(a server that answers a handful of requests starts one or two), daemons, so
an answer dripping for an hour never keeps the process from exiting.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("stp_ext.servers")

Task = Callable[[], None]


class Workers:
    """A bounded pool of daemon threads; tasks past its size wait in line."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._tasks: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._stopped = False

    def submit(self, task: Task) -> None:
        with self._lock:
            if self._stopped:
                return
            if self._idle == 0 and self._threads < self.size:
                self._threads += 1
                threading.Thread(target=self._work, name="stp-worker", daemon=True).start()
            else:
                self._idle -= 1  # this task takes an idle thread: the next one must not count on it
        self._tasks.put(task)

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            try:
                task()
            except Exception:  # a bug costs one answer, never the thread that serves the next
                log.exception("serving: a worker's task failed")
            with self._lock:
                if self._stopped:
                    return
                self._idle += 1

    def stop(self) -> None:
        """No new tasks; idle threads end now, busy ones after their task (tasks in line are dropped)."""
        with self._lock:
            self._stopped = True
            threads = self._threads
        while True:  # what is still in line is never run
            try:
                self._tasks.get_nowait()
            except queue.Empty:
                break
        for _ in range(threads):
            self._tasks.put(None)

    @property
    def threads(self) -> int:
        """How many threads have been started (tests)."""
        return self._threads


class Handoff:
    """A worker's writes to one connection, carried to the loop thread, with the connection's flow control.

    ``write`` returns once the loop has handed the bytes to the socket and the
    client is reading (the connection's write buffer is not over its limit), so
    a worker streaming a large answer to a client that does not read waits,
    holding one chunk, not the whole answer.
    """

    def __init__(self, call_soon: Callable[..., object], deliver: Callable[[bytes, threading.Event], None]) -> None:
        self._call_soon = call_soon  # loop.call_soon_threadsafe
        self._deliver = deliver  # runs in the loop: writes, then sets the event when more may come
        self.gone = threading.Event()  # the connection closed: stop writing

    def write(self, data: bytes) -> bool:
        if self.gone.is_set():
            return False
        ready = threading.Event()
        try:
            self._call_soon(self._deliver, data, ready)
        except RuntimeError:  # the loop is closed: the server stopped
            return False
        while not ready.wait(0.5):
            if self.gone.is_set():
                return False
        return not self.gone.is_set()
