"""Marquez's search, raw events by time, and its write routes (which answer 405).

``/events/lineage`` (and marquez-python's ``/events``) read the local event log of the
embedded deployment (``olgraph serve``): the events as received, ordered by their
``eventTime``. The log is scanned in offset order, at most :data:`EVENTS_SCANNED` events; in the
distributed deployment the events are on the Kafka topic and the route answers 404 saying so.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query

from olgraph.api.auth import require_role
from olgraph.api.marquez import reads, shapes
from olgraph.api.marquez.paths import segment
from olgraph.api.params import RuntimeDep
from olgraph.errors import InvalidQuery, MethodNotAllowed
from olgraph.ingest.times import normalize_time
from olgraph.log.base import EventLog
from olgraph.query.search import MAX_LIMIT, search_query
from olgraph.store.search import SearchHit

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_role("read"))])
writes = APIRouter(prefix="/api/v1")

Json = dict[str, Any]
EVENTS_SCANNED = 200_000
READ_BATCH = 1000
DEFAULT_BEFORE = "2030-01-01T00:00:00+00:00"
DEFAULT_AFTER = "1970-01-01T00:00:00+00:00"


# ---------------------------------------------------------------- search


def _day(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise InvalidQuery(f"query param {field} must match YYYY-MM-DD, got {value!r}") from exc


def _search_types(value: str | None) -> str:
    if value is None:
        return "dataset,model,job"
    kind = value.strip().upper()
    if kind not in ("DATASET", "JOB"):
        raise InvalidQuery(f"query param filter must be DATASET or JOB, got {value!r}")
    return "dataset,model" if kind == "DATASET" else "job"


def _result(hit: SearchHit, job_names: dict[str, tuple[str, str]]) -> Json:
    if hit.type == "job":
        namespace, name = job_names.get(hit.key, (hit.namespace or "", hit.name))
        return {
            "type": "JOB",
            "name": name,
            "updatedAt": shapes.instant(hit.last_seen_at),
            "namespace": namespace,
            "nodeId": f"job:{namespace}:{name}",
        }
    return {
        "type": "DATASET",
        "name": hit.name,
        "updatedAt": shapes.instant(hit.last_seen_at),
        "namespace": hit.namespace,
        "nodeId": hit.key,
    }


@router.get("/search")
async def search(
    runtime: RuntimeDep,
    *,
    q: str | None = None,
    filter_: Annotated[str | None, Query(alias="filter")] = None,
    sort: str = "name",
    limit: int = 10,
    namespace: str | None = None,
    before: str | None = None,
    after: str | None = None,
) -> Json:
    """Datasets and jobs whose name contains ``q``: ``{totalCount, results}``."""
    if not q or not q.strip():
        raise InvalidQuery("query param q must not be blank")
    if sort.lower() not in ("name", "updated_at", "update_at"):
        raise InvalidQuery(f"query param sort must be NAME or UPDATE_AT, got {sort!r}")
    if limit < 0:
        raise InvalidQuery("query param limit must be greater than or equal to 0")
    first, last = _day(after, "after"), _day(before, "before")
    if limit == 0:
        return {"totalCount": 0, "results": []}
    query = search_query(
        q,
        types=_search_types(filter_),
        namespace=namespace,
        include_deleted=False,
        limit=min(limit, MAX_LIMIT),
        cursor=None,
    )
    page = await runtime.store.search(query)
    hits = [
        h
        for h in page.hits
        if (first is None or (h.last_seen_at or "") > first)
        and (last is None or (h.last_seen_at or "") < last)
    ]
    if sort.lower() in ("updated_at", "update_at"):  # Marquez Web sends the enum's name
        hits.sort(key=lambda h: h.last_seen_at or "", reverse=True)
    names = await reads.job_names(runtime.store, [h.key for h in hits if h.type == "job"])
    results = [_result(h, names) for h in hits]
    return {"totalCount": len(results), "results": results}


# ---------------------------------------------------------------- raw events


def _time(value: str, field: str) -> str:
    try:
        return normalize_time(value)
    except ValueError as exc:
        raise InvalidQuery(f"query param {field} must be an ISO-8601 date-time, got {value!r}") from exc


async def run_events(
    log: EventLog, *, after: str, before: str, namespace: str | None
) -> list[tuple[str, Json]]:
    """``(eventTime, event)`` of the logged RunEvents in [after, before), every copy (as Marquez
    keeps every event posted), their ``eventTime`` in UTC as Marquez prints it."""
    found: list[tuple[str, Json]] = []
    offset, scanned = 0, 0
    while scanned < EVENTS_SCANNED:
        batch = await log.read(offset, READ_BATCH)
        if not batch:
            break
        for logged in batch:
            offset, scanned = logged.offset, scanned + 1
            event = orjson.loads(logged.raw)
            try:
                at = normalize_time(str(event.get("eventTime", "")))
            except ValueError:
                continue
            if not isinstance(event.get("run"), dict):
                continue  # a DatasetEvent or JobEvent: Marquez lists RunEvents only
            if after <= at < before and (namespace is None or _mentions(event, namespace)):
                found.append((at, {**event, "eventTime": shapes.event_time(at)}))  # as Marquez prints it
    return found


def _mentions(event: Json, namespace: str) -> bool:
    job = event.get("job")
    return isinstance(job, dict) and job.get("namespace") == namespace


async def _event_page(
    runtime: RuntimeDep,
    *,
    before: str,
    after: str,
    direction: str,
    limit: int,
    offset: int,
    namespace: str | None,
) -> Json:
    size, start = reads.check_window(limit, offset)
    if direction.lower() not in ("asc", "desc"):
        raise InvalidQuery(f"query param sortDirection must be asc or desc, got {direction!r}")
    log = runtime.local_log("GET /api/v1/events/lineage")
    found = await run_events(
        log, after=_time(after, "after"), before=_time(before, "before"), namespace=namespace
    )
    found.sort(key=lambda pair: pair[0], reverse=direction.lower() == "desc")
    return {"events": [event for _, event in found[start : start + size]], "totalCount": len(found)}


@router.get("/events/lineage")
async def lineage_events(
    runtime: RuntimeDep,
    *,
    before: str = DEFAULT_BEFORE,
    after: str = DEFAULT_AFTER,
    sort_direction: Annotated[str, Query(alias="sortDirection")] = "desc",
    limit: int = 100,
    offset: int = 0,
) -> Json:
    """OpenLineage events received, by ``eventTime`` (newest first by default), paged."""
    return await _event_page(
        runtime,
        before=before,
        after=after,
        direction=sort_direction,
        limit=limit,
        offset=offset,
        namespace=None,
    )


@router.get("/events")
async def events(runtime: RuntimeDep, limit: int = 100, offset: int = 0) -> Json:
    """marquez-python's ``list_events()``: every event, newest first."""
    return await _event_page(
        runtime,
        before=DEFAULT_BEFORE,
        after=DEFAULT_AFTER,
        direction="desc",
        limit=limit,
        offset=offset,
        namespace=None,
    )


