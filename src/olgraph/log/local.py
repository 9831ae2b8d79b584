"""The local durable event log: one SQLite file in WAL mode with ``synchronous=FULL``.

With ``synchronous=FULL`` SQLite fsyncs the write-ahead log on every commit, so once
:meth:`LocalEventLog.append` returns, the events survive a crash or power loss: that is
the durability a 201 from the ingest API promises.

Concurrent appends are *group-committed*: while one transaction is being fsynced, the
appends that arrive queue up and go to disk together in the next one. Each caller still
waits for its own events' fsync, but N concurrent requests cost one fsync, not N.

SQLite connections are used from one dedicated thread each (a writer and a reader; WAL
lets the reader see committed data while the writer works), so the event loop never
blocks on disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from olgraph.errors import EventLogUnavailable
from olgraph.log.base import DeadLetter, LogCounts, LoggedEvent, NewEvent

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_offset INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    content_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    run_id TEXT,
    job_key TEXT,
    kafka_key TEXT NOT NULL,
    raw BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id) WHERE run_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS consumer_offsets (
    consumer TEXT PRIMARY KEY,
    committed_offset INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    event_offset INTEGER PRIMARY KEY,
    reason TEXT NOT NULL,
    raw BLOB NOT NULL,
    at TEXT NOT NULL
);
"""
_EVENT_COLUMNS = "event_offset, received_at, content_id, kind, run_id, job_key, kafka_key, raw"


def utc_now() -> str:
    """Now, in olgraph's fixed-width UTC time format."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


class _Connection:
    """One SQLite connection, created and used only in its own thread."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` with the connection in its thread; SQLite errors become ``EventLogUnavailable``."""
        if self._conn is None:
            raise EventLogUnavailable("the event log is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, fn)

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise EventLogUnavailable("the event log is closed")
        try:
            return fn(self._conn)
        except sqlite3.Error as exc:
            raise EventLogUnavailable(f"event log failure: {exc}") from exc

    async def connect(self, path: Path, setup: Callable[[sqlite3.Connection], None]) -> None:
        """Open the connection (autocommit mode: transactions are explicit) and run ``setup``."""

        def _open() -> None:
            try:
                conn = sqlite3.connect(path, isolation_level=None)
            except sqlite3.Error as exc:
                raise EventLogUnavailable(f"cannot open the event log {path}: {exc}") from exc
            self._conn = conn

        await asyncio.get_running_loop().run_in_executor(self._executor, _open)
        await self.call(setup)

    async def close(self) -> None:
        """Close the connection and stop the thread (a second call does nothing)."""
        if self._closed:
            return
        self._closed = True

        def _close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, _close)
        self._executor.shutdown(wait=True)


