"""Back-offs of the Kafka consumer: one for the whole consumer, or one per partition (pure bookkeeping).

* :class:`Outage` — the graph store (or Kafka itself) is unavailable. Nothing is wrong with
  any partition's events, so every partition waits out one back-off together: one store
  attempt per back-off step, whatever the number of partitions.
* :class:`PartitionBackoffs` — one partition's events failed for a reason of their own (a
  bug met on them): only that partition waits, the others go on.

Both grow exponentially between ``ConsumerSettings.backoff_initial_seconds`` and
``backoff_max_seconds`` and start afresh after a success.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from olgraph.config import ConsumerSettings
from olgraph.consume.applier import backoff_delay


class Outage:
    """Whether the whole consumer waits out a back-off, and until when.

    >>> outage = Outage(ConsumerSettings(backoff_initial_seconds=1, backoff_max_seconds=4))
    >>> outage.fail(now=0.0), outage.active(now=0.5), outage.ended(now=1.0), outage.ended(now=2.0)
    (1.0, True, True, False)
    >>> outage.fail(now=10.0)   # still failing: the next wait is longer
    2.0
    """

    def __init__(self, settings: ConsumerSettings) -> None:
        self._settings = settings
        self.failures = 0
        self._until: float | None = None

    def fail(self, now: float) -> float:
        """Record a failed attempt; return the back-off (seconds) before the next one."""
        self.failures += 1
        delay = backoff_delay(self._settings, self.failures)
        self._until = now + delay
        return delay

    def active(self, now: float) -> bool:
        """Whether the consumer is waiting out a back-off now."""
        return self._until is not None and now < self._until

    def ended(self, now: float) -> bool:
        """Whether a back-off just ended (reported once): everything is to be resumed."""
        if self._until is None or now < self._until:
            return False
        self._until = None
        return True

    def seconds_left(self, now: float) -> float | None:
        """Seconds until the back-off ends; None when there is none."""
        return None if self._until is None else max(0.0, self._until - now)

    def succeed(self) -> None:
        """A batch went through: the next failure starts from the first delay."""
        self.failures = 0
        self._until = None


class PartitionBackoffs:
    """Which partitions wait out a back-off, and until when (a pure bookkeeping helper).

    >>> b = PartitionBackoffs(ConsumerSettings(backoff_initial_seconds=1, backoff_max_seconds=4))
    >>> b.fail("p", now=0.0), b.fail("p", now=0.0), b.due(now=1.0), b.due(now=2.0)
    (1.0, 2.0, [], ['p'])
    """

    def __init__(self, settings: ConsumerSettings) -> None:
        self._settings = settings
        self._failures: dict[Any, int] = {}
        self._until: dict[Any, float] = {}

    def fail(self, partition: Any, now: float) -> float:
        """Record a failure; return the back-off (seconds) before the partition is retried."""
        attempt = self._failures.get(partition, 0) + 1
        self._failures[partition] = attempt
        delay = backoff_delay(self._settings, attempt)
        self._until[partition] = now + delay
        return delay

    def succeed(self, partition: Any) -> None:
        """The partition's batch went through: the next failure starts from the first delay."""
        self._failures.pop(partition, None)

    def due(self, now: float) -> list[Any]:
        """Partitions whose back-off has ended (each reported once), to be resumed."""
        ended = [p for p, until in self._until.items() if until <= now]
        for partition in ended:
            del self._until[partition]
        return ended

    def waiting(self) -> int:
        """How many partitions are backing off."""
        return len(self._until)

    def seconds_to_next(self, now: float) -> float | None:
        """Seconds until the next back-off ends; None when none is pending."""
        return max(0.0, min(self._until.values()) - now) if self._until else None

    def forget(self, partitions: Iterable[Any]) -> None:
        """Drop revoked partitions: their next owner starts afresh from the committed offset."""
        for partition in partitions:
            self._failures.pop(partition, None)
            self._until.pop(partition, None)

    def waiting_for(self, partition: Any) -> bool:
        """Whether ``partition`` is backing off on its own."""
        return partition in self._until
