"""Talking to the real broker from the fault tests, with confluent-kafka (independent of olgraph's aiokafka).

Topics are created explicitly (so the partition count is the test's choice, not the broker's
default), raw messages are produced straight to a topic (poison messages, out-of-order
arrival), a topic is read back whole with its headers, and a consumer group's progress is
measured as committed offsets against the partitions' end offsets. Every wait is bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

OPERATION_TIMEOUT = 30.0


@dataclass(frozen=True)
class Topics:
    """A fresh events topic, its dead-letter topic and a consumer group, unique to one test."""

    events: str
    dead_letters: str
    group: str


@dataclass(frozen=True)
class Record:
    """One message read back from a topic."""

    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: dict[str, bytes]

    def header(self, name: str) -> str | None:
        """A header decoded as UTF-8, or None when absent."""
        value = self.headers.get(name)
        return None if value is None else value.decode()


@dataclass(frozen=True)
class Outgoing:
    """A message to produce; ``partition`` None lets the key choose (murmur2, as the Java client)."""

    value: bytes
    key: bytes | None = None
    partition: int | None = None


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    """Create ``name`` with ``partitions`` partitions (replication 1) and wait until it is usable."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=OPERATION_TIMEOUT)
    deadline = time.monotonic() + OPERATION_TIMEOUT
    while time.monotonic() < deadline:
        topic = admin.list_topics(name, timeout=10).topics.get(name)
        if topic is not None and topic.error is None and len(topic.partitions) == partitions:
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {name} did not get {partitions} partitions within {OPERATION_TIMEOUT}s")


def produce(bootstrap: str, topic: str, messages: Sequence[Outgoing]) -> list[tuple[int, int]]:
    """Produce ``messages`` in order (idempotent, acks=all); return each one's (partition, offset)."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5}
    )
    delivered: list[tuple[int, int] | None] = [None] * len(messages)
    errors: list[str] = []

    def on_delivery(index: int) -> Callable[[KafkaError | None, Message], None]:
        def report(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                errors.append(f"message {index}: {err}")
            else:
                delivered[index] = (_int(msg.partition()), _int(msg.offset()))

        return report

    for index, message in enumerate(messages):
        callback = on_delivery(index)
        if message.partition is None:
            producer.produce(topic, message.value, message.key, on_delivery=callback)
        else:
            producer.produce(topic, message.value, message.key, message.partition, on_delivery=callback)
        producer.poll(0)
    left = producer.flush(OPERATION_TIMEOUT)
    assert left == 0, f"{left} messages undelivered"
    assert not errors, f"delivery failed: {errors[:5]}"
    return [d for d in delivered if d is not None]


def _int(value: int | None) -> int:
    assert value is not None
    return value


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    metadata = consumer.list_topics(topic, timeout=OPERATION_TIMEOUT).topics[topic]
    if metadata.error is not None:
        raise KafkaException(metadata.error)
    return sorted(metadata.partitions)


def read_topic(bootstrap: str, topic: str, timeout: float = OPERATION_TIMEOUT) -> list[Record]:
    """Every message currently in ``topic`` (up to the end offsets read at the start), in partition order."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"fault-reader-{time.monotonic_ns()}",
         "enable.auto.commit": False, "auto.offset.reset": "earliest"}
    )  # fmt: skip
    try:
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            for p in _partitions(consumer, topic)
        }
        wanted = {p: (low, high) for p, (low, high) in ends.items() if high > low}
        consumer.assign([TopicPartition(topic, p, low) for p, (low, _) in wanted.items()])
        records: list[Record] = []
        done = {p for p in ends if p not in wanted}
        deadline = time.monotonic() + timeout
        while len(done) < len(ends):
            assert time.monotonic() < deadline, f"read only {len(records)} messages of {topic} in {timeout}s"
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                raise KafkaException(message.error())
            raw_headers = message.headers() or []
            pairs = raw_headers.items() if isinstance(raw_headers, dict) else raw_headers
            headers = {name: _bytes(value) for name, value in pairs}
            key, value = message.key(), message.value()
            record = Record(
                _int(message.partition()), _int(message.offset()), _bytes(key), _bytes(value), headers
            )
            records.append(record)
            if record.offset + 1 >= wanted[record.partition][1]:
                done.add(record.partition)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def _bytes(value: str | bytes | None) -> bytes:
    return value.encode() if isinstance(value, str) else value or b""


def group_lag(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """Per partition: messages after the group's committed offset (all of them when nothing is committed)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = [TopicPartition(topic, p) for p in _partitions(consumer, topic)]
        committed = consumer.committed(partitions, timeout=OPERATION_TIMEOUT)
        lag: dict[int, int] = {}
        for tp in committed:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
            position = tp.offset if tp.offset >= 0 else low
            lag[tp.partition] = max(0, high - position)
        return lag
    finally:
        consumer.close()


def wait_caught_up(
    bootstrap: str, group: str, topic: str, timeout: float, alive: Iterable[object] = ()
) -> None:
    """Wait until ``group`` has committed everything in ``topic``; fail with the lag after ``timeout``."""
    deadline = time.monotonic() + timeout
    lag: dict[int, int] = {}
    while time.monotonic() < deadline:
        try:
            lag = group_lag(bootstrap, group, topic)
        except KafkaException:
            lag = {}
        else:
            if lag and not any(lag.values()):
                return
        for process in alive:
            check = getattr(process, "assert_running", None)
            if check is not None:
                check()
        time.sleep(0.25)
    raise AssertionError(f"group {group} did not catch up with {topic} within {timeout}s; lag {lag}")
