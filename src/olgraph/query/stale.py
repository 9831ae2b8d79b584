"""Stale nodes: datasets, models and jobs nothing has been seen of for a while.

A node is *stale* when its ``lastSeenAt`` (the latest event that mentioned it) lies more than
``query.stale_after_days`` days before the reference time: now, or ``asOf`` when the graph
is read as it stood then. A node seen after ``asOf`` counts as live at ``asOf`` (the store
keeps the latest sighting only, and the node was evidently still in use). Deleted nodes are
deleted, not stale; nodes without ``lastSeenAt`` are never stale. ``stale_after_days`` = 0
turns the rule off. Both stores answer with the same views, so the rule lives here, once.

>>> rule = StaleRule.at(30, "2024-07-01T00:00:00.000000000Z")
>>> rule.threshold
'2024-06-01T00:00:00.000000000Z'
>>> rule.is_stale_seen("2024-05-31T23:59:59.999999999Z"), rule.is_stale_seen("2024-06-01T00:00:00.000000000Z")
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from olgraph.ingest.times import normalize_time
from olgraph.store.base import NodeView


@dataclass(frozen=True, slots=True)
class StaleRule:
    """Which nodes are stale: those last seen before ``threshold`` (None: the rule is off)."""

    threshold: str | None

    @classmethod
    def at(cls, days: int, as_of: str | None = None, now: datetime | None = None) -> StaleRule:
        """The rule of ``days`` (0: off) at ``as_of`` (a stored time), else at ``now`` (the clock)."""
        if days <= 0:
            return cls(None)
        reference = _parse(as_of) if as_of is not None else (now or datetime.now(UTC))
        try:
            start = reference - timedelta(days=days)
        except OverflowError:  # an asOf within `days` of year 1: nothing can be older
            return cls(None)
        return cls(_stored(start, as_of))

    def is_stale_seen(self, last_seen: object) -> bool:
        """Whether a node last seen at ``last_seen`` (a stored time, or None) is stale."""
        if self.threshold is None or last_seen is None:
            return False
        return str(last_seen) < self.threshold

    def is_stale(self, node: NodeView) -> bool:
        """Whether ``node`` is stale (never when it is deleted)."""
        return not node.deleted and self.is_stale_seen(node.props.get("lastSeenAt"))


def _parse(stored: str) -> datetime:
    """A stored time (``…T12:00:00.123456789Z``) as a datetime (to the microsecond)."""
    return datetime.strptime(stored[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


def _stored(moment: datetime, as_of: str | None) -> str:
    """``moment`` as a stored time, keeping ``as_of``'s nanoseconds beyond the microsecond."""
    text = normalize_time(moment.isoformat())
    return text[:26] + as_of[26:29] + "Z" if as_of is not None and len(as_of) == 30 else text
