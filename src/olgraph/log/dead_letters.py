"""Dead letters, as an operator sees them, in both deployments: list, inspect, replay.

An event the consumer cannot apply (not JSON, not OpenLineage, refused by the store) is kept
with the reason instead of stalling everything behind it: in the local log's dead-letter
table (``olgraph serve``) or on the Kafka dead-letter topic (``olgraph consume``). Both
implement :class:`DeadLetterQueue`, which the admin API (and through it ``olgraph
dead-letters``) uses:

* :meth:`DeadLetterQueue.list_dead_letters` pages through them, oldest first;
* :meth:`DeadLetterQueue.get_dead_letter` returns one, with the event's bytes;
* :meth:`DeadLetterQueue.replay_dead_letters` appends the events to the event log again, so
  the consumer tries them anew (after a fix, an upgrade, a store that accepts them now), and
  records that each was replayed: a dead letter is replayed once unless ``force`` is given.
  Replaying is safe even when it happens twice (a crash between the append and the record):
  applying an event is an idempotent upsert.

Ids are strings: the event's offset in the local log (``"17"``), or the dead letter's
``partition-offset`` on the Kafka dead-letter topic (``"0-15"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import orjson


@dataclass(frozen=True, slots=True)
class DeadLetterView:
    """One dead letter: where the event came from, why it failed, and whether it was replayed.

    ``source`` says where the event was when it failed (``offset 17``, ``topic[2]@120``);
    ``replayed_to`` where its replay went (``offset 42``, ``topic[0]@300``).
    """

    id: str
    source: str
    stage: str | None
    reason: str
    at: str | None
    raw: bytes
    replayed_at: str | None = None
    replayed_to: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetterPage:
    """A page of dead letters, oldest first. ``next`` is the ``after`` of the next page (None: last).

    ``total`` counts every dead letter, and ``pending`` those not replayed yet.
    """

    items: list[DeadLetterView]
    total: int
    pending: int
    next: str | None = None


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """What happened to one dead letter asked to be replayed.

    ``status`` is ``replayed``, ``skipped`` (replayed before; ``force`` replays it again) or
    ``not_found``.
    """

    id: str
    status: str
    replayed_to: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class EventSummary:
    """What a person needs to recognise an event, read from its bytes as far as they parse."""

    event_type: str | None = None
    event_time: str | None = None
    job: str | None = None
    run_id: str | None = None
    size: int = 0


def summarize_event(raw: bytes) -> EventSummary:
    """The event type, time, job and run id of raw event bytes, when they can be read.

    >>> summarize_event(b'{"eventType": "START", "job": {"namespace": "n", "name": "j"}}').job
    'n:j'
    >>> summarize_event(b"not json").job is None
    True
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return EventSummary(size=len(raw))
    if not isinstance(data, dict):
        return EventSummary(size=len(raw))
    job, run = data.get("job"), data.get("run")
    job_name = None
    if isinstance(job, dict) and isinstance(job.get("namespace"), str) and isinstance(job.get("name"), str):
        job_name = f"{job['namespace']}:{job['name']}"
    run_id = run.get("runId") if isinstance(run, dict) else None
    return EventSummary(
        event_type=_text(data.get("eventType")),
        event_time=_text(data.get("eventTime")),
        job=job_name,
        run_id=_text(run_id),
        size=len(raw),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@runtime_checkable
class DeadLetterQueue(Protocol):
    """Where the dead letters of one deployment are, and how to send them round again.

    Example::

        page = await queue.list_dead_letters(limit=50)
        letter = await queue.get_dead_letter(page.items[0].id)
        outcomes = await queue.replay_dead_letters([letter.id])
    """

    async def list_dead_letters(
        self, limit: int, after: str | None = None, *, include_replayed: bool = True
    ) -> DeadLetterPage:
        """Up to ``limit`` dead letters after the one with id ``after``, oldest first."""

    async def get_dead_letter(self, dead_letter_id: str) -> DeadLetterView | None:
        """One dead letter, or None when there is none with that id."""

    async def replay_dead_letters(
        self, ids: Sequence[str] | None, *, force: bool = False, limit: int = 1000
    ) -> list[ReplayOutcome]:
        """Append the events of ``ids`` (None: every dead letter not replayed yet, up to ``limit``)
        to the event log again, and record that they were replayed."""
