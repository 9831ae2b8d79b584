"""The Kafka event sink of the distributed deployment: ``olgraph api`` appends accepted events to a topic.

Each event becomes one message whose value is the event's JSON exactly as accepted
(:attr:`NewEvent.raw`) and whose key is the partition key the OpenLineage clients compute
(:attr:`NewEvent.kafka_key`), so events that came over HTTP and events the clients' Kafka
transport produced share partitions, and one job chain stays in order.

Durability: the producer is idempotent with ``acks=all``, and :meth:`KafkaEventSink.append`
returns only once every message of the call was acknowledged by all in-sync replicas. Any
failure, or no acknowledgement within ``send_timeout_seconds``, raises
:class:`~olgraph.errors.EventLogUnavailable` (the API answers 503 with ``Retry-After``, which
OpenLineage clients retry). A message the client re-sends after a lost acknowledgement may be
in the topic twice; the consumer's writes are idempotent, so that is harmless.

Availability: the producer is started lazily. :meth:`KafkaEventSink.open` tries once, within
a bound, and only logs when the brokers cannot be reached, so the API starts (and reports
not-ready) while Kafka is down; later appends and readiness probes try again, at most once per
``reconnect_interval`` seconds, and the sink recovers by itself when the brokers are back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from olgraph.config import KafkaConfig
from olgraph.errors import EventLogUnavailable, PayloadTooLarge
from olgraph.log.base import NewEvent
from olgraph.log.kafka_options import client_options

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 1_000_000
"""Largest key + value sent: under the brokers' default ``message.max.bytes`` (1 MiB and a bit)."""

_LINGER_MS = 5  # a few ms lets concurrent requests share a produce request without slowing any noticeably
_BATCH_BYTES = 512 * 1024
"""Most bytes of one partition's record batch. aiokafka's 16 KiB default is about one Spark
event with column lineage, so each event went in a batch of its own; measured with 13 KB
events, raw produce ran at 1.5k events/s with 16 KiB batches and 9k with 1 MiB. Half a MiB
keeps a request of several partitions' batches well within ``max_request_size``."""
_PROBE_TIMEOUT_SECONDS = 3.0


def describe_failure(exc: BaseException) -> str:
    """A one-line reason for a Kafka client failure, for error messages and readiness checks.

    >>> from aiokafka.errors import KafkaConnectionError
    >>> describe_failure(KafkaConnectionError("Unable to bootstrap"))
    'KafkaConnectionError: Unable to bootstrap'
    """
    if isinstance(exc, TimeoutError):
        return "timed out"
    name, text = type(exc).__name__, str(exc).strip()
    if text.startswith(name):  # aiokafka's errors already name themselves
        return text
    return f"{name}: {text}" if text else name


