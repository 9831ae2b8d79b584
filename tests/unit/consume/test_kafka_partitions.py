"""Partition bookkeeping of the Kafka consumer that needs no broker: poll waits, names.

Rewinds, pauses and resumes act on a real consumer: tests/integration/kafka/test_consume.py.
"""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka import TopicPartition

from olgraph.config import ConsumerSettings
from olgraph.consume.kafka_partitions import PartitionBook, WorkerStats, partition_names, partition_of
from olgraph.metrics import Metrics


def book() -> PartitionBook:
    settings = ConsumerSettings(backoff_initial_seconds=2, backoff_max_seconds=8)
    return PartitionBook(None, settings, Metrics(), WorkerStats())


def test_a_poll_waits_its_longest_when_nothing_backs_off() -> None:
    assert book().poll_timeout_ms(1000, now=0.0) == 1000


def test_a_poll_ends_when_the_next_back_off_does() -> None:
    partitions = book()
    partitions._outage.fail(now=0.0)  # the whole consumer waits 2 s
    assert partitions.poll_timeout_ms(5000, now=0.5) == 1501
    assert partitions.poll_timeout_ms(1000, now=0.5) == 1000  # never longer than asked
    assert partitions.poll_timeout_ms(1000, now=3.0) == 1  # over already: at once, never 0 (forever)


def test_partitions_are_named_in_order_and_found_from_their_records() -> None:
    tps = {TopicPartition("events", 10), TopicPartition("events", 2), TopicPartition("a", 0)}
    assert partition_names(tps) == "a[0], events[10], events[2]"
    assert partition_of(SimpleNamespace(topic="events", partition=3)) == TopicPartition("events", 3)
