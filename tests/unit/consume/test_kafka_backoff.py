"""The Kafka consumer's back-offs: one for every partition (an outage), or one per partition."""

from __future__ import annotations

from olgraph.config import ConsumerSettings
from olgraph.consume.kafka_backoff import Outage, PartitionBackoffs


def test_an_outage_backs_off_exponentially_and_resets_on_success() -> None:
    outage = Outage(ConsumerSettings(backoff_initial_seconds=1, backoff_max_seconds=5))
    assert outage.seconds_left(now=0.0) is None
    assert not outage.active(now=0.0)
    assert [outage.fail(now=0.0) for _ in range(4)] == [1.0, 2.0, 4.0, 5.0]
    assert outage.active(now=4.9)
    assert outage.seconds_left(now=4.0) == 1.0
    outage.succeed()
    assert not outage.active(now=0.0)
    assert outage.fail(now=10.0) == 1.0


def test_the_end_of_an_outage_is_reported_once() -> None:
    outage = Outage(ConsumerSettings(backoff_initial_seconds=2, backoff_max_seconds=60))
    assert not outage.ended(now=0.0)
    outage.fail(now=0.0)
    assert not outage.ended(now=1.0)
    assert outage.ended(now=2.0)
    assert not outage.ended(now=3.0)
    assert not outage.active(now=3.0)
    assert outage.failures == 1  # the next failure waits longer, until a success resets it


def test_backoffs_grow_exponentially_per_partition_and_reset_on_success() -> None:
    backoffs = PartitionBackoffs(ConsumerSettings(backoff_initial_seconds=1, backoff_max_seconds=5))
    assert [backoffs.fail("a", now=0.0) for _ in range(4)] == [1.0, 2.0, 4.0, 5.0]
    assert backoffs.fail("b", now=0.0) == 1.0  # partitions are independent
    backoffs.succeed("a")
    assert backoffs.fail("a", now=10.0) == 1.0


def test_backoffs_report_each_ended_partition_once() -> None:
    backoffs = PartitionBackoffs(ConsumerSettings(backoff_initial_seconds=1, backoff_max_seconds=60))
    assert backoffs.seconds_to_next(now=0.0) is None
    backoffs.fail("a", now=0.0)
    backoffs.fail("b", now=0.0)
    backoffs.fail("b", now=0.0)  # b waits 2 s
    assert backoffs.waiting() == 2
    assert backoffs.seconds_to_next(now=0.25) == 0.75
    assert backoffs.due(now=0.5) == []
    assert backoffs.due(now=1.0) == ["a"]
    assert backoffs.due(now=1.5) == []
    assert backoffs.seconds_to_next(now=1.5) == 0.5
    assert backoffs.due(now=3.0) == ["b"]
    assert backoffs.waiting() == 0
    assert backoffs.seconds_to_next(now=3.0) is None


def test_forgotten_partitions_start_afresh() -> None:
    backoffs = PartitionBackoffs(ConsumerSettings(backoff_initial_seconds=1, backoff_max_seconds=60))
    backoffs.fail("a", now=0.0)
    backoffs.fail("a", now=0.0)
    backoffs.forget(["a", "unknown"])
    assert backoffs.due(now=100.0) == []
    assert backoffs.fail("a", now=0.0) == 1.0


def test_a_partition_knows_whether_it_waits() -> None:
    backoffs = PartitionBackoffs(ConsumerSettings(backoff_initial_seconds=1, backoff_max_seconds=60))
    backoffs.fail("a", now=0.0)
    assert backoffs.waiting_for("a")
    assert not backoffs.waiting_for("b")
    backoffs.due(now=1.0)
    assert not backoffs.waiting_for("a")
