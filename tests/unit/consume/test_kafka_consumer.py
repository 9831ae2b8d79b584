"""The Kafka consumer worker without a broker: readiness, a start that cannot connect.

Everything that talks to a broker is tested against a real one in tests/integration/kafka; the
worker's parts have tests of their own (test_kafka_clients, test_kafka_partitions,
test_kafka_rejects, test_kafka_backoff).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from olgraph.config import ConsumerSettings, KafkaConfig
from olgraph.consume import kafka_consumer
from olgraph.consume.kafka_consumer import KafkaConsumerWorker
from olgraph.errors import EventLogUnavailable
from olgraph.ingest.reader import EventReader
from olgraph.metrics import Metrics
from olgraph.store.embedded import EmbeddedStore


def test_the_names_imported_from_the_worker_module_still_are() -> None:
    # the module was split; code that imported these from it keeps working
    for name in ("KafkaTuning", "WorkerStats", "MAX_REASON_BYTES", "dead_letter_headers", "UNAVAILABLE"):
        assert name in kafka_consumer.__all__
        assert getattr(kafka_consumer, name) is not None


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
