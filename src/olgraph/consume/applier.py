"""What both consumers share: turn logged events into mutations, and apply them to the store.

The local consumer (``olgraph.consume.consumer``, single process) and the Kafka consumer
(``olgraph.consume.kafka_consumer``, ``olgraph consume``) differ in where events come from and where
progress and dead letters go; how an event becomes graph mutations, and how a batch of them
reaches the store, is the same and lives here:

* :func:`prepare_batch` decodes, parses and normalizes each event. An event that fails is
  *rejected* with the stage that refused it (``decode``, ``parse``, ``normalize``) and a reason;
  it never stops the others.
* :class:`BatchApplier` applies the mutations of the prepared events in one store batch. When
  the store rejects the batch (a non-retriable :class:`~olgraph.errors.StoreError`) it applies
  the events one by one and rejects, at stage ``store``, only those the store refuses on their
  own. When the store is unavailable (:class:`~olgraph.errors.StoreUnavailable`) it asks the
  caller's :data:`RetryHook` whether to wait and retry (the local consumer) or give up now (the
  Kafka consumer, which backs off between polls so that it keeps polling its other partitions).

Example::

    prepared, rejected = prepare_batch(events, raw_of=lambda e: e.raw, describe=lambda e: str(e.offset))
    rejected += await BatchApplier(store, metrics).apply(prepared, retry_unavailable)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from olgraph.config import ConsumerSettings
from olgraph.errors import InvalidEvent, PayloadTooLarge, StoreError, StoreUnavailable
from olgraph.ingest.event import ParsedEvent
from olgraph.ingest.limits import decode
from olgraph.ingest.parse import parse_event
from olgraph.ingest.reader import EventReader
from olgraph.metrics import Metrics
from olgraph.normalize.mutations import Mutation
from olgraph.normalize.normalizer import normalize
from olgraph.store.base import GraphStore

logger = logging.getLogger(__name__)

Stage = Literal["decode", "parse", "normalize", "store"]
"""Where an event was refused: the values of the ``olgraph.stage`` dead-letter header."""

T = TypeVar("T")

Normalizer = Callable[[ParsedEvent], list[Mutation]]
RetryHook = Callable[[int, StoreUnavailable], Awaitable[None]]
"""Called with the attempt number (1, 2, …) after the store was unavailable: return to retry
the same write, raise to give up (the exception propagates out of :meth:`BatchApplier.apply`)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one event cannot be applied."""

    stage: Stage
    reason: str


@dataclass(frozen=True, slots=True)
class Prepared(Generic[T]):
    """An event (``source``: a log entry or a Kafka record) and the mutations it normalizes to."""

    source: T
    mutations: list[Mutation]


@dataclass(frozen=True, slots=True)
class Rejected(Generic[T]):
    """An event that cannot be applied, the stage that refused it, and why."""

    source: T
    stage: Stage
    reason: str


def event_mutations(
    raw: bytes | None,
    reader: EventReader | None = None,
    normalizer: Normalizer = normalize,
    *,
    validated: str | None = None,
) -> list[Mutation] | Rejection:
    """The mutations of one raw event, or why it has none.

    ``reader`` checks the limits and redacts secrets (the default: default limits, no
    redaction), so that events producers put on Kafka themselves meet the same rules as
    those that came through the HTTP API. ``validated``: the content id of an event this
    deployment's ingest accepted and logged itself, which is then not checked again
    (:meth:`~olgraph.ingest.reader.EventReader.read_validated`).

    >>> event_mutations(b"{not json").stage
    'decode'
    >>> event_mutations(b'{"eventTime": "2024-05-01T00:00:00Z", "run": {"runId": "x"}}').stage
    'parse'
    """
    if raw is None:
        return Rejection("decode", "invalid event: the message has no value")
    reader = reader or _PLAIN
    if validated is not None and (event := reader.read_validated(raw, validated)) is not None:
        return _normalized(event, normalizer)
    try:
        data, _ = reader.redact(decode(raw, reader.limits))
    except (InvalidEvent, PayloadTooLarge) as exc:
        return Rejection("decode", f"invalid event: {exc}")
    try:
        event = parse_event(data)
    except InvalidEvent as exc:
        return Rejection("parse", f"invalid event: {exc}")
    return _normalized(event, normalizer)


def _normalized(event: ParsedEvent, normalizer: Normalizer) -> list[Mutation] | Rejection:
    """``normalizer(event)``, or why it refused the event (a bug in it refuses it too)."""
    try:
        return normalizer(event)
    except InvalidEvent as exc:
        return Rejection("normalize", f"invalid event: {exc}")
    except Exception as exc:  # a normalizer bug must not stall every later event
        logger.exception("the normalizer failed")
        return Rejection("normalize", f"normalization failed: {type(exc).__name__}: {exc}")


_PLAIN = EventReader()


def prepare_batch(
    sources: Sequence[T],
    raw_of: Callable[[T], bytes | None],
    describe: Callable[[T], str],
    *,
    reader: EventReader | None = None,
    normalizer: Normalizer = normalize,
    validated_of: Callable[[T], str | None] | None = None,
) -> tuple[list[Prepared[T]], list[Rejected[T]]]:
    """Split ``sources`` into events with their mutations and rejected events, keeping their order.

    ``raw_of`` gives an event's bytes; ``describe`` names it in log lines ("offset 12");
    ``reader``: see :func:`event_mutations`; ``validated_of``: the content id of an event
    this deployment's ingest already validated (None: validate it), see :func:`event_mutations`.
    """
    prepared: list[Prepared[T]] = []
    rejected: list[Rejected[T]] = []
    for source in sources:
        validated = validated_of(source) if validated_of is not None else None
        outcome = event_mutations(raw_of(source), reader, normalizer, validated=validated)
        if isinstance(outcome, Rejection):
            logger.info("rejecting the event at %s (%s): %s", describe(source), outcome.stage, outcome.reason)
            rejected.append(Rejected(source, outcome.stage, outcome.reason))
        else:
            prepared.append(Prepared(source, outcome))
    return prepared, rejected


def backoff_delay(settings: ConsumerSettings, attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, …): exponential, capped.

    >>> [backoff_delay(ConsumerSettings(backoff_initial_seconds=0.5, backoff_max_seconds=4), n)
    ...  for n in range(1, 6)]
    [0.5, 1.0, 2.0, 4.0, 4.0]
    """
    initial, cap = settings.backoff_initial_seconds, settings.backoff_max_seconds
    return float(min(cap, initial * 2 ** min(max(attempt, 1) - 1, 32)))


