"""``olgraph consume`` against a real Kafka broker and a real Neo4j.

Events are produced with aiokafka, keyed as the OpenLineage clients key them, to fresh topics
(``kafka_config``). Workers run in this process, or as ``python -m olgraph consume`` children
that get SIGKILLed and restarted. Failures of the store are injected around the real Neo4j
store (tests/faulty_store.py); tests/faults stops the real Neo4j itself.
"""

from __future__ import annotations

import asyncio
import socket
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
    corpus_messages,
    create_topic,
    delete_topic,
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

from faulty_store import FaultyStore, always, touching
from kafka_offsets import committed_offsets
from olgraph.config import KafkaConfig
from olgraph.consume.applier import event_mutations
from olgraph.errors import StoreError, StoreUnavailable
from olgraph.ingest.parse import parse_event
from olgraph.metrics import Metrics
from olgraph.normalize.mutations import Mutation
from olgraph.store.neo4j import Neo4jStore

pytestmark = [pytest.mark.kafka, pytest.mark.neo4j]


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

    store = FaultyStore(
        neo4j_store, touching(f"job:{NAMESPACE}:refused-dag", StoreError("refused by the test"))
    )
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


async def test_an_unavailable_store_backs_off_every_partition_with_one_attempt_at_a_time(
    kafka_config: KafkaConfig, neo4j_store: Neo4jStore, run_worker: WorkerFactory
) -> None:
    """A store that is down fails every batch, whichever partitions it holds: every partition
    waits out one back-off together, one store attempt per back-off (not 1 + one per partition),
    nothing is committed, the member stays in its group; once the store is back all is applied."""
    chains = make_chains("outage", count=9, tasks=2)
    messages = interleave(chains)
    await produce(kafka_config.bootstrap_servers, kafka_config.topic, messages)
    ends = await end_offsets(kafka_config.bootstrap_servers, kafka_config.topic)
    assert len([p for p, end in ends.items() if end > 0]) >= 2, "all chains landed in one partition"

    store = FaultyStore(neo4j_store, always(StoreUnavailable("Neo4j is down (simulated)")))
    metrics = Metrics()
    bootstrap, group, topic = kafka_config.bootstrap_servers, kafka_config.group_id, kafka_config.topic
    async with run_worker(kafka_config, store, metrics=metrics) as worker:
        await eventually(lambda: _at_least(store, 4), 60, "four store attempts")
        polls = worker.stats.polls
        await eventually(lambda: _polled_since(worker, polls), 30, "polling on while backing off")
        assert worker.readiness_problem() is None  # still a member, still polling
        assert await committed_offsets(bootstrap, group, topic) == {}
        # every failed attempt was one back-off of every partition: never 1 + one per partition
        assert len(store.batches) == store.failures == worker.stats.retries
        assert sample(metrics, "olgraph_consumer_backoffs_total", scope="all") == store.failures
        assert sample(metrics, "olgraph_consumer_backoffs_total", scope="partition") == 0
        assert sample(metrics, "olgraph_consumer_rebalances_total") == 0
        for p, end in ends.items():
            assert sample(metrics, "olgraph_consumer_lag", topic=topic, partition=str(p)) == end

        store.failing = False  # Neo4j is back
        await wait_all_committed(bootstrap, group, topic)
    assert sample(metrics, "olgraph_store_errors_total", retriable="true") == store.failures
    assert worker.stats.last_error == "StoreUnavailable: Neo4j is down (simulated)"
    for chain in chains:
        for run_id in (chain.dag_run, *chain.task_runs):
            run = await neo4j_store.get_run(run_id)
            assert run is not None
            assert run.state == "COMPLETE"


async def test_a_bug_met_on_one_partitions_events_holds_back_only_that_partition(
    kafka_config: KafkaConfig, neo4j_store: Neo4jStore, run_worker: WorkerFactory
) -> None:
    chains = make_chains("bug", count=9, tasks=2)
    positions = await produce(kafka_config.bootstrap_servers, kafka_config.topic, interleave(chains))
    blocked = positions[0][0]  # the partition of chain 0's events, on which the "bug" happens
    ends = await end_offsets(kafka_config.bootstrap_servers, kafka_config.topic)
    assert len([p for p, end in ends.items() if end > 0]) >= 2, "all chains landed in one partition"

    store = FaultyStore(neo4j_store, touching(f"job:{NAMESPACE}:bug-dag-0", RuntimeError("a bug")))
    metrics = Metrics()
    bootstrap, group, topic = kafka_config.bootstrap_servers, kafka_config.group_id, kafka_config.topic
    async with run_worker(kafka_config, store, metrics=metrics) as worker:

        async def others_done() -> bool:
            committed = await committed_offsets(bootstrap, group, topic)
            return all(committed.get(p, 0) == end for p, end in ends.items() if p != blocked and end > 0)

        await eventually(others_done, 60, "the healthy partitions committed")
        await eventually(lambda: _partition_backoffs(metrics, 2), 30, "the blocked partition retried")
        assert (await committed_offsets(bootstrap, group, topic)).get(blocked, 0) == 0
        assert await neo4j_store.get_run(chains[0].dag_run) is None

        store.failing = False  # the bug is fixed
        await wait_all_committed(bootstrap, group, topic)
    assert worker.stats.last_error == "RuntimeError: a bug"
    assert sample(metrics, "olgraph_consumer_backoffs_total", scope="all") == 0
    for chain in chains:
        run = await neo4j_store.get_run(chain.dag_run)
        assert run is not None
        assert run.state == "COMPLETE"


async def _at_least(store: FaultyStore, failures: int) -> bool:
    return store.failures >= failures


async def _polled_since(worker: Any, polls: int) -> bool:
    return bool(worker.stats.polls > polls + 2)


async def _partition_backoffs(metrics: Metrics, count: int) -> bool:
    return sample(metrics, "olgraph_consumer_backoffs_total", scope="partition") >= count


async def test_a_consumer_started_before_its_topic_sees_it_and_is_ready_only_with_partitions(
    kafka_config: KafkaConfig, neo4j_store: Neo4jStore, run_worker: WorkerFactory
) -> None:
    """It used to wait for the 5-minute metadata refresh while saying ready."""
    topic = f"{kafka_config.topic}.later"
    later = kafka_config.model_copy(update={"topic": topic})
    try:
        async with run_worker(later, neo4j_store) as worker:
            problem = worker.readiness_problem()
            assert problem is not None
            assert f"topic {topic} does not exist yet" in problem
            await create_topic(later.bootstrap_servers, topic, partitions=3)
            # a hang guard only: the metadata refresh (5 s) and a rebalance, not aiokafka's 5 minutes
            await eventually(lambda: _ready(worker), 60, "the new topic's partitions assigned")
            assert len(worker.assigned()) == 3
            [chain] = make_chains("later", count=1, tasks=2)
            await produce(later.bootstrap_servers, topic, interleave([chain]))
            await wait_all_committed(later.bootstrap_servers, later.group_id, topic)
    finally:
        await delete_topic(later.bootstrap_servers, topic)
    run = await neo4j_store.get_run(chain.dag_run)
    assert run is not None


async def _ready(worker: Any) -> bool:
    return worker.readiness_problem() is None


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

    assert second.terminate(timeout=30) == 0  # SIGTERM: the hang guard is the bound
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
