"""The local event log's tables and the statements beyond append/read/commit (private).

Everything here is synchronous and runs on one of the log's connection threads
(:mod:`olgraph.log.local`): the schema and its migrations, a run's raw events page by page,
the dead-letter table (list, inspect, replay), and pruning applied events.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence

from olgraph.log.base import LoggedEvent, NewEvent, RunEventsPage
from olgraph.log.dead_letters import DeadLetterPage, DeadLetterView, ReplayOutcome

SCHEMA = """
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
CREATE INDEX IF NOT EXISTS events_by_run_content ON events (run_id, content_id, event_offset)
    WHERE run_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_received_at ON events (received_at);
CREATE TABLE IF NOT EXISTS consumer_offsets (
    consumer TEXT PRIMARY KEY,
    committed_offset INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    event_offset INTEGER PRIMARY KEY,
    reason TEXT NOT NULL,
    raw BLOB NOT NULL,
    at TEXT NOT NULL,
    stage TEXT,
    replayed_at TEXT,
    replayed_offset INTEGER
);
"""

_DEAD_LETTER_COLUMNS = {"stage": "TEXT", "replayed_at": "TEXT", "replayed_offset": "INTEGER"}
"""Columns of ``dead_letters`` added after the first release: added to older files at open."""

EVENT_COLUMNS = "event_offset, received_at, content_id, kind, run_id, job_key, kafka_key, raw"
_LETTER_COLUMNS = "event_offset, reason, raw, at, stage, replayed_at, replayed_offset"


def setup_writer(conn: sqlite3.Connection) -> None:
    """Durability pragmas, the tables, and the migrations of older files."""
    # Only takes effect on a new file (before its first table): pruned space then goes back to the OS.
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.executescript(SCHEMA)
    present = {row[1] for row in conn.execute("PRAGMA table_info(dead_letters)")}
    for column, kind in _DEAD_LETTER_COLUMNS.items():
        if column not in present:
            conn.execute(f"ALTER TABLE dead_letters ADD COLUMN {column} {kind}")


def setup_reader(conn: sqlite3.Connection) -> None:
    """The reading connection only waits for locks."""
    conn.execute("PRAGMA busy_timeout=10000")


def row_to_event(row: tuple[int, str, str, str, str | None, str | None, str, bytes]) -> LoggedEvent:
    """A ``SELECT {EVENT_COLUMNS}`` row as a :class:`LoggedEvent`."""
    offset, received_at, content_id, kind, run_id, job_key, kafka_key, raw = row
    return LoggedEvent(offset, received_at, content_id, kind, run_id, job_key, kafka_key, bytes(raw))


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back, unless SQLite already did (after a full disk or an I/O error), without masking
    the error being handled."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error (the COMMIT included)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


@contextlib.contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction, so several statements see the same data."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def last_offset(conn: sqlite3.Connection) -> int:
    """The offset of the newest event ever appended (pruned or not; 0 before the first)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return int(row[0]) if row else 0


# ---------------------------------------------------------------- a run's raw events


def run_events_page(
    conn: sqlite3.Connection, run_id: str, after: int, limit: int, max_bytes: int
) -> RunEventsPage:
    """Up to ``limit`` events of ``run_id`` after offset ``after``, at most ``max_bytes`` of them
    (but always one), the first copy of each content id only."""
    cursor = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.run_id = ? AND e.event_offset > ? "
        "AND NOT EXISTS (SELECT 1 FROM events d WHERE d.run_id = e.run_id "
        "AND d.content_id = e.content_id AND d.event_offset < e.event_offset) "
        "ORDER BY e.event_offset LIMIT ?",
        (run_id, after, limit + 1),
    )
    events: list[LoggedEvent] = []
    size, more = 0, False
    for row in cursor:  # lazily: a page stops at max_bytes without reading the rest
        event = row_to_event(row)
        if len(events) == limit or (events and size + len(event.raw) > max_bytes):
            more = True
            break
        events.append(event)
        size += len(event.raw)
    cursor.close()
    (total,) = conn.execute(
        "SELECT COUNT(DISTINCT content_id) FROM events WHERE run_id = ?", (run_id,)
    ).fetchone()
    return RunEventsPage(events, int(total), events[-1].offset if more else None)


# ---------------------------------------------------------------- dead letters


def _letter_view(row: tuple[int, str, bytes, str, str | None, str | None, int | None]) -> DeadLetterView:
    offset, reason, raw, at, stage, replayed_at, replayed_offset = row
    return DeadLetterView(
        id=str(offset),
        source=f"offset {offset}",
        stage=stage,
        reason=reason,
        at=at,
        raw=bytes(raw),
        replayed_at=replayed_at,
        replayed_to=None if replayed_offset is None else f"offset {replayed_offset}",
    )


def dead_letter_page(
    conn: sqlite3.Connection, limit: int, after: int, include_replayed: bool
) -> DeadLetterPage:
    """Dead letters with an offset above ``after``, oldest first."""
    pending_only = "" if include_replayed else "AND replayed_at IS NULL "
    rows = conn.execute(
        f"SELECT {_LETTER_COLUMNS} FROM dead_letters WHERE event_offset > ? {pending_only}"
        "ORDER BY event_offset LIMIT ?",
        (after, limit + 1),
    ).fetchall()
    (total,) = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()
    (pending,) = conn.execute("SELECT COUNT(*) FROM dead_letters WHERE replayed_at IS NULL").fetchone()
    items = [_letter_view(row) for row in rows[:limit]]
    more = len(rows) > limit
    return DeadLetterPage(items, int(total), int(pending), items[-1].id if more and items else None)


