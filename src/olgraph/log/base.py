"""The event-log seams: where accepted events go, durably, before the consumer applies them.

Ingest depends only on the append side, :class:`EventSink`, which both deployments implement:
the local log (``olgraph.log.local``, one SQLite file, ``olgraph serve``) and the Kafka sink
(``olgraph.log.kafka``, ``olgraph api``). :class:`EventLog` extends it with the reading side
(offsets, commits, dead letters, counts) that only the local log has; in the distributed
deployment the consumer reads Kafka itself. The contract:

* :meth:`EventSink.append` returns only once the events are durable (fsynced, or acknowledged by
  every in-sync replica). That is what a 2xx from the ingest API promises.
* Offsets grow with the order of appends and are never reused; a consumer commits the offset
  up to which it has applied events, together with the dead letters of that stretch.
* Failures to write or read raise :class:`~olgraph.errors.EventLogUnavailable` (retriable).
* Dead letters can be listed and replayed (:class:`~olgraph.log.dead_letters.DeadLetterQueue`),
  and applied events pruned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from olgraph.errors import InvalidEvent
from olgraph.ingest.event import ParsedEvent
from olgraph.ingest.kafka_key import kafka_key
from olgraph.ingest.parse import decode_json, parse_event
from olgraph.keys import job_key
from olgraph.log.dead_letters import DeadLetterQueue


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An accepted event to append, with what the log indexes it by.

    ``raw`` is the event's JSON (as received for a single POST, re-serialized for a batch
    element); ``kafka_key`` is the partition key the OpenLineage clients compute, so a
    distributed deployment can forward the event unchanged.
    """

    raw: bytes
    content_id: str
    kind: str
    run_id: str | None
    job_key: str | None
    kafka_key: str


def new_event(event: ParsedEvent, raw: bytes) -> NewEvent:
    """What the log keeps of an accepted event: its bytes and what it is indexed by."""
    job = job_key(event.job_namespace, event.job_name) if event.job_namespace and event.job_name else None
    return NewEvent(
        raw=raw,
        content_id=event.content_id,
        kind=event.kind,
        run_id=event.run_id,
        job_key=job,
        kafka_key=kafka_key(event),
    )


def event_from_raw(raw: bytes, max_json_depth: int = 64) -> NewEvent:
    """:func:`new_event` for bytes that may not parse (a dead letter replayed): those are logged
    as they are, with ``kind`` ``unknown``, and the consumer decides about them again."""
    try:
        return new_event(parse_event(decode_json(raw, max_json_depth)), raw)
    except InvalidEvent:
        return NewEvent(raw, hashlib.sha256(raw).hexdigest(), "unknown", None, None, "")


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as stored in the log."""

    offset: int
    received_at: str
    content_id: str
    kind: str
    run_id: str | None
    job_key: str | None
    kafka_key: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event the consumer could not apply, and why. ``at`` is set by the log; ``stage`` says
    which step refused it (``decode``, ``parse``, ``normalize``, ``store``)."""

    offset: int
    reason: str
    raw: bytes
    at: str = ""
    stage: str = ""


@dataclass(frozen=True, slots=True)
class LogCounts:
    """How far the log and one consumer have come (for ``GET /api/v1/stats``).

    ``accepted = applied + failed + pending``.
    """

    accepted: int
    applied: int
    failed: int
    pending: int
    last_offset: int
    committed_offset: int


@runtime_checkable
class EventSink(Protocol):
    """Where ingest puts accepted events: the append side of an event log.

    Example::

        sink: EventSink = KafkaEventSink(settings.log.kafka)   # or a LocalEventLog
        await sink.open()
        await sink.append([NewEvent(raw, cid, "run", run_id, job, key)])   # durable once it returns
    """

    async def open(self) -> None:
        """Create or connect to the log."""

    async def close(self) -> None:
        """Flush and release it."""

    async def append(self, events: Sequence[NewEvent]) -> object:
        """Append durably, in order; return once every event is durable.

        What it returns is the implementation's (the local log: the events' offsets); code
        that holds only an ``EventSink`` ignores it.
        """

    async def check_writable(self) -> None:
        """Raise :class:`~olgraph.errors.EventLogUnavailable` unless an append could succeed now."""

    def refusal(self, event: NewEvent) -> str | None:
        """Why this sink can never take ``event`` (a Kafka message limit), or None: lets a batch
        refuse only the elements concerned instead of the whole batch."""


@dataclass(frozen=True, slots=True)
class RunEventsPage:
    """Distinct events of one run, in log order; ``next`` is the ``after`` of the next page."""

    events: list[LoggedEvent]
    total: int
    next: int | None


@runtime_checkable
class EventLog(EventSink, DeadLetterQueue, Protocol):
    """A durable, ordered log of accepted events that can be read back. Every method is safe to
    call concurrently.

    Example::

        log = LocalEventLog(Path("events.db"))
        await log.open()
        [offset] = await log.append([NewEvent(raw, cid, "RunEvent", run_id, job, key)])
        batch = await log.read(after=await log.committed("embedded"), limit=500)
    """

    async def append(self, events: Sequence[NewEvent]) -> list[int]:
        """Append durably, in order; return the offsets given to ``events``."""

    async def read(self, after: int, limit: int) -> list[LoggedEvent]:
        """Up to ``limit`` events with an offset greater than ``after``, in log order."""

    async def committed(self, consumer: str) -> int:
        """The offset up to which ``consumer`` has applied events (0: none)."""

    async def commit(self, consumer: str, offset: int, dead_letters: Sequence[DeadLetter] = ()) -> None:
        """Record, atomically, that ``consumer`` is done up to ``offset`` and which events failed.

        Dead letters are keyed by offset, so committing the same stretch twice is harmless.
        """

    async def dead_letters(self, limit: int, after: int = 0) -> list[DeadLetter]:
        """Dead letters with an offset greater than ``after``, in log order."""

    async def counts(self, consumer: str) -> LogCounts:
        """Totals for the stats endpoint."""

    async def raw_events_for_run(
        self, run_id: str, *, after: int = 0, limit: int = 1000, max_bytes: int = 8 * 1024 * 1024
    ) -> RunEventsPage:
        """A page of one run's events in log order, one per content id (retried POSTs are not
        repeated): at most ``limit`` events and ``max_bytes`` of them, at least one."""

    async def prune(self, consumer: str, *, max_age_seconds: float | None, max_bytes: int | None) -> int:
        """Delete events ``consumer`` applied that are older than ``max_age_seconds``, and the oldest
        applied ones while all events take more than ``max_bytes``; return how many went."""
