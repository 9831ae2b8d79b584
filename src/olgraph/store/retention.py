"""What retention removes (pure): old runs and dataset versions, never what history still needs.

A run goes when its last event is older than the cutoff, unless it wrote the latest version of
a dataset (that version's provenance stays answerable). A version goes when it was created
before the cutoff, is not its dataset's latest, and no remaining run read or wrote it; an
implicit ``initial`` version goes when no run reads it any more. Jobs, datasets, columns and
every lineage edge (``CONSUMED_BY``, ``PRODUCES``, ``FEEDS``, ``DERIVES``…) always stay.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RunRow:
    """A run as retention sees it: its last event time, and whether it wrote a latest version."""

    key: str
    last_event_at: str | None
    wrote_latest: bool


@dataclass(frozen=True, slots=True)
class VersionRow:
    """A dataset version as retention sees it."""

    key: str
    created_at: str | None
    implicit: bool
    latest: bool
    used: bool
    """Read or written by a run that still exists."""


@dataclass(frozen=True, slots=True)
class RetentionCounts:
    """What one retention pass removed (or, dry, would remove)."""

    runs: int = 0
    versions: int = 0
    events: int = 0
    batches: int = 0

    def __add__(self, other: RetentionCounts) -> RetentionCounts:
        return RetentionCounts(
            self.runs + other.runs,
            self.versions + other.versions,
            self.events + other.events,
            self.batches + other.batches,
        )


def runs_to_remove(rows: Iterable[RunRow], cutoff: str) -> list[str]:
    """Keys of the runs to remove (a run never seen by an event of its own is kept)."""
    return [
        r.key for r in rows if r.last_event_at is not None and r.last_event_at < cutoff and not r.wrote_latest
    ]


def versions_to_remove(rows: Iterable[VersionRow], cutoff: str) -> list[str]:
    """Keys of the versions to remove."""
    out = []
    for v in rows:
        if v.used or v.latest:
            continue
        if v.implicit or (v.created_at is not None and v.created_at < cutoff):
            out.append(v.key)
    return out
