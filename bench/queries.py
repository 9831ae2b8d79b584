"""Queries: lineage, impact, search and column-lineage latency on 10k/100k/1M-node graphs, Neo4j and
embedded, cold and warm.

Each graph is built once with olgraph itself (normalize + ``store.apply`` in batches, as the
consumer does) from ``WorkloadSpec(kind="mixed")`` with long dbt chains (``chain_depth``
models = twice as many lineage hops) and one hot table read by ``fan_out`` report jobs.
Built graphs are kept between runs: the embedded file under the work dir, and one Neo4j per
size (its own services-cache folder) marked with a ``:OlgraphBench`` node naming the spec.

Queries run on a fixed set of anchors (a dataset in the middle of a long chain, an ordinary
dataset, the fan-out table): ``lineage`` up/down/both and ``impact`` at depth 1, 5, 10, 20,
with the node cap users get by default. Per store and size:

- **HTTP, cold**: Neo4j restarted, a fresh ``olgraph serve`` on the store; the first call of
  each query (``both`` and ``impact`` only) is its cold sample; then warm rounds.
- **in-process, warm**: ``store.lineage``/``store.impact`` on a fresh store object (first
  call recorded), warm-up rounds, then measured rounds, round-robin over the queries.
- **search and column lineage** (in-process, warm): ``store.search`` for the name of the
  chain-middle dataset as an exact, a prefix (its first half), a substring (four characters
  from its middle), a two-character and a common three-character query, and the name of a
  column with column lineage (shared by many tables) whole and three letters of it, 20 hits a page;
  ``store.column_lineage`` of a column that has column lineage, both ways, at depth 1, 5 and 10.

    .venv/bin/python bench/queries.py --quick
    .venv/bin/python bench/queries.py --sizes 10000,100000
    .venv/bin/python bench/queries.py --sizes 1000000 --read-side-only
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    BenchConfig,
    OlgraphProcess,
    config_from,
    log,
    neo4j_auth,
    neo4j_store_options,
    percentiles,
    section_parser,
    service,
    write_result,
)
from workloads import Workload, WorkloadSpec, generate

from olgraph.config import QuerySettings
from olgraph.ingest.parse import parse_event
from olgraph.normalize.normalizer import normalize
from olgraph.store.base import GraphStore
from olgraph.store.embedded import EmbeddedStore
from olgraph.store.neo4j import Neo4jStore
from olgraph.store.search import SearchQuery

SECTION = "queries"
DEPTHS = (1, 5, 10, 20)
DIRECTIONS = ("upstream", "downstream", "both")
CHAIN_DEPTH = 30  # dbt chains of 30 models: 60 lineage hops end to end (the issue asks for 50+)
BATCH_EVENTS = 1000
HEADLINE_DEPTH = 10
TARGET_MS = 100.0  # the target: depth-10 lineage on the 1M-node graph, p95
SEARCH_TARGET_MS = 50.0  # issue 10: search p95 on the 1M-node graph
LARGE_ANSWER_TARGET_MS = {"neo4j": 250.0, "embedded": 150.0}
"""Issue 12's targets for depth-10 lineage and impact with a 10,000-node answer (the fan-out
table of a 100k- or 1M-node graph), p95 over HTTP."""
LARGE_ANSWER_NODES = 5_000
"""Answers at least this large get those rows (the default node cap stops them at 10,000)."""
SEARCH_TIERS = (
    "search-exact",
    "search-prefix",
    "search-substring",
    "search-short",
    "search-common",
    "search-column",
    "search-column-part",
)
COLUMN_DEPTHS = (1, 5, 10)


@dataclass(frozen=True)
class Plan:
    """One graph to measure: its workload and the anchors queried on it."""

    size: int
    spec: WorkloadSpec
    anchors: dict[str, str]

    @property
    def marker(self) -> str:
        """Identifies the built graph: the spec, and this module's build version."""
        return f"queries-v1 {self.spec!r}"


