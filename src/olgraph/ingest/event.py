"""The parsed form of one OpenLineage event, as the normalizer and the event log see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

EventKind = Literal["run", "dataset", "job"]


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    """A validated OpenLineage RunEvent, DatasetEvent or JobEvent.

    The identity fields are pulled out (and normalized) for routing and keys; ``raw`` is
    the event exactly as received, nothing dropped, so unknown and custom facets survive.

    * ``event_time``: UTC, nanosecond, fixed width (``2024-05-01T12:00:00.000000000Z``).
    * ``event_type``: RunEvents only, upper-cased (``START`` … ``OTHER``); ``None`` when the
      producer sent none. The normalizer then writes no run state: an event without a
      type carries metadata (facets, lineage) but says nothing about the run's state.
    * ``run_id``: RunEvents only, a UUID, lower-cased.
    * ``job_namespace``/``job_name``: RunEvents and JobEvents; ``None`` for a DatasetEvent
      (its dataset is ``raw["dataset"]``).
    * ``content_id``: sha256 hex of the canonical JSON of ``raw`` (sorted keys, no
      whitespace): two deliveries of the same event have the same id.

    >>> from olgraph.ingest import parse_event
    >>> parse_event({"eventTime": "2024-05-01T12:00:00Z", "job": {"namespace": "n", "name": "j"}}).kind
    'job'
    """

    kind: EventKind
    event_time: str
    event_type: str | None
    run_id: str | None
    job_namespace: str | None
    job_name: str | None
    producer: str | None
    schema_url: str | None
    raw: dict[str, Any]
    content_id: str
