"""The poll/commit loop of the Kafka consumer: one store batch per poll, committed after it.

See :mod:`olgraph.consume.kafka_consumer` for the steps of a batch and what each failure costs;
:class:`BatchLoop` carries them out, :class:`~olgraph.consume.kafka_partitions.PartitionBook`
rewinds and pauses what failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import CommitFailedError, ConsumerStoppedError, KafkaError

from olgraph.config import ConsumerSettings, KafkaConfig
from olgraph.consume.applier import (
    BatchApplier,
    Prepared,
    Rejected,
    backoff_delay,
    count_dead_letters,
    prepare_batch,
)
from olgraph.consume.kafka_clients import KafkaTuning
from olgraph.consume.kafka_partitions import PartitionBook, WorkerStats, partition_of
from olgraph.consume.kafka_rejects import send_dead_letters
from olgraph.errors import EventLogUnavailable, StoreUnavailable
from olgraph.ingest.reader import EventReader
from olgraph.metrics import Metrics
from olgraph.store.base import GraphStore

logger = logging.getLogger(__name__)

UNAVAILABLE = (StoreUnavailable, EventLogUnavailable, KafkaError)
"""Failures of a whole dependency (the store, Kafka), not of some events: every partition waits."""


@dataclass(frozen=True, slots=True)
class LoopContext:
    """What a :class:`BatchLoop` works with, besides its Kafka clients."""

    config: KafkaConfig
    settings: ConsumerSettings
    tuning: KafkaTuning
    store: GraphStore
    metrics: Metrics
    reader: EventReader
    stats: WorkerStats


async def _give_up(_attempt: int, exc: StoreUnavailable) -> None:
    """The applier's retry hook: never wait inside a poll; the partition backs off instead."""
    raise exc


