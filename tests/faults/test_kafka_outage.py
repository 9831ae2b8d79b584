"""The Kafka broker stopped and restarted while HTTP producers keep sending: 503, retry, success, no loss.

The broker of this module is private. While four producer threads send a stream to
``olgraph api``, the broker is stopped (``down()``) and started again at the same address with
its data. During the outage the API must answer 503 with ``Retry-After`` — never 2xx, since
nothing can be acknowledged — and the producers retry as the openlineage-python HTTP
transport does (urllib3 ``Retry`` on 5xx; its retry budget raised here, as users configure it
with ``transport.retry``, so that an outage of this length is ridden out). Every event is
acknowledged in the end, and every acknowledged event is in the graph exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fault_events import build_stream
from fault_kafka import Topics, wait_caught_up
from fault_support import HttpProducer, PrivateServer, Processes, RetryPolicy, base_url, wait_until
from fault_verify import verify_exactly_once

pytestmark = [pytest.mark.kafka, pytest.mark.neo4j, pytest.mark.slow]

CHAINS = 100  # about 950 events
OUTAGE_503S = 20  # the broker stays stopped until the producers got this many 503s
PAUSE = 0.03  # seconds between two events of one producer thread
PATIENT_CLIENT = RetryPolicy(total=15, backoff_factor=0.3, backoff_max=4.0, request_timeout=30.0)


def test_broker_restart_gives_503_then_every_acknowledged_event_arrives(
    private_kafka: PrivateServer,
    neo4j_uri: str,
    make_topics: Callable[[str, int], Topics],
    processes: Processes,
    empty_graph: Callable[[str], str],
) -> None:
    uri = empty_graph(neo4j_uri)
    broker = private_kafka.address
    topics = make_topics(broker, 4)
    stream = build_stream(seed=303, tag="kafka-outage", chains=CHAINS)
    api = processes.api(broker, topics.events, uri, env={"OLGRAPH_LOG__KAFKA__SEND_TIMEOUT_SECONDS": "2"})
    consumers = [
        processes.consumer(broker, topics.events, uri, topics.group, topics.dead_letters) for _ in range(2)
    ]
    # The first half flows while the broker is up and while it shuts down; the second half
    # starts once it is down, so the outage surely meets producers.
    half = range(CHAINS // 2)
    url = base_url(api)
    before = HttpProducer(url, stream, threads=4, pause=PAUSE, retry=PATIENT_CLIENT, only=half).start()
    wait_until(lambda: before.sent() > before.total() // 2, 60, "half of the first half")

    private_kafka.stop()
    during = HttpProducer(
        url, stream, threads=4, pause=PAUSE, retry=PATIENT_CLIENT, only=range(half.stop, CHAINS)
    )
    during.start()
    # The outage lasts until the producers have felt it repeatedly (a condition, not a clock).
    wait_until(lambda: during.answers()["503"] >= OUTAGE_503S, 60, f"{OUTAGE_503S} answers 503 while down")
    api_readiness = api.readiness()
    private_kafka.start()

    before.join(timeout=150)
    during.join(timeout=150)
    assert api_readiness[0] == 503, f"/readyz while the broker was down: {api_readiness}"
    failed = {name: why for name, why in json.loads(api_readiness[1])["checks"].items() if why != "ok"}
    assert "kafka" in str(failed).lower(), f"/readyz does not blame Kafka: {api_readiness}"
    # "Never a 2xx for an event the brokers did not take" is checked on the outcome, not on a
    # clock: every event answered 2xx must be in the graph exactly once (verify_exactly_once).
    producers = (before, during)
    summary = "; ".join(p.summary() for p in producers)
    answers = before.answers() + during.answers()
    assert sum(p.retried_then_acked() for p in producers) > 0, f"no 503 was retried to success: {summary}"
    unexpected = {answer for answer in answers if answer not in {"201", "503"}}
    assert not unexpected, f"answers other than 201 and 503 (with Retry-After): {summary}"
    acked = before.acked() + during.acked()
    assert len(acked) == len(stream.events), summary
    wait_caught_up(broker, topics.group, topics.events, timeout=90, alive=consumers)
    verify_exactly_once(uri, stream, acked)
    for process in (*consumers, api):
        assert process.starts == 1
        assert process.stop() == 0, process.output()
