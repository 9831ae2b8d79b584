"""Partition and offset bookkeeping of the Kafka consumer: rewinds, pauses, resumes, lag.

A batch that failed is rewound (``seek``) to its first record, the offset last committed for
each partition, and its partitions are paused while they back off; the loop keeps polling,
so back-offs never count against ``max_poll_interval_ms``. Two kinds of back-off (see
:mod:`olgraph.consume.kafka_backoff`):

* the store or Kafka is unavailable → *every* assigned partition waits out one back-off
  together (:meth:`PartitionBook.back_off_everything`);
* one partition's events fail on their own → only that partition waits
  (:meth:`PartitionBook.retry_later`).

When a back-off ends the partitions are resumed and their records fetched again from Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from olgraph.config import ConsumerSettings
from olgraph.consume.kafka_backoff import Outage, PartitionBackoffs
from olgraph.metrics import Metrics

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class WorkerStats:
    """What this worker has done since it started."""

    polls: int = 0
    applied: int = 0
    dead_lettered: int = 0
    retries: int = 0
    rebalances: int = 0
    last_error: str | None = None


def partition_of(record: Any) -> Any:
    """The ``TopicPartition`` a consumed record came from."""
    return TopicPartition(record.topic, record.partition)


def partition_names(partitions: Iterable[Any]) -> str:
    """``topic[n]`` for each partition, sorted, comma-separated (for logs)."""
    return ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in partitions))


class PartitionBook:
    """Which partitions of a consumer wait, until when, and how far behind each one is.

    ``member`` turns true at the first assignment: the group has taken this consumer in.
    """

    def __init__(
        self, consumer: Any, settings: ConsumerSettings, metrics: Metrics, stats: WorkerStats
    ) -> None:
        self._consumer = consumer
        self._metrics = metrics
        self._stats = stats
        self._backoffs = PartitionBackoffs(settings)
        self._outage = Outage(settings)
        self.member = False

    def poll_timeout_ms(self, longest: int, now: float) -> int:
        """How long the next poll may wait: ``longest``, or less when a back-off ends sooner."""
        ends = (self._backoffs.seconds_to_next(now), self._outage.seconds_left(now))
        waits = [w for w in ends if w is not None]
        if not waits:
            return longest
        return max(1, min(longest, int(min(waits) * 1000) + 1))

    def succeeded(self, partitions: Iterable[Any]) -> None:
        """A batch of these partitions was committed: their back-offs, and any outage, are over."""
        self._outage.succeed()
        for tp in partitions:
            self._backoffs.succeed(tp)

    def retry_later(self, tp: Any, first_offset: int, exc: Exception) -> None:
        """Rewind the partition to its batch's first record and pause it for a back-off of its own."""
        self._note_failure(exc, scope="partition")
        logger.error("applying %s from offset %d failed", tp, first_offset, exc_info=exc)
        if tp not in self._consumer.assignment():
            return  # revoked meanwhile: the new owner starts from the committed offset
        self._consumer.seek(tp, first_offset)
        self._consumer.pause(tp)
        delay = self._backoffs.fail(tp, time.monotonic())
        logger.warning("%s: %s; retrying from offset %d in %.1fs", tp, exc, first_offset, delay)

    def back_off_everything(self, parts: dict[Any, list[Any]], exc: Exception) -> None:
        """The store or Kafka is unavailable: rewind the batch, pause every partition for one back-off."""
        self._note_failure(exc, scope="all")
        assigned = self._consumer.assignment()
        for tp, part in parts.items():
            if tp in assigned:  # else revoked meanwhile: the new owner starts from the commit
                self._consumer.seek(tp, int(part[0].offset))
        if assigned:
            self._consumer.pause(*assigned)
        delay = self._outage.fail(time.monotonic())
        logger.warning("%s; every partition waits %.1fs before the next attempt", exc, delay)

    def _note_failure(self, exc: Exception, scope: str) -> None:
        self._stats.retries += 1
        self._stats.last_error = f"{type(exc).__name__}: {exc}"
        self._metrics.consumer_backoffs.labels(scope=scope).inc()

    def resume_due(self) -> None:
        """Resume the partitions whose back-off is over (none while the whole consumer waits)."""
        now = time.monotonic()
        if self._outage.active(now):
            return
        assigned = self._consumer.assignment()
        resumable = {tp for tp in self._backoffs.due(now) if tp in assigned}
        if self._outage.ended(now):
            resumable |= {tp for tp in assigned if not self._backoffs.waiting_for(tp)}
        if resumable:
            self._consumer.resume(*resumable)

    async def update_lag(self) -> None:
        """``consumer_lag{topic,partition}`` = highwater - position, for partitions fetched from."""
        for tp in list(self._consumer.assignment()):
            # A rebalance can take ``tp`` away during the await below; aiokafka then raises
            # AssertionError("Partition is not assigned") from highwater()/position(). Lag is
            # only a metric: skip the partition, never fail the consumer over it.
            with contextlib.suppress(KafkaError, TimeoutError, AssertionError):
                highwater = self._consumer.highwater(tp)
                if highwater is None:
                    continue  # nothing fetched yet, so the position may not be known either
                position = await asyncio.wait_for(self._consumer.position(tp), 1.0)
                lag = max(0, int(highwater) - int(position))
                self._metrics.consumer_lag.labels(topic=tp.topic, partition=str(tp.partition)).set(lag)

    def revoked(self, revoked: set[Any]) -> None:
        """Forget what was kept for partitions this member no longer holds."""
        self._backoffs.forget(revoked)
        for tp in revoked:
            with contextlib.suppress(KeyError):
                self._metrics.consumer_lag.remove(tp.topic, str(tp.partition))
        logger.info("partitions revoked: %s", partition_names(revoked))

    def assigned(self, assigned: set[Any]) -> None:
        """Nothing to restore: consuming resumes from the committed offsets (after any outage)."""
        self.member = True
        if assigned and self._outage.active(time.monotonic()):
            self._consumer.pause(*assigned)
        logger.info("partitions assigned: %s", partition_names(assigned) or "none")
