"""``GET /api/v1/search``: find datasets, models, jobs, columns and namespaces by part of a name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from olgraph.api.auth import require_role
from olgraph.api.errors import error_responses
from olgraph.api.params import CursorParam, IncludeDeletedParam, RuntimeDep
from olgraph.api.wire import WireModel
from olgraph.query.search import DEFAULT_LIMIT, MAX_LIMIT, next_cursor, run_search, search_query
from olgraph.store.search import COUNT_CAP, SearchHit, SearchType, Tier

router = APIRouter(
    prefix="/api/v1",
    tags=["query"],
    dependencies=[Depends(require_role("read"))],
    responses=error_responses(
        e400="A parameter is invalid (`field` names it)",
        e401="Missing or unknown API key",
        e403="The API key lacks the `read` role",
    ),
)


class SearchHitOut(WireModel):
    """One node found: ``match`` says how its name matched (exact, prefix or substring)."""

    id: str
    type: SearchType
    namespace: str | None
    name: str
    dataset: str | None = Field(description="A column's dataset (null for other nodes)")
    match: Tier
    deleted: bool
    last_seen_at: str | None


class SearchOut(WireModel):
    """A page of search hits, ranked exact, prefix, substring, then by name and id."""

    items: list[SearchHitOut]
    total: int = Field(
        description=f"Every match of the query, not only this page's, counted up to {COUNT_CAP:,}"
    )
    total_exact: bool = Field(
        description=f"False when there are more than {COUNT_CAP:,} matches (`total` is then {COUNT_CAP:,})"
    )
    limit: int
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


def _hit_out(hit: SearchHit) -> SearchHitOut:
    return SearchHitOut(
        id=hit.key,
        type=hit.type,
        namespace=hit.namespace,
        name=hit.name,
        dataset=hit.dataset,
        match=hit.tier,
        deleted=hit.deleted,
        last_seen_at=hit.last_seen_at,
    )


@router.get("/search", response_model=SearchOut)
async def search(
    runtime: RuntimeDep,
    *,
    q: Annotated[str, Query(description="part of a name, case-insensitive (1-200 characters)")],
    node_type: Annotated[
        str | None,
        Query(
            alias="type", description="comma-separated: dataset, model, job, column, namespace (default: all)"
        ),
    ] = None,
    namespace: Annotated[str | None, Query(description="only nodes of this namespace")] = None,
    include_deleted: IncludeDeletedParam = False,
    limit: Annotated[
        int | None, Query(description=f"page size (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})")
    ] = None,
    cursor: CursorParam = None,
) -> SearchOut:
    """Datasets, models, jobs, columns and namespaces whose name contains ``q``: exact matches
    first, then names starting with ``q``, then names containing it (three characters or more).
    Answered from indexes, never by scanning."""
    query = search_query(
        q, types=node_type, namespace=namespace, include_deleted=include_deleted, limit=limit, cursor=cursor
    )
    page = await run_search(runtime.store, query)
    return SearchOut(
        items=[_hit_out(h) for h in page.hits],
        total=page.total,
        total_exact=page.total_exact,
        limit=query.limit,
        next_cursor=next_cursor(query, page),
    )
