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

The parts: :mod:`~olgraph.consume.kafka_clients` opens and closes the clients (with their
timings, :class:`KafkaTuning`), :mod:`~olgraph.consume.kafka_loop` is the poll/commit loop,
:mod:`~olgraph.consume.kafka_partitions` the rewinds, pauses and lag of the partitions, and
:mod:`~olgraph.consume.kafka_rejects` the dead letters. This module is the worker that ties
them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from olgraph.config import ConsumerSettings, KafkaConfig
from olgraph.consume.kafka_clients import KafkaTuning, close_quietly, open_clients
from olgraph.consume.kafka_loop import UNAVAILABLE, BatchLoop, LoopContext
from olgraph.consume.kafka_partitions import WorkerStats
from olgraph.consume.kafka_rejects import MAX_REASON_BYTES, dead_letter_headers
from olgraph.errors import EventLogUnavailable
from olgraph.ingest.reader import EventReader
from olgraph.metrics import Metrics
from olgraph.store.base import GraphStore

__all__ = [
    "MAX_REASON_BYTES",
    "UNAVAILABLE",
    "KafkaConsumerWorker",
    "KafkaTuning",
    "WorkerStats",
    "dead_letter_headers",
]

logger = logging.getLogger(__name__)


class KafkaConsumerWorker:
    """Applies the events of a Kafka topic to a :class:`GraphStore` as one member of a group.

    A worker runs once: after :meth:`stop` (or a :meth:`request_stop` before :meth:`start`
    finished) it does not consume again; build a new one.

    Example::

        worker = KafkaConsumerWorker(settings.log.kafka, store, settings.consumer, Metrics(), EventReader())
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
        self._grace_timer: asyncio.TimerHandle | None = None
        self._consumer: Any = None
        self._producer: Any = None
        self._loop: BatchLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect the dead-letter producer and the consumer, join the group, start consuming.

        Raises :class:`EventLogUnavailable` when the brokers cannot be reached (nothing is left open).
        """
        consumer, producer = await open_clients(self.config, self.tuning, _Listener(self))
        context = LoopContext(
            self.config, self.settings, self.tuning, self.store, self.metrics, self.reader, self.stats
        )
        self._consumer, self._producer = consumer, producer
        self._loop = BatchLoop(consumer, producer, context, self._stopping)
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
            self._loop = None
            await close_quietly(consumer, producer)

    async def run(self) -> None:
        """Poll and apply until :meth:`request_stop` (the task :meth:`start` begins runs this)."""
        if self._loop is not None:
            await self._loop.run()

    # ------------------------------------------------------------ state

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
        loop = self._loop
        if not self.running or self._consumer is None or loop is None:
            return "the consumer is not running"
        topic = self.config.topic
        if not self._consumer.partitions_for_topic(topic):
            return f"topic {topic} does not exist yet (metadata is checked every few seconds)"
        if not loop.book.member:
            return f"not yet a member of consumer group {self.config.group_id}"
        if not self.assigned():
            return (
                f"no partitions of {topic} assigned yet (a rebalance is due, or group "
                f"{self.config.group_id} has more members than the topic has partitions)"
            )
        idle = time.monotonic() - loop.last_poll
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

    # ------------------------------------------------------------ rebalances

    async def on_revoked(self, revoked: set[Any]) -> None:
        """Let the in-flight batch finish and commit; a poll not begun yet leaves revoked partitions out."""
        if self._loop is not None:
            await self._loop.on_revoked(revoked)

    async def on_assigned(self, assigned: set[Any]) -> None:
        """Nothing to restore: consuming resumes from the committed offsets (after any outage)."""
        if self._loop is not None:
            self._loop.book.assigned(assigned)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no types
    """Forwards aiokafka's rebalance callbacks to the worker."""

    def __init__(self, worker: KafkaConsumerWorker) -> None:
        self._worker = worker

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._worker.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._worker.on_assigned(set(assigned))
