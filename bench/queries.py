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

This module runs each store and size; the plans, queries and timings are in ``_queries_plan``,
building the graphs in ``_queries_build``, timing the queries in ``_queries_measure``, the result
document in ``_queries_report``.

    .venv/bin/python bench/queries.py --quick
    .venv/bin/python bench/queries.py --sizes 10000,100000
    .venv/bin/python bench/queries.py --sizes 1000000 --read-side-only
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _queries_build import ensure_embedded, ensure_neo4j
from _queries_measure import (
    measure_http,
    measure_per_level,
    measure_store,
)
from _queries_plan import (
    SECTION,
    Plan,
    plan_for,
)
from _queries_report import (
    document,
)
from _support import (
    BenchConfig,
    config_from,
    log,
    neo4j_store_options,
    section_parser,
    service,
    write_result,
)

from olgraph.store.embedded import EmbeddedStore
from olgraph.store.neo4j import Neo4jStore

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
