"""Ordering: one job chain stays in order through its partition; disorder across partitions is harmless.

1. Through ``olgraph api``: every event of a chain (a DAG run and its tasks, which name it as
   parent and root) gets the key the OpenLineage clients compute (``run:{ns}/{dag}``), so all
   of a key's events share one partition, and read back from that partition — as a consumer
   receives them — each chain's events come in the order its producer sent them.
2. Straight to the topic, runs split over partitions on purpose: the terminal events
   (COMPLETE/FAIL) on one partition are applied first, the STARTs arrive later on another
   partition. The graph shows the terminal state after the first phase and keeps it, with
   ``startedAt`` added, after the second.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import orjson
import pytest
from fault_events import TERMINAL, build_stream
from fault_kafka import Outgoing, Topics, produce, read_topic, wait_caught_up
from fault_support import HttpProducer, Processes, base_url
from fault_verify import verify_exactly_once

pytestmark = [pytest.mark.kafka, pytest.mark.neo4j]

PARTITIONS = 3


def test_a_job_chain_keeps_its_order_through_its_partition(
    neo4j_uri: str,
    kafka_bootstrap: str,
    make_topics: Callable[[str, int], Topics],
    processes: Processes,
    empty_graph: Callable[[str], str],
) -> None:
    uri = empty_graph(neo4j_uri)
    topics = make_topics(kafka_bootstrap, PARTITIONS)
    stream = build_stream(seed=505, tag="order", chains=48, dags=8)
    api = processes.api(kafka_bootstrap, topics.events, uri)
    producer = HttpProducer(base_url(api), stream, threads=4).start()
    producer.join(timeout=120)
    assert len(producer.acked()) == len(stream.events), producer.summary()
    assert set(producer.answers()) == {"201"}, producer.summary()

    records = read_topic(kafka_bootstrap, topics.events)
    by_identity = {(e.run_id, e.event_type): e for e in stream.events}
    seen = [
        by_identity[(body["run"]["runId"], body["eventType"])]
        for body in (orjson.loads(r.value or b"") for r in records)
    ]
    assert sorted(e.index for e in seen) == list(range(len(stream.events))), (
        "the topic lost or repeated events"
    )
    partition_of_key: dict[str, set[int]] = {}
    for record, event in zip(records, seen, strict=True):
        assert record.key == event.key.encode(), (
            f"event {event.index} keyed {record.key!r}, not {event.key!r}"
        )
        partition_of_key.setdefault(event.key, set()).add(record.partition)
    assert all(len(partitions) == 1 for partitions in partition_of_key.values()), partition_of_key
    assert len({p for ps in partition_of_key.values() for p in ps}) > 1, "every key landed in one partition"
    for chain, events in stream.chains().items():
        positions = [(r.partition, r.offset) for r, e in zip(records, seen, strict=True) if e.chain == chain]
        assert len({p for p, _ in positions}) == 1, f"chain {chain} spread over partitions: {positions}"
        assert positions == sorted(positions), (
            f"chain {chain} was reordered: {[e.event_type for e in events]} at {positions}"
        )

    consumer = processes.consumer(kafka_bootstrap, topics.events, uri, topics.group, topics.dead_letters)
    wait_caught_up(kafka_bootstrap, topics.group, topics.events, timeout=60, alive=[consumer])
    verify_exactly_once(uri, stream, producer.acked())
    assert consumer.stop() == 0
    assert api.stop() == 0


def test_terminal_events_first_on_another_partition_still_give_the_right_states(
    neo4j_uri: str,
    kafka_bootstrap: str,
    make_topics: Callable[[str, int], Topics],
    processes: Processes,
    empty_graph: Callable[[str], str],
) -> None:
    uri = empty_graph(neo4j_uri)
    topics = make_topics(kafka_bootstrap, PARTITIONS)
    stream = build_stream(seed=506, tag="disorder", chains=30)
    home = {e.run_id: zlib.crc32(e.run_id.encode()) % PARTITIONS for e in stream.events}
    terminal = [e for e in stream.events if e.event_type in TERMINAL]
    starts = [e for e in stream.events if e.event_type == "START"]
    # Newest first within each partition too: every chain arrives back to front.
    produce(
        kafka_bootstrap,
        topics.events,
        [Outgoing(orjson.dumps(e.body), e.key.encode(), home[e.run_id]) for e in reversed(terminal)],
    )
    consumer = processes.consumer(kafka_bootstrap, topics.events, uri, topics.group, topics.dead_letters)
    wait_caught_up(kafka_bootstrap, topics.group, topics.events, timeout=60, alive=[consumer])
    verify_exactly_once(uri, stream, [e.index for e in terminal])

    produce(
        kafka_bootstrap,
        topics.events,
        [Outgoing(orjson.dumps(e.body), e.key.encode(), (home[e.run_id] + 1) % PARTITIONS) for e in starts],
    )
    wait_caught_up(kafka_bootstrap, topics.group, topics.events, timeout=60, alive=[consumer])
    verify_exactly_once(uri, stream, range(len(stream.events)))
    assert consumer.stop() == 0
