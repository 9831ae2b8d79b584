"""Neo4j stopped for a while in the middle of a stream: ingest goes on, consumers back off, nothing is lost.

The graph store of this module is a private Neo4j, stopped (``down()``) while an HTTP stream
flows through ``olgraph api`` into Kafka and two ``olgraph consume`` replicas apply it. While
Neo4j is down the API keeps acknowledging (it needs Kafka only) and stays ready for ingest while
its queries answer 503, the consumers keep running, back off and commit nothing; once Neo4j is
back at the same address they catch up. At the end every acknowledged event is in the graph
exactly once, including those applied before the stop (so the restarted server kept its data).

The second test stops Neo4j under consumers of a 24-partition topic: every partition backs off
together (one store attempt per back-off, never one per partition), no member is evicted from
the group, a replica stopped with SIGTERM in the middle of a long store attempt exits within its
grace period, and nothing is lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
import orjson
import pytest
from fault_events import build_stream
from fault_kafka import Outgoing, Topics, group_lag, produce, wait_caught_up
from fault_support import HttpProducer, OlgraphProcess, PrivateServer, Processes, base_url, wait_until
from fault_verify import verify_exactly_once

pytestmark = [pytest.mark.kafka, pytest.mark.neo4j, pytest.mark.slow]

CHAINS = 100  # about 950 events
PAUSE = 0.05  # seconds between two events of one producer thread
PARTITIONS = 24
_RETRIABLE_STORE_ERRORS = re.compile(r'^olgraph_store_errors_total\{retriable="true"\} (\S+)$', re.MULTILINE)


def retriable_store_errors(consumer: OlgraphProcess) -> float:
    """``olgraph_store_errors_total{retriable="true"}`` from the replica's ``/metrics``."""
    metrics = httpx.get(consumer.health_url.replace("/readyz", "/metrics"), timeout=10).text
    found = _RETRIABLE_STORE_ERRORS.search(metrics)
    return float(found.group(1)) if found else 0.0


