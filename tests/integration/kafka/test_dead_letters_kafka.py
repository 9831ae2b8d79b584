"""Dead letters of the distributed deployment: the Kafka dead-letter topic listed and replayed.

A real broker and a real Neo4j: a consumer worker dead-letters a non-JSON message and an event
the store refuses (tests/faulty_store.py). The queue lists both with their reasons; once the
store takes the event again, replaying it sends it back to the events topic and the worker
applies it; a replay is recorded on the dead-letter topic, so another replica (another queue
object) sees it and does not replay it twice unless forced. The admin routes of ``olgraph api``
answer from the same topic.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
from consume_support import (
    NAMESPACE,
    Message,
    WorkerFactory,
    event_message,
    eventually,
    make_chains,
    produce,
    read_topic,
    wait_all_committed,
)

from faulty_store import FaultyStore, touching
from olgraph.api.app import create_app
from olgraph.config import KafkaConfig, Settings
from olgraph.errors import StoreError
from olgraph.log.kafka_dead_letters import KafkaDeadLetters
from olgraph.store.neo4j import Neo4jStore


async def test_dead_letters_on_kafka_are_listed_replayed_once_and_applied(
    kafka_config: KafkaConfig, neo4j_store: Neo4jStore, run_worker: WorkerFactory, tmp_path: Path
) -> None:
    [chain] = make_chains("refused", count=1, tasks=1)
    refused = event_message(chain.events()[0])
    await produce(kafka_config.bootstrap_servers, kafka_config.topic, [refused, Message(b"k", b"{not json")])
    store = FaultyStore(neo4j_store, touching(f"job:{NAMESPACE}:refused-dag", StoreError("refused for now")))
    bootstrap, group, topic = kafka_config.bootstrap_servers, kafka_config.group_id, kafka_config.topic

    async with run_worker(kafka_config, store):
        await wait_all_committed(bootstrap, group, topic)
        queue = KafkaDeadLetters(kafka_config)
        page = await queue.list_dead_letters(limit=10)
        assert (page.total, page.pending, page.next) == (2, 2, None)
        by_stage = {view.stage: view for view in page.items}
        assert set(by_stage) == {"store", "decode"}
        letter = by_stage["store"]
        assert letter.reason == "store rejected the event: refused for now"
        assert letter.raw == refused.value
        assert letter.source.startswith(f"{topic}[")
        assert letter.at is not None
        assert letter.at.endswith("Z")
        assert await queue.get_dead_letter(letter.id) == letter
        assert await queue.get_dead_letter("7-7") is None

        store.failing = False  # the cause is fixed
        [outcome] = await queue.replay_dead_letters([letter.id])
        assert outcome.status == "replayed"
        assert outcome.replayed_to is not None
        assert outcome.replayed_to.startswith(f"{topic}[")
        await wait_all_committed(bootstrap, group, topic)  # the worker applied the replayed event
        run = await neo4j_store.get_run(chain.dag_run)
        assert run is not None

        other_replica = KafkaDeadLetters(kafka_config)  # sees the replay through the marker
        [again] = await other_replica.replay_dead_letters([letter.id])
        assert (again.status, again.replayed_to) == ("skipped", outcome.replayed_to)
        pending = await other_replica.list_dead_letters(limit=10, include_replayed=False)
        assert [view.stage for view in pending.items] == ["decode"]
        assert (pending.total, pending.pending) == (2, 1)
        forced = await other_replica.replay_dead_letters([letter.id], force=True)
        assert forced[0].status == "replayed"
        assert forced[0].replayed_to != outcome.replayed_to
        await wait_all_committed(bootstrap, group, topic)

    on_topic = await read_topic(bootstrap, topic, 4)
    replayed = [r for r in on_topic if dict(r.headers or ()).get("olgraph.replay.of")]
    assert len(replayed) == 2  # the replay and the forced one; applying twice is harmless
    assert all(r.value == refused.value and r.key == refused.key for r in replayed)

    settings = Settings(data_dir=tmp_path, log={"kind": "kafka", "kafka": kafka_config})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://olgraph.test", timeout=60
        ) as client:
            listed = (await client.get("/api/v1/dead-letters")).json()
            shown = (await client.get(f"/api/v1/dead-letters/{letter.id}")).json()
            everything = await client.post("/api/v1/dead-letters/replay", json={"all": True})
    assert (listed["total"], listed["pending"]) == (2, 1)
    assert shown["event"] == orjson.loads(refused.value)
    assert shown["replayedTo"] == forced[0].replayed_to
    assert everything.json()["replayed"] == 1  # the non-JSON one, once


async def test_an_empty_or_missing_dead_letter_topic_lists_nothing(kafka_config: KafkaConfig) -> None:
    missing = kafka_config.model_copy(update={"dead_letter_topic": f"{kafka_config.topic}.nothing-here"})
    for config in (kafka_config, missing):
        queue = KafkaDeadLetters(config)
        page = await queue.list_dead_letters(limit=10)
        assert (page.items, page.total, page.pending, page.next) == ([], 0, 0, None)
        assert await queue.replay_dead_letters(None) == []

    async def nothing() -> bool:
        return (await KafkaDeadLetters(kafka_config).list_dead_letters(limit=1)).total == 0

    await eventually(nothing, 10, "an empty list")