class KafkaEventSink:
    """The :class:`~olgraph.log.base.EventSink` of ``olgraph api``: an idempotent, ``acks=all`` producer.

    Example::

        sink = KafkaEventSink(settings.log.kafka)
        await sink.open()              # never blocks for long, even with the brokers down
        await sink.append(events)      # returns once all in-sync replicas have them
        await sink.close()
    """

    def __init__(
        self,
        config: KafkaConfig,
        *,
        reconnect_interval: float = 1.0,
        probe_timeout: float = _PROBE_TIMEOUT_SECONDS,
    ) -> None:
        self.config = config
        self.reconnect_interval = reconnect_interval
        self.probe_timeout = min(probe_timeout, config.send_timeout_seconds)
        self._producer: Any = None
        self._starting = asyncio.Lock()
        self._next_attempt = 0.0
        self._last_failure = ""
        self._closed = False
        self._stopping: set[asyncio.Task[None]] = set()

    @property
    def target(self) -> str:
        """Where events go, for start-up lines and messages: ``SERVERS topic TOPIC``."""
        return f"{self.config.bootstrap_servers} topic {self.config.topic}"

    async def open(self) -> None:
        """Try to connect once (bounded); when the brokers are unreachable, log it and carry on."""
        self._closed = False
        try:
            await self._started_producer()
        except EventLogUnavailable as exc:
            logger.warning("%s; ingest answers 503 until Kafka is reachable", exc)

    async def close(self) -> None:
        """Deliver what is in flight (bounded by the send timeout) and disconnect."""
        self._closed = True
        async with self._starting:
            producer, self._producer = self._producer, None
        if producer is not None:
            await self._stop_quietly(producer)
        if self._stopping:
            await asyncio.gather(*self._stopping)

    async def append(self, events: Sequence[NewEvent]) -> None:
        """Send ``events`` in order and wait until the brokers acknowledged every one.

        Raises :class:`~olgraph.errors.PayloadTooLarge` for an event over
        :data:`MAX_MESSAGE_BYTES` (nothing is sent), else
        :class:`~olgraph.errors.EventLogUnavailable` on any failure or timeout.
        """
        if not events:
            return
        _check_sizes(events)
        timeout = self.config.send_timeout_seconds
        try:
            # One deadline for (re)connecting and sending: an ingest request never waits longer.
            await asyncio.wait_for(self._start_and_send(events), timeout)
        except TimeoutError as exc:
            if self._producer is None:
                raise EventLogUnavailable(
                    f"Kafka at {self.config.bootstrap_servers} is unreachable: no answer within {timeout:g}s"
                ) from exc
            raise EventLogUnavailable(
                f"Kafka ({self.target}) did not acknowledge {len(events)} event(s) within {timeout:g}s"
            ) from exc
        except KafkaError as exc:
            if not exc.retriable and self._producer is not None:
                await self._discard(self._producer)  # a fatal producer error: start afresh next time
            raise EventLogUnavailable(
                f"Kafka ({self.target}) did not take the event(s): {describe_failure(exc)}"
            ) from exc

    def refusal(self, event: NewEvent) -> str | None:
        """Why ``event`` cannot be sent (over the message size), or None."""
        return message_refusal(event)

    async def check_writable(self) -> None:
        """Raise ``EventLogUnavailable`` unless the brokers answer a metadata request for the topic
        within a short timeout, and every partition of the topic has a leader."""
        try:
            producer = await asyncio.wait_for(self._started_producer(), self.probe_timeout)
        except TimeoutError as exc:
            raise EventLogUnavailable(
                f"Kafka ({self.config.bootstrap_servers}) did not answer within {self.probe_timeout:g}s"
            ) from exc
        client = producer.client
        topic = self.config.topic
        client.add_topic(topic)
        try:
            updated = await asyncio.wait_for(client.force_metadata_update(), self.probe_timeout)
        except TimeoutError as exc:
            raise EventLogUnavailable(
                f"Kafka ({self.config.bootstrap_servers}) did not answer within {self.probe_timeout:g}s"
            ) from exc
        if not updated:
            raise EventLogUnavailable(f"no Kafka broker of {self.config.bootstrap_servers} answered")
        partitions = client.cluster.partitions_for_topic(topic)
        if not partitions:
            raise EventLogUnavailable(f"Kafka topic {topic} does not exist (or has no partitions)")
        leaderless = sorted(p for p in partitions if _leader(client, topic, p) is None)
        if leaderless:
            raise EventLogUnavailable(f"Kafka topic {topic}: partitions {leaderless} have no leader")

    async def _start_and_send(self, events: Sequence[NewEvent]) -> None:
        await self._send_all(await self._started_producer(), events)

    async def _send_all(self, producer: Any, events: Sequence[NewEvent]) -> None:
        topic = self.config.topic
        # Queued in order; one key always maps to one partition, and the idempotent producer
        # keeps a partition's order through retries.
        futures = [await producer.send(topic, value=e.raw, key=e.kafka_key.encode()) for e in events]
        results = await asyncio.gather(*futures, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _started_producer(self) -> Any:
        """The running producer; starts one when there is none (at most once per reconnect interval)."""
        if self._producer is not None:
            return self._producer
        async with self._starting:
            if self._producer is not None:
                return self._producer
            if self._closed:
                raise EventLogUnavailable("the Kafka event sink is closed")
            if time.monotonic() < self._next_attempt:
                raise EventLogUnavailable(self._last_failure)
            self._producer = await self._start_producer()
            return self._producer

    async def _start_producer(self) -> Any:
        producer = AIOKafkaProducer(
            **client_options(self.config),
            acks="all",
            enable_idempotence=True,
            linger_ms=_LINGER_MS,
            max_batch_size=_BATCH_BYTES,
            max_request_size=MAX_MESSAGE_BYTES + 1024,  # room for the record overhead
            request_timeout_ms=int(self.config.send_timeout_seconds * 1000),
        )
        timeout = self.config.send_timeout_seconds
        try:
            # Bounded: bootstrapping and getting a producer id retry without end otherwise.
            await asyncio.wait_for(producer.start(), timeout)
        except asyncio.CancelledError:
            # The caller's deadline passed while connecting: stop this producer in the background
            # rather than make the caller wait for it.
            self._stop_in_background(producer)
            raise
        except (KafkaError, OSError, TimeoutError) as exc:
            await self._stop_quietly(producer)
            self._next_attempt = time.monotonic() + self.reconnect_interval
            why = f"no answer within {timeout:g}s" if isinstance(exc, TimeoutError) else describe_failure(exc)
            self._last_failure = f"Kafka at {self.config.bootstrap_servers} is unreachable: {why}"
            raise EventLogUnavailable(self._last_failure) from exc
        logger.info("connected to Kafka at %s", self.config.bootstrap_servers)
        return producer

    async def _discard(self, producer: Any) -> None:
        async with self._starting:
            if self._producer is producer:
                self._producer = None
        await self._stop_quietly(producer)

    def _stop_in_background(self, producer: Any) -> None:
        task = asyncio.get_running_loop().create_task(self._stop_quietly(producer))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _stop_quietly(self, producer: Any) -> None:
        """Stop a failed producer, bounded: with the brokers down, ``stop()`` can wait on
        undeliverable sends for a long time, and nothing may hold up ingest (or the start lock)."""
        try:
            await asyncio.wait_for(producer.stop(), self.config.send_timeout_seconds)
        except Exception as exc:  # the producer is discarded either way
            logger.debug("stopping a failed Kafka producer: %s", describe_failure(exc))


def message_refusal(event: NewEvent) -> str | None:
    """Why ``event`` cannot be one Kafka message (too large), or None.

    >>> message_refusal(NewEvent(b"x" * 2_000_000, "c", "run", None, None, "k"))
    'the event is 2000001 bytes, over the 1000000 bytes a Kafka message may hold'
    """
    size = len(event.raw) + len(event.kafka_key.encode())
    if size > MAX_MESSAGE_BYTES:
        return f"the event is {size} bytes, over the {MAX_MESSAGE_BYTES} bytes a Kafka message may hold"
    return None


def _check_sizes(events: Sequence[NewEvent]) -> None:
    for index, event in enumerate(events):
        refusal = message_refusal(event)
        if refusal is not None:
            where = f"event {index} of the batch: " if len(events) > 1 else ""
            raise PayloadTooLarge(f"{where}{refusal}")


def _leader(client: Any, topic: str, partition: int) -> int | None:
    leader = client.cluster.leader_for_partition(TopicPartition(topic, partition))
    return None if leader is None or leader < 0 else int(leader)
