"""What a consumer group has committed on a real broker, for tests of consumers and the broker.

Tests import it as ``from kafka_offsets import committed_offsets`` (tests/ is on ``sys.path``
because of its conftest.py; the module name is unique in the tree).
"""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def group_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """Every offset ``group`` committed, by partition of any topic (none committed: empty)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: int(meta.offset) for tp, meta in offsets.items() if meta.offset >= 0}


async def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """Partition → offset ``group`` committed in ``topic`` (partitions without a commit are left out)."""
    offsets = await group_offsets(bootstrap, group)
    return {tp.partition: offset for tp, offset in offsets.items() if tp.topic == topic}