class BatchLoop:
    """Polls, applies and commits until ``stopping`` is set.

    ``last_poll`` is the monotonic time the last poll returned (a stuck loop is not ready).
    """

    def __init__(self, consumer: Any, producer: Any, context: LoopContext, stopping: asyncio.Event) -> None:
        self._consumer = consumer
        self._producer = producer
        self._ctx = context
        self._stats = context.stats
        self._stopping = stopping
        self._applier: BatchApplier[Any] = BatchApplier(context.store, context.metrics)
        self.book = PartitionBook(consumer, context.settings, context.metrics, context.stats)
        self._poll_lock = asyncio.Lock()  # held while a poll's records are handled
        self._revoking: set[Any] = set()
        self.last_poll = time.monotonic()

    async def run(self) -> None:
        """Poll and apply until a stop is requested."""
        failures = 0
        while not self._stopping.is_set():
            self.book.resume_due()
            try:
                batch = await self._poll()
            except ConsumerStoppedError:
                return
            except KafkaError as exc:  # coordinator trouble etc.: nothing consumed, nothing lost
                failures += 1
                self._stats.last_error = f"poll failed: {exc}"
                logger.warning("polling Kafka failed (%s); retrying", exc)
                await self._sleep(backoff_delay(self._ctx.settings, failures))
                continue
            failures = 0
            if batch:
                async with self._poll_lock:
                    parts = {tp: records for tp, records in batch.items() if tp not in self._revoking}
                    if parts:
                        await self._handle_batch(parts)
            await self.book.update_lag()

    async def _poll(self) -> dict[Any, list[Any]]:
        """One ``getmany``; returns early (empty) when a stop is requested meanwhile."""
        timeout_ms = self.book.poll_timeout_ms(self._ctx.tuning.poll_timeout_ms, time.monotonic())
        getmany = asyncio.ensure_future(
            self._consumer.getmany(timeout_ms=timeout_ms, max_records=self._ctx.settings.batch_size)
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({getmany, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        self.last_poll = time.monotonic()
        self._stats.polls += 1
        if not getmany.done():  # stopping: records not returned yet are fetched again by the next owner
            getmany.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await getmany
            return {}
        result: dict[Any, list[Any]] = getmany.result()
        return result

    async def _handle_batch(self, parts: dict[Any, list[Any]]) -> None:
        """Apply a poll's records in one store batch, then commit every partition.

        When the store (or Kafka) is unavailable, every partition backs off together. When the
        batch fails otherwise, each partition is tried again on its own at once, so a partition
        whose events meet a bug holds back only itself.
        """
        records = [record for part in parts.values() for record in part]
        # In a worker thread, so polling, heartbeats and the health endpoint are not held up.
        prepared, rejected = await asyncio.to_thread(
            prepare_batch,
            records,
            raw_of=lambda record: record.value,
            describe=lambda record: f"{record.topic}[{record.partition}]@{record.offset}",
            reader=self._ctx.reader,
        )
        try:
            await self._apply_and_commit(parts, prepared, rejected)
            return
        except UNAVAILABLE as exc:
            self.book.back_off_everything(parts, exc)
            return
        except Exception as exc:  # a bug met on some events: find the partitions it holds back
            if len(parts) == 1:
                [(tp, part)] = parts.items()
                self.book.retry_later(tp, int(part[0].offset), exc)
                return
            logger.info("a batch of %d partitions failed (%s); applying them one by one", len(parts), exc)
        await self._isolate_partitions(parts, prepared, rejected)

    async def _isolate_partitions(
        self, parts: dict[Any, list[Any]], prepared: list[Prepared[Any]], rejected: list[Rejected[Any]]
    ) -> None:
        left = dict(parts)
        for tp, part in parts.items():
            mine = [item for item in prepared if partition_of(item.source) == tp]
            refused = [item for item in rejected if partition_of(item.source) == tp]
            try:
                await self._apply_and_commit({tp: part}, mine, refused)
            except UNAVAILABLE as exc:
                self.book.back_off_everything(left, exc)
                return
            except Exception as exc:
                self.book.retry_later(tp, int(part[0].offset), exc)
            del left[tp]

    async def _apply_and_commit(
        self, parts: dict[Any, list[Any]], prepared: list[Prepared[Any]], rejected: list[Rejected[Any]]
    ) -> None:
        """Apply, dead-letter, commit; raises when any of it fails (nothing is committed then)."""
        rejected = list(rejected)
        rejected.extend(await self._applier.apply(prepared, _give_up))
        rejected.sort(key=lambda item: (int(item.source.partition), int(item.source.offset)))
        await send_dead_letters(self._producer, self._ctx.config, rejected)
        try:
            await self._commit({tp: int(part[-1].offset) + 1 for tp, part in parts.items()})
        except CommitFailedError as exc:
            # The group rebalanced under us: the partitions' new owners re-apply from the last commit.
            owned = sorted(map(str, parts))
            logger.warning("commit for %s refused after a rebalance (%s); the new owners redo it", owned, exc)
            return
        self.book.succeeded(parts)
        count_dead_letters(self._ctx.metrics, rejected)
        applied = sum(len(part) for part in parts.values())
        self._stats.applied += applied - len(rejected)
        self._stats.dead_lettered += len(rejected)

    async def _commit(self, offsets: dict[Any, int]) -> None:
        try:
            await asyncio.wait_for(self._consumer.commit(offsets), self._ctx.tuning.commit_timeout_seconds)
        except TimeoutError as exc:
            raise EventLogUnavailable(f"committing offsets {offsets} timed out") from exc

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def on_revoked(self, revoked: set[Any]) -> None:
        """Let the in-flight batch finish and commit; a poll not begun yet leaves revoked partitions out."""
        if not revoked:
            return  # the first join of this member: nothing was assigned yet
        self._stats.rebalances += 1
        self._ctx.metrics.consumer_rebalances.inc()
        self._revoking = set(revoked)
        try:
            await asyncio.wait_for(self._poll_lock.acquire(), self._ctx.tuning.revoke_wait_seconds)
        except TimeoutError:
            logger.warning("the in-flight batch did not finish before the rebalance; it will not commit")
        else:
            self._poll_lock.release()
        finally:
            self._revoking = set()
        self.book.revoked(revoked)
