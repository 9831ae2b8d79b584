"""The local event log: durable appends, offsets, commits, dead letters, counts, failures."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from olgraph.errors import EventLogUnavailable
from olgraph.log import DeadLetter, EventLog, LocalEventLog, NewEvent

SRC = Path(__file__).resolve().parents[3] / "src"


def _event(n: int, run_id: str | None = "r1", content_id: str | None = None) -> NewEvent:
    raw = f'{{"n": {n}}}'.encode()
    return NewEvent(
        raw=raw,
        content_id=content_id or f"cid-{n}",
        kind="run",
        run_id=run_id,
        job_key="job:ns:j",
        kafka_key="run:ns/j",
    )


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[LocalEventLog]:
    event_log = LocalEventLog(tmp_path / "events.db")
    await event_log.open()
    yield event_log
    await event_log.close()


async def test_implements_the_event_log_protocol(log: LocalEventLog) -> None:
    assert isinstance(log, EventLog)


async def test_append_returns_increasing_offsets_and_read_returns_log_order(log: LocalEventLog) -> None:
    first = await log.append([_event(1), _event(2)])
    second = await log.append([_event(3)])
    assert first == [1, 2]
    assert second == [3]
    assert await log.append([]) == []
    events = await log.read(after=0, limit=10)
    assert [e.offset for e in events] == [1, 2, 3]
    assert [e.raw for e in events] == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
    stored = events[0]
    assert (stored.content_id, stored.kind, stored.run_id, stored.job_key, stored.kafka_key) == (
        "cid-1",
        "run",
        "r1",
        "job:ns:j",
        "run:ns/j",
    )
    assert stored.received_at.endswith("Z")
    assert len(stored.received_at) == 30
    assert [e.offset for e in await log.read(after=1, limit=1)] == [2]
    assert await log.read(after=3, limit=10) == []


async def test_concurrent_appends_get_distinct_contiguous_offsets(log: LocalEventLog) -> None:
    results = await asyncio.gather(*(log.append([_event(i), _event(i + 1000)]) for i in range(50)))
    offsets = sorted(o for pair in results for o in pair)
    assert offsets == list(range(1, 101))
    for i, (a, b) in enumerate(results):  # each caller's events stay together and in order
        assert b == a + 1
        events = await log.read(after=a - 1, limit=2)
        assert [e.raw for e in events] == [f'{{"n": {i}}}'.encode(), f'{{"n": {i + 1000}}}'.encode()]


async def test_file_is_in_wal_mode(log: LocalEventLog) -> None:
    await log.append([_event(1)])
    with sqlite3.connect(log.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_events_survive_a_killed_process(tmp_path: Path) -> None:
    """201 means on disk: a process killed right after append returns loses nothing."""
    path = tmp_path / "events.db"
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal
        from pathlib import Path
        from olgraph.log import LocalEventLog, NewEvent

        async def main():
            log = LocalEventLog(Path({str(path)!r}))
            await log.open()
            for n in range(20):
                await log.append([NewEvent(b'{{"n": %d}}' % n, f"c{{n}}", "run", "r", "job:a:b", "run:a/b")])
            await log.commit("olgraph", 7)
            os.kill(os.getpid(), signal.SIGKILL)  # no close(), no flush: as if the power went

        asyncio.run(main())
        """
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    reopened = LocalEventLog(path)
    await reopened.open()
    try:
        events = await reopened.read(after=0, limit=100)
        assert [e.raw for e in events] == [b'{"n": %d}' % n for n in range(20)]
        assert await reopened.committed("olgraph") == 7
    finally:
        await reopened.close()