def test_neo4j_outage_mid_stream_loses_nothing(
    private_neo4j: PrivateServer,
    kafka_bootstrap: str,
    make_topics: Callable[[str, int], Topics],
    processes: Processes,
    empty_graph: Callable[[str], str],
) -> None:
    uri = empty_graph(private_neo4j.address)
    topics = make_topics(kafka_bootstrap, 4)
    stream = build_stream(seed=202, tag="neo4j-outage", chains=CHAINS)
    api = processes.api(kafka_bootstrap, topics.events, uri)
    consumers = [
        processes.consumer(kafka_bootstrap, topics.events, uri, topics.group, topics.dead_letters)
        for _ in range(2)
    ]
    # The first half flows while Neo4j is up and while it shuts down; the second half is sent
    # only once it is down, so the outage surely has a stream to ride out.
    half = range(CHAINS // 2)
    before = HttpProducer(base_url(api), stream, threads=4, pause=PAUSE, only=half).start()
    wait_until(lambda: before.sent() > before.total() // 2, 60, "half of the first half")

    private_neo4j.stop()
    during = HttpProducer(base_url(api), stream, threads=4, pause=PAUSE, only=range(half.stop, CHAINS))
    during.start()
    wait_until(lambda: len(during.acked()) >= 50, 30, "50 acknowledgements while Neo4j is down")
    # The outage lasts until every consumer has felt it (a failed store attempt each), not for a time.
    wait_until(lambda: all(retriable_store_errors(c) >= 1 for c in consumers), 60, "each consumer failing")
    lag_while_down = sum(group_lag(kafka_bootstrap, topics.group, topics.events).values())
    readiness_while_down = {process.name: process.readiness() for process in consumers}
    api_ingest_ready = api.readiness()
    api_query_ready = httpx.get(f"{base_url(api)}/readyz", params={"scope": "query"}, timeout=10)
    query_while_down = httpx.get(f"{base_url(api)}/api/v1/namespaces", timeout=10)
    private_neo4j.start()

    before.join(timeout=120)
    during.join(timeout=120)
    acked = before.acked() + during.acked()
    assert len(acked) == len(stream.events), f"{before.summary()}; {during.summary()}"
    assert lag_while_down > 0, "nothing waited in Kafka while Neo4j was down"
    for name, (status, body) in readiness_while_down.items():
        assert status == 503, f"{name} /readyz while Neo4j was down: {status} {body}"
        assert json.loads(body)["checks"]["store"] != "ok", f"{name} /readyz does not blame the store: {body}"
    # The API replica kept serving ingest, so it stayed ready; its queries said why they could not.
    assert api_ingest_ready == (200, '{"status":"ready","checks":{"kafka":"ok"}}'), api_ingest_ready
    assert api_query_ready.status_code == 503, api_query_ready.text
    assert "Neo4j" in api_query_ready.json()["checks"]["store"]
    assert query_while_down.status_code == 503, query_while_down.text  # within the client's hang guard
    assert query_while_down.headers["retry-after"] == "1"
    wait_caught_up(kafka_bootstrap, topics.group, topics.events, timeout=90, alive=consumers)
    verify_exactly_once(uri, stream, acked)

    for consumer in consumers:
        errors = retriable_store_errors(consumer)
        assert errors > 0, f"{consumer.name} never saw Neo4j unavailable"
        # Back-off, not a hot loop: each failed store attempt was followed by a back-off of all
        # its partitions (counted apart), never by more attempts at once.
        backoffs = metric(consumer, "olgraph_consumer_backoffs_total", scope="all")
        assert errors == backoffs, f"{consumer.name}: {errors} failed attempts, {backoffs} back-offs"
    for process in (*consumers, api):
        process.wait_ready(timeout=30)  # ready again, without a restart
        assert process.starts == 1
        assert process.stop() == 0, process.output()


def metric(process: OlgraphProcess, name: str, **labels: str) -> float:
    """One sample of a replica's ``/metrics`` (0 when absent)."""
    text = httpx.get(process.health_url.replace("/readyz", "/metrics"), timeout=10).text
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = "^" + re.escape(name) + (re.escape("{" + wanted + "}") if labels else "") + r" (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_neo4j_outage_under_many_partitions_evicts_no_one_and_loses_nothing(
    private_neo4j: PrivateServer,
    kafka_bootstrap: str,
    make_topics: Callable[[str, int], Topics],
    processes: Processes,
    empty_graph: Callable[[str], str],
) -> None:
    uri = empty_graph(private_neo4j.address)
    topics = make_topics(kafka_bootstrap, PARTITIONS)
    stream = build_stream(seed=24, tag="many-partitions", chains=120)
    messages = [Outgoing(orjson.dumps(event.body), event.key.encode()) for event in stream.events]
    half = len(messages) // 2
    short = {"OLGRAPH_CONSUMER__BACKOFF_INITIAL_SECONDS": "0.5", "OLGRAPH_CONSUMER__BACKOFF_MAX_SECONDS": "2"}
    steady = processes.consumer(kafka_bootstrap, topics.events, uri, topics.group, topics.dead_letters, short)
    # The other replica's store attempts last 10 minutes while Neo4j is down: SIGTERM must not wait.
    stubborn_env = short | {
        "OLGRAPH_STORE__NEO4J__WRITE_RETRY_SECONDS": "600",
        "OLGRAPH_CONSUMER__SHUTDOWN_GRACE_SECONDS": "2",
    }
    stubborn = processes.consumer(
        kafka_bootstrap, topics.events, uri, topics.group, topics.dead_letters, stubborn_env
    )
    produce(kafka_bootstrap, topics.events, messages[:half])
    wait_caught_up(kafka_bootstrap, topics.group, topics.events, timeout=120, alive=[steady, stubborn])
    rebalances = metric(steady, "olgraph_consumer_rebalances_total")

    private_neo4j.stop()
    produce(kafka_bootstrap, topics.events, messages[half:])
    wait_until(
        lambda: metric(steady, "olgraph_consumer_backoffs_total", scope="all") >= 3, 120, "3 back-offs"
    )
    # One store attempt per back-off of every partition (the old code made 1 + one per partition),
    # and nobody was evicted from the group in the middle of the outage.
    backoffs = metric(steady, "olgraph_consumer_backoffs_total", scope="all")
    errors = metric(steady, "olgraph_store_errors_total", retriable="true")
    assert errors in (backoffs, backoffs + 1), (errors, backoffs)  # +1: an attempt failing right now
    assert metric(steady, "olgraph_consumer_backoffs_total", scope="partition") == 0
    assert metric(steady, "olgraph_consumer_rebalances_total") == rebalances
    assert sum(group_lag(kafka_bootstrap, topics.group, topics.events).values()) > 0
    status, body = steady.readiness()
    assert status == 503, body
    assert json.loads(body)["checks"]["store"] != "ok", body

    assert stubborn.stop() == 0, stubborn.output()  # within the 30 s hang guard, not 10 minutes
    assert "abandoning it uncommitted" in stubborn.output()

    private_neo4j.start()
    wait_caught_up(kafka_bootstrap, topics.group, topics.events, timeout=180, alive=[steady])
    verify_exactly_once(uri, stream, range(len(stream.events)))
    steady.wait_ready(timeout=60)
    assert steady.starts == 1
    assert steady.stop() == 0, steady.output()
