"""The Kafka consumer's pure parts: dead-letter headers, timings, readiness (back-offs: test_kafka_backoff).

Everything that talks to a broker is tested against a real one in tests/integration/kafka.
"""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from olgraph.config import ConsumerSettings, KafkaConfig, Neo4jStoreConfig
from olgraph.consume.kafka_consumer import (
    MAX_REASON_BYTES,
    KafkaConsumerWorker,
    KafkaTuning,
    dead_letter_headers,
)
from olgraph.errors import EventLogUnavailable
from olgraph.ingest.reader import EventReader
from olgraph.metrics import Metrics
from olgraph.store.embedded import EmbeddedStore


def record(topic: str = "events", partition: int = 1, offset: int = 42) -> SimpleNamespace:
    return SimpleNamespace(topic=topic, partition=partition, offset=offset)


def test_dead_letter_headers_say_why_where_and_at_which_stage() -> None:
    headers = dead_letter_headers(record(), "parse", "invalid event: run.runId: is required")
    assert headers == [
        ("olgraph.reason", b"invalid event: run.runId: is required"),
        ("olgraph.stage", b"parse"),
        ("olgraph.source.topic", b"events"),
        ("olgraph.source.partition", b"1"),
        ("olgraph.source.offset", b"42"),
    ]


def test_dead_letter_reason_is_utf8_and_bounded() -> None:
    reason = "ünïcode " + "x" * 10_000
    value = dict(dead_letter_headers(record(), "store", reason))["olgraph.reason"]
    assert len(value) <= MAX_REASON_BYTES
    assert value.endswith(b"...")
    assert value.decode("utf-8").startswith("ünïcode xxx")
    # a cut inside a multi-byte character still decodes
    wide = "é" * 5000
    assert dict(dead_letter_headers(record(), "store", wide))["olgraph.reason"].decode("utf-8")


def test_default_timings_are_consistent() -> None:
    tuning = KafkaTuning()
    # heartbeats well inside the session; the revoke wait fits in the rebalance timeout
    assert tuning.heartbeat_interval_ms * 3 <= tuning.session_timeout_ms
    assert tuning.revoke_wait_seconds * 1000 < tuning.rebalance_timeout_ms
    # one poll = at most one store attempt (Neo4j: the connection timeout plus the write retry
    # time, ~12 s by default), DLQ acks and a commit: far below the poll interval, so a slow or
    # unreachable store never gets a member evicted
    neo4j = Neo4jStoreConfig()
    store_attempt = neo4j.connection_timeout_seconds + neo4j.write_retry_seconds
    assert (store_attempt + tuning.commit_timeout_seconds + KafkaConfig().send_timeout_seconds) * 1000 * 2 < (
        tuning.max_poll_interval_ms
    )
    assert tuning.poll_timeout_ms < tuning.session_timeout_ms
    # a topic created after the consumer started is seen within seconds
    assert tuning.metadata_max_age_ms <= 10_000


async def test_a_worker_that_never_started_is_not_ready(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "graph.db")
    worker = KafkaConsumerWorker(KafkaConfig(), store, ConsumerSettings(), Metrics(), EventReader())
    assert worker.readiness_problem() == "the consumer is not running"
    assert not worker.running
    with pytest.raises(EventLogUnavailable, match="not connected"):
        await worker.check_brokers(timeout=1)
    await worker.stop()  # stopping what never started is harmless


async def test_start_fails_cleanly_when_no_broker_answers(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = KafkaConfig(bootstrap_servers=f"127.0.0.1:{port}")
    worker = KafkaConsumerWorker(
        config, EmbeddedStore(tmp_path / "g.db"), ConsumerSettings(), Metrics(), EventReader()
    )
    with pytest.raises(EventLogUnavailable, match=f"127.0.0.1:{port}"):
        await worker.start()
    assert not worker.running
