"""The ``kafka`` load generator: raw aiokafka produce (``acks=all``, idempotent, keyed as
olgraph keys) and raw consume of the same messages, the bound of olgraph's Kafka path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import orjson

MESSAGE_BYTES = 1_000_000  # olgraph's largest Kafka message


def kafka_keys(lines: Sequence[bytes]) -> list[bytes]:
    """The message key olgraph's API would give each event (computed before any timing)."""
    from olgraph.ingest.kafka_key import kafka_key  # noqa: PLC0415
    from olgraph.ingest.parse import parse_event  # noqa: PLC0415

    return [kafka_key(parse_event(orjson.loads(line))).encode() for line in lines]


async def produce(
    bootstrap: str, topic: str, lines: Sequence[bytes], keys: Sequence[bytes], **tuning: Any
) -> float:
    """Seconds to produce every event (acks=all, idempotent, linger 5 ms as olgraph) and get all acks."""
    from aiokafka import AIOKafkaProducer  # noqa: PLC0415

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5, **tuning
    )
    await producer.start()
    try:
        started = time.monotonic()
        acks = [
            await producer.send(topic, value=line, key=key) for line, key in zip(lines, keys, strict=True)
        ]
        await asyncio.gather(*acks)
        return time.monotonic() - started
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, count: int) -> tuple[int, float]:
    """Records read back from the start of ``topic`` (up to ``count``) and the seconds it took."""
    from aiokafka import AIOKafkaConsumer  # noqa: PLC0415

    # No group (nothing to join or commit): subscribing assigns every partition of the topic.
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        received, started = 0, time.monotonic()
        while received < count and time.monotonic() - started < 300:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            received += sum(len(records) for records in batch.values())
        return received, time.monotonic() - started
    finally:
        await consumer.stop()


async def kafka_raw(bootstrap: str, topics: Sequence[str], lines: Sequence[bytes]) -> dict[str, Any]:
    """Produce every event twice, with aiokafka's default batch size (16 KiB, as olgraph's API
    producer) into ``topics[0]`` and with 1 MiB batches into ``topics[1]``; consume the latter back."""
    keys = kafka_keys(lines)
    size = MESSAGE_BYTES + 1024
    default = await produce(bootstrap, topics[0], lines, keys, max_request_size=size)
    tuned = await produce(bootstrap, topics[1], lines, keys, max_request_size=size, max_batch_size=size)
    received, consumed = await consume(bootstrap, topics[1], len(lines))
    return {
        "events": len(lines),
        "produce_default_seconds": round(default, 3),
        "produce_default_events_per_second": round(len(lines) / default, 1),
        "produce_seconds": round(tuned, 3),
        "produce_events_per_second": round(len(lines) / tuned, 1),
        "consumed": received,
        "consume_seconds": round(consumed, 3),
        "consume_events_per_second": round(received / consumed, 1),
    }
