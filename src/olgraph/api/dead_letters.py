"""Dead-letter routes: listed, inspected and replayed (role ``admin``), in both deployments.

The embedded deployment keeps dead letters in the local log's dead-letter table (ids are log
offsets: ``17``); the distributed one on the Kafka dead-letter topic (ids ``partition-offset``:
``0-15``). ``olgraph dead-letters list|show|replay`` calls these routes.

* ``GET /api/v1/dead-letters`` — a page, oldest first, with totals;
* ``GET /api/v1/dead-letters/{id}`` — one, with the event;
* ``POST /api/v1/dead-letters/replay`` — append the events again (``{"ids": [...]}``, or every
  dead letter not replayed yet), once each unless ``force``.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from olgraph.api.auth import get_runtime, require_role
from olgraph.api.errors import error_responses
from olgraph.errors import InvalidQuery, NotFound
from olgraph.log.dead_letters import DeadLetterView, ReplayOutcome, summarize_event
from olgraph.runtime import Runtime

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
MAX_REPLAY = 10_000
"""Most dead letters one replay request may name (or take, when it names none)."""

router = APIRouter(
    prefix="/api/v1/dead-letters",
    tags=["admin"],
    dependencies=[Depends(require_role("admin"))],
    responses=error_responses(
        e400="A parameter is invalid (`field` names it)",
        e401="Missing or unknown API key",
        e403="The API key lacks the `admin` role",
        e503="The event log or Kafka cannot be read or written now",
    ),
)


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class DeadLetterOut(_Wire):
    """One dead letter and what its event is, as far as it can be read."""

    id: str = Field(description="The local log offset (`17`) or the dead-letter topic's `partition-offset`")
    source: str = Field(description="Where the event was: `offset 17` or `topic[partition]@offset`")
    stage: str | None = Field(description="decode, parse, normalize or store")
    reason: str
    at: str | None = Field(description="When it was dead-lettered (UTC)")
    event_type: str | None
    event_time: str | None
    job: str | None = Field(description="`namespace:name` of the event's job")
    run_id: str | None
    size: int = Field(description="Bytes of the event")
    replayed_at: str | None = Field(description="When it was replayed last; null: never")
    replayed_to: str | None = Field(description="Where the replay went: `offset 42` or `topic[p]@o`")


class DeadLetterDetail(DeadLetterOut):
    """One dead letter with its event: ``event`` when it is JSON, else ``raw`` (as text)."""

    event: Any = None
    raw: str | None = None


class DeadLetterPageOut(_Wire):
    """A page of dead letters, oldest first."""

    items: list[DeadLetterOut]
    total: int = Field(description="Every dead letter")
    pending: int = Field(description="Dead letters not replayed yet")
    next: str | None = Field(description="Pass as `after` for the next page; null on the last page")


class ReplayRequest(_Wire):
    """Which dead letters to replay: ``ids``, or ``all`` of those not replayed yet (not both)."""

    ids: list[str] | None = Field(default=None, max_length=MAX_REPLAY, description="Dead-letter ids")
    all: bool = Field(default=False, description="Every dead letter not replayed yet")
    force: bool = Field(default=False, description="Replay dead letters replayed before as well")


class ReplayOutcomeOut(_Wire):
    """What happened to one dead letter: ``replayed``, ``skipped`` (replayed before) or ``not_found``."""

    id: str
    status: str
    replayed_to: str | None = None
    detail: str | None = None


class ReplayResult(_Wire):
    """The outcome of a replay request, with counts."""

    replayed: int
    skipped: int
    not_found: int
    outcomes: list[ReplayOutcomeOut]


def _out(view: DeadLetterView) -> dict[str, Any]:
    summary = summarize_event(view.raw)
    return {
        "id": view.id,
        "source": view.source,
        "stage": view.stage,
        "reason": view.reason,
        "at": view.at,
        "event_type": summary.event_type,
        "event_time": summary.event_time,
        "job": summary.job,
        "run_id": summary.run_id,
        "size": summary.size,
        "replayed_at": view.replayed_at,
        "replayed_to": view.replayed_to,
    }


@router.get("", response_model=DeadLetterPageOut, summary="List dead letters, oldest first (role admin)")
async def list_dead_letters(
    runtime: RuntimeDep,
    limit: Annotated[int | None, Query(description="page size (default and cap: server settings)")] = None,
    after: Annotated[str | None, Query(description="the `next` of the previous page")] = None,
    pending: Annotated[bool, Query(description="only those not replayed yet")] = False,
) -> DeadLetterPageOut:
    """A page of dead letters with why each failed and what its event is."""
    query = runtime.settings.query
    size = query.default_page if limit is None else limit
    if not 1 <= size <= query.max_page:
        raise InvalidQuery(f"must be between 1 and {query.max_page}, got {size}", field="limit")
    page = await runtime.dead_letters.list_dead_letters(size, after or None, include_replayed=not pending)
    items = [DeadLetterOut(**_out(view)) for view in page.items]
    return DeadLetterPageOut(items=items, total=page.total, pending=page.pending, next=page.next)


@router.get(
    "/{deadLetterId}",
    response_model=DeadLetterDetail,
    summary="One dead letter with its event (role admin)",
    responses=error_responses(e404="No dead letter with this id"),
)
async def get_dead_letter(
    runtime: RuntimeDep, dead_letter_id: Annotated[str, Path(alias="deadLetterId")]
) -> DeadLetterDetail:
    """The dead letter, its reason, and its event (parsed when it is JSON)."""
    view = await runtime.dead_letters.get_dead_letter(dead_letter_id)
    if view is None:
        raise NotFound(f"no dead letter {dead_letter_id!r}", field="deadLetterId")
    try:
        event, raw = orjson.loads(view.raw), None
    except orjson.JSONDecodeError:
        event, raw = None, view.raw.decode("utf-8", "replace")
    return DeadLetterDetail(**_out(view), event=event, raw=raw)


@router.post("/replay", response_model=ReplayResult, summary="Replay dead letters (role admin)")
async def replay_dead_letters(runtime: RuntimeDep, request: Annotated[ReplayRequest, Body()]) -> ReplayResult:
    """Append the events of the dead letters named (or ``all`` not replayed yet) to the event log
    again, so the consumer applies them anew; each is replayed once unless ``force``."""
    if (request.ids is None) == (not request.all):
        raise InvalidQuery("give either ids or all: true", field="ids")
    ids = None if request.all else request.ids
    outcomes = await runtime.dead_letters.replay_dead_letters(ids, force=request.force, limit=MAX_REPLAY)
    if any(outcome.status == "replayed" for outcome in outcomes):
        runtime.notify_appended()
    return ReplayResult(
        replayed=_count(outcomes, "replayed"),
        skipped=_count(outcomes, "skipped"),
        not_found=_count(outcomes, "not_found"),
        outcomes=[ReplayOutcomeOut(**_outcome(o)) for o in outcomes],
    )


def _count(outcomes: list[ReplayOutcome], status: str) -> int:
    return sum(1 for outcome in outcomes if outcome.status == status)


def _outcome(outcome: ReplayOutcome) -> dict[str, Any]:
    return {
        "id": outcome.id,
        "status": outcome.status,
        "replayed_to": outcome.replayed_to,
        "detail": outcome.detail,
    }
