"""``olgraph consume`` against a real Kafka broker and a real Neo4j.

Events are produced with aiokafka, keyed as the OpenLineage clients key them, to fresh topics
(``kafka_config``). Workers run in this process, or as ``python -m olgraph consume`` children
that get SIGKILLed and restarted. Failures of the store are injected by wrappers around the
real Neo4j store; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from typing import Any

import httpx
import orjson
import pytest
from consume_support import (
    CORPUS,
    NAMESPACE,
    Message,
    ProcessFactory,
    WorkerFactory,
    committed_offsets,
    corpus_messages,
    duplicate_counts,
    end_offsets,
    event_message,
    eventually,
    interleave,
    make_chains,
    produce,
    read_topic,
    wait_all_committed,
)
from neo4j import Driver

from olgraph.applier import event_mutations
from olgraph.config import KafkaConfig
from olgraph.errors import StoreError, StoreUnavailable
from olgraph.ingest.parse import parse_event
from olgraph.metrics import Metrics
from olgraph.normalize.mutations import Mutation, UpsertNode
from olgraph.store.neo4j import Neo4jStore

pytestmark = [pytest.mark.kafka, pytest.mark.neo4j]


class FailingStore:
    """The real Neo4j store, failing ``apply`` with ``error`` for batches that touch ``job_prefix``
    while ``failing`` is set (StoreUnavailable: Neo4j down; StoreError: a batch it refuses)."""

    def __init__(self, inner: Neo4jStore, job_prefix: str, error: StoreError) -> None:
        self.inner = inner
        self.job_prefix = f"job:{NAMESPACE}:{job_prefix}"
        self.error = error
        self.failing = True
        self.failures = 0

    async def apply(self, mutations: Sequence[Mutation]) -> None:
        touched = any(isinstance(m, UpsertNode) and m.key.startswith(self.job_prefix) for m in mutations)
        if self.failing and touched:
            self.failures += 1
            raise self.error
        await self.inner.apply(mutations)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_corpus_and_job_chains_end_up_in_the_graph(
    kafka_config: KafkaConfig, neo4j_store: Neo4jStore, neo4j_driver: Driver, run_worker: WorkerFactory
) -> None:
    chains = make_chains("flow", count=12, tasks=3)
    corpus = corpus_messages()
    messages = corpus + interleave(chains)
    await produce(kafka_config.bootstrap_servers, kafka_config.topic, messages)
    metrics = Metrics()
    async with run_worker(kafka_config, neo4j_store, metrics=metrics):
        ends = await wait_all_committed(
            kafka_config.bootstrap_servers, kafka_config.group_id, kafka_config.topic
        )
        lags = {
            p: sample(metrics, "olgraph_consumer_lag", topic=kafka_config.topic, partition=str(p))
            for p in ends
        }
    assert sum(ends.values()) == len(messages)
    assert lags == dict.fromkeys(ends, 0.0)
    assert sample(metrics, "olgraph_events_applied_total") >= len(messages)
    assert sample(metrics, "olgraph_store_batch_events_count") >= 1

    for message in corpus:
        event = parse_event(orjson.loads(message.value or b""))
        if event.run_id is not None:
            assert await neo4j_store.get_run(event.run_id) is not None, event.run_id
    for chain in chains:
        dag = await neo4j_store.get_run(chain.dag_run)
        assert dag is not None
        assert dag.state == "COMPLETE"
        for run_id in chain.task_runs:
            task = await neo4j_store.get_run(run_id)
            assert task is not None
            assert (task.state, task.parent_run_id) == ("COMPLETE", chain.dag_run)
        first, last = (f"dataset:{NAMESPACE}:{name}" for name in (chain.datasets[0], chain.datasets[-1]))
        lineage = await neo4j_store.lineage(first, "downstream", depth=20, max_nodes=1000)
        assert last in {node.id for node in lineage.nodes}
    assert duplicate_counts(neo4j_driver) == (0, 0)


async def test_poison_messages_are_dead_lettered_with_their_reason_and_the_stream_goes_on(
    kafka_config: KafkaConfig, neo4j_store: Neo4jStore, run_worker: WorkerFactory
) -> None:
    [chain] = make_chains("poison", count=1, tasks=4)
    valid = interleave([chain])
    key = valid[0].key  # one key: poison and valid events share a partition, interleaved
    refused = event_message(make_chains("refused", count=1, tasks=1)[0].events()[0])
    poison = [
        (Message(key, b"{not json"), "decode", "invalid JSON"),
        (Message(key, b'{"eventTime": "\xff\xfe"}'), "decode", "invalid JSON"),
        (Message(key, None), "decode", "no value"),
        (Message(key, b"[1, 2, 3]"), "parse", "must be a JSON object"),
        (Message(key, (CORPUS / "proxy-events/event_no_run_id.json").read_bytes()), "parse", "run.runId"),
        (
            Message(key, (CORPUS / "proxy-events/event_invalid_run_facet.json").read_bytes()),
            "parse",
            "run.facets.parent.run.runId",
        ),
        (Message(key, refused.value), "store", "store rejected the event: refused by the test"),
    ]
    stream: list[Message] = []
    for n, message in enumerate(valid):
        stream.append(message)
        if n < len(poison):
            stream.append(poison[n][0])
    positions = await produce(kafka_config.bootstrap_servers, kafka_config.topic, stream)
    assert len({partition for partition, _ in positions}) == 1

    store = FailingStore(neo4j_store, "refused-dag", StoreError("refused by the test"))
    metrics = Metrics()
    async with run_worker(kafka_config, store, metrics=metrics):
        await wait_all_committed(kafka_config.bootstrap_servers, kafka_config.group_id, kafka_config.topic)
    letters = await read_topic(kafka_config.bootstrap_servers, kafka_config.dead_letter_topic, len(poison))

    assert len(letters) == len(poison)
    source = {id(message): positions[stream.index(message)] for message, _, _ in poison}
    for letter, (message, stage, reason) in zip(
        sorted(letters, key=lambda r: int(dict(r.headers)["olgraph.source.offset"])), poison, strict=True
    ):
        headers = {name: value.decode() for name, value in letter.headers}
        partition, offset = source[id(message)]
        assert (letter.key, letter.value) == (message.key, message.value)
        assert headers["olgraph.stage"] == stage
        assert reason in headers["olgraph.reason"]
        assert headers["olgraph.source.topic"] == kafka_config.topic
        assert (int(headers["olgraph.source.partition"]), int(headers["olgraph.source.offset"])) == (
            partition,
            offset,
        )
    for run_id in (chain.dag_run, *chain.task_runs):
        run = await neo4j_store.get_run(run_id)
        assert run is not None
        assert run.state == "COMPLETE"
    assert await neo4j_store.get_node(f"job:{NAMESPACE}:refused-dag-0") is None
    by_stage = {
        stage: sample(metrics, "olgraph_dead_letters_total", stage=stage)
        for stage in ("decode", "parse", "store")
    }
    assert by_stage == {"decode": 3.0, "parse": 3.0, "store": 1.0}


async def test_unavailable_store_holds_back_only_its_partition_and_commits_nothing_unapplied(
    kafka_config: KafkaConfig, neo4j_store: Neo4jStore, run_worker: WorkerFactory
) -> None:
    chains = make_chains("outage", count=9, tasks=2)
    messages = interleave(chains)
    positions = await produce(kafka_config.bootstrap_servers, kafka_config.topic, messages)
    blocked = positions[0][0]  # the partition of chain 0's events, which the store cannot take
    ends = await end_offsets(kafka_config.bootstrap_servers, kafka_config.topic)
    assert len([p for p, end in ends.items() if end > 0]) >= 2, "all chains landed in one partition"

    store = FailingStore(neo4j_store, "outage-dag-0", StoreUnavailable("Neo4j is down (simulated)"))
    metrics = Metrics()
    bootstrap, group, topic = kafka_config.bootstrap_servers, kafka_config.group_id, kafka_config.topic
    async with run_worker(kafka_config, store, metrics=metrics) as worker:

        async def others_done() -> bool:
            committed = await committed_offsets(bootstrap, group, topic)
            return all(committed.get(p, 0) == end for p, end in ends.items() if p != blocked and end > 0)

        await eventually(others_done, 60, "the healthy partitions committed")
        await eventually(lambda: _at_least(store, 4), 30, "the blocked partition retried")
        polls = worker.stats.polls
        await asyncio.sleep(1.0)
        assert worker.stats.polls > polls  # still polling (heartbeats, other partitions) while backing off
        assert worker.readiness_problem() is None
        assert (await committed_offsets(bootstrap, group, topic)).get(blocked, 0) == 0
        lag = sample(metrics, "olgraph_consumer_lag", topic=topic, partition=str(blocked))
        assert lag == ends[blocked]
        assert await neo4j_store.get_run(chains[0].dag_run) is None

        store.failing = False  # Neo4j is back
        await wait_all_committed(bootstrap, group, topic)
    assert sample(metrics, "olgraph_store_errors_total", retriable="true") == store.failures
    assert worker.stats.retries >= 4
    for chain in chains:
        for run_id in (chain.dag_run, *chain.task_runs):
            run = await neo4j_store.get_run(run_id)
            assert run is not None
            assert run.state == "COMPLETE"


async def _at_least(store: FailingStore, failures: int) -> bool:
    return store.failures >= failures


async def test_partitions_spread_over_two_workers_and_move_when_one_leaves(
    kafka_config: KafkaConfig, neo4j_store: Neo4jStore, neo4j_driver: Driver, run_worker: WorkerFactory
) -> None:
    bootstrap, group, topic = kafka_config.bootstrap_servers, kafka_config.group_id, kafka_config.topic
    chains = make_chains("spread", count=30, tasks=2)
    thirds = [interleave(chains[n::3]) for n in range(3)]
    await produce(bootstrap, topic, thirds[0])
    async with run_worker(kafka_config, neo4j_store) as first:
        await eventually(lambda: _holds(first, 3), 30, "the first worker holding every partition")
        async with run_worker(kafka_config, neo4j_store) as second:
            await eventually(lambda: _split(first, second), 60, "the partitions spread over both workers")
            await produce(bootstrap, topic, thirds[1])
            await wait_all_committed(bootstrap, group, topic)
            await first.stop()  # leaves the group: its partitions move to the second
            await eventually(lambda: _holds(second, 3), 60, "the second worker taking every partition")
            await produce(bootstrap, topic, thirds[2])
            await wait_all_committed(bootstrap, group, topic)
    assert first.stats.applied > 0
    assert second.stats.applied > 0
    assert first.stats.applied + second.stats.applied >= sum(len(t) for t in thirds)
    for chain in chains:
        run = await neo4j_store.get_run(chain.dag_run)
        assert run is not None
        assert run.state == "COMPLETE"
    assert duplicate_counts(neo4j_driver) == (0, 0)


async def _holds(worker: Any, partitions: int) -> bool:
    return len(worker.assigned()) == partitions


async def _split(first: Any, second: Any) -> bool:
    a, b = first.assigned(), second.assigned()
    return bool(a) and bool(b) and not a & b and len(a | b) == 3


@pytest.mark.slow
async def test_killed_consumer_process_restarts_and_every_event_is_applied_exactly_once(
    kafka_config: KafkaConfig,
    neo4j_store: Neo4jStore,
    neo4j_driver: Driver,
    consume_process: ProcessFactory,
) -> None:
    bootstrap, group, topic = kafka_config.bootstrap_servers, kafka_config.group_id, kafka_config.topic
    chains = make_chains("kill", count=250, tasks=5)  # 3000 events
    before, after = interleave(chains[:200]), interleave(chains[200:])
    await produce(bootstrap, topic, before)
    small_batches = {"OLGRAPH_CONSUMER__BATCH_SIZE": "50"}  # many commits, so the kill lands mid-stream

    first = consume_process(env=small_batches)
    await asyncio.to_thread(first.wait_started)

    async def some_committed() -> bool:
        return sum((await committed_offsets(bootstrap, group, topic)).values()) >= len(before) // 4

    await eventually(some_committed, 90, "a quarter of the events committed")
    first.kill()
    at_kill = sum((await committed_offsets(bootstrap, group, topic)).values())
    assert at_kill < len(before), "the stream was over before the kill"

    await produce(bootstrap, topic, after)  # producers go on while no consumer runs
    second = consume_process(env=small_batches)
    health = await asyncio.to_thread(second.wait_started)
    ends = await wait_all_committed(bootstrap, group, topic, timeout=180)
    assert sum(ends.values()) == len(before) + len(after)

    async with httpx.AsyncClient(base_url=health, timeout=10) as http:
        ready = await http.get("/readyz")
        metrics = (await http.get("/metrics")).text
        assert (await http.get("/healthz")).status_code == 200
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"store": "ok", "kafka": "ok", "consumer": "ok"}
    assert f'olgraph_consumer_lag{{partition="0",topic="{topic}"}} 0.0' in metrics
    assert "olgraph_events_applied_total" in metrics

    started = time.monotonic()
    assert second.terminate() == 0
    assert time.monotonic() - started < 30
    assert "olgraph consume stopped" in second.stderr()

    for chain in chains:
        for run_id in (chain.dag_run, *chain.task_runs):
            run = await neo4j_store.get_run(run_id)
            assert run is not None, run_id
            assert run.state == "COMPLETE"
    assert duplicate_counts(neo4j_driver) == (0, 0)
    await _assert_same_as_applying_each_event_once(neo4j_store, neo4j_driver, before + after)


async def _assert_same_as_applying_each_event_once(
    store: Neo4jStore, driver: Driver, messages: Sequence[Message]
) -> None:
    """The graph equals the one built by applying every event exactly once, directly."""
    through_kafka = await store.dump()
    with driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    batch: list[Mutation] = []
    for message in messages:
        mutations = event_mutations(message.value)
        assert isinstance(mutations, list)
        batch.extend(mutations)
        if len(batch) > 2000:
            await store.apply(batch)
            batch = []
    await store.apply(batch)
    assert through_kafka == await store.dump()


async def test_consume_process_waits_for_an_unreachable_store_and_stops_on_sigterm(
    consume_process: ProcessFactory,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    process = consume_process("--neo4j-uri", f"bolt://127.0.0.1:{closed}")
    health = await asyncio.to_thread(process.wait_started)
    async with httpx.AsyncClient(base_url=health, timeout=10) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert "not open" in checks["store"]
    assert checks["consumer"] == "the consumer is not running"

    await eventually(lambda: _logged(process, "cannot open the graph store yet"), 30, "a retry logged")
    assert process.terminate(timeout=30) == 0
    assert "olgraph consume stopped" in process.stderr()


async def _logged(process: Any, text: str) -> bool:
    return text in process.stderr()