def _setup_writer(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.executescript(_SCHEMA)


def _setup_reader(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA busy_timeout=10000")


def _row_to_event(row: tuple[int, str, str, str, str | None, str | None, str, bytes]) -> LoggedEvent:
    offset, received_at, content_id, kind, run_id, job_key, kafka_key, raw = row
    return LoggedEvent(offset, received_at, content_id, kind, run_id, job_key, kafka_key, bytes(raw))


class LocalEventLog:
    """The :class:`~olgraph.log.base.EventLog` of the single-process deployment.

    ``max_size_bytes`` bounds the file: appends beyond it raise ``EventLogUnavailable``
    (the API answers 503) while offset commits keep working.

    Example::

        log = LocalEventLog(Path(".olgraph/events.db"))
        await log.open()
        offsets = await log.append(events)   # returns after fsync
    """

    def __init__(self, path: Path, max_size_bytes: int | None = None) -> None:
        self.path = path
        self.max_size_bytes = max_size_bytes
        self._writer = _Connection("olgraph-log-writer")
        self._reader = _Connection("olgraph-log-reader")
        self._pending: list[tuple[Sequence[NewEvent], asyncio.Future[list[int]]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Create the file and tables if needed."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EventLogUnavailable(f"cannot create {self.path.parent}: {exc}") from exc
        await self._writer.connect(self.path, _setup_writer)
        await self._reader.connect(self.path, _setup_reader)

    async def close(self) -> None:
        """Wait for in-flight appends, then close both connections."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        await self._writer.close()
        await self._reader.close()

    async def append(self, events: Sequence[NewEvent]) -> list[int]:
        """Append ``events`` durably (fsynced) and return their offsets, in order."""
        if not events:
            return []
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._pending.append((events, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        # Shielded: a caller that gives up (client disconnect) must not cancel the others' commit.
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        """Commit queued appends, one transaction per round, until none are left."""
        try:
            while self._pending:
                groups, self._pending = self._pending, []
                batch = [events for events, _ in groups]
                try:
                    offsets = await self._writer.call(partial(self._insert, groups=batch))
                except Exception as exc:  # every waiter must hear about the failure, whatever it is
                    for _, future in groups:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), group_offsets in zip(groups, offsets, strict=True):
                    if not future.done():
                        future.set_result(group_offsets)
        finally:
            self._flusher = None

    def _insert(self, conn: sqlite3.Connection, groups: list[Sequence[NewEvent]]) -> list[list[int]]:
        self._check_room(conn, sum(len(e.raw) for group in groups for e in group))
        now = utc_now()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = [[self._insert_one(conn, event, now) for event in group] for group in groups]
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    @staticmethod
    def _insert_one(conn: sqlite3.Connection, event: NewEvent, now: str) -> int:
        cursor = conn.execute(
            "INSERT INTO events (received_at, content_id, kind, run_id, job_key, kafka_key, raw) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (now, event.content_id, event.kind, event.run_id, event.job_key, event.kafka_key, event.raw),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _check_room(self, conn: sqlite3.Connection, incoming: int) -> None:
        if self.max_size_bytes is None:
            return
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        if pages * page_size + incoming > self.max_size_bytes:
            raise EventLogUnavailable(f"the event log is full ({self.max_size_bytes} bytes)")

    async def read(self, after: int, limit: int) -> list[LoggedEvent]:
        """Up to ``limit`` events after offset ``after``, in log order."""

        def _read(conn: sqlite3.Connection) -> list[LoggedEvent]:
            rows = conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_offset > ? ORDER BY event_offset LIMIT ?",
                (after, limit),
            ).fetchall()
            return [_row_to_event(row) for row in rows]

        return await self._reader.call(_read)

    async def committed(self, consumer: str) -> int:
        """The offset ``consumer`` has committed (0 when it never has)."""
        return await self._reader.call(lambda conn: _committed(conn, consumer))

    async def commit(self, consumer: str, offset: int, dead_letters: Sequence[DeadLetter] = ()) -> None:
        """Record ``consumer``'s progress and the dead letters of the stretch, in one transaction."""

        def _commit(conn: sqlite3.Connection) -> None:
            now = utc_now()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO dead_letters (event_offset, reason, raw, at) VALUES (?, ?, ?, ?)",
                    [(d.offset, d.reason, d.raw, now) for d in dead_letters],
                )
                conn.execute(
                    "INSERT INTO consumer_offsets (consumer, committed_offset, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (consumer) DO UPDATE SET committed_offset = excluded.committed_offset, "
                    "updated_at = excluded.updated_at",
                    (consumer, offset, now),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._writer.call(_commit)

    async def dead_letters(self, limit: int, after: int = 0) -> list[DeadLetter]:
        """Dead letters after offset ``after``, in log order."""

        def _read(conn: sqlite3.Connection) -> list[DeadLetter]:
            rows = conn.execute(
                "SELECT event_offset, reason, raw, at FROM dead_letters WHERE event_offset > ? "
                "ORDER BY event_offset LIMIT ?",
                (after, limit),
            ).fetchall()
            return [DeadLetter(offset, reason, bytes(raw), at) for offset, reason, raw, at in rows]

        return await self._reader.call(_read)

    async def counts(self, consumer: str) -> LogCounts:
        """Totals for the stats endpoint. Offsets are never reused (AUTOINCREMENT): the newest is
        the sequence's, even after retention removed old events."""

        def _counts(conn: sqlite3.Connection) -> LogCounts:
            conn.execute("BEGIN")  # one snapshot for all the numbers
            try:
                return _counts_in(conn)
            finally:
                conn.execute("COMMIT")

        def _counts_in(conn: sqlite3.Connection) -> LogCounts:
            committed = _committed(conn, consumer)
            (last,) = conn.execute(
                "SELECT max(COALESCE((SELECT MAX(event_offset) FROM events), 0), "
                "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0))"
            ).fetchone()
            (pending,) = conn.execute(
                "SELECT COUNT(*) FROM events WHERE event_offset > ?", (committed,)
            ).fetchone()
            # Dead letters beyond the committed offset (after a reset) count as pending again.
            (failed,) = conn.execute(
                "SELECT COUNT(*) FROM dead_letters WHERE event_offset <= ?", (committed,)
            ).fetchone()
            applied = last - pending - failed
            return LogCounts(last, applied, failed, pending, last, committed)

        return await self._reader.call(_counts)

    async def raw_events_for_run(self, run_id: str) -> list[LoggedEvent]:
        """The events of run ``run_id`` in log order, the first of each content id only."""

        def _read(conn: sqlite3.Connection) -> list[LoggedEvent]:
            rows = conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE run_id = ? ORDER BY event_offset", (run_id,)
            ).fetchall()
            return [_row_to_event(row) for row in rows]

        seen: set[str] = set()
        unique: list[LoggedEvent] = []
        for event in await self._reader.call(_read):
            if event.content_id not in seen:
                seen.add(event.content_id)
                unique.append(event)
        return unique

    async def delete_events_before(
        self, received_before: str, applied_offset: int, limit: int, dry_run: bool = False
    ) -> int:
        """Retention: remove up to ``limit`` raw events received before ``received_before`` and
        already applied (offset at most ``applied_offset``), oldest first, in one transaction;
        return how many went (dry: how many would, in all). Dead letters are kept."""

        def _delete(conn: sqlite3.Connection) -> int:
            where = "event_offset <= ? AND received_at < ?"
            if dry_run:
                (found,) = conn.execute(
                    f"SELECT count(*) FROM events WHERE {where}", (applied_offset, received_before)
                ).fetchone()
                return int(found)
            conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = conn.execute(
                    "DELETE FROM events WHERE event_offset IN "
                    f"(SELECT event_offset FROM events WHERE {where} ORDER BY event_offset LIMIT ?)",
                    (applied_offset, received_before, limit),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return int(cursor.rowcount)

        return await self._writer.call(_delete)

    async def check_writable(self) -> None:
        """Raise ``EventLogUnavailable`` unless an append could be committed now."""

        def _probe(conn: sqlite3.Connection) -> None:
            self._check_room(conn, 0)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")

        await self._writer.call(_probe)


def _committed(conn: sqlite3.Connection, consumer: str) -> int:
    row = conn.execute(
        "SELECT committed_offset FROM consumer_offsets WHERE consumer = ?", (consumer,)
    ).fetchone()
    return int(row[0]) if row else 0
