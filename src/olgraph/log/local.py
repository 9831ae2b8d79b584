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

Failures of the disk (full, read-only, I/O errors) raise
:class:`~olgraph.errors.EventLogUnavailable` (the API answers 503 with ``Retry-After``), and
:meth:`LocalEventLog.check_writable` reports them for ``/readyz``. Applied events are removed
by :meth:`LocalEventLog.prune` (see :mod:`olgraph.log.retention`); dead letters are kept, with
their own copy of the event, until an operator has dealt with them.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from olgraph.errors import EventLogUnavailable
from olgraph.filesystem import prepare_directory, write_problem
from olgraph.log import _local_sql as sql
from olgraph.log.base import (
    DeadLetter,
    LogCounts,
    LoggedEvent,
    NewEvent,
    RunEventsPage,
    event_from_raw,
)
from olgraph.log.dead_letters import DeadLetterPage, DeadLetterView, ReplayOutcome

T = TypeVar("T")

DEFAULT_MIN_FREE_BYTES = 1024 * 1024
"""Free space below which :meth:`LocalEventLog.check_writable` reports the log as full."""

FAILURE_MEMORY_SECONDS = 30.0
"""How long a failed append keeps :meth:`LocalEventLog.check_writable` failing when nothing has
succeeded since; after that the probe lets traffic try again (no deadlock behind a load balancer)."""

PRUNE_CHUNK = 5000
"""Events deleted per transaction when pruning, so appends are never held up for long."""

EventOf = Callable[[bytes], NewEvent]
"""Builds the :class:`NewEvent` of raw event bytes (to replay a dead letter)."""


def utc_now() -> str:
    """Now, in olgraph's fixed-width UTC time format."""
    return format_time(datetime.now(UTC))


