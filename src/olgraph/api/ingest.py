"""The OpenLineage ingest endpoints: ``POST /api/v1/lineage`` and ``POST /api/v1/lineage/batch``.

An event is accepted once it is durably in the event sink (the local log, or acknowledged by
Kafka); a consumer applies it to the graph later. So a 2xx never stands for an event that could
still be lost, and a slow or unavailable graph store never slows producers down.

Every outcome is counted in the process's metrics: ``olgraph_events_accepted_total{endpoint}``
per accepted event, ``olgraph_events_rejected_total{reason}`` per refused request (and per
refused element of a batch).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from olgraph.api.auth import get_runtime, require_role
from olgraph.api.body import decompress, read_raw
from olgraph.api.errors import status_for
from olgraph.config import Settings
from olgraph.errors import NotReady, OlgraphError
from olgraph.ingest.event import ParsedEvent
from olgraph.ingest.reader import ElementOutcome
from olgraph.log.base import NewEvent, new_event
from olgraph.runtime import Runtime

REJECT_REASON_BY_STATUS = {
    400: "invalid",
    401: "unauthorized",
    403: "unauthorized",
    413: "too_large",
    415: "unsupported_media_type",
    503: "unavailable",
}
"""The ``reason`` label of ``olgraph_events_rejected_total`` for each refusing status."""


class _CountedRoute(APIRoute):
    """An ingest route that counts the requests it refuses, whichever step refuses them.

    Wrapping the route handler sees errors from the authentication dependency as well as
    from the endpoint, before the app's error handlers turn them into responses.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def counted(request: Request) -> Response:
            try:
                return await handler(request)
            except OlgraphError as exc:
                _count_rejection(request, exc)
                raise

        return counted


def _count_rejection(request: Request, exc: OlgraphError) -> None:
    reason = REJECT_REASON_BY_STATUS.get(status_for(exc))
    if reason is None:
        return
    try:
        runtime = get_runtime(request)
    except NotReady:
        return  # not started: there are no metrics to count in
    runtime.metrics.events_rejected.labels(reason=reason).inc()


router = APIRouter(
    prefix="/api/v1",
    tags=["ingest"],
    dependencies=[Depends(require_role("ingest"))],
    route_class=_CountedRoute,
)

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
T = TypeVar("T")
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Not JSON, too deep, or not a storable OpenLineage event (`field` names the problem)"
    },
    401: {"description": "Missing or unknown API key"},
    403: {"description": "The API key lacks the `ingest` role"},
    413: {
        "description": (
            "Body, decompressed body, batch, JSON values, container size, string length or (with "
            "Kafka) one event over the limits; the message names the `limits.*` setting"
        )
    },
    415: {"description": "Content-Type is not JSON, or an unsupported Content-Encoding"},
    503: {"description": "The event log or Kafka cannot take events now; retry after `Retry-After` seconds"},
}


