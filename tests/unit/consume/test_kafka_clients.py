"""The Kafka consumer's client timings (opening the clients: test_kafka_consumer, tests/integration/kafka)."""

from __future__ import annotations

from olgraph.config import KafkaConfig, Neo4jStoreConfig
from olgraph.consume.kafka_clients import KafkaTuning


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
