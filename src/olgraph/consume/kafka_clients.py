"""The Kafka clients of the consumer: their timings, opening them together, closing them quietly.

The consumer and the dead-letter producer are opened as a pair by :func:`open_clients`; when the
brokers cannot be reached neither is left open, and the failure is one :class:`EventLogUnavailable`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from olgraph.config import KafkaConfig
from olgraph.errors import EventLogUnavailable
from olgraph.log.kafka_options import client_options

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KafkaTuning:
    """Consumer timings. The defaults suit production; tests shorten them.

    ``max_poll_interval_ms`` bounds the time between two polls (else the member is evicted):
    one poll handles at most one store attempt per partition, so 5 minutes is ample.
    ``session_timeout_ms`` is how fast a killed consumer's partitions move to the others.
    ``rebalance_timeout_ms`` is how long a rebalance waits for members to rejoin — long enough
    for the in-flight partition batch to finish (``revoke_wait_seconds``) before revoking.
    ``metadata_max_age_ms``: how often topic metadata is refreshed (aiokafka's default, 5 minutes,
    left a consumer started before its topic blind to it that long).
    ``max_partition_fetch_bytes``: how much one fetch brings per partition. aiokafka's 1 MiB
    holds ~80 events of the 13 KB a Spark event with column lineage weighs, so store batches
    stayed far below ``batch_size``; 16 MiB lets a batch fill up (``fetch_max_bytes``, 50 MiB
    by default, still caps one fetch across partitions).
    """

    poll_timeout_ms: int = 1000
    max_poll_interval_ms: int = 300_000
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    rebalance_timeout_ms: int = 60_000
    revoke_wait_seconds: float = 45.0
    commit_timeout_seconds: float = 30.0
    max_partition_fetch_bytes: int = 16 * 1024 * 1024
    metadata_max_age_ms: int = 5_000


async def open_clients(
    config: KafkaConfig, tuning: KafkaTuning, listener: ConsumerRebalanceListener
) -> tuple[Any, Any]:
    """Start the dead-letter producer and the group consumer (subscribed), as ``(consumer, producer)``.

    The consumer commits by hand, reads only committed transactions and starts at the earliest
    offset of a partition the group never committed. The producer waits for every in-sync
    replica and is idempotent, so its own retries never write a dead letter twice.

    Raises :class:`EventLogUnavailable` when the brokers cannot be reached (nothing is left open).
    """
    producer = AIOKafkaProducer(
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=int(config.send_timeout_seconds * 1000),
        **client_options(config),
    )
    consumer = AIOKafkaConsumer(
        group_id=config.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_interval_ms=tuning.max_poll_interval_ms,
        session_timeout_ms=tuning.session_timeout_ms,
        heartbeat_interval_ms=tuning.heartbeat_interval_ms,
        rebalance_timeout_ms=tuning.rebalance_timeout_ms,
        max_partition_fetch_bytes=tuning.max_partition_fetch_bytes,
        metadata_max_age_ms=tuning.metadata_max_age_ms,
        **client_options(config),
    )
    try:
        await producer.start()
        await consumer.start()
        consumer.subscribe([config.topic], listener=listener)
    except (KafkaError, OSError) as exc:
        await close_quietly(consumer, producer)
        raise EventLogUnavailable(f"cannot reach Kafka at {config.bootstrap_servers}: {exc}") from exc
    return consumer, producer


async def close_quietly(*clients: Any) -> None:
    """Stop aiokafka clients, ignoring those never started or already unreachable."""
    for client in clients:
        if client is not None:
            try:
                await client.stop()
            except (KafkaError, OSError) as exc:
                logger.warning("closing a Kafka client failed: %s", exc)