def dead_letter_one(conn: sqlite3.Connection, offset: int) -> DeadLetterView | None:
    """The dead letter of the event at ``offset``."""
    row = conn.execute(
        f"SELECT {_LETTER_COLUMNS} FROM dead_letters WHERE event_offset = ?", (offset,)
    ).fetchone()
    return None if row is None else _letter_view(row)


def replay(
    conn: sqlite3.Connection,
    offsets: Sequence[int] | None,
    *,
    force: bool,
    limit: int,
    now: str,
    as_event: Callable[[bytes], NewEvent],
) -> list[ReplayOutcome]:
    """Append the dead letters' events again and mark them replayed, in one transaction.

    ``offsets`` None: every dead letter not replayed yet, oldest first, up to ``limit``. A dead
    letter replayed before is skipped unless ``force``. Appending and marking in one
    transaction means two concurrent replays cannot both append the same dead letter.
    """
    outcomes: list[ReplayOutcome] = []
    with write_transaction(conn):
        if offsets is None:
            wanted = [
                row[0]
                for row in conn.execute(
                    "SELECT event_offset FROM dead_letters WHERE replayed_at IS NULL "
                    "ORDER BY event_offset LIMIT ?",
                    (limit,),
                )
            ]
        else:
            wanted = list(dict.fromkeys(offsets))
        for offset in wanted:
            outcomes.append(_replay_one(conn, offset, force=force, now=now, as_event=as_event))
    return outcomes


def _replay_one(
    conn: sqlite3.Connection, offset: int, *, force: bool, now: str, as_event: Callable[[bytes], NewEvent]
) -> ReplayOutcome:
    row = conn.execute(
        "SELECT raw, replayed_at, replayed_offset FROM dead_letters WHERE event_offset = ?", (offset,)
    ).fetchone()
    if row is None:
        return ReplayOutcome(str(offset), "not_found", detail="no dead letter with this id")
    raw, replayed_at, replayed_offset = bytes(row[0]), row[1], row[2]
    if replayed_at is not None and not force:
        return ReplayOutcome(
            str(offset),
            "skipped",
            replayed_to=f"offset {replayed_offset}",
            detail=f"already replayed at {replayed_at} (force replays it again)",
        )
    event = as_event(raw)
    cursor = conn.execute(
        "INSERT INTO events (received_at, content_id, kind, run_id, job_key, kafka_key, raw) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (now, event.content_id, event.kind, event.run_id, event.job_key, event.kafka_key, event.raw),
    )
    new_offset = int(cursor.lastrowid or 0)
    conn.execute(
        "UPDATE dead_letters SET replayed_at = ?, replayed_offset = ? WHERE event_offset = ?",
        (now, new_offset, offset),
    )
    return ReplayOutcome(str(offset), "replayed", replayed_to=f"offset {new_offset}")


# ---------------------------------------------------------------- pruning


def prune_chunk(
    conn: sqlite3.Connection, applied: int, received_before: str | None, max_bytes: int | None, chunk: int
) -> int:
    """Delete up to ``chunk`` applied events (offset ≤ ``applied``), oldest first: those received
    before ``received_before``, then as many more as bring the events' bytes down to ``max_bytes``.
    Returns how many were deleted (fewer than ``chunk``: nothing more to prune now)."""
    upto = 0
    if received_before is not None:
        row = conn.execute(
            "SELECT MAX(event_offset) FROM (SELECT event_offset FROM events WHERE event_offset <= ? "
            "AND received_at < ? ORDER BY event_offset LIMIT ?)",
            (applied, received_before, chunk),
        ).fetchone()
        upto = int(row[0] or 0)
    if max_bytes is not None:
        upto = max(upto, _offset_freeing(conn, applied, max_bytes, chunk))
    if upto == 0:
        return 0
    with write_transaction(conn):
        deleted = conn.execute(
            "DELETE FROM events WHERE event_offset IN "
            "(SELECT event_offset FROM events WHERE event_offset <= ? ORDER BY event_offset LIMIT ?)",
            (upto, chunk),
        ).rowcount
    return int(deleted)


def _offset_freeing(conn: sqlite3.Connection, applied: int, max_bytes: int, chunk: int) -> int:
    """The offset up to which applied events must go for the events to fit in ``max_bytes``."""
    (total,) = conn.execute("SELECT COALESCE(SUM(length(raw)), 0) FROM events").fetchone()
    excess = int(total) - max_bytes
    if excess <= 0:
        return 0
    freed, upto = 0, 0
    rows = conn.execute(
        "SELECT event_offset, length(raw) FROM events WHERE event_offset <= ? ORDER BY event_offset LIMIT ?",
        (applied, chunk),
    )
    for offset, size in rows:
        freed += int(size)
        upto = int(offset)
        if freed >= excess:
            break
    return upto


def release_free_pages(conn: sqlite3.Connection) -> None:
    """Give the pages pruning freed back to the filesystem (files created with auto_vacuum only)."""
    # executescript steps the pragma to its end (execute() would free a single page).
    conn.executescript("PRAGMA incremental_vacuum")
