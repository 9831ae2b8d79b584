"""Poison messages interleaved with a valid stream go to the dead-letter topic; nothing stalls.

Messages are produced straight to the events topic (as any Kafka producer could): a valid
stream, and between its events, on every partition, messages that cannot be applied — not
JSON, JSON that is not an OpenLineage event, a RunEvent without ``runId``, and an event with a
dataset name over 8 KB (Neo4j could not index it; the parser refuses names over 2 KB, see
docs/decisions/0011-indexable-names.md, so it never reaches the store). Two consume
replicas must dead-letter exactly those, each with the stage and reason and its source
topic/partition/offset in headers, in source order, and apply every valid event exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson
import pytest
from fault_events import PRODUCER, SCHEMA_URL, build_stream
from fault_kafka import Outgoing, Record, Topics, produce, read_topic, wait_caught_up
from fault_support import Processes
from fault_verify import verify_exactly_once

pytestmark = [pytest.mark.kafka, pytest.mark.neo4j]

PARTITIONS = 3


@dataclass(frozen=True)
class Poison:
    """A message that must be dead-lettered, the stage that must refuse it and words its reason must hold."""

    value: bytes
    stage: str
    reason: str


def source_of(letter: Record) -> tuple[int, int]:
    """The (partition, offset) a dead letter's headers say it came from."""
    return int(letter.header("olgraph.source.partition") or -1), int(
        letter.header("olgraph.source.offset") or -1
    )


def huge_dataset_event() -> bytes:
    """A RunEvent whose output dataset name (9,000 characters) exceeds what a store can index."""
    return orjson.dumps(
        {
            "eventType": "COMPLETE",
            "eventTime": "2026-03-02T00:00:00Z",
            "run": {"runId": "0195f000-0000-7000-8000-00000000dead"},
            "job": {"namespace": "faults-poison", "name": "writes_a_huge_name"},
            "outputs": [{"namespace": "s3://faults-poison", "name": "n" * 9000}],
            "producer": PRODUCER,
            "schemaURL": SCHEMA_URL,
        }
    )


POISONS = (
    Poison(b'{"eventType": "START", "eventTime": "2026-03-02T00:00:00Z", "run": ', "decode", "JSON"),
    Poison(b"\xff\xfe not even text", "decode", "JSON"),
    Poison(b'{"hello": "world", "answer": 42}', "parse", "job"),
    Poison(b"[1, 2, 3]", "parse", "object"),
    Poison(
        b'{"eventType": "START", "eventTime": "2026-03-02T00:00:00Z", "run": {},'
        b' "job": {"namespace": "faults-poison", "name": "no_run_id"}, "producer": "p"}',
        "parse",
        "runId",
    ),
    Poison(
        huge_dataset_event(), "parse", "outputs[0].name: 9000 bytes long; a name may hold at most 2048 bytes"
    ),
)


def test_poison_messages_are_dead_lettered_and_the_rest_applied(
    neo4j_uri: str,
    kafka_bootstrap: str,
    make_topics: Callable[[str, int], Topics],
    processes: Processes,
    empty_graph: Callable[[str], str],
) -> None:
    uri = empty_graph(neo4j_uri)
    topics = make_topics(kafka_bootstrap, PARTITIONS)
    stream = build_stream(seed=404, tag="poison", chains=24)
    messages: list[Outgoing] = []
    poisons_at: dict[int, Poison] = {}  # message index → poison
    every = len(stream.events) // (len(POISONS) * PARTITIONS) + 1
    for event in stream.events:
        messages.append(Outgoing(orjson.dumps(event.body), event.key.encode()))
        if event.index % every == every // 2:
            number = len(poisons_at)
            poisons_at[len(messages)] = POISONS[number % len(POISONS)]
            messages.append(Outgoing(poisons_at[len(messages)].value, b"poison", number % PARTITIONS))
    assert len(poisons_at) >= len(POISONS) * PARTITIONS - 1
    delivered = produce(kafka_bootstrap, topics.events, messages)

    consumers = [
        processes.consumer(kafka_bootstrap, topics.events, uri, topics.group, topics.dead_letters)
        for _ in range(2)
    ]
    wait_caught_up(kafka_bootstrap, topics.group, topics.events, timeout=90, alive=consumers)

    dead = read_topic(kafka_bootstrap, topics.dead_letters)
    by_source = {source_of(letter): letter for letter in dead}
    assert len(by_source) == len(dead), "a message was dead-lettered twice although no replica crashed"
    expected = {delivered[index]: poison for index, poison in poisons_at.items()}
    assert set(by_source) == set(expected), (
        f"dead-lettered {sorted(by_source)}, expected exactly the poison messages at {sorted(expected)}"
    )
    for source, poison in expected.items():
        letter = by_source[source]
        assert letter.value == poison.value, f"the dead letter of {source} is not the message as produced"
        assert letter.header("olgraph.source.topic") == topics.events
        assert letter.header("olgraph.stage") == poison.stage, (source, letter.headers)
        reason = letter.header("olgraph.reason") or ""
        assert poison.reason.lower() in reason.lower(), f"reason of {source} ({poison.stage}): {reason!r}"
    for partition in range(PARTITIONS):
        offsets = [offset for (p, offset) in map(source_of, dead) if p == partition]
        assert offsets == sorted(offsets), f"partition {partition} was not consumed in order: {offsets}"

    verify_exactly_once(uri, stream, range(len(stream.events)))
    for consumer in consumers:
        assert consumer.stop() == 0, consumer.output()
