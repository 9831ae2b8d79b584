"""The Kafka consumer of the distributed deployment: ``olgraph consume`` replicas in one group.

Each poll (``getmany``, at most ``batch_size`` records, from any partitions) is one batch:

1. prepare the records (:func:`olgraph.applier.prepare_batch`);
2. apply their mutations in one store batch; a batch the store rejects is applied event by
   event, and only the events the store refuses on their own are rejected;
3. send every rejected record to the dead-letter topic and wait for the brokers' acks;
4. commit each partition's next offset (``last offset + 1``), in one request.

One store batch per poll, not one per partition: a poll spreads its records over the
partitions, and batches per partition were a few dozen events each (measured: 75 on average
for a batch size of 500), which made every event cost more in Neo4j. Events of different
partitions have no order to keep, and the store's merges do not depend on order anyway.

Offsets are therefore committed only after the store committed and the dead letters are
durable; a crash anywhere before step 4 re-delivers the records, which is harmless because
every store write is an idempotent upsert (and a dead letter may then appear twice).

When the store is unavailable, a dead letter or the commit cannot be written, or anything
else goes wrong with a batch, each of its partitions is rewound (``seek``) to its first
record in the batch — the offset last committed for it — and *paused* for a bounded
exponential back-off (``ConsumerSettings.backoff_*``). The loop keeps polling meanwhile, so
partitions that were not in the batch carry on, the back-off never counts against
``max_poll_interval_ms``, and heartbeats and rebalances proceed normally. When the back-off
ends the partitions are resumed and the records are fetched again from Kafka.

Timing (see :class:`KafkaTuning`): a poll is bounded by one store attempt — the Neo4j
driver gives up on a write after its ``max_retry_time`` (10 s) — plus the dead-letter acks
and the commit (each bounded). ``max_poll_interval_ms`` is 5 minutes, far above that, so a
slow store never gets a healthy member evicted.

Rebalances: when partitions are revoked, the listener waits (bounded by
``revoke_wait_seconds``) for the in-flight batch to finish — it commits as usual — and
forgets the revoked partitions' back-offs; a poll not started yet leaves revoked partitions
out. Nothing unapplied is ever committed; the new owner starts from the committed offsets.
A commit refused because the group moved on is simply dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, ConsumerStoppedError, KafkaError

from olgraph.applier import (
    BatchApplier,
    Prepared,
    Rejected,
    backoff_delay,
    count_dead_letters,
    prepare_batch,
)
from olgraph.config import ConsumerSettings, KafkaConfig
from olgraph.errors import EventLogUnavailable, StoreUnavailable
from olgraph.ingest.reader import EventReader
from olgraph.log.kafka_options import client_options
from olgraph.metrics import Metrics
from olgraph.store.base import GraphStore

logger = logging.getLogger(__name__)

MAX_REASON_BYTES = 2048
"""Longest ``olgraph.reason`` header; longer reasons (a huge invalid value) are cut."""


@dataclass(frozen=True, slots=True)
class KafkaTuning:
    """Consumer timings. The defaults suit production; tests shorten them.

    ``max_poll_interval_ms`` bounds the time between two polls (else the member is evicted):
    one poll handles at most one store attempt per partition, so 5 minutes is ample.
    ``session_timeout_ms`` is how fast a killed consumer's partitions move to the others.
    ``rebalance_timeout_ms`` is how long a rebalance waits for members to rejoin — long enough
    for the in-flight partition batch to finish (``revoke_wait_seconds``) before revoking.
    ``max_partition_fetch_bytes``: how much one fetch brings per partition. aiokafka's 1 MiB
    holds ~80 events of the 13 KB a Spark event with column lineage weighs, so store batches
    stayed far below ``batch_size``; 16 MiB lets a batch fill up (``fetch_max_bytes``, 50 MiB
    by default, still caps one fetch across partitions).
    """

    poll_timeout_ms: int = 1000
    max_poll_interval_ms: int = 300_000
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    rebalance_timeout_ms: int = 60_000
    revoke_wait_seconds: float = 45.0
    commit_timeout_seconds: float = 30.0
    max_partition_fetch_bytes: int = 16 * 1024 * 1024


@dataclass(slots=True)
class WorkerStats:
    """What this worker has done since it started."""

    polls: int = 0
    applied: int = 0
    dead_lettered: int = 0
    retries: int = 0
    rebalances: int = 0
    last_error: str | None = None


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


def _partition_of(record: Any) -> Any:
    """The ``TopicPartition`` a consumed record came from."""
    return TopicPartition(record.topic, record.partition)


async def _give_up(_attempt: int, exc: StoreUnavailable) -> None:
    """The applier's retry hook: never wait inside a poll; the partition backs off instead."""
    raise exc