@dataclass(frozen=True)
class Query:
    """One query kind: ``lineage`` (with a direction), ``impact``, ``column`` (column lineage, a
    direction) or ``search`` (the anchor names the term's tier), on an anchor, at a depth."""

    anchor: str
    kind: str
    direction: str
    depth: int

    @property
    def label(self) -> str:
        """Short name in tables: ``both``, ``impact``, ``column both`` or ``search``."""
        if self.kind == "lineage":
            return self.direction
        if self.kind == "column":
            return f"column {self.direction}"
        return self.kind


@dataclass
class Timing:
    """Latencies of one query kind: its first call and its warm samples; what it returned."""

    first_ms: float = 0.0
    warm_ms: list[float] = field(default_factory=list)
    nodes: int = 0
    truncated: bool = False


# --------------------------------------------------------------------------- workload and anchors


def plan_for(size: int, seed: int) -> Plan:
    """The workload of one graph size and its anchors (generated until all anchors are found)."""
    fan_out = 10_000 if size >= 100_000 else max(10, size // 10)
    spec = WorkloadSpec(kind="mixed", seed=seed, nodes=size, chain_depth=CHAIN_DEPTH, fan_out=fan_out)
    anchors: dict[str, str] = {}
    longest: tuple[str, ...] = ()
    for unit in Workload(spec).units():
        if unit.shape:
            anchors.setdefault("fan-out", unit.chain[0])
        elif len(unit.chain) > CHAIN_DEPTH:
            anchors.setdefault("chain-middle", unit.chain[len(unit.chain) // 2])  # 30 hops each way
        elif 3 <= len(unit.chain) <= 8:
            anchors.setdefault("ordinary", unit.chain[1])
        longest = max(longest, unit.chain, key=len)
        if len(anchors) == 3:
            break
    # A small mixed graph may hold no dbt project: its longest chain stands in.
    anchors.setdefault("chain-middle", longest[len(longest) // 2])
    return Plan(size, spec, dict(sorted(anchors.items())))


def query_set(plan: Plan, *, http: bool) -> list[Query]:
    """Every anchor, query (up/down/both lineage, impact) and depth; HTTP: ``both`` and ``impact`` only."""
    directions = ("both",) if http else DIRECTIONS
    out = []
    for anchor in plan.anchors:
        for depth in DEPTHS:
            out += [Query(anchor, "lineage", d, depth) for d in directions]
            out.append(Query(anchor, "impact", "downstream", depth))
    return out


# --------------------------------------------------------------------------- building the graphs


def batches(spec: WorkloadSpec, batch_events: int) -> Iterator[tuple[int, list[Any]]]:
    """(events so far, mutations of the next ``batch_events`` events), normalized lazily."""
    batch: list[Any] = []
    events = 0
    for event in generate(spec):
        batch += normalize(parse_event(event))
        events += 1
        if events % batch_events == 0:
            yield events, batch
            batch = []
    if batch:
        yield events, batch


async def build(store: GraphStore, plan: Plan, name: str) -> dict[str, Any]:
    """Write the plan's workload into ``store``; log progress; return events and seconds."""
    log(f"{name}: building the {plan.size}-node graph ({plan.spec})")
    started = last = time.perf_counter()
    events = 0
    for events, mutations in batches(plan.spec, BATCH_EVENTS):
        await store.apply(mutations)
        if time.perf_counter() - last > 30:
            last = time.perf_counter()
            log(f"{name}: {events} events in {last - started:.0f}s ({events / (last - started):.0f}/s)")
    seconds = time.perf_counter() - started
    log(f"{name}: built {events} events in {seconds:.1f}s ({events / seconds:.0f} events/s)")
    return {"events": events, "seconds": round(seconds, 1), "events_per_second": round(events / seconds, 1)}


async def ensure_embedded(path: Path, plan: Plan) -> dict[str, Any]:
    """Build the embedded graph at ``path`` unless a finished build of the same plan is there."""
    marker = path.with_suffix(".built.json")
    if marker.exists() and json.loads(marker.read_text()).get("marker") == plan.marker:
        return {**json.loads(marker.read_text())["build"], "reused": True}
    for stale in path.parent.glob(f"{path.name}*"):
        stale.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    store = EmbeddedStore(path)
    await store.open()
    try:
        info = await build(store, plan, "embedded")
    finally:
        await store.close()
    marker.write_text(json.dumps({"marker": plan.marker, "build": info}))
    return {**info, "reused": False}


_MARKER_READ = "MATCH (m:OlgraphBench {key: 'bench:queries'}) RETURN m.marker AS marker, m.build AS build"
_MARKER_WRITE = "MERGE (m:OlgraphBench {key: 'bench:queries'}) SET m.marker = $marker, m.build = $build"
_EMPTY = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"


async def ensure_neo4j(uri: str, plan: Plan) -> dict[str, Any]:
    """Build the graph into the Neo4j at ``uri`` unless its marker node names the same plan."""
    import neo4j  # noqa: PLC0415 (only this section's Neo4j side needs the driver directly)

    quiet = neo4j.NotificationMinimumSeverity.OFF  # the marker's label is unknown on a new graph
    async with neo4j.AsyncGraphDatabase.driver(
        uri, auth=neo4j_auth(uri), notifications_min_severity=quiet
    ) as driver:
        found, _, _ = await driver.execute_query(_MARKER_READ)
        if found and found[0]["marker"] == plan.marker:
            return {**json.loads(found[0]["build"]), "reused": True}
        async with driver.session() as session:
            await (await session.run(_EMPTY)).consume()
        store = Neo4jStore(uri, *neo4j_store_options(uri))
        await store.open()
        try:
            info = await build(store, plan, "neo4j")
        finally:
            await store.close()
        await driver.execute_query(_MARKER_WRITE, marker=plan.marker, build=json.dumps(info))
    return {**info, "reused": False}


# --------------------------------------------------------------------------- measuring


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


# --------------------------------------------------------------------------- one store, one size


@asynccontextmanager
async def neo4j_at(config: BenchConfig, plan: Plan) -> AsyncIterator[str]:
    """A Neo4j holding this size's graph (its own cache folder, so built graphs are kept)."""
    with service("neo4j", config.services_cache / SECTION / f"neo4j-{plan.size}", config.neo4j_env) as uri:
        yield uri


async def run_neo4j(config: BenchConfig, plan: Plan, *, read_side_only: bool = False) -> dict[str, Any]:
    """Build or reuse, restart Neo4j (cold), HTTP cold+warm, then in-process warm
    (``read_side_only``: build or reuse, then search and column lineage in-process)."""
    async with neo4j_at(config, plan) as uri:
        built = await ensure_neo4j(uri, plan)
        if read_side_only:
            store = Neo4jStore(uri, *neo4j_store_options(uri))
            local = await measure_store(store, plan, config, f"neo4j {plan.size}", read_side_only=True)
            return {"build": built, "http": {}, "in_process": local}
    log(f"neo4j {plan.size}: restarted for the cold queries")
    async with neo4j_at(config, plan) as uri:
        http = await measure_http(["serve", "--neo4j-uri", uri], plan, config, f"neo4j-{plan.size}")
        local = await measure_store(
            Neo4jStore(uri, *neo4j_store_options(uri)), plan, config, f"neo4j {plan.size}"
        )
        per_level = await measure_per_level(uri, plan, config)
    return {"build": built, "http": http, "in_process": local, "per_level": per_level}


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


async def run_embedded(config: BenchConfig, plan: Plan, *, read_side_only: bool = False) -> dict[str, Any]:
    """Build or reuse the SQLite file, HTTP cold (fresh ``serve``) + warm, then in-process warm."""
    folder = config.work_dir / SECTION / f"embedded-{plan.size}-{plan.spec.seed}"
    built = await ensure_embedded(folder / "graph.db", plan)
    http = {}
    if not read_side_only:
        http = await measure_http(["serve", "--data-dir", str(folder)], plan, config, f"embedded-{plan.size}")
    store = EmbeddedStore(folder / "graph.db")
    local = await measure_store(store, plan, config, f"embedded {plan.size}", read_side_only=read_side_only)
    return {"build": built, "http": http, "in_process": local}


# --------------------------------------------------------------------------- the result document


def rows_of(store: str, plan: Plan, timings: dict[Query, Timing], cold: bool) -> list[list[Any]]:
    """Table rows: one per query kind with result size, first-call and warm percentiles."""
    rows = []
    for q, t in timings.items():
        warm = percentiles(t.warm_ms)
        first = round(t.first_ms, 1) if cold else None
        what = [store, plan.size, q.anchor, q.label, q.depth, t.nodes, t.truncated]
        rows.append([*what, first, warm.get("p50"), warm.get("p95"), warm.get("p99"), warm["n"]])
    return rows


def timing_of(timings: dict[Query, Timing], anchor: str, label: str, depth: int) -> Timing | None:
    """The timing of one query kind, or None when it was not measured."""
    for q, t in timings.items():
        if (q.anchor, q.label, q.depth) == (anchor, label, depth):
            return t
    return None


def p95_of(timings: dict[Query, Timing], anchor: str, label: str, depth: int) -> float | None:
    """Warm p95 of one query kind, or None when it was not measured."""
    timing = timing_of(timings, anchor, label, depth)
    return percentiles(timing.warm_ms).get("p95") if timing is not None else None


def large_answer_rows(store: str, size: int, http: dict[Query, Timing]) -> list[dict[str, Any]]:
    """Depth-10 lineage (both ways) and impact of the fan-out table over HTTP, against issue 12's
    targets for 10,000-node answers (only where the answer is :data:`LARGE_ANSWER_NODES` or more)."""
    rows = []
    for label, what in (("both", "lineage both"), ("impact", "impact")):
        timing = timing_of(http, "fan-out", label, HEADLINE_DEPTH)
        if timing is None or timing.nodes < LARGE_ANSWER_NODES or not timing.warm_ms:
            continue
        p95 = percentiles(timing.warm_ms).get("p95")
        target = LARGE_ANSWER_TARGET_MS[store]
        rows.append(
            {
                "metric": f"{store} {size} nodes: depth-{HEADLINE_DEPTH} {what}, "
                f"{timing.nodes:,}-node answer, HTTP p95",
                "olgraph": p95,
                "baseline": target,
                "baseline_name": "issue 12 target",
                "ratio": round(target / p95, 2) if p95 else None,
                "unit": "ms",
                "note": f"olgraph serve, warm, {len(timing.warm_ms)} samples"
                + (", truncated at the node cap" if timing.truncated else ""),
            }
        )
    return rows


def read_side_rows(store: str, size: int, timings: dict[Query, Timing]) -> list[dict[str, Any]]:
    """Headline rows of search (per tier, against its target) and column lineage (depth 5)."""
    rows = []
    for tier in SEARCH_TIERS:
        p95 = p95_of(timings, tier, "search", 0)
        if p95 is None:
            continue
        rows.append(
            {
                "metric": f"{store} {size} nodes: {tier.replace('-', ' ')} p95 (20 hits)",
                "olgraph": p95,
                "baseline": SEARCH_TARGET_MS,
                "baseline_name": "issue 10 target",
                "ratio": round(SEARCH_TARGET_MS / p95, 2) if p95 else None,
                "unit": "ms",
                "note": "in-process store API, warm",
            }
        )
    column = p95_of(timings, "column", "column both", 5)
    if column is not None:
        rows.append(
            {
                "metric": f"{store} {size} nodes: depth-5 column lineage (both) p95",
                "olgraph": column,
                "baseline": TARGET_MS,
                "baseline_name": "the lineage target",
                "ratio": round(TARGET_MS / column, 2) if column else None,
                "unit": "ms",
                "note": "in-process store API, warm",
            }
        )
    return rows


def look_ahead_rows(size: int, parts: dict[str, Any]) -> list[dict[str, Any]]:
    """Neo4j walks with the look-ahead against one statement per level (same server, same run)."""
    rows = []
    for anchor, label, depth in (
        ("chain-middle", "both", 20),
        ("chain-middle", "both", 10),
        ("fan-out", "both", 10),
    ):
        now = p95_of(parts["in_process"], anchor, label, depth)
        before = p95_of(parts["per_level"], anchor, label, depth)
        rows.append(
            {
                "metric": f"neo4j {size} nodes: depth-{depth} lineage {label} p95, {anchor}, look-ahead",
                "olgraph": now,
                "baseline": before,
                "baseline_name": "one statement per level",
                "ratio": round(before / now, 2) if now and before else None,
                "unit": "ms",
                "note": "in-process store API, warm, same run",
            }
        )
    return rows


def summary_rows(results: dict[str, dict[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Headline rows: depth-10 ``both`` lineage and impact p95 on the largest graph per store,
    then search and column lineage, the 10,000-node answers over HTTP, and Neo4j's look-ahead
    against one statement per level."""
    rows = []
    for store, by_size in results.items():
        size = max(by_size)
        timings = by_size[size]["in_process"]
        rows += read_side_rows(store, size, timings)
        rows += large_answer_rows(store, size, by_size[size]["http"])
        if "per_level" in by_size[size]:
            rows += look_ahead_rows(size, by_size[size])
        for anchor in ("chain-middle", "fan-out"):
            for label in ("both", "impact"):
                p95 = p95_of(timings, anchor, label, HEADLINE_DEPTH)
                if p95 is None:  # not measured (--read-side-only)
                    continue
                what = "lineage both" if label == "both" else "impact"
                rows.append(
                    {
                        "metric": f"{store} {size} nodes: depth-{HEADLINE_DEPTH} {what} p95, {anchor}",
                        "olgraph": p95,
                        "baseline": TARGET_MS,
                        "baseline_name": "issue 5 target",
                        "ratio": round(TARGET_MS / p95, 2) if p95 else None,
                        "unit": "ms",
                        "note": "in-process store API, warm",
                    }
                )
    return rows


def charts(results: dict[str, dict[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """p95 vs depth (chain-middle, both ways) per store/size; cold vs warm medians per store/size."""
    line: dict[str, list[list[Any]]] = {}
    cold: dict[str, list[list[Any]]] = {"cold (first call)": [], "warm p50": []}
    for store, by_size in results.items():
        for size, parts in by_size.items():
            line[f"{store} {size}"] = [
                [d, p95_of(parts["in_process"], "chain-middle", "both", d)] for d in DEPTHS
            ]
            http = parts["http"].values()
            cold["cold (first call)"].append(
                [f"{store} {size}", percentiles([t.first_ms for t in http]).get("p50")]
            )
            warm = [ms for t in http for ms in t.warm_ms]
            cold["warm p50"].append([f"{store} {size}", percentiles(warm).get("p50")])
    return [
        {"name": "queries_p95_by_depth", "title": "Lineage (both ways, chain middle) p95 vs depth",
         "kind": "line", "x_label": "depth", "y_label": "p95 ms", "log_y": True, "series": line},
        {"name": "queries_cold_warm", "title": "HTTP query latency: cold vs warm (median over queries)",
         "kind": "bar", "x_label": "store / size", "y_label": "ms", "log_y": True, "series": cold},
    ]  # fmt: skip


COLUMNS = ["store", "size", "anchor", "query", "depth", "nodes", "truncated"]
COLUMNS += ["cold ms", "warm p50 ms", "warm p95 ms", "warm p99 ms", "n"]


def document(
    plans: list[Plan], results: dict[str, dict[int, dict[str, Any]]], *, read_side_only: bool = False
) -> dict[str, Any]:
    """The section's result document (see ``bench/_support.py``)."""
    local: list[list[Any]] = []
    http: list[list[Any]] = []
    per_level: list[list[Any]] = []
    builds: list[list[Any]] = []
    for store, by_size in results.items():
        for plan in plans:
            parts = by_size[plan.size]
            local += rows_of(store, plan, parts["in_process"], cold=False)
            http += rows_of(store, plan, parts["http"], cold=True)
            if "per_level" in parts:
                per_level += rows_of(f"{store} per level", plan, parts["per_level"], cold=False)
            b = parts["build"]
            builds.append([store, plan.size, b["events"], b["seconds"], b["events_per_second"], b["reused"]])
    return {
        "title": "Queries: search and column lineage" if read_side_only else "Queries",
        "summary": summary_rows(results),
        "tables": [
            {"title": "In-process store API (warm)", "columns": COLUMNS, "rows": local},
            {
                "title": "HTTP API of olgraph serve (cold = first call after restart)",
                "columns": COLUMNS,
                "rows": http,
            },
            {
                "title": "Neo4j, one statement per level (the walk before its look-ahead; same run)",
                "columns": COLUMNS,
                "rows": per_level,
            },
            {
                "title": "Graph builds",
                "columns": ["store", "size", "events", "seconds", "events/s", "reused"],
                "rows": builds,
            },
        ],
        "charts": charts(results),
        "notes": notes(plans),
        "plans": [{"size": p.size, "spec": asdict(p.spec), "anchors": p.anchors} for p in plans],
    }


def notes(plans: list[Plan]) -> list[str]:
    """Caveats that go with the numbers."""
    return [
        f"Node cap: the server default ({QuerySettings().max_nodes}); the fan-out anchor hits it "
        "beyond depth 2 (truncated = true), so those rows measure answers of that many nodes.",
        "Cold: Neo4j and olgraph serve restarted; the OS page cache is not dropped (no root), so "
        "the embedded store's cold numbers are process-cold, not disk-cold. Only the very first "
        "call is fully cold: later first calls share pages the earlier ones loaded.",
        "Graph sizes are targets: generation stops once the size and the fan-out are reached "
        f"({', '.join(f'{p.size}: fan-out {p.spec.fan_out}' for p in plans)}).",
    ]


# --------------------------------------------------------------------------- entry points


async def run_async(config: BenchConfig, *, read_side_only: bool = False) -> dict[str, Any]:
    """Every size on both stores; returns the result document."""
    plans = [plan_for(size, config.seed) for size in config.sizes]
    results: dict[str, dict[int, dict[str, Any]]] = {"neo4j": {}, "embedded": {}}
    for plan in plans:
        log(f"size {plan.size}: anchors {plan.anchors}")
        results["embedded"][plan.size] = await run_embedded(config, plan, read_side_only=read_side_only)
        results["neo4j"][plan.size] = await run_neo4j(config, plan, read_side_only=read_side_only)
    return document(plans, results, read_side_only=read_side_only)


def run(config: BenchConfig, *, read_side_only: bool = False) -> dict[str, Any]:
    """Measure, write the result document (``queries.json``; ``queries-read-side.json`` for the
    read side alone) and return it."""
    doc = asyncio.run(run_async(config, read_side_only=read_side_only))
    write_result(f"{SECTION}-read-side" if read_side_only else SECTION, doc, config.results_dir)
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = section_parser(__doc__)
    parser.add_argument(
        "--read-side-only",
        action="store_true",
        help="search and column lineage only (in-process): no lineage/impact, no HTTP, no restarts",
    )
    args = parser.parse_args(argv)
    doc = run(config_from(args), read_side_only=args.read_side_only)
    print(json.dumps(doc["summary"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
