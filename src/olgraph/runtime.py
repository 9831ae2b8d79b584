"""Building and running olgraph's moving parts from :class:`~olgraph.config.Settings`.

A :class:`Runtime` holds the graph store, the event sink ingest appends to, and (in the
embedded deployment) the local event log and its consumer, and opens and closes them in the
right order. The HTTP app's lifespan and the CLI (``olgraph serve``, ``olgraph api``) use it.

Two shapes, chosen by ``settings.log.kind``:

* ``local`` (``olgraph serve``): the sink *is* the local log; the consumer runs in-process.
* ``kafka`` (``olgraph api``): the sink is a Kafka producer; there is no local log and no
  consumer here (``olgraph consume`` replicas apply the topic).

Example::

    async with build_runtime(settings) as runtime:
        await runtime.sink.append(events)
        runtime.notify_appended()
        await runtime.wait_until_applied(timeout=10)   # embedded only
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from types import TracebackType

from olgraph.config import Settings
from olgraph.consume.applier import backoff_delay
from olgraph.consume.consumer import DEFAULT_CONSUMER, Consumer
from olgraph.errors import NotFound, OlgraphError
from olgraph.log.base import EventLog, EventSink
from olgraph.log.dead_letters import DeadLetterQueue
from olgraph.log.local import LocalEventLog
from olgraph.log.retention import LogPruner
from olgraph.metrics import Metrics
from olgraph.query.admin import run_retention
from olgraph.store.base import GraphStore

logger = logging.getLogger(__name__)


def build_store(settings: Settings) -> GraphStore:
    """The graph store ``settings.store.kind`` selects (not opened yet)."""
    if settings.store.kind == "neo4j":
        from olgraph.store.neo4j import Neo4jStore  # noqa: PLC0415  (the driver only when asked for)

        config = settings.store.neo4j
        password = config.password.get_secret_value() if config.password else None
        return Neo4jStore(
            config.uri,
            user=config.user,
            password=password,
            database=config.database,
            create_schema=config.create_schema,
            max_retry_time=config.write_retry_seconds,
            query_retry_time=config.query_retry_seconds,
            connection_timeout=config.connection_timeout_seconds,
        )
    from olgraph.store.embedded import EmbeddedStore  # noqa: PLC0415

    return EmbeddedStore(
        settings.embedded_store_path(), min_free_bytes=settings.store.embedded.min_free_bytes
    )


def build_log(settings: Settings) -> EventLog:
    """The local event log of the embedded deployment (not opened yet)."""
    local = settings.log.local
    return LocalEventLog(
        settings.local_log_path(), max_size_bytes=local.max_size_bytes, min_free_bytes=local.min_free_bytes
    )


def build_sink(settings: Settings) -> EventSink:
    """The Kafka sink of the distributed deployment (not opened yet)."""
    from olgraph.log.kafka import KafkaEventSink  # noqa: PLC0415  (aiokafka only when asked for)

    return KafkaEventSink(settings.log.kafka)


def build_runtime(settings: Settings, *, with_consumer: bool = True) -> Runtime:
    """A runtime for ``settings``.

    With ``log.kind == "kafka"`` it is an API replica: a Kafka sink, no local log and no
    consumer (``with_consumer`` is ignored). Otherwise the local log is the sink, and the
    consumer runs in-process unless ``with_consumer`` is false.
    """
    store, metrics = build_store(settings), Metrics()
    if settings.log.kind == "kafka":
        return Runtime(settings=settings, store=store, sink=build_sink(settings), metrics=metrics)
    log = build_log(settings)
    consumer = pruner = None
    if with_consumer:
        consumer = Consumer(log, store, settings.consumer, reader=settings.event_reader(), metrics=metrics)
        pruner = LogPruner(log, consumer.name, settings.log.local)
    return Runtime(
        settings=settings, store=store, sink=log, log=log, consumer=consumer, pruner=pruner, metrics=metrics
    )


@dataclass
class Runtime:
    """The store, the event sink (and local log) and the consumer of one olgraph process.

    ``log`` is the local event log when there is one, and then it is also the ``sink``;
    in the distributed deployment it is ``None`` and ``sink`` is the Kafka producer.
    """

    settings: Settings
    store: GraphStore
    sink: EventSink
    log: EventLog | None = None
    consumer: Consumer | None = None
    pruner: LogPruner | None = None
    metrics: Metrics = field(default_factory=Metrics)
    _store_opener: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _kafka_dead_letters: DeadLetterQueue | None = field(default=None, init=False, repr=False)

    _retention: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.log is not None and self.log is not self.sink:
            raise ValueError("a runtime's local log must be its sink")

    @property
    def consumer_name(self) -> str:
        """The consumer name whose committed offset counts as "applied"."""
        return self.consumer.name if self.consumer else DEFAULT_CONSUMER

    @property
    def dead_letters(self) -> DeadLetterQueue:
        """Where this deployment keeps dead letters: the local log's table, or the Kafka dead-letter topic."""
        if self.log is not None:
            return self.log
        if self._kafka_dead_letters is None:
            from olgraph.log.kafka_dead_letters import KafkaDeadLetters  # noqa: PLC0415  (aiokafka)

            self._kafka_dead_letters = KafkaDeadLetters(self.settings.log.kafka)
        return self._kafka_dead_letters

    def local_log(self, what: str) -> EventLog:
        """The local event log, for ``what`` (an endpoint's purpose) that needs one.

        Raises :class:`~olgraph.errors.NotFound` in the distributed deployment, naming the
        Kafka topic that holds the events instead.
        """
        if self.log is not None:
            return self.log
        raise NotFound(
            f"{what} is available only in the embedded deployment (olgraph serve); in the distributed "
            f"deployment events are on Kafka topic {self.settings.log.kafka.topic}"
        )

    async def start(self) -> None:
        """Open the store and the sink, then start the consumer. Closes what it opened on failure.

        With Neo4j, the process starts while the server is unreachable: ingest works without
        it, queries answer 503 meanwhile (and the consumer waits), and the store is opened in
        the background as soon as it answers. The embedded store is a local file: when it
        cannot be opened, start fails.
        """
        if self.settings.store.kind == "neo4j":
            await self._open_store_or_keep_trying()
        else:
            await self.store.open()
        try:
            await self.sink.open()
        except BaseException:
            await self._close_store()
            raise
        if self.consumer is not None:
            self.consumer.start()
            if self.settings.retention.days is not None:
                self._retention = asyncio.create_task(self._retain_periodically(), name="olgraph-retention")
        if self.pruner is not None:
            self.pruner.start()

    async def _retain_periodically(self) -> None:
        """``settings.retention``: a retention pass now and then every interval; failures are logged."""
        retention = self.settings.retention
        while retention.days is not None:
            try:
                applied = await self.log.committed(self.consumer_name) if self.log is not None else 0
                await run_retention(
                    self.store,
                    self.log,
                    days=retention.days,
                    batch_size=retention.batch_size,
                    applied_offset=applied,
                )
            except OlgraphError as exc:
                logger.warning("retention pass failed (will retry): %s", exc)
            await asyncio.sleep(retention.interval_seconds)

    async def stop(self) -> None:
        """Stop retention, the pruner and the consumer (finishing its round), then close the sink
        and the store."""
        if self._retention is not None:
            self._retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention
            self._retention = None
        try:
            if self.pruner is not None:
                await self.pruner.stop()
            if self.consumer is not None:
                await self.consumer.stop()
        finally:
            try:
                await self.sink.close()
            finally:
                await self._close_store()

    async def _open_store_or_keep_trying(self) -> None:
        try:
            await self.store.open()
        except OlgraphError as exc:
            if not exc.retriable:
                raise
            logger.warning("%s; queries answer 503 until the graph store answers", exc)
            self._store_opener = asyncio.create_task(self._keep_opening(), name="olgraph-store-opener")

    async def _keep_opening(self) -> None:
        attempt = 0
        while True:
            attempt += 1
            await asyncio.sleep(backoff_delay(self.settings.consumer, attempt))
            try:
                await self.store.open()
            except OlgraphError as exc:
                if not exc.retriable:
                    logger.error("cannot open the graph store: %s", exc)
                    return
                continue
            logger.info("the graph store answers again")
            return

    async def _close_store(self) -> None:
        opener, self._store_opener = self._store_opener, None
        if opener is not None:
            opener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await opener
        await self.store.close()

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def notify_appended(self) -> None:
        """Tell the consumer (if it runs here) that events were appended."""
        if self.consumer is not None:
            self.consumer.notify()

    async def wait_until_applied(self, timeout: float = 30.0) -> None:
        """Wait until everything appended so far has been applied (or dead-lettered).

        Only with a local log. Raises :class:`TimeoutError` after ``timeout`` seconds.
        """
        log = self.local_log("waiting for applied events")
        target = (await log.counts(self.consumer_name)).last_offset
        deadline = time.monotonic() + timeout
        while await log.committed(self.consumer_name) < target:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"events up to offset {target} not applied within {timeout}s")
            await asyncio.sleep(0.01)
