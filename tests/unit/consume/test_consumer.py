"""The consumer, against the real embedded store and local log (failures injected around the store)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

import olgraph.consume.consumer as consumer_module
from faulty_store import FaultyStore, always, first_calls, touching
from olgraph.config import ConsumerSettings
from olgraph.consume.consumer import Consumer
from olgraph.errors import StoreError, StoreUnavailable
from olgraph.ingest.parse import parse_event
from olgraph.log import LocalEventLog, NewEvent
from olgraph.normalize.mutations import Mutation
from olgraph.store.embedded import EmbeddedStore

FAST = ConsumerSettings(
    batch_size=100, poll_interval_seconds=0.05, backoff_initial_seconds=0.01, backoff_max_seconds=0.05
)


def run_event(
    n: int, job: str = "job", inputs: Sequence[str] = (), outputs: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2024-05-01T12:00:{n % 60:02d}Z",
        "run": {"runId": str(uuid.UUID(int=n))},
        "job": {"namespace": "ns", "name": job},
        "inputs": [{"namespace": "db", "name": name} for name in inputs],
        "outputs": [{"namespace": "db", "name": name} for name in outputs],
        "producer": "https://example.org/test",
    }


def logged(event: dict[str, Any]) -> NewEvent:
    parsed = parse_event(event)
    return NewEvent(orjson.dumps(event), parsed.content_id, parsed.kind, parsed.run_id, None, "k")


def raw_event(raw: bytes) -> NewEvent:
    return NewEvent(raw, "c", "run", None, None, "k")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EmbeddedStore]:
    graph = EmbeddedStore(tmp_path / "graph.db")
    await graph.open()
    yield graph
    await graph.close()


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[LocalEventLog]:
    event_log = LocalEventLog(tmp_path / "events.db")
    await event_log.open()
    yield event_log
    await event_log.close()


async def _eventually(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_round_applies_events_and_commits(log: LocalEventLog, store: EmbeddedStore) -> None:
    await log.append([logged(run_event(1, inputs=["a"], outputs=["b"])), logged(run_event(2))])
    consumer = Consumer(log, store, FAST)
    assert await consumer.run_once() == 2
    assert await log.committed("olgraph") == 2
    assert await store.get_node("job:ns:job") is not None
    assert await store.get_node("dataset:db:a") is not None
    assert await store.get_node("dataset:db:b") is not None
    run = await store.get_run(str(uuid.UUID(int=1)))
    assert run is not None
    assert run.state == "COMPLETE"
    assert await consumer.run_once() == 0
    assert (consumer.stats.applied, consumer.stats.dead_lettered) == (2, 0)


async def test_batch_size_bounds_a_round(log: LocalEventLog, store: EmbeddedStore) -> None:
    await log.append([logged(run_event(n)) for n in range(5)])
    consumer = Consumer(log, store, ConsumerSettings(batch_size=2))
    assert [await consumer.run_once() for _ in range(4)] == [2, 2, 1, 0]
    assert await log.committed("olgraph") == 5


async def test_poison_events_are_dead_lettered_and_the_rest_applied(
    log: LocalEventLog, store: EmbeddedStore
) -> None:
    await log.append(
        [
            logged(run_event(1)),
            raw_event(b"{not json"),
            raw_event(b'{"eventTime": "2024-05-01T00:00:00Z", "run": {"runId": "x"}, "job": {}}'),
            logged(run_event(2, job="other")),
        ]
    )
    consumer = Consumer(log, store, FAST)
    assert await consumer.run_once() == 4
    letters = await log.dead_letters(limit=10)
    assert [d.offset for d in letters] == [2, 3]
    assert letters[0].reason.startswith("invalid event: invalid JSON")
    assert letters[0].raw == b"{not json"
    assert "job" in letters[1].reason
    assert await store.get_node("job:ns:other") is not None
    counts = await log.counts("olgraph")
    assert (counts.accepted, counts.applied, counts.failed, counts.pending) == (4, 2, 2, 0)


async def test_normalizer_failure_is_a_dead_letter_not_a_crash(
    log: LocalEventLog, store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = consumer_module.normalize

    def broken_for_job_bug(event: Any) -> list[Mutation]:
        if event.job_name == "bug":
            raise KeyError("surprise")
        return real(event)

    monkeypatch.setattr(consumer_module, "normalize", broken_for_job_bug)
    await log.append([logged(run_event(1, job="bug")), logged(run_event(2))])
    consumer = Consumer(log, store, FAST)
    assert await consumer.run_once() == 2
    [letter] = await log.dead_letters(limit=10)
    assert letter.offset == 1
    assert "KeyError" in letter.reason
    assert await store.get_run(str(uuid.UUID(int=2))) is not None


async def test_unavailable_store_retries_the_same_batch(log: LocalEventLog, store: EmbeddedStore) -> None:
    flaky = FaultyStore(store, first_calls(3, StoreUnavailable("store down")))
    await log.append([logged(run_event(1)), logged(run_event(2))])
    consumer = Consumer(log, flaky, FAST)  # type: ignore[arg-type]
    assert await consumer.run_once() == 2
    assert flaky.calls == 4
    assert consumer.stats.retries == 3
    assert await log.dead_letters(limit=10) == []
    assert await store.get_run(str(uuid.UUID(int=2))) is not None


async def test_backoff_is_exponential_and_bounded(log: LocalEventLog, store: EmbeddedStore) -> None:
    settings = ConsumerSettings(backoff_initial_seconds=0.5, backoff_max_seconds=4.0)
    consumer = Consumer(log, store, settings)
    assert [consumer._backoff(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert consumer._backoff(10_000) == 4.0


async def test_rejected_batch_is_isolated_event_by_event(log: LocalEventLog, store: EmbeddedStore) -> None:
    rejecting = FaultyStore(store, touching("job:ns:poison", StoreError("constraint violated")))
    await log.append([logged(run_event(1)), logged(run_event(2, job="poison")), logged(run_event(3))])
    consumer = Consumer(log, rejecting, FAST)  # type: ignore[arg-type]
    assert await consumer.run_once() == 3
    [letter] = await log.dead_letters(limit=10)
    assert letter.offset == 2
    assert "store rejected the event: constraint violated" in letter.reason
    assert await store.get_run(str(uuid.UUID(int=1))) is not None
    assert await store.get_run(str(uuid.UUID(int=3))) is not None
    assert await store.get_node("job:ns:poison") is None
    assert len(rejecting.batches) == 4  # the whole batch once, then each event alone
    assert await log.committed("olgraph") == 3


async def test_restart_resumes_from_committed_offset_and_reapplying_is_harmless(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "graph.db")
    await store.open()
    try:
        first_log = LocalEventLog(tmp_path / "events.db")
        await first_log.open()
        await first_log.append([logged(run_event(n, inputs=["in"], outputs=[f"out{n}"])) for n in (1, 2)])
        assert await Consumer(first_log, store, FAST).run_once() == 2
        await first_log.close()

        log = LocalEventLog(tmp_path / "events.db")  # as after a restart
        await log.open()
        await log.append([logged(run_event(n, outputs=[f"out{n}"])) for n in (3, 4)])
        resumed = Consumer(log, store, FAST)
        assert await resumed.run_once() == 2  # only the two new ones
        before = await store.dump()

        await log.commit("olgraph", 0)  # forget progress: every event is delivered again
        again = Consumer(log, store, FAST)
        assert await again.run_once() == 4
        assert await store.dump() == before
        await log.close()
    finally:
        await store.close()


async def test_notify_wakes_the_consumer_without_waiting_for_the_poll(
    log: LocalEventLog, store: EmbeddedStore
) -> None:
    consumer = Consumer(log, store, ConsumerSettings(poll_interval_seconds=3600))
    consumer.start()
    try:

        async def idle() -> bool:
            return consumer.idle

        await _eventually(idle)  # caught up: only a notify (or the poll, in an hour) wakes it
        await log.append([logged(run_event(1))])
        consumer.notify()

        async def applied() -> bool:
            return await log.committed("olgraph") == 1

        await _eventually(applied, timeout=60)  # a hang guard far below the poll interval
    finally:
        await consumer.stop()
    assert not consumer.running


async def test_polling_finds_events_appended_without_notify(log: LocalEventLog, store: EmbeddedStore) -> None:
    consumer = Consumer(log, store, FAST)
    consumer.start()
    try:
        await log.append([logged(run_event(1))])

        async def applied() -> bool:
            return await log.committed("olgraph") == 1

        await _eventually(applied)
    finally:
        await consumer.stop()


async def test_stop_interrupts_a_backoff_without_committing(log: LocalEventLog, store: EmbeddedStore) -> None:
    flaky = FaultyStore(store, always(StoreUnavailable("store down")))
    slow = ConsumerSettings(
        backoff_initial_seconds=3600, backoff_max_seconds=3600, poll_interval_seconds=0.05
    )
    consumer = Consumer(log, flaky, slow)  # type: ignore[arg-type]
    await log.append([logged(run_event(1))])
    consumer.start()

    async def retrying() -> bool:
        return consumer.stats.retries >= 1

    await _eventually(retrying)
    # The back-off lasts an hour: stop() returning at all (a hang guard of a minute) is the outcome.
    await asyncio.wait_for(consumer.stop(), 60)
    assert await log.committed("olgraph") == 0  # delivered again after the restart
    assert consumer.stats.last_error is not None
    assert "store down" in consumer.stats.last_error


async def test_unexpected_error_restarts_the_round(log: LocalEventLog, store: EmbeddedStore) -> None:
    flaky = FaultyStore(store, first_calls(2, RuntimeError("bug in a store")))
    consumer = Consumer(log, flaky, FAST)  # type: ignore[arg-type]
    await log.append([logged(run_event(1))])
    consumer.start()
    try:

        async def applied() -> bool:
            return await log.committed("olgraph") == 1

        await _eventually(applied)
    finally:
        await consumer.stop()
    assert consumer.stats.last_error == "RuntimeError: bug in a store"
    assert await log.dead_letters(limit=10) == []
    assert await store.get_run(str(uuid.UUID(int=1))) is not None


async def test_a_store_that_cannot_write_is_retried_and_nothing_is_dead_lettered(
    log: LocalEventLog, tmp_path: Path
) -> None:
    """A full graph file (SQLite's own SQLITE_FULL, via ``max_page_count``) is a store that cannot
    write *now*: the consumer waits and retries, nothing is dead-lettered, and ``last_error`` says
    why. Once there is room again every event is applied."""
    store = EmbeddedStore(tmp_path / "full.db", min_free_bytes=0)
    await store.open()
    pages = await store._call(lambda conn: int(conn.execute("PRAGMA page_count").fetchone()[0]))
    await store._call(lambda conn: conn.execute(f"PRAGMA max_page_count={pages + 30}"))
    padded = [run_event(n, job=f"big{n}") for n in range(1, 11)]
    for event in padded:
        event["run"]["facets"] = {"pad": {"_producer": "p", "_schemaURL": "s#/$defs/Pad", "x": "x" * 40_000}}
    await log.append([logged(event) for event in padded])
    consumer = Consumer(log, store, FAST)
    consumer.start()
    try:

        async def retrying() -> bool:
            return consumer.stats.retries >= 3

        await _eventually(retrying)
        assert await log.dead_letters(limit=10) == []
        assert await log.committed("olgraph") < 10
        assert consumer.stats.last_error is not None
        assert "database or disk is full" in consumer.stats.last_error
        with pytest.raises(StoreUnavailable, match="last write failed"):
            await store.ping()  # /readyz: not ready

        await store._call(lambda conn: conn.execute("PRAGMA max_page_count=1000000"))  # room again

        async def applied() -> bool:
            return await log.committed("olgraph") == 10

        await _eventually(applied, timeout=30)
    finally:
        await consumer.stop()
    assert await log.dead_letters(limit=10) == []
    for n in range(1, 11):
        assert await store.get_run(str(uuid.UUID(int=n))) is not None
    await store.ping()
    await store.close()
