"""Operational endpoints: liveness, readiness, Prometheus metrics, pipeline statistics and a run's raw events.

``/healthz``, ``/readyz`` and ``/metrics`` need no API key, so that load balancers,
Kubernetes probes and Prometheus can call them; they reveal no event data. Statistics and
raw events come from the local event log, so they exist only in the embedded deployment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from olgraph.api.auth import get_runtime, require_role
from olgraph.api.errors import error_responses
from olgraph.errors import InvalidQuery, NotFound, OlgraphError
from olgraph.keys import normalize_run_id
from olgraph.metrics import CONTENT_TYPE
from olgraph.query.lineage import QueryLimits, check_page
from olgraph.runtime import Runtime

router = APIRouter(tags=["operations"])
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

READINESS_TIMEOUT_SECONDS = 5.0
"""Longest a readiness check may take before it counts as failed (probes must answer quickly)."""

_DISTRIBUTED = "the distributed deployment, where the events are on the Kafka topic instead"
_STATS_ERRORS = error_responses(e404=f"Not available in {_DISTRIBUTED}")
_RUN_EVENTS_ERRORS = error_responses(e404=f"No event of this run was received, or {_DISTRIBUTED}")


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class ConsumerStatus(_Wire):
    """The consumer in this process, if it runs here."""

    running: bool
    retries: int = Field(description="Store retries since start")
    last_error: str | None


class Stats(_Wire):
    """Where the pipeline stands: ``accepted = applied + failed + pending``."""

    accepted: int = Field(description="Events in the event log")
    applied: int = Field(description="Events applied to the graph")
    failed: int = Field(description="Events dead-lettered (see the reason in the dead-letter table)")
    pending: int = Field(description="Events logged but not applied yet")
    last_offset: int = Field(description="Offset of the newest logged event")
    applied_offset: int = Field(description="Offset up to which the consumer has committed")
    consumer: ConsumerStatus | None


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    """Always ``{"status": "ok"}`` while the process serves requests."""
    return {"status": "ok"}


Probe = Callable[[], Awaitable[None]]


async def _check(probe: Probe) -> str:
    """``"ok"``, or why not: the error's message, or that the probe timed out."""
    try:
        await asyncio.wait_for(probe(), READINESS_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"no answer within {READINESS_TIMEOUT_SECONDS:g}s"
    except OlgraphError as exc:
        return str(exc) or type(exc).__name__
    return "ok"


ReadinessScope = Literal["ingest", "query", "all"]


def readiness_probes(runtime: Runtime, scope: ReadinessScope | None) -> dict[str, Probe]:
    """The checks of ``/readyz`` for ``scope``; the default scope is what the process must do.

    ``ingest``: the event log (``log``) or Kafka (``kafka``) can take events. ``query``: the
    graph store answers (``store``). ``all``: both. ``olgraph serve`` defaults to ``all``: it
    ingests and applies events to its store. An API replica (``olgraph api``) defaults to
    ``ingest``: its ingest needs Kafka only, so a store outage must not take it out of a load
    balancer (its queries answer 503 meanwhile, within about the store's connection timeout).
    """
    sink: dict[str, Probe] = {"log" if runtime.log is not None else "kafka": runtime.sink.check_writable}
    store: dict[str, Probe] = {"store": runtime.store.ping}
    chosen = scope or ("all" if runtime.log is not None else "ingest")
    if chosen == "ingest":
        return sink
    if chosen == "query":
        return store
    return store | sink


@router.get(
    "/readyz",
    summary="Readiness: the event log (or Kafka) can take events and, as asked, the store answers",
    responses={503: {"description": "The store, the log or Kafka is not usable"}},
)
async def readyz(
    runtime: RuntimeDep,
    scope: Annotated[
        ReadinessScope | None,
        Query(
            description=(
                "ingest: the log or Kafka can take events; query: the graph store answers; all: both. "
                "Default: all for olgraph serve, ingest for an API replica (olgraph api)."
            )
        ),
    ] = None,
) -> JSONResponse:
    """200 when every check of the scope passes, else 503 saying which does not.

    The checks are ``store`` (the store answers and, embedded, can take writes), ``log``
    (embedded: the local log can take events) and ``kafka`` (distributed: the brokers answered
    a metadata request for the topic and every partition has a leader).
    """
    probes = readiness_probes(runtime, scope)
    results = await asyncio.gather(*(_check(probe) for probe in probes.values()))
    checks = dict(zip(probes, results, strict=True))
    ready = all(value == "ok" for value in checks.values())
    headers = {} if ready else {"Retry-After": str(runtime.settings.server.retry_after_seconds)}
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format"}},
)
async def metrics(runtime: RuntimeDep) -> Response:
    """Events accepted and rejected (by endpoint and reason), and, where a consumer runs here,
    events applied, dead letters, store batch sizes and latencies. No API key needed."""
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE)


