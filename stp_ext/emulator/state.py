"""The emulator's state in SQLite (standard library).

SQLite gives what hand-written files would have to re-invent: every write is
one transaction, committed (``synchronous=FULL``) before the request that
caused it is answered, so an acknowledged write survives a crash; a torn
write is rolled back, never half-applied; a file that is not a database is
refused at start-up instead of being silently reset. One writing connection,
one lock: the emulator is a test double, and serialising its writes keeps it
simple.

Another program may hold the file's write lock (a backup, ``sqlite3`` in a
terminal). A write then waits at most ``WRITE_WAIT_S`` for it and fails with
``StateBusy`` (answered 503 ``TEMPORARILY_UNAVAILABLE``, which clients retry),
while reads go on: a file store reads through a second, read-only connection,
and in WAL mode a reader never waits for a writer.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stp_ext.core.errors import InputError

SCHEMA_VERSION = 1
READ_WAIT_S = 0.25  # a read's wait for a lock (rare in WAL mode: see read())
WRITE_WAIT_S = 2.0  # the longest a write waits for the state's locks, ours and then SQLite's, before StateBusy
WRITE_WAIT_MS = int(WRITE_WAIT_S * 1000)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS partners (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, config TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scopes (name TEXT PRIMARY KEY, backend_type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS secrets (
    scope TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, updated_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, key));
CREATE TABLE IF NOT EXISTS acls (
    scope TEXT NOT NULL, principal TEXT NOT NULL, permission TEXT NOT NULL,
    PRIMARY KEY (scope, principal));
"""


class EmulatorStateError(InputError):
    """The --state file cannot be used (not a database, wrong version, unreadable)."""


class StateBusy(Exception):
    """The state's write lock could not be taken within WRITE_WAIT_S (another program holds it)."""


class _Group:
    """One group commit in progress: its thread, the deadline for its lock, whether it has begun."""

    def __init__(self, deadline: float) -> None:
        self.thread = threading.get_ident()
        self.deadline = deadline
        self.begun = False
        self.busy = False  # another program held the lock past the deadline


