"""Consumers SIGKILLed again and again in the middle of a live stream lose nothing and duplicate nothing.

An ``olgraph api`` takes a stream of a few thousand OpenLineage events over HTTP while two
``olgraph consume`` replicas (one group, four partitions) apply them to Neo4j. Every few
seconds one replica is killed with SIGKILL — no shutdown code runs, a batch may be half
written to Neo4j and not committed to Kafka — and started again at once. At the end every
acknowledged event must be in the graph exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fault_events import build_stream
from fault_kafka import Topics, group_lag, wait_caught_up
from fault_support import HttpProducer, OlgraphProcess, Processes, base_url
from fault_verify import verify_exactly_once

pytestmark = [pytest.mark.kafka, pytest.mark.neo4j, pytest.mark.slow]

CHAINS = 320  # about 3,000 events
KILLS = 4
PAUSE = 0.04  # seconds between two events of one producer thread: the stream lasts ~40 s


def kill_and_restart(victim: OlgraphProcess) -> None:
    """SIGKILL, then start the same replica again and wait until it is back in its group."""
    victim.kill()
    victim.start()
    victim.wait_ready()


def test_sigkilled_consumers_lose_and_duplicate_nothing(
    neo4j_uri: str,
    kafka_bootstrap: str,
    make_topics: Callable[[str, int], Topics],
    processes: Processes,
    empty_graph: Callable[[str], str],
) -> None:
    uri = empty_graph(neo4j_uri)
    topics = make_topics(kafka_bootstrap, 4)
    stream = build_stream(seed=101, tag="sigkill", chains=CHAINS)
    api = processes.api(kafka_bootstrap, topics.events, uri)
    consumers = [
        processes.consumer(kafka_bootstrap, topics.events, uri, topics.group, topics.dead_letters)
        for _ in range(2)
    ]
    producer = HttpProducer(base_url(api), stream, threads=4, pause=PAUSE).start()

    kills_mid_stream = 0
    for number in range(KILLS):
        time.sleep(2.0)
        lag = sum(group_lag(kafka_bootstrap, topics.group, topics.events).values())
        mid_stream = producer.sent() < len(stream.events) or lag > 0
        kill_and_restart(consumers[number % 2])
        kills_mid_stream += mid_stream

    producer.join(timeout=120)
    assert len(producer.acked()) == len(stream.events), producer.summary()
    assert kills_mid_stream >= KILLS - 1, f"only {kills_mid_stream} kills hit a stream still in flight"
    wait_caught_up(kafka_bootstrap, topics.group, topics.events, timeout=90, alive=consumers)
    summary = verify_exactly_once(uri, stream, producer.acked())
    assert summary.runs == len({event.run_id for event in stream.events})
    assert all(consumer.starts == 1 + KILLS // 2 for consumer in consumers)
    for process in (*consumers, api):
        assert process.stop() == 0, process.output()
