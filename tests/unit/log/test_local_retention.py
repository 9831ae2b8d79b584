"""Pruning the local event log: applied events go by age or size; pending events and dead letters stay."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from olgraph.config import LocalLogConfig
from olgraph.log import DeadLetter, LocalEventLog, NewEvent
from olgraph.log.retention import LogPruner


def _event(n: int, size: int = 10) -> NewEvent:
    raw = b'{"n": %d, "pad": "%s"}' % (n, b"x" * size)
    return NewEvent(raw, f"cid-{n}", "run", "r1", "job:ns:j", "run:ns/j")


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[LocalEventLog]:
    event_log = LocalEventLog(tmp_path / "events.db")
    await event_log.open()
    yield event_log
    await event_log.close()


async def _offsets(log: LocalEventLog) -> list[int]:
    return [event.offset for event in await log.read(after=0, limit=10_000)]


async def _age(log: LocalEventLog, offsets: range, received_at: str) -> None:
    def backdate(conn: sqlite3.Connection) -> None:
        conn.executemany(
            "UPDATE events SET received_at = ? WHERE event_offset = ?", [(received_at, o) for o in offsets]
        )

    await log._writer.call(backdate)


async def test_applied_events_older_than_the_retention_are_pruned(log: LocalEventLog) -> None:
    await log.append([_event(n) for n in range(1, 11)])
    await _age(log, range(1, 8), "2020-01-01T00:00:00.000000000Z")
    await log.commit("olgraph", 5, [DeadLetter(3, "poison", b"p", stage="parse")])

    removed = await log.prune("olgraph", max_age_seconds=86_400, max_bytes=None)

    # 1-5 are applied and old; 6 and 7 are old but not applied yet: kept; 8-10 are recent.
    assert removed == 5
    assert await _offsets(log) == [6, 7, 8, 9, 10]
    [letter] = await log.dead_letters(limit=10)
    assert (letter.offset, letter.raw, letter.stage) == (3, b"p", "parse")  # its own copy stays
    counts = await log.counts("olgraph")
    assert (counts.accepted, counts.applied, counts.failed, counts.pending) == (10, 4, 1, 5)
    assert counts.last_offset == 10


async def test_pruning_by_size_drops_the_oldest_applied_events(log: LocalEventLog) -> None:
    await log.append([_event(n, size=1000) for n in range(1, 11)])  # about 1 KB each
    await log.commit("olgraph", 8)

    removed = await log.prune("olgraph", max_age_seconds=None, max_bytes=4500)

    assert removed == 6
    assert await _offsets(log) == [7, 8, 9, 10]


async def test_pruning_never_touches_pending_events_even_over_the_size(log: LocalEventLog) -> None:
    await log.append([_event(n, size=1000) for n in range(1, 6)])
    await log.commit("olgraph", 2)

    assert await log.prune("olgraph", max_age_seconds=None, max_bytes=100) == 2
    assert await _offsets(log) == [3, 4, 5]


async def test_offsets_continue_after_everything_was_pruned(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    log = LocalEventLog(path)
    await log.open()
    await log.append([_event(n) for n in range(1, 4)])
    await log.commit("olgraph", 3)
    assert await log.prune("olgraph", max_age_seconds=0, max_bytes=None) == 3
    assert (await log.counts("olgraph")).last_offset == 3
    await log.close()
    reopened = LocalEventLog(path)
    await reopened.open()
    try:
        assert await reopened.append([_event(4)]) == [4]  # an offset is never reused
    finally:
        await reopened.close()


async def test_pruning_gives_the_space_back_to_the_filesystem(tmp_path: Path) -> None:
    log = LocalEventLog(tmp_path / "events.db")
    await log.open()
    try:
        await log.append([_event(n, size=20_000) for n in range(1, 101)])
        await log.commit("olgraph", 100)
        pages = "PRAGMA page_count"
        before = await log._writer.call(lambda conn: conn.execute(pages).fetchone()[0])
        assert await log.prune("olgraph", max_age_seconds=0, max_bytes=None) == 100
        after = await log._writer.call(lambda conn: conn.execute(pages).fetchone()[0])
        assert after < before / 10
    finally:
        await log.close()


async def test_run_events_follow_the_retention(log: LocalEventLog) -> None:
    await log.append([_event(n) for n in range(1, 4)])
    await log.commit("olgraph", 3)
    await _age(log, range(1, 3), "2020-01-01T00:00:00.000000000Z")
    await log.prune("olgraph", max_age_seconds=3600, max_bytes=None)

    page = await log.raw_events_for_run("r1")

    assert [e.offset for e in page.events] == [3]
    assert page.total == 1


async def test_the_pruner_runs_in_the_background_until_stopped(log: LocalEventLog) -> None:
    await log.append([_event(n) for n in range(1, 4)])
    await log.commit("olgraph", 3)
    config = LocalLogConfig(retention_days=1e-9, retention_check_seconds=0.01)
    pruner = LogPruner(log, "olgraph", config)
    pruner.start()
    try:
        for _ in range(500):  # a hang guard, not a timing
            if pruner.pruned == 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await pruner.stop()
    assert pruner.pruned == 3
    assert await _offsets(log) == []


def test_no_limit_means_no_pruner() -> None:
    config = LocalLogConfig(retention_days=None, retention_max_bytes=None)
    assert not LogPruner(None, "olgraph", config).enabled  # type: ignore[arg-type]
