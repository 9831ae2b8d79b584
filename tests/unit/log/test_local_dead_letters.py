"""The local log's dead letters: listed, inspected, replayed once (unless forced), and applied anew."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from olgraph.config import ConsumerSettings
from olgraph.consume.consumer import Consumer
from olgraph.log import DeadLetter, LocalEventLog, NewEvent
from olgraph.log.base import event_from_raw
from olgraph.log.dead_letters import DeadLetterQueue
from olgraph.store.embedded import EmbeddedStore

RUN_ID = str(uuid.UUID(int=7))
EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2024-05-01T12:00:00Z",
    "run": {"runId": RUN_ID},
    "job": {"namespace": "ns", "name": "replayed"},
    "outputs": [{"namespace": "db", "name": "out"}],
}


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[LocalEventLog]:
    event_log = LocalEventLog(tmp_path / "events.db")
    await event_log.open()
    yield event_log
    await event_log.close()


async def _with_dead_letters(log: LocalEventLog) -> None:
    raw = orjson.dumps(EVENT)
    await log.append([event_from_raw(raw), event_from_raw(b"{not json"), event_from_raw(raw)])
    await log.commit(
        "olgraph",
        3,
        [
            DeadLetter(1, "store rejected the event: boom", raw, stage="store"),
            DeadLetter(2, "invalid event: invalid JSON", b"{not json", stage="decode"),
        ],
    )


async def test_the_local_log_is_a_dead_letter_queue(log: LocalEventLog) -> None:
    assert isinstance(log, DeadLetterQueue)


async def test_list_pages_oldest_first_with_counts(log: LocalEventLog) -> None:
    await _with_dead_letters(log)

    first = await log.list_dead_letters(limit=1)
    second = await log.list_dead_letters(limit=1, after=first.next)

    assert [v.id for v in first.items] == ["1"]
    assert (first.total, first.pending, first.next) == (2, 2, "1")
    assert [v.id for v in second.items] == ["2"]
    assert second.next is None
    letter = first.items[0]
    assert (letter.source, letter.stage, letter.reason) == (
        "offset 1",
        "store",
        "store rejected the event: boom",
    )
    assert letter.at is not None
    assert letter.at.endswith("Z")
    assert (letter.replayed_at, letter.replayed_to) == (None, None)


async def test_get_one_with_its_bytes(log: LocalEventLog) -> None:
    await _with_dead_letters(log)

    letter = await log.get_dead_letter("2")

    assert letter is not None
    assert letter.raw == b"{not json"
    assert letter.stage == "decode"
    assert await log.get_dead_letter("99") is None
    assert await log.get_dead_letter("not-an-offset") is None


async def test_replay_appends_again_once_and_the_consumer_applies_it(
    log: LocalEventLog, tmp_path: Path
) -> None:
    await _with_dead_letters(log)

    [outcome] = await log.replay_dead_letters(["1"])
    [again] = await log.replay_dead_letters(["1"])  # a second replay of the same dead letter

    assert (outcome.id, outcome.status, outcome.replayed_to) == ("1", "replayed", "offset 4")
    assert (again.status, again.replayed_to) == ("skipped", "offset 4")
    assert again.detail is not None
    assert "already replayed" in again.detail
    assert (await log.counts("olgraph")).last_offset == 4  # appended once
    replayed = (await log.read(after=3, limit=10))[0]
    assert (replayed.kind, replayed.run_id, replayed.job_key) == ("run", RUN_ID, "job:ns:replayed")
    letter = await log.get_dead_letter("1")
    assert letter is not None
    assert letter.replayed_to == "offset 4"
    assert letter.replayed_at is not None
    pending = await log.list_dead_letters(limit=10, include_replayed=False)
    assert [v.id for v in pending.items] == ["2"]
    assert (pending.total, pending.pending) == (2, 1)

    store = EmbeddedStore(tmp_path / "graph.db")
    await store.open()
    try:
        assert await Consumer(log, store, ConsumerSettings()).run_once() == 1
        run = await store.get_run(RUN_ID)
        assert run is not None
        assert run.state == "COMPLETE"
    finally:
        await store.close()


async def test_force_replays_again_and_unknown_ids_are_reported(log: LocalEventLog) -> None:
    await _with_dead_letters(log)
    await log.replay_dead_letters(["1"])

    outcomes = await log.replay_dead_letters(["1", "42", "x-1"], force=True)

    assert [(o.id, o.status) for o in outcomes] == [
        ("x-1", "not_found"),
        ("1", "replayed"),
        ("42", "not_found"),
    ]
    assert outcomes[1].replayed_to == "offset 5"


async def test_replay_all_takes_only_those_not_replayed(log: LocalEventLog) -> None:
    await _with_dead_letters(log)
    await log.replay_dead_letters(["2"])

    outcomes = await log.replay_dead_letters(None)

    assert [(o.id, o.status) for o in outcomes] == [("1", "replayed")]
    assert await log.replay_dead_letters(None) == []


async def test_an_unparseable_dead_letter_is_replayed_as_it_is(log: LocalEventLog) -> None:
    await _with_dead_letters(log)
    await log.replay_dead_letters(["2"])
    [event] = await log.read(after=3, limit=10)
    assert (event.raw, event.kind, event.run_id) == (b"{not json", "unknown", None)


async def test_dead_letters_of_an_older_log_file_gain_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE dead_letters (event_offset INTEGER PRIMARY KEY, reason TEXT NOT NULL, "
        "raw BLOB NOT NULL, at TEXT NOT NULL);"
        "INSERT INTO dead_letters VALUES (5, 'old reason', x'7b7d', '2024-01-01T00:00:00Z');"
    )
    conn.close()
    log = LocalEventLog(path)
    await log.open()
    try:
        letter = await log.get_dead_letter("5")
        assert letter is not None
        assert (letter.reason, letter.stage, letter.replayed_at) == ("old reason", None, None)
        [outcome] = await log.replay_dead_letters(["5"])
        assert outcome.status == "replayed"
    finally:
        await log.close()


def test_replayed_bytes_keep_their_identity() -> None:
    raw = orjson.dumps(EVENT)
    event = event_from_raw(raw)
    assert isinstance(event, NewEvent)
    assert event.raw == raw
    assert event.kafka_key == "run:ns/replayed"
