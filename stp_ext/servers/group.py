"""Group commit: one writer thread answers the durable writes together, then sends their answers.

The app says which requests write to durable state (``grouped``) and how a
group of them is made durable at once (``group(since)``: a context manager,
one transaction and one sync for all of them). The writer thread takes every
such request that waited while it committed the group before, runs the app
on each inside ``group``, keeps the answers, and sends them only once the
group is committed: "durable before answered" holds, and a commit costs one
sync for many writes. One thread, so no 32 workers contend for the write
lock (why group commit through waitress's workers was slower than none:
benchmarks/BENCHMARKS.md).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from stp_ext.servers.http11 import Head
from stp_ext.servers.wsgi import ErrorDocument, answer, internal_error

log = logging.getLogger("stp_ext.servers")

Group = Callable[[float], "AbstractContextManager[Any]"]
MAX_GROUP = 256  # writes in one group: the answers of a larger one would wait for too many others

# A write waiting for its group: the connection (answered through deliver), its environ and head, when it came.
Pending = tuple[Any, "dict[str, Any]", Head, float]


class Collected:
    """An answer kept until its group is durable (a sink for ``wsgi.answer``)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> bool:
        self.parts.append(data)
        return True


class GroupWriter:
    """The one thread that answers grouped requests, a group at a time."""

    def __init__(
        self,
        app: Any,
        group: Group,
        error_document: ErrorDocument,
    ) -> None:
        self.app = app
        self.group = group
        self.error_document = error_document
        # From the writer thread: hands a group's answers to the loop (set by the loop that serves).
        self.deliver: Callable[[list[tuple[Any, bytes, bool]]], None] = lambda answers: None
        self._pending: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, conn: Any, environ: dict[str, Any], head: Head) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="stp-group-writer", daemon=True)
            self._thread.start()
        self._pending.put((conn, environ, head, time.monotonic()))

    def stop(self) -> None:
        self._pending.put(None)

    def _run(self) -> None:
        while True:
            first = self._pending.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_GROUP:
                try:
                    more = self._pending.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._pending.put(None)  # stop after this group
                    break
                batch.append(more)
            self.deliver(self._answer(batch))

    def _answer(self, batch: list[Pending]) -> list[tuple[Any, bytes, bool]]:
        """Each write's answer, once the group is committed; if the commit fails, an error for each."""
        answers = []
        try:
            with self.group(min(item[3] for item in batch)):
                for conn, environ, head, _ in batch:
                    kept = Collected()
                    close = answer(self.app, environ, kept, head, self.error_document)
                    answers.append((conn, b"".join(kept.parts), close))
        except Exception:  # nothing of the group is durable: no write of it may be answered as done
            log.exception("serving: a group of writes failed to commit")
            return [(conn, internal_error(self.error_document, head.version), True) for conn, _, head, _ in batch]
        return answers
