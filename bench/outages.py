"""Outage timings: how fast olgraph answers and stops when Neo4j or Kafka is gone.

The tests assert the outcomes (503, nothing lost, an exit within the grace period) and leave
the clock out; these are the figures, measured against real servers:

* a query while Neo4j is stopped: time until the store raises ``StoreUnavailable`` (the API's
  503), against the configured bound (connection timeout 2 s, no query retries);
* an event sent while no Kafka broker answers: time until ``append`` fails (bounded by
  ``send_timeout_seconds``), and what ``open`` costs then;
* ``olgraph consume`` stopped with SIGTERM in the middle of a store attempt during a Neo4j
  outage: time to exit, against ``consumer.shutdown_grace_seconds``.

    .venv/bin/python bench/outages.py [--quick]
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    BenchConfig,
    OlgraphProcess,
    config_from,
    log,
    neo4j_store_options,
    percentiles,
    section_parser,
    service,
    write_result,
)

SECTION = "outages"
GRACE_SECONDS = 2.0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _query_failures(uri: str, cache: Path, samples: int) -> dict[str, Any]:
    """Milliseconds a query and a ping take to fail once Neo4j is stopped."""
    from olgraph.devservices import launchers  # noqa: PLC0415
    from olgraph.errors import StoreUnavailable  # noqa: PLC0415
    from olgraph.store.neo4j import Neo4jStore  # noqa: PLC0415

    store = Neo4jStore(uri, *neo4j_store_options(uri))  # the dev Neo4j has a password
    await store.open()
    launchers()["neo4j"].down(cache)
    query_ms: list[float] = []
    ping_ms: list[float] = []
    try:
        for _ in range(samples):
            for action, into in ((store.get_node("job:ns:x"), query_ms), (store.ping(), ping_ms)):
                started = time.perf_counter()
                try:
                    await action
                except StoreUnavailable:
                    into.append((time.perf_counter() - started) * 1000)
    finally:
        await store.close()
        launchers()["neo4j"].up(cache)
    return {"query": percentiles(query_ms), "ping": percentiles(ping_ms)}


async def _kafka_failures(samples: int) -> dict[str, Any]:
    """Milliseconds ``open`` and a first ``append`` take with no broker listening."""
    from olgraph.config import KafkaConfig  # noqa: PLC0415
    from olgraph.errors import EventLogUnavailable  # noqa: PLC0415
    from olgraph.log.base import NewEvent  # noqa: PLC0415
    from olgraph.log.kafka import KafkaEventSink  # noqa: PLC0415

    open_ms: list[float] = []
    append_ms: list[float] = []
    event = NewEvent(b"{}", "c", "run", None, None, "k")
    for _ in range(samples):
        sink = KafkaEventSink(
            KafkaConfig(bootstrap_servers=f"127.0.0.1:{_closed_port()}"), reconnect_interval=0
        )
        started = time.perf_counter()
        await sink.open()
        open_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        try:
            await sink.append([event])
        except EventLogUnavailable:
            append_ms.append((time.perf_counter() - started) * 1000)
        await sink.close()
    return {"open": percentiles(open_ms), "append": percentiles(append_ms)}


def _sigterm_during_outage(config: BenchConfig, neo4j: str, kafka: str) -> float:
    """Seconds from SIGTERM to exit of a consume replica whose store attempts last ten minutes."""
    from olgraph.devservices import launchers  # noqa: PLC0415

    topic = f"bench-outage-{os.getpid()}"
    env = {
        "OLGRAPH_STORE__NEO4J__WRITE_RETRY_SECONDS": "600",
        "OLGRAPH_CONSUMER__SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
    }
    args = [
        "consume",
        "--kafka-bootstrap",
        kafka,
        "--topic",
        topic,
        "--neo4j-uri",
        neo4j,
        "--health-port",
        "0",
    ]
    cache = config.services_cache / "outages"
    _create_topic(kafka, topic)
    with OlgraphProcess.start(args, env=env, http=True, ready_path="/readyz") as consume:
        launchers()["neo4j"].down(cache)
        _produce(kafka, topic)  # fetched while Neo4j is down: the store attempt waits for it
        try:
            _wait_for_a_store_attempt(consume.url or "")
            started = time.perf_counter()
            os.killpg(consume.pid, signal.SIGTERM)
            consume.process.wait(60)
            return time.perf_counter() - started
        finally:
            launchers()["neo4j"].up(cache)


def _create_topic(bootstrap: str, topic: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: PLC0415

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        finally:
            await admin.close()

    asyncio.run(create())


def _produce(bootstrap: str, topic: str) -> None:
    from aiokafka import AIOKafkaProducer  # noqa: PLC0415

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            event = (
                b'{"eventType": "START", "eventTime": "2026-01-01T00:00:00Z", "job": {"namespace": "b", '
                b'"name": "j"}, "run": {"runId": "0190b7c5-0000-7000-8000-00000000b0b0"}}'
            )
            await producer.send_and_wait(topic, event, key=b"job:b/j")
        finally:
            await producer.stop()

    asyncio.run(send())


def _wait_for_a_store_attempt(health: str) -> None:
    """Until the replica polled the event (its lag metric shows it) — the store attempt is then running."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = httpx.get(f"{health}/metrics", timeout=5).text
        if "olgraph_consumer_lag{" in text:
            time.sleep(1.0)  # the attempt is under way; this measures the stop, not the start
            return
        time.sleep(0.1)
    raise TimeoutError("the consume replica never fetched the event")