def _request_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """OpenAPI for a body the route reads itself (streamed, maybe gzip), not through FastAPI."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    }


class Accepted(BaseModel):
    """The event is durably logged (or acknowledged by Kafka) and will be applied to the graph."""

    model_config = ConfigDict(serialize_by_alias=True, populate_by_name=True)

    status: Literal["accepted"] = "accepted"
    content_id: str = Field(alias="contentId", description="sha256 of the event's canonical JSON")


class BatchSummary(BaseModel):
    """Counts of a batch, as the OpenLineage OpenAPI names them."""

    received: int
    successful: int
    failed: int
    retriable: int
    non_retriable: int


class FailedEvent(BaseModel):
    """One element of a batch that was not accepted."""

    index: int
    reason: str
    retriable: bool


class BatchResult(BaseModel):
    """The answer to a batch: valid elements are accepted even when others fail."""

    status: Literal["success", "partial_success"]
    summary: BatchSummary
    failed_events: list[FailedEvent]


def logged_form(event: ParsedEvent, raw: bytes) -> NewEvent:
    """What the log keeps of an accepted event."""
    return new_event(event, raw)


@router.post(
    "/lineage",
    status_code=201,
    response_model=Accepted,
    summary="Send one OpenLineage event",
    responses=_ERRORS,
    openapi_extra=_request_body({"type": "object"}, "A RunEvent, DatasetEvent or JobEvent (gzip allowed)."),
)
async def post_event(request: Request, runtime: RuntimeDep) -> Accepted:
    """Log one RunEvent, DatasetEvent or JobEvent; 201 once it is durable."""
    raw, coding = await read_raw(request, runtime.settings.limits)
    event, logged = await get_ingest_worker(request).read_event(raw, coding)
    await runtime.sink.append([logged_form(event, logged)])
    runtime.notify_appended()
    runtime.metrics.events_accepted.labels(endpoint="lineage").inc()
    return Accepted(contentId=event.content_id)


@router.post(
    "/lineage/batch",
    response_model=BatchResult,
    summary="Send a batch of OpenLineage events",
    responses=_ERRORS,
    openapi_extra=_request_body(
        {"type": "array", "items": {"type": "object"}}, "A JSON array of events (gzip allowed)."
    ),
)
async def post_batch(request: Request, runtime: RuntimeDep) -> BatchResult:
    """Log every valid element of a JSON array of events; report the others by index."""
    raw, coding = await read_raw(request, runtime.settings.limits)
    outcomes = await get_ingest_worker(request).read_batch(raw, coding)
    accepted: list[NewEvent] = []
    failed: list[FailedEvent] = []
    too_large = 0
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, OlgraphError):
            failed.append(FailedEvent(index=index, reason=str(outcome), retriable=False))
            continue
        logged = logged_form(*outcome)
        refusal = runtime.sink.refusal(logged)  # e.g. over a Kafka message: only this element fails
        if refusal is not None:
            failed.append(FailedEvent(index=index, reason=refusal, retriable=False))
            too_large += 1
            continue
        accepted.append(logged)
    if accepted:
        await runtime.sink.append(accepted)
        runtime.notify_appended()
        runtime.metrics.events_accepted.labels(endpoint="batch").inc(len(accepted))
    if len(failed) > too_large:
        runtime.metrics.events_rejected.labels(reason="invalid").inc(len(failed) - too_large)
    if too_large:
        runtime.metrics.events_rejected.labels(reason="too_large").inc(too_large)
    summary = BatchSummary(
        received=len(outcomes),
        successful=len(accepted),
        failed=len(failed),
        retriable=0,
        non_retriable=len(failed),
    )
    status: Literal["success", "partial_success"] = "partial_success" if failed else "success"
    return BatchResult(status=status, summary=summary, failed_events=failed)


class IngestWorker:
    """The CPU part of ingest — decompress, decode, check the limits, redact, validate — in
    worker threads, so that a large or hostile body never holds up the event loop (and with
    it ``/healthz``, every other request and, in ``olgraph serve``, the consumer).

    ``threads`` bounds how many bodies are worked on at once; more wait their turn.
    """

    def __init__(self, settings: Settings, threads: int = 2) -> None:
        self.reader = settings.event_reader()
        self.max_decompressed_bytes = settings.limits.max_decompressed_bytes
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="olgraph-ingest")

    async def read_event(self, raw: bytes, coding: str | None) -> tuple[ParsedEvent, bytes]:
        """One event body → the event and the bytes to log."""
        return await self._run(self._event, raw, coding)

    async def read_batch(self, raw: bytes, coding: str | None) -> list[ElementOutcome]:
        """A batch body → one outcome per element."""
        return await self._run(self._batch, raw, coding)

    def close(self) -> None:
        """Stop the threads once the work they hold is done."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, fn: Callable[[bytes, str | None], T], raw: bytes, coding: str | None) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, raw, coding)

    def _event(self, raw: bytes, coding: str | None) -> tuple[ParsedEvent, bytes]:
        return self.reader.read_event(decompress(raw, coding, self.max_decompressed_bytes))

    def _batch(self, raw: bytes, coding: str | None) -> list[ElementOutcome]:
        return self.reader.read_batch(decompress(raw, coding, self.max_decompressed_bytes))


def get_ingest_worker(request: Request) -> IngestWorker:
    """The app's :class:`IngestWorker` (made by its lifespan)."""
    worker = getattr(request.app.state, "ingest_worker", None)
    if not isinstance(worker, IngestWorker):
        raise NotReady("olgraph is not started (the app's lifespan has not run)")
    return worker