class KafkaConsumerWorker:
    """Applies the events of a Kafka topic to a :class:`GraphStore` as one member of a group.

    A worker runs once: after :meth:`stop` (or a :meth:`request_stop` before :meth:`start`
    finished) it does not consume again; build a new one.

    Example::

        worker = KafkaConsumerWorker(settings.log.kafka, store, settings.consumer, Metrics(), 64)
        await worker.start()        # joins the group; consumes in a background task
        ...
        await worker.stop()         # finishes the poll in progress, commits, leaves the group
    """

    def __init__(
        self,
        config: KafkaConfig,
        store: GraphStore,
        settings: ConsumerSettings,
        metrics: Metrics,
        reader: EventReader,
        *,
        tuning: KafkaTuning | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.reader = reader
        self.tuning = tuning or KafkaTuning()
        self.stats = WorkerStats()
        self._applier: BatchApplier[Any] = BatchApplier(store, metrics)
        self._backoffs = PartitionBackoffs(settings)
        self._consumer: Any = None
        self._producer: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._poll_lock = asyncio.Lock()  # held while a poll's records are handled
        self._revoking: set[Any] = set()
        self._member = False
        self._last_poll = 0.0

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect the dead-letter producer and the consumer, join the group, start consuming.

        Raises :class:`EventLogUnavailable` when the brokers cannot be reached (nothing is left open).
        """
        producer = AIOKafkaProducer(
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=int(self.config.send_timeout_seconds * 1000),
            **client_options(self.config),
        )
        consumer = AIOKafkaConsumer(
            group_id=self.config.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_interval_ms=self.tuning.max_poll_interval_ms,
            session_timeout_ms=self.tuning.session_timeout_ms,
            heartbeat_interval_ms=self.tuning.heartbeat_interval_ms,
            rebalance_timeout_ms=self.tuning.rebalance_timeout_ms,
            max_partition_fetch_bytes=self.tuning.max_partition_fetch_bytes,
            **client_options(self.config),
        )
        try:
            await producer.start()
            await consumer.start()
            consumer.subscribe([self.config.topic], listener=_Listener(self))
        except (KafkaError, OSError) as exc:
            await _close_quietly(consumer, producer)
            raise EventLogUnavailable(
                f"cannot reach Kafka at {self.config.bootstrap_servers}: {exc}"
            ) from exc
        self._consumer, self._producer = consumer, producer
        self._last_poll = time.monotonic()
        self._task = asyncio.create_task(self.run(), name="olgraph-kafka-consumer")

    def request_stop(self) -> None:
        """Ask the loop to stop after the poll in progress (safe from a signal handler)."""
        self._stopping.set()

    async def wait(self) -> None:
        """Until the consume loop ends (after :meth:`request_stop`, or when it crashed: re-raised)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Finish the poll in progress (its partitions are committed), then leave the group."""
        self.request_stop()
        task, self._task = self._task, None
        try:
            if task is not None:
                with contextlib.suppress(Exception):  # a crashed loop was already reported
                    await task
        finally:
            consumer, producer = self._consumer, self._producer
            self._consumer = self._producer = None
            self._member = False
            await _close_quietly(consumer, producer)

    @property
    def running(self) -> bool:
        """Whether the consume loop is alive."""
        return self._task is not None and not self._task.done()

    def assigned(self) -> set[Any]:
        """The partitions (``TopicPartition``) this member holds now."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    def readiness_problem(self) -> str | None:
        """Why this worker is not ready (None when it is): not running, not in the group, stuck."""
        if not self.running:
            return "the consumer is not running"
        if not self._member:
            return f"not yet a member of consumer group {self.config.group_id}"
        idle = time.monotonic() - self._last_poll
        if idle * 1000 > self.tuning.max_poll_interval_ms:
            return f"no poll for {idle:.0f}s"
        return None

    async def check_brokers(self, timeout: float) -> None:
        """Raise :class:`EventLogUnavailable` unless the brokers answer a metadata request in time."""
        consumer = self._consumer
        if consumer is None:
            raise EventLogUnavailable("the Kafka consumer is not connected")
        try:
            await asyncio.wait_for(consumer.topics(), timeout)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise EventLogUnavailable(f"Kafka at {self.config.bootstrap_servers} does not answer") from exc

    # ------------------------------------------------------------ the loop

    async def run(self) -> None:
        """Poll and apply until :meth:`request_stop`."""
        failures = 0
        while not self._stopping.is_set():
            self._resume_due()
            try:
                batch = await self._poll()
            except ConsumerStoppedError:
                return
            except KafkaError as exc:  # coordinator trouble etc.: nothing consumed, nothing lost
                failures += 1
                self.stats.last_error = f"poll failed: {exc}"
                logger.warning("polling Kafka failed (%s); retrying", exc)
                await self._sleep(backoff_delay(self.settings, failures))
                continue
            failures = 0
            if batch:
                async with self._poll_lock:
                    parts = {tp: records for tp, records in batch.items() if tp not in self._revoking}
                    if parts:
                        await self._handle_batch(parts)
            await self._update_lag()

    async def _poll(self) -> dict[Any, list[Any]]:
        """One ``getmany``; returns early (empty) when a stop is requested meanwhile."""
        timeout_ms = self.tuning.poll_timeout_ms
        wait = self._backoffs.seconds_to_next(time.monotonic())
        if wait is not None:
            timeout_ms = max(1, min(timeout_ms, int(wait * 1000) + 1))
        getmany = asyncio.ensure_future(
            self._consumer.getmany(timeout_ms=timeout_ms, max_records=self.settings.batch_size)
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({getmany, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        self._last_poll = time.monotonic()
        self.stats.polls += 1
        if not getmany.done():  # stopping: records not returned yet are fetched again by the next owner
            getmany.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await getmany
            return {}
        result: dict[Any, list[Any]] = getmany.result()
        return result

    async def _handle_batch(self, parts: dict[Any, list[Any]]) -> None:
        """Apply a poll's records in one store batch, then commit every partition.

        When that batch fails, each partition is tried again on its own at once, so a
        partition the store cannot take holds back only itself (the others commit).
        """
        records = [record for part in parts.values() for record in part]
        # In a worker thread, so polling, heartbeats and the health endpoint are not held up.
        prepared, rejected = await asyncio.to_thread(
            prepare_batch,
            records,
            raw_of=lambda record: record.value,
            describe=lambda record: f"{record.topic}[{record.partition}]@{record.offset}",
            reader=self.reader,
        )
        if len(parts) > 1 and await self._apply_and_commit(parts, prepared, rejected, retry=False):
            return
        for tp, part in parts.items():
            mine = [item for item in prepared if _partition_of(item.source) == tp]
            refused = [item for item in rejected if _partition_of(item.source) == tp]
            await self._apply_and_commit({tp: part}, mine, refused, retry=True)

    async def _apply_and_commit(
        self,
        parts: dict[Any, list[Any]],
        prepared: list[Prepared[Any]],
        rejected: list[Rejected[Any]],
        *,
        retry: bool,
    ) -> bool:
        """Apply, dead-letter, commit; True when done. On failure, with ``retry``, back off and refetch."""
        rejected = list(rejected)
        try:
            rejected.extend(await self._applier.apply(prepared, _give_up))
            rejected.sort(key=lambda item: (int(item.source.partition), int(item.source.offset)))
            await self._send_dead_letters(rejected)
            await self._commit({tp: int(part[-1].offset) + 1 for tp, part in parts.items()})
        except CommitFailedError as exc:
            # The group rebalanced under us: the partitions' new owners re-apply from the last commit.
            owned = sorted(map(str, parts))
            logger.warning("commit for %s refused after a rebalance (%s); the new owners redo it", owned, exc)
            return True
        except Exception as exc:  # store down, DLQ or commit failed, a bug: redo the batch later
            if not retry:
                logger.info("a batch of %d partitions failed (%s); applying them one by one", len(parts), exc)
                return False
            for tp, part in parts.items():
                self._retry_later(tp, int(part[0].offset), exc)
            return False
        for tp in parts:
            self._backoffs.succeed(tp)
        count_dead_letters(self.metrics, rejected)
        applied = sum(len(part) for part in parts.values())
        self.stats.applied += applied - len(rejected)
        self.stats.dead_lettered += len(rejected)
        return True

    async def _send_dead_letters(self, rejected: Sequence[Rejected[Any]]) -> None:
        """Produce every rejected record to the dead-letter topic and wait for all the acks."""
        if not rejected:
            return

        async def send_all() -> None:
            acks = [
                await self._producer.send(
                    self.config.dead_letter_topic,
                    value=item.source.value,
                    key=item.source.key,
                    headers=dead_letter_headers(item.source, item.stage, item.reason),
                )
                for item in rejected
            ]
            await asyncio.gather(*acks)

        try:
            await asyncio.wait_for(send_all(), self.config.send_timeout_seconds)
        except (TimeoutError, KafkaError) as exc:
            raise EventLogUnavailable(f"dead-letter topic {self.config.dead_letter_topic}: {exc}") from exc
        for item in rejected:
            logger.warning(
                "dead-lettered %s[%d]@%d (%s): %s",
                item.source.topic,
                item.source.partition,
                item.source.offset,
                item.stage,
                item.reason,
            )

    async def _commit(self, offsets: dict[Any, int]) -> None:
        try:
            await asyncio.wait_for(self._consumer.commit(offsets), self.tuning.commit_timeout_seconds)
        except TimeoutError as exc:
            raise EventLogUnavailable(f"committing offsets {offsets} timed out") from exc

    def _retry_later(self, tp: Any, first_offset: int, exc: Exception) -> None:
        """Rewind the partition to its batch's first record and pause it for a back-off."""
        self.stats.retries += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, (StoreUnavailable, EventLogUnavailable, KafkaError)):
            logger.error("applying %s from offset %d failed", tp, first_offset, exc_info=exc)
        if tp not in self._consumer.assignment():
            return  # revoked meanwhile: the new owner starts from the committed offset
        self._consumer.seek(tp, first_offset)
        self._consumer.pause(tp)
        delay = self._backoffs.fail(tp, time.monotonic())
        logger.warning("%s: %s; retrying from offset %d in %.1fs", tp, exc, first_offset, delay)

    def _resume_due(self) -> None:
        assigned = self._consumer.assignment()
        resumable = [tp for tp in self._backoffs.due(time.monotonic()) if tp in assigned]
        if resumable:
            self._consumer.resume(*resumable)

    async def _update_lag(self) -> None:
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
                self.metrics.consumer_lag.labels(topic=tp.topic, partition=str(tp.partition)).set(lag)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # ------------------------------------------------------------ rebalances

    async def on_revoked(self, revoked: set[Any]) -> None:
        """Let the in-flight batch finish and commit; a poll not begun yet leaves revoked partitions out."""
        if not revoked:
            return  # the first join of this member: nothing was assigned yet
        self.stats.rebalances += 1
        self._revoking = set(revoked)
        try:
            await asyncio.wait_for(self._poll_lock.acquire(), self.tuning.revoke_wait_seconds)
        except TimeoutError:
            logger.warning("the in-flight batch did not finish before the rebalance; it will not commit")
        else:
            self._poll_lock.release()
        finally:
            self._revoking = set()
        self._backoffs.forget(revoked)
        for tp in revoked:
            with contextlib.suppress(KeyError):
                self.metrics.consumer_lag.remove(tp.topic, str(tp.partition))
        logger.info("partitions revoked: %s", _names(revoked))

    async def on_assigned(self, assigned: set[Any]) -> None:
        """Nothing to restore: consuming resumes from the committed offsets."""
        self._member = True
        logger.info("partitions assigned: %s", _names(assigned) or "none")


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no types
    """Forwards aiokafka's rebalance callbacks to the worker."""

    def __init__(self, worker: KafkaConsumerWorker) -> None:
        self._worker = worker

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._worker.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._worker.on_assigned(set(assigned))


def _names(partitions: Iterable[Any]) -> str:
    return ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in partitions))


async def _close_quietly(*clients: Any) -> None:
    """Stop aiokafka clients, ignoring those never started or already unreachable."""
    for client in clients:
        if client is not None:
            try:
                await client.stop()
            except (KafkaError, OSError) as exc:
                logger.warning("closing a Kafka client failed: %s", exc)