async def test_reopening_continues_offsets(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    first = LocalEventLog(path)
    await first.open()
    await first.append([_event(1), _event(2)])
    await first.close()
    second = LocalEventLog(path)
    await second.open()
    assert await second.append([_event(3)]) == [3]
    await second.close()


async def test_commit_records_offset_and_dead_letters_idempotently(log: LocalEventLog) -> None:
    await log.append([_event(i) for i in range(5)])
    assert await log.committed("olgraph") == 0
    dead = [DeadLetter(2, "invalid event: bad", b"x")]
    await log.commit("olgraph", 3, dead)
    await log.commit("olgraph", 3, dead)  # a redelivered round commits the same stretch again
    assert await log.committed("olgraph") == 3
    assert await log.committed("other-group") == 0
    [letter] = await log.dead_letters(limit=10)
    assert (letter.offset, letter.reason, letter.raw) == (2, "invalid event: bad", b"x")
    assert letter.at.endswith("Z")
    assert await log.dead_letters(limit=10, after=2) == []


async def test_counts_add_up(log: LocalEventLog) -> None:
    empty = await log.counts("olgraph")
    assert (empty.accepted, empty.applied, empty.failed, empty.pending, empty.last_offset) == (0, 0, 0, 0, 0)
    await log.append([_event(i) for i in range(6)])
    await log.commit("olgraph", 4, [DeadLetter(3, "poison", b"p")])
    counts = await log.counts("olgraph")
    assert counts.accepted == 6
    assert counts.last_offset == 6
    assert counts.committed_offset == 4
    assert (counts.applied, counts.failed, counts.pending) == (3, 1, 2)
    assert counts.accepted == counts.applied + counts.failed + counts.pending
    await log.commit("olgraph", 0)  # a reset: everything, the dead letter included, is pending again
    reset = await log.counts("olgraph")
    assert (reset.applied, reset.failed, reset.pending) == (0, 0, 6)


async def test_raw_events_for_run_in_log_order_without_redelivered_duplicates(log: LocalEventLog) -> None:
    await log.append([_event(1, "r1"), _event(2, "r2"), _event(3, "r1")])
    await log.append([_event(1, "r1")])  # a client retry: same content id
    await log.append([_event(4, None)])
    page = await log.raw_events_for_run("r1")
    assert [e.raw for e in page.events] == [b'{"n": 1}', b'{"n": 3}']
    assert (page.total, page.next) == (2, None)
    nope = await log.raw_events_for_run("nope")
    assert (nope.events, nope.total, nope.next) == ([], 0, None)


async def test_raw_events_for_run_come_in_pages_of_limit_events(log: LocalEventLog) -> None:
    await log.append([_event(n, "r1") for n in range(1, 8)])
    await log.append([_event(3, "r1")])  # a duplicate after the first page: never shown twice
    seen: list[bytes] = []
    after, pages = 0, 0
    while True:
        page = await log.raw_events_for_run("r1", after=after, limit=3)
        assert page.total == 7
        assert len(page.events) <= 3
        seen.extend(e.raw for e in page.events)
        pages += 1
        if page.next is None:
            break
        after = page.next
    assert seen == [f'{{"n": {n}}}'.encode() for n in range(1, 8)]
    assert pages == 3


async def test_a_page_of_raw_events_stops_at_max_bytes_but_holds_at_least_one(log: LocalEventLog) -> None:
    big = [NewEvent(b'{"pad": "' + b"x" * 1000 + b'"}', f"c{n}", "run", "r1", None, "k") for n in range(5)]
    await log.append(big)
    page = await log.raw_events_for_run("r1", limit=100, max_bytes=2500)
    assert len(page.events) == 2
    assert page.next == page.events[-1].offset
    tiny = await log.raw_events_for_run("r1", limit=100, max_bytes=10)
    assert len(tiny.events) == 1  # one event larger than the cap still comes, alone
    assert tiny.next == tiny.events[0].offset


async def _append_forever(log: LocalEventLog, event: NewEvent, offsets: list[int]) -> None:
    for _ in range(100):
        offsets.extend(await log.append([event]))


async def test_full_log_refuses_appends_but_not_commits(tmp_path: Path) -> None:
    log = LocalEventLog(tmp_path / "events.db", max_size_bytes=1024 * 1024)
    await log.open()
    try:
        big = NewEvent(b"x" * 200_000, "c", "run", "r", None, "k")
        accepted: list[int] = []
        with pytest.raises(EventLogUnavailable, match="full"):
            await _append_forever(log, big, accepted)
        assert 3 <= len(accepted) <= 5  # about 1 MB of 200 KB events, then no more
        await log.commit("olgraph", 1)  # the consumer can still make progress
        assert await log.committed("olgraph") == 1
    finally:
        await log.close()


async def test_failed_append_raises_for_every_waiter(tmp_path: Path) -> None:
    log = LocalEventLog(tmp_path / "events.db", max_size_bytes=1024 * 1024)
    await log.open()
    try:
        big = NewEvent(b"x" * 600_000, "c", "run", "r", None, "k")
        results = await asyncio.gather(*(log.append([big]) for _ in range(4)), return_exceptions=True)
        assert any(isinstance(r, EventLogUnavailable) for r in results)
        small = await log.append([_event(1)])  # the log keeps working after a failed round
        assert small
    finally:
        await log.close()


async def test_unwritable_location_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    log = LocalEventLog(blocker / "events.db")
    with pytest.raises(EventLogUnavailable):
        await log.open()


async def test_closed_log_is_unavailable(tmp_path: Path) -> None:
    log = LocalEventLog(tmp_path / "events.db")
    await log.open()
    await log.check_writable()
    await log.close()
    with pytest.raises(EventLogUnavailable):
        await log.append([_event(1)])


async def test_a_full_file_refuses_appends_and_check_writable_says_so(tmp_path: Path) -> None:
    """SQLite's own SQLITE_FULL (``max_page_count``), as on a full disk: 503 material, and
    ``/readyz`` (``check_writable``) says not ready until an append succeeds again."""
    log = LocalEventLog(tmp_path / "events.db", min_free_bytes=0)
    await log.open()
    try:
        await log.check_writable()
        await log._writer.call(lambda conn: conn.execute("PRAGMA max_page_count=8"))
        big = NewEvent(b"x" * 100_000, "c", "run", "r", None, "k")
        with pytest.raises(EventLogUnavailable, match="database or disk is full"):
            await log.append([big])
        with pytest.raises(EventLogUnavailable, match=r"last append failed: .*database or disk is full"):
            await log.check_writable()
        await log._writer.call(lambda conn: conn.execute("PRAGMA max_page_count=1000000"))
        assert await log.append([big]) == [1]
        await log.check_writable()
    finally:
        await log.close()


async def test_a_failed_append_is_forgotten_after_a_while(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a load balancer nothing is appended while /readyz fails: the failure must not stick."""
    log = LocalEventLog(tmp_path / "events.db", min_free_bytes=0)
    await log.open()
    try:
        await log._writer.call(lambda conn: conn.execute("PRAGMA max_page_count=8"))
        with pytest.raises(EventLogUnavailable):
            await log.append([NewEvent(b"x" * 100_000, "c", "run", "r", None, "k")])
        monkeypatch.setattr("olgraph.log.local.FAILURE_MEMORY_SECONDS", 0.0)
        await log.check_writable()
    finally:
        await log.close()


async def test_check_writable_reports_too_little_free_space(tmp_path: Path) -> None:
    stats = os.statvfs(tmp_path)
    log = LocalEventLog(tmp_path / "events.db", min_free_bytes=stats.f_bavail * stats.f_frsize * 2 + 1)
    await log.open()
    try:
        with pytest.raises(EventLogUnavailable, match="bytes free on the filesystem"):
            await log.check_writable()
    finally:
        await log.close()


async def test_retention_removes_only_old_applied_events_and_counts_stay_true(log: LocalEventLog) -> None:
    await log.append([_event(n) for n in range(1, 6)])
    await log.commit("embedded", 3, [DeadLetter(2, "bad", b"{}")])
    future = "9999-01-01T00:00:00.000000000Z"
    assert await log.delete_events_before(future, applied_offset=3, limit=10, dry_run=True) == 3
    assert len(await log.read(after=0, limit=10)) == 5  # a dry run removes nothing
    assert await log.delete_events_before(future, applied_offset=3, limit=2) == 2
    assert await log.delete_events_before(future, applied_offset=3, limit=2) == 1
    assert [e.offset for e in await log.read(after=0, limit=10)] == [4, 5]  # pending events stay
    assert await log.delete_events_before("2000-01-01T00:00:00.000000000Z", applied_offset=5, limit=10) == 0
    counts = await log.counts("embedded")
    assert (counts.accepted, counts.applied, counts.failed, counts.pending) == (5, 2, 1, 2)
    await log.commit("embedded", 5)
    await log.delete_events_before(future, applied_offset=5, limit=10)
    assert (await log.counts("embedded")).last_offset == 5  # offsets are never reused
    [offset] = await log.append([_event(6)])
    assert offset == 6
    assert len(await log.dead_letters(limit=10)) == 1
