"""The consumer: applies logged events to the graph store, at least once, in log order.

One round reads up to ``batch_size`` events after the committed offset, parses and
normalizes each, applies all their mutations in one ``store.apply`` call and then commits
the offset (with the dead letters of the round) in one log transaction. A crash between
apply and commit re-applies the round on restart, which is harmless: every mutation is an
idempotent upsert.

Failures, and what they cost:

* an event that does not parse or normalize → dead letter with the reason; the rest go on;
* the store is unavailable (:class:`~olgraph.errors.StoreUnavailable`) → wait (bounded
  exponential back-off) and retry the same batch, for as long as it takes;
* the store rejects the batch (any other :class:`~olgraph.errors.StoreError`) → apply the
  events one by one, and dead-letter those the store rejects on their own;
* anything unexpected (the log unreadable, a bug) → back off and start the round again:
  nothing is committed, so nothing is lost.

Preparing events and applying batches is shared with the Kafka consumer
(:mod:`olgraph.consume.applier`); what is local here is reading the log and committing to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import get_args

from olgraph.config import ConsumerSettings
from olgraph.consume.applier import BatchApplier, Rejected, backoff_delay, count_dead_letters, prepare_batch
from olgraph.errors import StoreUnavailable
from olgraph.ingest.event import EventKind, ParsedEvent
from olgraph.ingest.reader import EventReader
from olgraph.log.base import DeadLetter, EventLog, LoggedEvent
from olgraph.metrics import Metrics
from olgraph.normalize.mutations import Mutation
from olgraph.normalize.normalizer import normalize
from olgraph.store.base import GraphStore

logger = logging.getLogger(__name__)

DEFAULT_CONSUMER = "olgraph"
"""The consumer name (group) the single-process deployment commits its offset under."""


class _Stopping(Exception):
    """Raised inside a round when shutdown interrupts a back-off: the round is abandoned."""


@dataclass(slots=True)
class ConsumerStats:
    """What this consumer process has done since it started (the log keeps the totals)."""

    rounds: int = 0
    applied: int = 0
    dead_lettered: int = 0
    retries: int = 0
    last_error: str | None = None


def _normalize(event: ParsedEvent) -> list[Mutation]:
    # Looks ``normalize`` up in this module at call time, so it stays the one seam a test can
    # replace (to simulate a normalizer bug) for the local consumer.
    return normalize(event)


_VALIDATED_KINDS = frozenset(get_args(EventKind))


def _validated(event: LoggedEvent) -> str | None:
    """The content id of a logged event that ingest validated, None for one to validate now.

    Only this deployment's ingest writes the local log, so its events were validated then; a
    replayed dead letter that did not parse is logged with the kind ``unknown`` and is
    checked in full again.
    """
    return event.content_id if event.kind in _VALIDATED_KINDS else None


def _dead_letter(rejected: Rejected[LoggedEvent]) -> DeadLetter:
    return DeadLetter(rejected.source.offset, rejected.reason, rejected.source.raw, stage=rejected.stage)


class Consumer:
    """Moves events from an :class:`EventLog` into a :class:`GraphStore`.

    Example::

        consumer = Consumer(log, store, settings.consumer)
        consumer.start()
        ...
        consumer.notify()        # after an append: wake up now rather than at the next poll
        await consumer.stop()    # finishes the round in progress
    """

    def __init__(
        self,
        log: EventLog,
        store: GraphStore,
        settings: ConsumerSettings,
        *,
        name: str = DEFAULT_CONSUMER,
        reader: EventReader | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.log = log
        self.store = store
        self.settings = settings
        self.name = name
        self.reader = reader
        self.metrics = metrics
        self._applier: BatchApplier[LoggedEvent] = BatchApplier(store, metrics)
        self.stats = ConsumerStats()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._idling = False

    @property
    def running(self) -> bool:
        """Whether the consumer task is alive."""
        return self._task is not None and not self._task.done()

    def notify(self) -> None:
        """Wake the consumer: events were appended."""
        self._wake.set()

    def start(self) -> None:
        """Start consuming in a background task."""
        self._stopping.clear()
        self._task = asyncio.create_task(self.run(), name=f"olgraph-consumer-{self.name}")

    async def stop(self) -> None:
        """Finish the round in progress (unless it is waiting out a back-off), then stop."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run(self) -> None:
        """Consume until :meth:`stop`."""
        failures = 0
        while not self._stopping.is_set():
            try:
                processed = await self.run_once()
            except _Stopping:
                break
            except Exception as exc:  # the round is not committed, so retrying it loses nothing
                logger.exception("consumer round failed; retrying")
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                failures += 1
                await self._sleep(self._backoff(failures))
                continue
            failures = 0
            if processed == 0:
                await self._idle()

    async def run_once(self) -> int:
        """Apply one batch after the committed offset; return how many events it held."""
        self._wake.clear()
        after = await self.log.committed(self.name)
        events = await self.log.read(after, self.settings.batch_size)
        if not events:
            return 0
        # In a worker thread: normalizing a batch takes long enough (~2 ms per event with
        # column lineage) that on the event loop it held up the HTTP API of `olgraph serve`.
        prepared, rejected = await asyncio.to_thread(
            prepare_batch,
            events,
            raw_of=lambda event: event.raw,
            describe=lambda event: f"offset {event.offset}",
            reader=self.reader,
            normalizer=_normalize,
            validated_of=_validated,
        )
        rejected.extend(await self._applier.apply(prepared, self._wait_for_store))
        rejected.sort(key=lambda item: item.source.offset)
        await self.log.commit(self.name, events[-1].offset, [_dead_letter(item) for item in rejected])
        count_dead_letters(self.metrics, rejected)
        self.stats.rounds += 1
        self.stats.applied += len(events) - len(rejected)
        self.stats.dead_lettered += len(rejected)
        return len(events)

    async def _wait_for_store(self, attempt: int, exc: StoreUnavailable) -> None:
        """Wait out ``StoreUnavailable`` before the same batch is retried; abandon it on stop."""
        self.stats.retries += 1
        self.stats.last_error = f"store unavailable: {exc}"
        delay = self._backoff(attempt)
        logger.warning("store unavailable (%s); retrying in %.1fs", exc, delay)
        if await self._sleep(delay):
            raise _Stopping from exc

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(self.settings, attempt)

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stopping; return whether stopping."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    @property
    def idle(self) -> bool:
        """Whether the consumer has caught up and waits for an append (or the next poll)."""
        return self._idling

    async def _idle(self) -> None:
        """Wait for an append notification, a stop, or the poll interval."""
        self._idling = True
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval_seconds)
        finally:
            self._idling = False
