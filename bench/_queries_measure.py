"""Timing the queries section's queries: in-process through the store API, or over HTTP on
``olgraph serve``; first call, warm-up rounds, then measured rounds.

Also finds the search terms and the column with column lineage that the read-side queries
(search, column lineage) use, and times Neo4j's walk with its look-ahead off.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import httpx
from _queries_plan import COLUMN_DEPTHS, SEARCH_TIERS, SECTION, Plan, Query, Timing, query_set
from _support import BenchConfig, OlgraphProcess, log, neo4j_store_options

from olgraph.config import QuerySettings
from olgraph.store.base import GraphStore
from olgraph.store.neo4j import Neo4jStore
from olgraph.store.search import SearchQuery

Call = Callable[[Query], Awaitable[tuple[int, bool]]]


async def timed(call: Call, query: Query) -> tuple[float, int, bool]:
    """Milliseconds one call took, and the node count / truncated flag it answered."""
    started = time.perf_counter()
    nodes, truncated = await call(query)
    return (time.perf_counter() - started) * 1000, nodes, truncated


async def measure(
    call: Call, queries: Sequence[Query], config: BenchConfig, name: str
) -> dict[Query, Timing]:
    """First call of each query, warm-up rounds, then measured rounds until reps or time budget."""
    warmup, reps, budget = (1, 10, 20.0) if config.quick else (3, 30, 120.0)
    timings = {q: Timing() for q in queries}
    for q in queries:
        ms, nodes, truncated = await timed(call, q)
        timings[q] = replace(timings[q], first_ms=round(ms, 3), nodes=nodes, truncated=truncated)
    for _ in range(warmup):
        for q in queries:
            await call(q)
    started = time.perf_counter()
    for done in range(reps):
        if done >= 3 and time.perf_counter() - started > budget:
            log(f"{name}: time budget reached after {done} rounds")
            break
        for q in queries:
            ms, _, _ = await timed(call, q)
            timings[q].warm_ms.append(ms)
    return timings


def store_call(store: GraphStore, plan: Plan, max_nodes: int, extra: dict[str, str] | None = None) -> Call:
    """Run a query through the store API in-process (``extra``: search terms and the column anchor)."""
    anchors = {**plan.anchors, **(extra or {})}

    async def call(q: Query) -> tuple[int, bool]:
        key = anchors[q.anchor]
        if q.kind == "search":
            page = await store.search(SearchQuery(key, limit=20))
            return len(page.hits), page.next is not None
        if q.kind == "column":
            answer = await store.column_lineage(key, q.direction, q.depth, max_nodes)  # type: ignore[arg-type]
            return len(answer.lineage.nodes), answer.lineage.truncated
        if q.kind == "impact":
            impact = await store.impact(key, q.depth, max_nodes)
            return len(impact.affected), impact.truncated
        result = await store.lineage(key, q.direction, q.depth, max_nodes)  # type: ignore[arg-type]
        return len(result.nodes), result.truncated

    return call


def http_call(client: httpx.AsyncClient, plan: Plan) -> Call:
    """Run a query through ``olgraph serve``'s HTTP API (the server's default node cap)."""

    async def call(q: Query) -> tuple[int, bool]:
        params: dict[str, Any] = {"nodeId": plan.anchors[q.anchor], "depth": q.depth}
        if q.kind == "lineage":
            params["direction"] = q.direction
        response = await client.get(f"/api/v1/{q.kind}", params=params)
        response.raise_for_status()
        body = response.json()
        return len(body["nodes"] if q.kind == "lineage" else body["affected"]), bool(body["truncated"])

    return call


async def measure_http(args: list[str], plan: Plan, config: BenchConfig, name: str) -> dict[Query, Timing]:
    """Start ``olgraph serve`` with ``args``, measure the HTTP query set (its first calls are cold)."""
    with OlgraphProcess.start(args, data_dir=config.work_dir / SECTION / f"serve-{name}") as server:
        async with httpx.AsyncClient(base_url=server.url or "", timeout=120) as client:
            return await measure(http_call(client, plan), query_set(plan, http=True), config, f"{name} http")


async def read_side_anchors(store: GraphStore, plan: Plan) -> dict[str, str]:
    """Search terms from the chain-middle dataset's name, and a column that has column lineage."""
    node = await store.get_node(plan.anchors["chain-middle"])
    name = (node.name if node is not None else plan.anchors["chain-middle"]).lower()
    middle = len(name) // 3
    extra = {
        "search-exact": name,
        "search-prefix": name[: max(3, len(name) // 2)],
        "search-substring": name[middle : middle + 4],
        "search-short": name[:2],
        "search-common": name[2:5],  # three letters of the catalog name: matches most datasets
    }
    column = await _lineage_column(store, plan)
    if column is not None:
        extra["column"] = column
        # A column name many tables share, whole and three letters of it (`ord` of `order_id`).
        path = column.rpartition("#")[2].lower()
        extra["search-column"] = path
        extra["search-column-part"] = path[len(path) // 3 : len(path) // 3 + 3]
    return extra


async def _lineage_column(store: GraphStore, plan: Plan) -> str | None:
    """A column with column lineage: from the anchors' column edges, else found by search."""
    for anchor in plan.anchors.values():
        edges = (await store.column_edges([anchor])).edges
        if edges:
            return edges[0].source
    for prefix in ("c", "i", "a", "n", "o"):
        for hit in (await store.search(SearchQuery(prefix, types=("column",), limit=50))).hits:
            answer = await store.column_lineage(hit.key, "both", 1, 100)
            if len(answer.lineage.nodes) > 1:
                return hit.key
    return None


def read_side_queries(extra: dict[str, str]) -> list[Query]:
    """The search and column-lineage queries the anchors found allow."""
    queries = [Query(tier, "search", "-", 0) for tier in SEARCH_TIERS if tier in extra]
    if "column" in extra:
        queries += [Query("column", "column", "both", d) for d in COLUMN_DEPTHS]
    return queries


async def measure_store(
    store: GraphStore, plan: Plan, config: BenchConfig, name: str, *, read_side_only: bool = False
) -> dict[Query, Timing]:
    """Open ``store`` and measure the full query set in-process (with search and column lineage;
    ``read_side_only``: those two alone)."""
    await store.open()
    try:
        extra = await read_side_anchors(store, plan)
        log(f"{name}: search and column anchors {extra}")
        call = store_call(store, plan, QuerySettings().max_nodes, extra)
        queries = [] if read_side_only else query_set(plan, http=False)
        queries += read_side_queries(extra)
        return await measure(call, queries, config, f"{name} in-process")
    finally:
        await store.close()


async def measure_per_level(uri: str, plan: Plan, config: BenchConfig) -> dict[Query, Timing]:
    """The lineage and impact queries again with the walk's look-ahead off: one statement per
    level, as the Neo4j store walked before issue 12. Same server, same run: the before/after."""
    from olgraph.store.neo4j import read  # noqa: PLC0415 (the switch of this comparison only)

    saved, read.PREFETCH_NODES = read.PREFETCH_NODES, 0
    store = Neo4jStore(uri, *neo4j_store_options(uri))
    await store.open()
    try:
        call = store_call(store, plan, QuerySettings().max_nodes)
        return await measure(call, query_set(plan, http=False), config, f"neo4j {plan.size} per level")
    finally:
        await store.close()
        read.PREFETCH_NODES = saved
