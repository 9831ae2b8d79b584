"""The Kafka consumer of the distributed deployment: ``olgraph consume`` replicas in one group.

Each poll (``getmany``, at most ``batch_size`` records, from any partitions) is one batch:

1. prepare the records (:func:`olgraph.consume.applier.prepare_batch`);
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

Failures, and what they cost:

* the store is unavailable (Neo4j down, its disk full…) or Kafka cannot take the dead letters
  or the commit → the batch's partitions are rewound (``seek``) to their first record in it —
  the offset last committed for each — and *every* assigned partition is paused for one
  bounded exponential back-off (:class:`~olgraph.consume.kafka_backoff.Outage`). Nothing is wrong
  with any partition's events, so trying them one by one would only multiply the store
  attempts (with 24 partitions, 25 attempts of up to ~12 s each per poll got the member
  evicted from its group in the middle of an outage): one store attempt per back-off step;
* anything else goes wrong with a batch of several partitions (a bug met on some events) →
  each partition is tried on its own at once, and only those that fail again back off, on
  their own (:class:`~olgraph.consume.kafka_backoff.PartitionBackoffs`).

The loop keeps polling while partitions are paused, so back-offs never count against
``max_poll_interval_ms``, and heartbeats and rebalances proceed normally. When a back-off
ends the partitions are resumed and the records are fetched again from Kafka.

Timing (see :class:`KafkaTuning`): a poll is bounded by one store attempt — about the
Neo4j connection timeout plus ``store.neo4j.write_retry_seconds`` — plus the dead-letter
acks and the commit (each bounded). ``max_poll_interval_ms`` is 5 minutes, far above that,
so a slow store never gets a healthy member evicted. On :meth:`KafkaConsumerWorker.request_stop`
(SIGTERM) the batch in flight gets ``ConsumerSettings.shutdown_grace_seconds`` to finish and
commit; after that it is cancelled uncommitted, and its records are delivered again later.

Topics: metadata is refreshed every ``metadata_max_age_ms`` (5 s), so a consumer started
before its topic exists sees it within seconds; until it holds partitions it is not ready.

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

from olgraph.config import ConsumerSettings, KafkaConfig
from olgraph.consume.applier import (
    BatchApplier,
    Prepared,
    Rejected,
    backoff_delay,
    count_dead_letters,
    prepare_batch,
)
from olgraph.consume.kafka_backoff import Outage, PartitionBackoffs
from olgraph.errors import EventLogUnavailable, StoreUnavailable
from olgraph.ingest.reader import EventReader
from olgraph.log.kafka_options import client_options
from olgraph.metrics import Metrics
from olgraph.store.base import GraphStore

logger = logging.getLogger(__name__)

UNAVAILABLE = (StoreUnavailable, EventLogUnavailable, KafkaError)
"""Failures of a whole dependency (the store, Kafka), not of some events: every partition waits."""

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
    ``metadata_max_age_ms``: how often topic metadata is refreshed (aiokafka's default, 5 minutes,
    left a consumer started before its topic blind to it that long).
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
    metadata_max_age_ms: int = 5_000


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
        self._outage = Outage(settings)
        self._grace_timer: asyncio.TimerHandle | None = None
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
            metadata_max_age_ms=self.tuning.metadata_max_age_ms,
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
        """Ask the loop to stop after the poll in progress (safe from a signal handler).

        The batch in flight gets ``shutdown_grace_seconds`` to finish and commit; then it is
        cancelled (nothing of it is committed: its records are delivered again later).
        """
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._task is not None and not self._task.done():
            grace = self.settings.shutdown_grace_seconds
            self._grace_timer = asyncio.get_running_loop().call_later(grace, self._out_of_grace)

    def _out_of_grace(self) -> None:
        if self._task is not None and not self._task.done():
            logger.warning(
                "the batch in flight did not finish within %gs of the stop; abandoning it uncommitted",
                self.settings.shutdown_grace_seconds,
            )
            self._task.cancel()

    async def wait(self) -> None:
        """Until the consume loop ends (after :meth:`request_stop`, or when it crashed: re-raised)."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):  # cancelled at the end of the grace
                await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Finish the poll in progress (its partitions are committed), then leave the group."""
        self.request_stop()
        task = self._task
        try:
            if task is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):  # a crash was reported
                    await task
        finally:
            self._task = None
            if self._grace_timer is not None:
                self._grace_timer.cancel()
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
        """Why this worker is not ready (None when it is): not running, no topic yet, not in the
        group, no partitions, stuck."""
        if not self.running or self._consumer is None:
            return "the consumer is not running"
        topic = self.config.topic
        if not self._consumer.partitions_for_topic(topic):
            return f"topic {topic} does not exist yet (metadata is checked every few seconds)"
        if not self._member:
            return f"not yet a member of consumer group {self.config.group_id}"
        if not self.assigned():
            return (
                f"no partitions of {topic} assigned yet (a rebalance is due, or group "
                f"{self.config.group_id} has more members than the topic has partitions)"
            )
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
        now = time.monotonic()
        waits = [
            w for w in (self._backoffs.seconds_to_next(now), self._outage.seconds_left(now)) if w is not None
        ]
        if waits:
            timeout_ms = max(1, min(timeout_ms, int(min(waits) * 1000) + 1))
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
            reader=self.reader,
        )
        try:
            await self._apply_and_commit(parts, prepared, rejected)
            return
        except UNAVAILABLE as exc:
            self._back_off_everything(parts, exc)
            return
        except Exception as exc:  # a bug met on some events: find the partitions it holds back
            if len(parts) == 1:
                [(tp, part)] = parts.items()
                self._retry_later(tp, int(part[0].offset), exc)
                return
            logger.info("a batch of %d partitions failed (%s); applying them one by one", len(parts), exc)
        await self._isolate_partitions(parts, prepared, rejected)

    async def _isolate_partitions(
        self, parts: dict[Any, list[Any]], prepared: list[Prepared[Any]], rejected: list[Rejected[Any]]
    ) -> None:
        left = dict(parts)
        for tp, part in parts.items():
            mine = [item for item in prepared if _partition_of(item.source) == tp]
            refused = [item for item in rejected if _partition_of(item.source) == tp]
            try:
                await self._apply_and_commit({tp: part}, mine, refused)
            except UNAVAILABLE as exc:
                self._back_off_everything(left, exc)
                return
            except Exception as exc:
                self._retry_later(tp, int(part[0].offset), exc)
            del left[tp]

    async def _apply_and_commit(
        self, parts: dict[Any, list[Any]], prepared: list[Prepared[Any]], rejected: list[Rejected[Any]]
    ) -> None:
        """Apply, dead-letter, commit; raises when any of it fails (nothing is committed then)."""
        rejected = list(rejected)
        rejected.extend(await self._applier.apply(prepared, _give_up))
        rejected.sort(key=lambda item: (int(item.source.partition), int(item.source.offset)))
        await self._send_dead_letters(rejected)
        try:
            await self._commit({tp: int(part[-1].offset) + 1 for tp, part in parts.items()})
        except CommitFailedError as exc:
            # The group rebalanced under us: the partitions' new owners re-apply from the last commit.
            owned = sorted(map(str, parts))
            logger.warning("commit for %s refused after a rebalance (%s); the new owners redo it", owned, exc)
            return
        self._outage.succeed()
        for tp in parts:
            self._backoffs.succeed(tp)
        count_dead_letters(self.metrics, rejected)
        applied = sum(len(part) for part in parts.values())
        self.stats.applied += applied - len(rejected)
        self.stats.dead_lettered += len(rejected)

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
        """Rewind the partition to its batch's first record and pause it for a back-off of its own."""
        self.stats.retries += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        self.metrics.consumer_backoffs.labels(scope="partition").inc()
        logger.error("applying %s from offset %d failed", tp, first_offset, exc_info=exc)
        if tp not in self._consumer.assignment():
            return  # revoked meanwhile: the new owner starts from the committed offset
        self._consumer.seek(tp, first_offset)
        self._consumer.pause(tp)
        delay = self._backoffs.fail(tp, time.monotonic())
        logger.warning("%s: %s; retrying from offset %d in %.1fs", tp, exc, first_offset, delay)

    def _back_off_everything(self, parts: dict[Any, list[Any]], exc: Exception) -> None:
        """The store or Kafka is unavailable: rewind the batch, pause every partition for one back-off."""
        self.stats.retries += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        self.metrics.consumer_backoffs.labels(scope="all").inc()
        assigned = self._consumer.assignment()
        for tp, part in parts.items():
            if tp in assigned:  # else revoked meanwhile: the new owner starts from the commit
                self._consumer.seek(tp, int(part[0].offset))
        if assigned:
            self._consumer.pause(*assigned)
        delay = self._outage.fail(time.monotonic())
        logger.warning("%s; every partition waits %.1fs before the next attempt", exc, delay)

    def _resume_due(self) -> None:
        now = time.monotonic()
        if self._outage.active(now):
            return
        assigned = self._consumer.assignment()
        resumable = {tp for tp in self._backoffs.due(now) if tp in assigned}
        if self._outage.ended(now):
            resumable |= {tp for tp in assigned if not self._backoffs.waiting_for(tp)}
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
        self.metrics.consumer_rebalances.inc()
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
        """Nothing to restore: consuming resumes from the committed offsets (after any outage)."""
        self._member = True
        if assigned and self._outage.active(time.monotonic()):
            self._consumer.pause(*assigned)
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