def count_dead_letters(metrics: Metrics | None, rejected: Sequence[Rejected[T]]) -> None:
    """Count dead letters by stage, once they are durably recorded (table row or DLQ ack)."""
    if metrics is None:
        return
    for item in rejected:
        metrics.dead_letters.labels(stage=item.stage).inc()


class BatchApplier(Generic[T]):
    """Applies prepared events to a :class:`GraphStore`, isolating the events it refuses.

    Instruments the store writes through ``metrics`` (batch size and latency of successful
    batches, failed batches by ``retriable``, events applied) when given.
    """

    def __init__(self, store: GraphStore, metrics: Metrics | None = None) -> None:
        self.store = store
        self.metrics = metrics

    async def apply(self, prepared: Sequence[Prepared[T]], on_unavailable: RetryHook) -> list[Rejected[T]]:
        """Apply every prepared event; return those the store refused (stage ``store``).

        Everything else is applied when this returns. An exception (from ``on_unavailable``,
        typically the :class:`StoreUnavailable` it was given) means some events may not be.
        """
        if not prepared:
            return []
        try:
            await self._write([m for p in prepared for m in p.mutations], len(prepared), on_unavailable)
        except StoreUnavailable:
            raise
        except StoreError as exc:
            logger.warning(
                "store rejected a batch of %d events (%s); applying one by one", len(prepared), exc
            )
            return await self._isolate(prepared, on_unavailable)
        return []

    async def _isolate(self, prepared: Sequence[Prepared[T]], on_unavailable: RetryHook) -> list[Rejected[T]]:
        rejected: list[Rejected[T]] = []
        for item in prepared:
            try:
                await self._write(item.mutations, 1, on_unavailable)
            except StoreUnavailable:
                raise
            except StoreError as exc:
                logger.warning("store rejected one event: %s", exc)
                rejected.append(Rejected(item.source, "store", f"store rejected the event: {exc}"))
        return rejected

    async def _write(self, mutations: Sequence[Mutation], events: int, on_unavailable: RetryHook) -> None:
        """One store batch, retried while ``on_unavailable`` says so; other errors propagate."""
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                await self.store.apply(mutations)
            except StoreError as exc:
                self._count_error(exc)
                if not isinstance(exc, StoreUnavailable):
                    raise
                attempt += 1
                await on_unavailable(attempt, exc)
                continue
            self._count_success(events, time.perf_counter() - started)
            return

    def _count_error(self, exc: StoreError) -> None:
        if self.metrics is not None:
            self.metrics.store_errors.labels(retriable=str(exc.retriable).lower()).inc()

    def _count_success(self, events: int, seconds: float) -> None:
        if self.metrics is not None:
            self.metrics.store_batch_events.observe(events)
            self.metrics.store_batch_seconds.observe(seconds)
            self.metrics.events_applied.inc(events)