class Store:
    """All partners, scopes, secrets and ACLs; in memory, or in a SQLite file that survives restarts."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()  # the writing connection (and the only one, in memory)
        self._group: _Group | None = None  # the group being committed (group), on the writer's thread
        self._busy_ms = WRITE_WAIT_MS  # SQLite's busy_timeout now (set below, at connect)
        self._read_lock = self._lock  # a file store reads through its own connection, under its own lock
        created = False
        if self.path is None:
            target = ":memory:"
        else:
            target = str(self.path)
            created = _open_or_create(self.path)
        try:
            self._db = sqlite3.connect(target, timeout=WRITE_WAIT_S, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as e:
            self._forget(created)
            raise self._unusable(str(e)) from None
        try:
            if self.path is not None:
                # Read-only checks first: a file we refuse is left exactly as it was (mode included).
                self._check_integrity()
                self._check_ours()
                if not created:
                    _make_private(self.path)  # before WAL: SQLite gives -wal and -shm the file's mode
                # WAL: readers never block the writer; with synchronous=FULL a commit is on disk.
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
            self._reader = self._db
            if self.path is not None:
                self._reader = sqlite3.connect(
                    target, timeout=READ_WAIT_S, check_same_thread=False, isolation_level=None
                )
                self._reader.execute("PRAGMA query_only=1")
                self._read_lock = threading.Lock()
        except sqlite3.DatabaseError as e:
            self._db.close()
            self._forget(created)
            raise self._unusable(str(e)) from None
        except EmulatorStateError:
            self._db.close()
            self._forget(created)
            raise

    def _forget(self, created: bool) -> None:
        """Remove the file this start created, when it is refused after all."""
        if created and self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()

    def _unusable(self, reason: str) -> EmulatorStateError:
        return EmulatorStateError(
            f"the state file {self.path} is not a usable emulator database ({reason})",
            hint="Point --state at a new file, or move this one away; it is never reset silently.",
        )

    def _check_integrity(self) -> None:
        """Refuse a damaged file at start-up rather than fail (or lose data) on some later request."""
        report = [row[0] for row in self._db.execute("PRAGMA quick_check").fetchall()]
        if report != ["ok"]:
            # Drop SQLite's "*** in database main ***" banner; keep the first few findings on one line.
            problems = [line for text in report for line in text.splitlines() if not line.startswith("***")]
            raise self._unusable("damaged: " + "; ".join(problems[:3]))

    def _check_ours(self) -> None:
        """An empty database, or one of ours with our schema version; refused otherwise, unchanged."""
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "meta" not in tables:
            # Someone else's database: adding our tables to it would be a silent surprise.
            raise self._unusable(f"it holds other tables: {', '.join(sorted(tables)[:5])}")
        if "meta" in tables:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is not None and row[0] != str(SCHEMA_VERSION):
                raise EmulatorStateError(
                    f"the state file {self.path} has schema version {row[0]}, this emulator needs {SCHEMA_VERSION}",
                    hint="Use a new --state file.",
                )

    def _migrate(self) -> None:
        with self.transaction() as db:
            # Not executescript(): it would commit in the middle of this transaction.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            if db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic, durable unit of work; committed before the caller answers.

        StateBusy when the lock cannot be had within WRITE_WAIT_S: nothing was written.
        Inside a ``group`` (on its thread), a savepoint of the group's transaction.
        """
        group = self._group
        if group is not None and group.thread == threading.get_ident():
            with self._in_group(group) as db:
                yield db
            return
        deadline = time.monotonic() + WRITE_WAIT_S
        if not self._lock.acquire(timeout=WRITE_WAIT_S):
            raise StateBusy("the writes before this one hold the state")
        try:
            self._begin(deadline)
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as e:
                self._db.execute("ROLLBACK")
                if isinstance(e, sqlite3.OperationalError) and _is_busy(e):
                    raise StateBusy("another program holds the state file locked") from None
                raise
        finally:
            self._lock.release()

    def changed(self, statement: str, parameters: tuple[Any, ...]) -> int:
        """One write statement as its own transaction; how many rows it changed.

        In memory, outside a group, it runs as SQLite runs a lone statement
        (autocommit: atomic by itself), without BEGIN and COMMIT around it: the
        emulator's commonest write (a put that overwrites) costs one statement,
        not three. Otherwise it is a ``transaction`` like any other.
        """
        if self.path is not None or self._group is not None:
            with self.transaction() as db:
                return int(db.execute(statement, parameters).rowcount)
        if not self._lock.acquire(timeout=WRITE_WAIT_S):
            raise StateBusy("the writes before this one hold the state")
        try:
            return int(self._db.execute(statement, parameters).rowcount)
        finally:
            self._lock.release()

    def _begin(self, deadline: float) -> None:
        """BEGIN IMMEDIATE, waiting for another program's lock until ``deadline`` at most."""
        try:
            left_ms = max(1, int((deadline - time.monotonic()) * 1000))
            # What is left of the bound, for SQLite's lock (another program may hold it); set only when
            # it moved by more than 50 ms: it is a statement of its own, and most writes wait for nothing.
            if abs(left_ms - self._busy_ms) > 50:
                self._db.execute(f"PRAGMA busy_timeout = {left_ms}")
                self._busy_ms = left_ms
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if _is_busy(e):
                raise StateBusy("another program holds the state file's write lock") from None
            raise

    @contextmanager
    def group(self, since: float) -> Iterator[None]:
        """Many writes, one transaction and one sync (group commit): durable once this returns.

        The server's one writer thread answers the writes that waited while it
        committed the group before, each in its own savepoint (a write that
        fails is rolled back alone), then commits them all at once and only
        then sends their answers. ``since``: when the oldest of them came
        (``time.monotonic()``); none waits for a lock past WRITE_WAIT_S after it.
        """
        group = _Group(since + WRITE_WAIT_S)
        # Another thread's write (a reset, a click) waiting for another program's lock: each write of
        # this group then answers StateBusy (a 503 to retry), as it would have alone.
        locked = self._lock.acquire(timeout=max(0.001, group.deadline - time.monotonic()))
        group.busy = not locked
        self._group = group
        try:
            yield
            if group.begun:
                self._db.execute("COMMIT")
        except BaseException:
            if group.begun:
                self._db.execute("ROLLBACK")
            raise
        finally:
            self._group = None
            if locked:
                self._lock.release()

    @contextmanager
    def _in_group(self, group: _Group) -> Iterator[sqlite3.Connection]:
        if group.busy:
            raise StateBusy("another program holds the state file's write lock")
        if not group.begun:
            try:
                self._begin(group.deadline)
            except StateBusy:
                group.busy = True  # the others of this group would wait in vain: they fail at once
                raise
            group.begun = True
        self._db.execute("SAVEPOINT write")
        try:
            yield self._db
            self._db.execute("RELEASE write")
        except BaseException as e:
            self._db.execute("ROLLBACK TO write")
            self._db.execute("RELEASE write")
            if isinstance(e, sqlite3.OperationalError) and _is_busy(e):
                raise StateBusy("another program holds the state file locked") from None
            raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Reads only: no write transaction, no commit to wait for.

        The statements of one read see one state: one read transaction on a
        file store (a snapshot, in WAL mode), the writers' lock in memory.
        """
        with self._read_lock:
            if self._reader is self._db:
                yield self._db
                return
            try:
                self._reader.execute("BEGIN")
                try:
                    yield self._reader
                finally:
                    self._reader.execute("COMMIT")
            except sqlite3.OperationalError as e:
                # In WAL mode only an exclusive lock (another program's locking_mode=EXCLUSIVE, a
                # recovery) stops a reader; it waits READ_WAIT_S at most: reads run in the I/O thread.
                if _is_busy(e):
                    raise StateBusy("another program holds the state file locked") from None
                raise

    def close(self) -> None:
        """Close the database (idempotent); in WAL mode this folds the log back into the file."""
        with self._read_lock:
            if self._reader is not self._db:
                self._reader.close()
        with self._lock:
            self._db.close()

    def wipe(self) -> None:
        with self.transaction() as db:
            for table in ("partners", "scopes", "secrets", "acls"):
                db.execute(f"DELETE FROM {table}")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: a lock held elsewhere, not a broken database."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (primary codes; extended ones add high bits)
    return "locked" in str(error)


def now_ms() -> int:
    return int(time.time() * 1000)


def _open_or_create(path: Path) -> bool:
    """Check an existing state file is a regular file, or create a new one as 0600; True if created.

    Nothing about an existing file changes here: it is made private only once accepted.
    """
    try:
        if path.exists():
            if not stat.S_ISREG(path.stat().st_mode):
                raise EmulatorStateError(
                    f"the state file {path} is not a regular file",
                    hint="Point --state at a new or existing emulator database file.",
                )
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        os.close(fd)
        return True
    except FileExistsError:
        # A link to nowhere, or a file made by someone else since the check: do not guess.
        raise EmulatorStateError(
            f"the state file {path} appeared or is a broken link", hint="Point --state at another file."
        ) from None
    except OSError as e:
        raise EmulatorStateError(f"cannot open the state file {path}: {e.strerror or e}") from None


def _make_private(path: Path) -> None:
    """0600 for an accepted state file (it holds secret values); an existing file keeps its mode otherwise."""
    try:
        if stat.S_IMODE(path.stat().st_mode) != 0o600:
            os.chmod(path, 0o600)
    except OSError as e:
        raise EmulatorStateError(f"cannot make the state file {path} private: {e.strerror or e}") from None
