"""Neo4j stopped for a while in the middle of a stream: ingest goes on, consumers back off, nothing is lost.

The graph store of this module is a private Neo4j, stopped (``down()``) while an HTTP stream
flows through ``olgraph api`` into Kafka and two ``olgraph consume`` replicas apply it. While
Neo4j is down the API keeps acknowledging (it needs Kafka only), the consumers keep running,
back off and commit nothing; once Neo4j is back at the same address they catch up. At the end
every acknowledged event is in the graph exactly once, including those applied before the stop
(so the restarted server kept its data).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import httpx
import pytest
from fault_events import build_stream
from fault_kafka import Topics, group_lag, wait_caught_up
from fault_support import HttpProducer, OlgraphProcess, PrivateServer, Processes, base_url, wait_until
from fault_verify import verify_exactly_once

pytestmark = [pytest.mark.kafka, pytest.mark.neo4j, pytest.mark.slow]

CHAINS = 100  # about 950 events
DOWN_FOR = 2.0  # seconds Neo4j stays stopped after 50 events were acknowledged without it
PAUSE = 0.05  # seconds between two events of one producer thread
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
    down_since = time.monotonic()
    during = HttpProducer(base_url(api), stream, threads=4, pause=PAUSE, only=range(half.stop, CHAINS))
    during.start()
    wait_until(lambda: len(during.acked()) >= 50, 30, "50 acknowledgements while Neo4j is down")
    time.sleep(DOWN_FOR)
    lag_while_down = sum(group_lag(kafka_bootstrap, topics.group, topics.events).values())
    readiness_while_down = {process.name: process.readiness() for process in (api, *consumers)}
    private_neo4j.start()
    back_at = time.monotonic()

    before.join(timeout=120)
    during.join(timeout=120)
    acked = before.acked() + during.acked()
    assert len(acked) == len(stream.events), f"{before.summary()}; {during.summary()}"
    assert lag_while_down > 0, "nothing waited in Kafka while Neo4j was down"
    for name, (status, body) in readiness_while_down.items():
        assert status == 503, f"{name} /readyz while Neo4j was down: {status} {body}"
        assert json.loads(body)["checks"]["store"] != "ok", f"{name} /readyz does not blame the store: {body}"
    wait_caught_up(kafka_bootstrap, topics.group, topics.events, timeout=90, alive=consumers)
    verify_exactly_once(uri, stream, acked)

    errors = [retriable_store_errors(consumer) for consumer in consumers]
    assert sum(errors) > 0, "no consumer saw Neo4j unavailable"
    # Back-off, not a hot loop: a retry per partition and back-off step, not thousands.
    assert max(errors) < 200, f"consumers retried {errors} times in {back_at - down_since:.0f}s"
    for process in (*consumers, api):
        process.wait_ready(timeout=30)  # ready again, without a restart
        assert process.starts == 1
        assert process.stop() == 0, process.output()