def format_time(moment: datetime) -> str:
    """A UTC time in olgraph's fixed-width format (nanoseconds, ``Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


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
        except MemoryError as exc:
            raise EventLogUnavailable("event log failure: out of memory") from exc

    async def connect(self, path: Path, setup: Callable[[sqlite3.Connection], None]) -> None:
        """Open the connection (autocommit mode: transactions are explicit) and run ``setup``."""

        def _open() -> None:
            try:
                conn = sqlite3.connect(path, isolation_level=None)
            except sqlite3.Error as exc:
                raise EventLogUnavailable(f"cannot open the event log {path}: {exc}") from exc
            try:
                setup(conn)
            except sqlite3.Error as exc:
                conn.close()
                raise EventLogUnavailable(f"cannot open the event log {path}: {exc}") from exc
            self._conn = conn

        await asyncio.get_running_loop().run_in_executor(self._executor, _open)

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


class LocalEventLog:
    """The :class:`~olgraph.log.base.EventLog` of the single-process deployment.

    ``max_size_bytes`` bounds the file: appends beyond it raise ``EventLogUnavailable``
    (the API answers 503) while offset commits keep working. ``min_free_bytes``: below this
    much free space on its filesystem, :meth:`check_writable` reports the log as full.

    Example::

        log = LocalEventLog(Path(".olgraph/events.db"))
        await log.open()
        offsets = await log.append(events)   # returns after fsync
    """

    def __init__(
        self, path: Path, max_size_bytes: int | None = None, *, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES
    ) -> None:
        self.path = path
        self.max_size_bytes = max_size_bytes
        self.min_free_bytes = min_free_bytes
        self._writer = _Connection("olgraph-log-writer")
        self._reader = _Connection("olgraph-log-reader")
        self._pending: list[tuple[Sequence[NewEvent], asyncio.Future[list[int]]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._append_failure: tuple[float, str] | None = None  # (monotonic time, why), until a success

    async def open(self) -> None:
        """Create the file and tables if needed (and add what older files lack)."""
        problem = prepare_directory(self.path.parent) or write_problem(self.path, min_free_bytes=0)
        if problem is not None:
            raise EventLogUnavailable(f"cannot use the event log {self.path}: {problem}")
        await self._writer.connect(self.path, sql.setup_writer)
        await self._reader.connect(self.path, sql.setup_reader)

    async def close(self) -> None:
        """Wait for in-flight appends, then close both connections."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        await self._writer.close()
        await self._reader.close()

    # ------------------------------------------------------------ appending

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
                    self._append_failure = (time.monotonic(), str(exc))
                    for _, future in groups:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self._append_failure = None
                for (_, future), group_offsets in zip(groups, offsets, strict=True):
                    if not future.done():
                        future.set_result(group_offsets)
        finally:
            self._flusher = None

    def _insert(self, conn: sqlite3.Connection, groups: list[Sequence[NewEvent]]) -> list[list[int]]:
        self._check_room(conn, sum(len(e.raw) for group in groups for e in group))
        now = utc_now()
        with sql.write_transaction(conn):
            return [[self._insert_one(conn, event, now) for event in group] for group in groups]

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
        (free,) = conn.execute("PRAGMA freelist_count").fetchone()  # pages pruning freed are reused
        if (pages - free) * page_size + incoming > self.max_size_bytes:
            raise EventLogUnavailable(f"the event log is full ({self.max_size_bytes} bytes)")

    def refusal(self, event: NewEvent) -> str | None:  # noqa: ARG002  (the protocol's signature)
        """None: the local log takes any event the request limits let through."""
        return None

    async def check_writable(self) -> None:
        """Raise ``EventLogUnavailable`` unless an append could be committed now.

        Fails on a read-only or full filesystem (less than ``min_free_bytes`` free), a file at
        ``max_size_bytes``, a write lock that cannot be taken, and for a while
        (:data:`FAILURE_MEMORY_SECONDS`) after an append failed, until one succeeds.
        """
        failure = self._append_failure
        if failure is not None and time.monotonic() - failure[0] < FAILURE_MEMORY_SECONDS:
            raise EventLogUnavailable(f"the last append failed: {failure[1]}")
        problem = await asyncio.to_thread(write_problem, self.path, self.min_free_bytes, probe=True)
        if problem is not None:
            raise EventLogUnavailable(f"the event log cannot take events: {problem}")

        def _probe(conn: sqlite3.Connection) -> None:
            self._check_room(conn, 0)
            conn.execute("BEGIN IMMEDIATE")
            sql.rollback(conn)

        await self._writer.call(_probe)

    # ------------------------------------------------------------ consuming

    async def read(self, after: int, limit: int) -> list[LoggedEvent]:
        """Up to ``limit`` events after offset ``after``, in log order."""

        def _read(conn: sqlite3.Connection) -> list[LoggedEvent]:
            rows = conn.execute(
                f"SELECT {sql.EVENT_COLUMNS} FROM events WHERE event_offset > ? "
                "ORDER BY event_offset LIMIT ?",
                (after, limit),
            ).fetchall()
            return [sql.row_to_event(row) for row in rows]

        return await self._reader.call(_read)

    async def committed(self, consumer: str) -> int:
        """The offset ``consumer`` has committed (0 when it never has)."""
        return await self._reader.call(lambda conn: _committed(conn, consumer))

    async def commit(self, consumer: str, offset: int, dead_letters: Sequence[DeadLetter] = ()) -> None:
        """Record ``consumer``'s progress and the dead letters of the stretch, in one transaction."""

        def _commit(conn: sqlite3.Connection) -> None:
            now = utc_now()
            with sql.write_transaction(conn):
                conn.executemany(
                    "INSERT OR REPLACE INTO dead_letters (event_offset, reason, raw, at, stage) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(d.offset, d.reason, d.raw, now, d.stage or None) for d in dead_letters],
                )
                conn.execute(
                    "INSERT INTO consumer_offsets (consumer, committed_offset, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (consumer) DO UPDATE SET committed_offset = excluded.committed_offset, "
                    "updated_at = excluded.updated_at",
                    (consumer, offset, now),
                )

        await self._writer.call(_commit)

    async def counts(self, consumer: str) -> LogCounts:
        """Totals for the stats endpoint (offsets have no gaps, even after pruning)."""

        def _counts(conn: sqlite3.Connection) -> LogCounts:
            with sql.read_snapshot(conn):
                committed = _committed(conn, consumer)
                last = sql.last_offset(conn)
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

    # ------------------------------------------------------------ reading back

    async def raw_events_for_run(
        self, run_id: str, *, after: int = 0, limit: int = 1000, max_bytes: int = 8 * 1024 * 1024
    ) -> RunEventsPage:
        """A page of run ``run_id``'s events in log order, the first of each content id only:
        at most ``limit`` events and ``max_bytes`` of them (always at least one)."""

        def _read(conn: sqlite3.Connection) -> RunEventsPage:
            with sql.read_snapshot(conn):
                return sql.run_events_page(conn, run_id, after, limit, max_bytes)

        return await self._reader.call(_read)

    async def delete_events_before(
        self, received_before: str, applied_offset: int, limit: int, dry_run: bool = False
    ) -> int:
        """Retention: remove up to ``limit`` raw events received before ``received_before`` and
        already applied (offset at most ``applied_offset``), oldest first, in one transaction;
        return how many went (dry: how many would, in all). Dead letters are kept. The same
        deletion as :meth:`prune`'s (``prune_chunk``), asked for by age alone."""
        if dry_run:

            def _count(conn: sqlite3.Connection) -> int:
                (found,) = conn.execute(
                    "SELECT count(*) FROM events WHERE event_offset <= ? AND received_at < ?",
                    (applied_offset, received_before),
                ).fetchone()
                return int(found)

            return await self._writer.call(_count)
        before = received_before
        by_age = partial(sql.prune_chunk, applied=applied_offset, received_before=before, max_bytes=None)
        return await self._writer.call(partial(by_age, chunk=limit))

    async def dead_letters(self, limit: int, after: int = 0) -> list[DeadLetter]:
        """Dead letters after offset ``after``, in log order."""
        page = await self.list_dead_letters(limit, str(after))
        return [DeadLetter(int(v.id), v.reason, v.raw, v.at or "", v.stage or "") for v in page.items]

    async def list_dead_letters(
        self, limit: int, after: str | None = None, *, include_replayed: bool = True
    ) -> DeadLetterPage:
        """Up to ``limit`` dead letters after the one with id (offset) ``after``, oldest first."""
        start = _offset_id(after) if after else 0

        def _read(conn: sqlite3.Connection) -> DeadLetterPage:
            with sql.read_snapshot(conn):
                return sql.dead_letter_page(conn, limit, start or 0, include_replayed)

        return await self._reader.call(_read)

    async def get_dead_letter(self, dead_letter_id: str) -> DeadLetterView | None:
        """The dead letter of the event at offset ``dead_letter_id``, or None."""
        offset = _offset_id(dead_letter_id)
        if offset is None:
            return None
        return await self._reader.call(lambda conn: sql.dead_letter_one(conn, offset))

    async def replay_dead_letters(
        self,
        ids: Sequence[str] | None,
        *,
        force: bool = False,
        limit: int = 1000,
        event_of: EventOf = event_from_raw,
    ) -> list[ReplayOutcome]:
        """Append the events of dead letters ``ids`` (None: all not replayed, up to ``limit``)
        again, durably, and mark them replayed (see :func:`olgraph.log._local_sql.replay`).

        ``event_of`` builds what the log indexes an event by from its bytes.
        """
        offsets = None if ids is None else [_offset_id(i) for i in ids]
        unknown = [
            ReplayOutcome(i, "not_found", detail="not a local dead-letter id (an offset)")
            for i, o in zip(ids or [], offsets or [], strict=True)
            if o is None
        ]
        valid = None if offsets is None else [o for o in offsets if o is not None]
        replay = partial(
            sql.replay, offsets=valid, force=force, limit=limit, now=utc_now(), as_event=event_of
        )
        outcomes = await self._writer.call(replay)
        return unknown + outcomes

    # ------------------------------------------------------------ pruning

    async def prune(self, consumer: str, *, max_age_seconds: float | None, max_bytes: int | None) -> int:
        """Delete events ``consumer`` has applied that are older than ``max_age_seconds``, and the
        oldest applied events while all events take more than ``max_bytes``; return how many.

        Deletes in chunks of :data:`PRUNE_CHUNK` (one transaction each), then gives the freed
        pages back to the filesystem. Events not applied yet and dead letters are never pruned.
        """
        if max_age_seconds is None and max_bytes is None:
            return 0
        cutoff = None
        if max_age_seconds is not None:
            cutoff = format_time(datetime.now(UTC) - timedelta(seconds=max_age_seconds))
        applied = await self.committed(consumer)
        chunk = partial(
            sql.prune_chunk, applied=applied, received_before=cutoff, max_bytes=max_bytes, chunk=PRUNE_CHUNK
        )
        removed = 0
        while True:
            deleted = await self._writer.call(chunk)
            removed += deleted
            if deleted < PRUNE_CHUNK:
                break
        if removed:
            await self._writer.call(sql.release_free_pages)
        return removed


def _offset_id(value: str | None) -> int | None:
    """The offset a local dead-letter id names, or None when it is not one."""
    text = (value or "").strip()
    return int(text) if text.isdecimal() and len(text) < 19 else None


def _committed(conn: sqlite3.Connection, consumer: str) -> int:
    row = conn.execute(
        "SELECT committed_offset FROM consumer_offsets WHERE consumer = ?", (consumer,)
    ).fetchone()
    return int(row[0]) if row else 0
