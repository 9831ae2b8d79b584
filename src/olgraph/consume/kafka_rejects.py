"""Dead-lettering for the Kafka consumer: records the store refused go to the dead-letter topic.

Each dead letter keeps the original record's value and key, and says in its headers why it was
set aside, at which stage, and where it came from. The consumer commits a batch only after every
dead letter of it is acknowledged, so a refused record is never lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka.errors import KafkaError

from olgraph.config import KafkaConfig
from olgraph.consume.applier import Rejected
from olgraph.errors import EventLogUnavailable

logger = logging.getLogger(__name__)

MAX_REASON_BYTES = 2048
"""Longest ``olgraph.reason`` header; longer reasons (a huge invalid value) are cut."""


def dead_letter_headers(record: Any, stage: str, reason: str) -> list[tuple[str, bytes]]:
    """The headers of a dead letter: why, at which stage, and where the record came from.

    >>> from types import SimpleNamespace
    >>> dict(dead_letter_headers(SimpleNamespace(topic="t", partition=2, offset=7), "parse", "bad"))
    ... # doctest: +NORMALIZE_WHITESPACE
    {'olgraph.reason': b'bad', 'olgraph.stage': b'parse', 'olgraph.source.topic': b't',
     'olgraph.source.partition': b'2', 'olgraph.source.offset': b'7'}
    """
    encoded = reason.encode("utf-8", "replace")
    if len(encoded) > MAX_REASON_BYTES:
        encoded = encoded[: MAX_REASON_BYTES - 3].decode("utf-8", "ignore").encode() + b"..."
    return [
        ("olgraph.reason", encoded),
        ("olgraph.stage", stage.encode()),
        ("olgraph.source.topic", str(record.topic).encode()),
        ("olgraph.source.partition", str(record.partition).encode()),
        ("olgraph.source.offset", str(record.offset).encode()),
    ]


async def send_dead_letters(producer: Any, config: KafkaConfig, rejected: Sequence[Rejected[Any]]) -> None:
    """Produce every rejected record to the dead-letter topic and wait for all the acks.

    Raises :class:`EventLogUnavailable` when Kafka does not acknowledge them all within
    ``config.send_timeout_seconds``; nothing of the batch may be committed then.
    """
    if not rejected:
        return

    async def send_all() -> None:
        acks = [
            await producer.send(
                config.dead_letter_topic,
                value=item.source.value,
                key=item.source.key,
                headers=dead_letter_headers(item.source, item.stage, item.reason),
            )
            for item in rejected
        ]
        await asyncio.gather(*acks)

    try:
        await asyncio.wait_for(send_all(), config.send_timeout_seconds)
    except (TimeoutError, KafkaError) as exc:
        raise EventLogUnavailable(f"dead-letter topic {config.dead_letter_topic}: {exc}") from exc
    for item in rejected:
        logger.warning(
            "dead-lettered %s[%d]@%d (%s): %s",
            item.source.topic,
            item.source.partition,
            item.source.offset,
            item.stage,
            item.reason,
        )