@router.get(
    "/api/v1/stats",
    response_model=Stats,
    summary="Events accepted, applied, failed and pending (embedded deployment)",
    dependencies=[Depends(require_role("read"))],
    responses=_STATS_ERRORS,
)
async def stats(runtime: RuntimeDep) -> Stats:
    """Pipeline counts from the local event log (they survive restarts).

    In the distributed deployment there is no local log: 404 naming the Kafka topic (watch
    the consumers' lag in their ``/metrics`` instead).
    """
    counts = await runtime.local_log("GET /api/v1/stats").counts(runtime.consumer_name)
    consumer = runtime.consumer
    status = None
    if consumer is not None:
        status = ConsumerStatus(
            running=consumer.running, retries=consumer.stats.retries, last_error=consumer.stats.last_error
        )
    return Stats(
        accepted=counts.accepted,
        applied=counts.applied,
        failed=counts.failed,
        pending=counts.pending,
        last_offset=counts.last_offset,
        applied_offset=counts.committed_offset,
        consumer=status,
    )


class RunEvents(_Wire):
    """One page of a run's raw events (the OpenAPI shape; the route writes the JSON itself)."""

    run_id: str
    events: list[dict[str, Any]] = Field(description="The events exactly as logged, in arrival order")
    total: int = Field(description="Distinct events of the run still in the log")
    next: str | None = Field(description="Pass as `after` for the next page; null on the last page")


@router.get(
    "/api/v1/runs/{runId}/events",
    summary="The raw OpenLineage events of a run, in arrival order, page by page (embedded deployment)",
    dependencies=[Depends(require_role("read"))],
    response_model=RunEvents,
    responses=_RUN_EVENTS_ERRORS,
)
async def run_events(
    runtime: RuntimeDep,
    run_id: Annotated[str, Path(alias="runId")],
    limit: Annotated[
        int | None, Query(description="events per page (default and cap: server settings)")
    ] = None,
    after: Annotated[str | None, Query(description="the `next` of the previous page")] = None,
) -> Response:
    """The distinct events received for ``runId``, exactly as logged, oldest first.

    A page holds at most ``limit`` events and ``query.max_page_bytes`` of them (always at least
    one); ``next`` continues. Applied events older than the log's retention are gone. 404 when
    no event of the run is in the log, and in the distributed deployment (the raw events stay on
    the Kafka topic there).
    """
    log = runtime.local_log("GET /api/v1/runs/{runId}/events")
    size, _ = check_page(limit, 0, QueryLimits.of(runtime.settings.query))
    start = _cursor(after)
    run_id = normalize_run_id(run_id)
    page = await log.raw_events_for_run(
        run_id, after=start, limit=size, max_bytes=runtime.settings.query.max_page_bytes
    )
    if not page.events and start == 0:
        raise NotFound(f"no events for run {run_id}")
    # The logged bytes are the JSON the events were accepted as: spliced in, not parsed again.
    head = orjson.dumps({"runId": run_id, "total": page.total, "next": _next(page.next)})
    body = head[:-1] + b',"events":[' + b",".join(event.raw for event in page.events) + b"]}"
    return Response(body, media_type="application/json")


def _cursor(after: str | None) -> int:
    """The offset an ``after`` cursor stands for; 400 naming ``after`` when it is not one."""
    if after is None or after == "":
        return 0
    text = after.strip()
    if not text.isdecimal() or len(text) > 18:
        raise InvalidQuery(f"not a cursor this server gave: {after!r}", field="after")
    return int(text)


def _next(offset: int | None) -> str | None:
    return None if offset is None else str(offset)