def run(config: BenchConfig) -> dict[str, Any]:
    """Measure the three outage timings; write and return the document."""
    samples = 5 if config.quick else 20
    cache = config.services_cache / "outages"
    with service("neo4j", cache) as neo4j, service("kafka", cache) as kafka:
        log("outages: queries while Neo4j is stopped")
        queries = asyncio.run(_query_failures(neo4j, cache, samples))
        log("outages: appends while no Kafka broker answers")
        appends = asyncio.run(_kafka_failures(max(3, samples // 4)))
        log("outages: SIGTERM to consume in the middle of a store attempt")
        sigterm = _sigterm_during_outage(config, neo4j, kafka)
    doc = {
        "title": "Outages: how fast olgraph answers and stops without Neo4j or Kafka",
        "summary": [
            _row(
                "query fails while Neo4j is stopped (p95)",
                queries["query"]["p95"],
                2000,
                "connection timeout",
            ),
            _row("ingest fails with no Kafka broker (p95)", appends["append"]["p95"], 4000, "send timeout"),
            _row(
                "consume exits after SIGTERM mid-attempt",
                round(sigterm * 1000, 1),
                GRACE_SECONDS * 1000,
                "grace",
            ),
        ],
        "tables": [
            {
                "title": "Milliseconds to fail",
                "columns": ["what", "n", "p50", "p95", "max"],
                "rows": [
                    [name, p["n"], p.get("p50"), p.get("p95"), p.get("max")]
                    for name, p in (
                        ("query (Neo4j stopped)", queries["query"]),
                        ("ping (Neo4j stopped)", queries["ping"]),
                        ("Kafka sink open (no broker)", appends["open"]),
                        ("Kafka sink append (no broker)", appends["append"]),
                    )
                ],
            }
        ],
        "notes": [
            "Each figure is compared with the configured bound it must stay within (the baseline "
            "column); the tests assert the outcomes (503, nothing lost, an exit) without a clock.",
            "consume's store attempts last up to 600 s here (write_retry_seconds); its grace is "
            f"{GRACE_SECONDS:g} s, after which the batch in flight is cancelled; the exit comes after "
            "that, once the replica has left its group and closed its connections (about a second).",
        ],
    }
    write_result(SECTION, doc, config.results_dir)
    return doc


def _row(metric: str, measured: float | None, bound: float, name: str) -> dict[str, Any]:
    ratio = round(bound / measured, 2) if measured else None
    return {
        "metric": metric,
        "olgraph": measured,
        "baseline": bound,
        "baseline_name": name,
        "ratio": ratio,
        "unit": "ms",
        "note": "ratio > 1: inside the bound",
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    doc = run(config_from(section_parser(__doc__).parse_args(argv)))
    for row in doc["summary"]:
        print(f"{row['metric']}: {row['olgraph']} ms (bound {row['baseline']} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
