"""Building the queries section's graphs with olgraph itself, once per plan.

The workload is normalized and applied in batches, as the consumer does; a finished build is
marked (a file beside the embedded store, a ``:OlgraphBench`` node in Neo4j) so a later run
with the same plan reuses it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _queries_plan import Plan
from _support import log, neo4j_auth, neo4j_store_options
from workloads import WorkloadSpec, generate

from olgraph.ingest.parse import parse_event
from olgraph.normalize.normalizer import normalize
from olgraph.store.base import GraphStore
from olgraph.store.embedded import EmbeddedStore
from olgraph.store.neo4j import Neo4jStore

BATCH_EVENTS = 1000


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
