"""Operational endpoints: liveness, readiness, pipeline statistics and a run's raw events."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from olgraph.api.auth import get_runtime, require_role
from olgraph.errors import NotFound, OlgraphError
from olgraph.runtime import Runtime

router = APIRouter(tags=["operations"])
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


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


@router.get(
    "/readyz",
    summary="Readiness: the store answers and the event log can take events",
    responses={503: {"description": "The store or the log is not usable"}},
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """200 when the store answers a ping and the log is writable, else 503 saying which is not."""
    checks: dict[str, str] = {}
    for name, probe in (("store", runtime.store.ping), ("log", runtime.log.check_writable)):
        try:
            await probe()
            checks[name] = "ok"
        except OlgraphError as exc:
            checks[name] = str(exc) or type(exc).__name__
    ready = all(value == "ok" for value in checks.values())
    headers = {} if ready else {"Retry-After": str(runtime.settings.server.retry_after_seconds)}
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)


@router.get(
    "/api/v1/stats",
    response_model=Stats,
    summary="Events accepted, applied, failed and pending",
    dependencies=[Depends(require_role("read"))],
)
async def stats(runtime: RuntimeDep) -> Stats:
    """Pipeline counts from the event log (they survive restarts)."""
    counts = await runtime.log.counts(runtime.consumer_name)
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


@router.get(
    "/api/v1/runs/{runId}/events",
    summary="The raw OpenLineage events of a run, in arrival order",
    dependencies=[Depends(require_role("read"))],
    responses={404: {"description": "No event of this run was received"}},
)
async def run_events(runtime: RuntimeDep, run_id: Annotated[str, Path(alias="runId")]) -> Response:
    """Every distinct event received for ``runId``, exactly as logged."""
    run_id = run_id.strip().lower()
    logged = await runtime.log.raw_events_for_run(run_id)
    if not logged:
        raise NotFound(f"no events for run {run_id}")
    body: dict[str, Any] = {"runId": run_id, "events": [orjson.loads(event.raw) for event in logged]}
    return Response(orjson.dumps(body), media_type="application/json")
