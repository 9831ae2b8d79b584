"""Marquez's ``GET /api/v1/stats/…``: the counts Marquez Web's dashboard charts.

``period=DAY`` is the last 24 hours, one bucket per UTC hour ending with the current one;
``period=WEEK`` the last 7 days, one bucket per day in ``timezone`` (an IANA name; Marquez
requires it for the lineage events) ending with today. Each bucket is
``{startInterval, endInterval, …}`` with Marquez's instants.

- ``/lineage-events``: how many RunEvents of each ``eventType`` (START, COMPLETE, FAIL, ABORT)
  have their ``eventTime`` in the bucket, from the local event log (as ``/events/lineage``);
- ``/jobs``, ``/datasets``: how many live jobs, datasets (models included) existed at each
  bucket's end, by their ``firstSeenAt`` (Marquez counts by row creation, cumulatively too);
- ``/sources``: olgraph has one source, ``default`` (see ``/sources``): 1 from the first dataset on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends

from olgraph.api.auth import require_role
from olgraph.api.marquez.misc import DEFAULT_AFTER, DEFAULT_BEFORE, run_events
from olgraph.api.params import RuntimeDep
from olgraph.errors import InvalidQuery
from olgraph.ingest.times import normalize_time
from olgraph.store.base import GraphStore, NodeView
from olgraph.store.listing import ListKind, NodeFilter, Window

router = APIRouter(prefix="/api/v1/stats", dependencies=[Depends(require_role("read"))])

Json = dict[str, Any]
Bucket = tuple[datetime, datetime]
NODES_SCANNED = 200_000
"""Most jobs (or datasets) one answer counts; beyond, the later ones are not counted."""
PAGE = 1000
EVENT_TYPES = ("START", "COMPLETE", "FAIL", "ABORT")


def buckets(period: str | None, timezone: str | None, now: datetime, *, zone_required: bool) -> list[Bucket]:
    """The periods' buckets, oldest first; a 400 for a period or time zone Marquez refuses.

    >>> now = datetime(2024, 5, 2, 13, 30, tzinfo=UTC)
    >>> day = buckets("DAY", None, now, zone_required=True)
    >>> len(day), day[-1][0].isoformat(), day[0][0].isoformat()
    (24, '2024-05-02T13:00:00+00:00', '2024-05-01T14:00:00+00:00')
    >>> week = buckets("WEEK", "Europe/Paris", now, zone_required=True)
    >>> week[-1][0].astimezone(UTC).isoformat(), len(week)
    ('2024-05-01T22:00:00+00:00', 7)
    """
    if period == "DAY":
        hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        starts = [hour - timedelta(hours=n) for n in range(23, -1, -1)]
        return [(s, s + timedelta(hours=1)) for s in starts]
    if period != "WEEK":
        raise InvalidQuery("Invalid period")
    if not timezone and zone_required:
        raise InvalidQuery("Timezone must be specified for period 'WEEK'")
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidQuery(f"query param timezone must be an IANA time zone, got {timezone!r}") from exc
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=n) for n in range(6, -1, -1)]
    return [(_midnight(d, zone), _midnight(d + timedelta(days=1), zone)) for d in days]


def _midnight(day: Any, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stored(at: datetime) -> str:
    """A bucket bound as olgraph stores times, so stored times compare with it as strings."""
    return normalize_time(at.astimezone(UTC).isoformat())


def interval_counts(times: list[str], spans: list[Bucket]) -> list[Json]:
    """Marquez's IntervalMetrics: how many of ``times`` (stored times) fall before each bucket's end."""
    ordered = sorted(times)
    out = []
    for start, end in spans:
        bound = _stored(end)
        out.append(
            {
                "startInterval": _instant(start),
                "endInterval": _instant(end),
                "count": sum(1 for t in ordered if t < bound),
            }
        )
    return out


def lineage_counts(events: list[tuple[str, str]], spans: list[Bucket]) -> list[Json]:
    """Marquez's LineageMetrics: ``(eventTime, eventType)`` counted per bucket and type."""
    out = []
    for start, end in spans:
        low, high = _stored(start), _stored(end)
        inside = [kind for at, kind in events if low <= at < high]
        counts = {kind.lower(): inside.count(kind) for kind in EVENT_TYPES}
        out.append({"startInterval": _instant(start), "endInterval": _instant(end), **counts})
    return out


async def first_seen(store: GraphStore, kind: ListKind) -> list[str]:
    """``firstSeenAt`` of every live job or dataset (models included), at most :data:`NODES_SCANNED`."""
    found: list[str] = []
    after: tuple[str, str] | None = None
    while len(found) < NODES_SCANNED:
        page = await store.list_nodes(NodeFilter(kind), Window(PAGE, 0, after))
        nodes: list[NodeView] = list(page.items)
        found.extend(str(n.props.get("firstSeenAt") or "") for n in nodes)
        if len(nodes) < PAGE:
            break
        after = (nodes[-1].name, nodes[-1].id)
    return [t for t in found if t]


@router.get("/lineage-events")
async def lineage_events(
    runtime: RuntimeDep, period: str | None = None, timezone: str | None = None
) -> list[Json]:
    """RunEvents per hour (``DAY``) or per day (``WEEK``) by ``eventType``."""
    spans = buckets(period, timezone, datetime.now(UTC), zone_required=True)
    log = runtime.local_log("GET /api/v1/stats/lineage-events")
    found = await run_events(log, after=DEFAULT_AFTER, before=DEFAULT_BEFORE, namespace=None)
    logged = [(at, str(event.get("eventType") or "").upper()) for at, event in found]
    return lineage_counts(logged, spans)


@router.get("/jobs")
async def jobs(runtime: RuntimeDep, period: str | None = None, timezone: str | None = None) -> list[Json]:
    """How many jobs existed at the end of each hour (``DAY``) or day (``WEEK``)."""
    spans = buckets(period, timezone, datetime.now(UTC), zone_required=False)
    return interval_counts(await first_seen(runtime.store, "job"), spans)


@router.get("/datasets")
async def datasets(runtime: RuntimeDep, period: str | None = None, timezone: str | None = None) -> list[Json]:
    """How many datasets existed at the end of each hour (``DAY``) or day (``WEEK``)."""
    spans = buckets(period, timezone, datetime.now(UTC), zone_required=False)
    return interval_counts(await first_seen(runtime.store, "dataset"), spans)


@router.get("/sources")
async def sources(runtime: RuntimeDep, period: str | None = None, timezone: str | None = None) -> list[Json]:
    """How many sources existed at the end of each bucket: ``default``, from the first dataset on."""
    spans = buckets(period, timezone, datetime.now(UTC), zone_required=False)
    times = await first_seen(runtime.store, "dataset")
    return interval_counts([min(times)] if times else [], spans)