@router.get("/events/{namespace}")
async def namespace_events(runtime: RuntimeDep, namespace: str, limit: int = 100, offset: int = 0) -> Json:
    """marquez-python's ``list_events(namespace)``: events of jobs in one namespace, newest first."""
    return await _event_page(
        runtime,
        before=DEFAULT_BEFORE,
        after=DEFAULT_AFTER,
        direction="desc",
        limit=limit,
        offset=offset,
        namespace=segment(namespace),
    )


# ---------------------------------------------------------------- writes Marquez deprecates


WRITE_ROUTES = (
    ("PUT", "/namespaces/{namespace}"),
    ("PUT", "/sources/{source}"),
    ("PUT", "/namespaces/{namespace}/datasets/{dataset}"),
    ("POST", "/namespaces/{namespace}/datasets/{dataset}/tags/{tag}"),
    ("DELETE", "/namespaces/{namespace}/datasets/{dataset}/tags/{tag}"),
    ("POST", "/namespaces/{namespace}/datasets/{dataset}/fields/{field}/tags/{tag}"),
    ("DELETE", "/namespaces/{namespace}/datasets/{dataset}/fields/{field}/tags/{tag}"),
    ("PUT", "/namespaces/{namespace}/jobs/{job}"),
    ("POST", "/namespaces/{namespace}/jobs/{job}/tags/{tag}"),
    ("DELETE", "/namespaces/{namespace}/jobs/{job}/tags/{tag}"),
    ("POST", "/namespaces/{namespace}/jobs/{job}/runs"),
    ("POST", "/jobs/runs/{run_id}/start"),
    ("POST", "/jobs/runs/{run_id}/complete"),
    ("POST", "/jobs/runs/{run_id}/fail"),
    ("POST", "/jobs/runs/{run_id}/abort"),
    ("PUT", "/tags/{tag}"),
)
WRITE_MESSAGE = (
    "olgraph takes its metadata only from OpenLineage events: send them to POST /api/v1/lineage "
    "(tags as the 'tags' facet, descriptions as 'documentation', runs as RunEvents). "
    "Marquez itself deprecates this write route."
)


def _refuse() -> None:
    raise MethodNotAllowed(WRITE_MESSAGE)


for _method, _path in WRITE_ROUTES:
    writes.add_api_route(_path, _refuse, methods=[_method], status_code=405, include_in_schema=False)
