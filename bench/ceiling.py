"""The ceiling: olgraph's Neo4j writes against the best hand-written batched ``UNWIND`` loader.

Both sides write the same graph, built from the same workload (``bench/workloads.py``), into
one Neo4j, emptied before each side:

- **ceiling**: the workload's mutations (olgraph's normalizer output) are first collapsed in
  memory to the final rows, one per node and one per relationship, with plain last-write
  properties. They are then written with one ``UNWIND … MERGE … SET +=`` statement per label
  or relationship type and batch, under the same uniqueness constraints olgraph creates.
  No merge rules, no versions, no read-back. No loader that keeps olgraph's guarantees can be
  faster than this.
- **olgraph**: ``Neo4jStore.apply`` on the per-event mutations, in batches of
  ``--batch-events`` events, as the consumer applies them. Merge rules, LWW versions,
  dataset-version resolution and retries are all included.

It prints one JSON report: events, mutations, node and relationship rows, seconds for each
side, events/s and olgraph's rate as a fraction of the ceiling's. It is a benchmark, not a
test: run it on a quiet machine and read the ratio, which is measured in one run.

    .venv/bin/olgraph services up neo4j     # prints bolt://127.0.0.1:PORT
    .venv/bin/python bench/ceiling.py --neo4j-uri bolt://127.0.0.1:PORT --kind mixed --nodes 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import neo4j

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads import WorkloadSpec, generate

from olgraph.ingest.parse import parse_event
from olgraph.normalize.mutations import Mutation, ReplaceLinks, UpsertEdge, UpsertNode
from olgraph.normalize.normalizer import normalize
from olgraph.store.neo4j import Neo4jStore

ROWS_PER_STATEMENT = 5_000
NodeRows = dict[tuple[str, ...], dict[str, dict[str, Any]]]
EdgeRows = dict[str, dict[tuple[str, str], dict[str, Any]]]


def mutations_of(spec: WorkloadSpec) -> Iterator[list[Mutation]]:
    """Each delivered event of the workload, normalized (what the consumer would apply)."""
    for event in generate(spec):
        yield list(normalize(parse_event(event)))


def collapse(per_event: Sequence[Sequence[Mutation]]) -> tuple[NodeRows, EdgeRows, dict[str, str]]:
    """Final node and relationship rows, last write wins, no merge rules (the ceiling's input)."""
    nodes: NodeRows = defaultdict(dict)
    edges: EdgeRows = defaultdict(dict)
    label_of: dict[str, str] = {}
    for mutations in per_event:
        for m in mutations:
            if isinstance(m, UpsertNode):
                labels = (str(m.label), *sorted(m.extra_labels))
                label_of[m.key] = str(m.label)
                row = nodes[labels].setdefault(m.key, {})
                row.update({p.name: _plain(p.value) for p in m.props if p.value is not None})
            elif isinstance(m, UpsertEdge):
                row = edges[str(m.type)].setdefault((m.source, m.target), {})
                row.update({p.name: _plain(p.value) for p in m.props if p.value is not None})
            elif isinstance(m, ReplaceLinks):
                for link in m.others:
                    pair = (link.key, m.node) if m.incoming else (m.node, link.key)
                    edges[str(m.type)].setdefault(pair, {})
    return nodes, edges, label_of


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


async def write_ceiling(
    driver: neo4j.AsyncDriver, nodes: NodeRows, edges: EdgeRows, label_of: dict[str, str]
) -> None:
    """The hand-written loader: one UNWIND statement per label set / relationship type and batch."""
    async with driver.session() as session:
        for labels, rows in nodes.items():
            primary, extra = labels[0], "".join(f":`{label}`" for label in labels[1:])
            add_labels = f" SET n{extra}" if extra else ""
            cypher = f"UNWIND $rows AS r MERGE (n:`{primary}` {{key: r.key}}){add_labels} SET n += r.props"
            payload = [{"key": key, "props": props} for key, props in rows.items()]
            for chunk in _chunks(payload):
                await session.run(cypher, rows=chunk)
        for rel_type, rows_by_pair in edges.items():
            by_labels: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for (source, target), props in rows_by_pair.items():
                by_labels[(label_of.get(source, "Dataset"), label_of.get(target, "Dataset"))].append(
                    {"s": source, "t": target, "props": props}
                )
            for (source_label, target_label), payload in by_labels.items():
                cypher = (
                    f"UNWIND $rows AS r MATCH (a:`{source_label}` {{key: r.s}}) "
                    f"MATCH (b:`{target_label}` {{key: r.t}}) "
                    f"MERGE (a)-[e:`{rel_type}`]->(b) SET e += r.props"
                )
                for chunk in _chunks(payload):
                    await session.run(cypher, rows=chunk)


async def write_olgraph(
    store: Neo4jStore, per_event: Sequence[Sequence[Mutation]], batch_events: int
) -> None:
    """olgraph's own path: ``Neo4jStore.apply`` per batch of events, as the consumer does."""
    for start in range(0, len(per_event), batch_events):
        batch = [m for mutations in per_event[start : start + batch_events] for m in mutations]
        await store.apply(batch)


async def empty(driver: neo4j.AsyncDriver) -> None:
    """Delete every node and relationship (constraints and indexes stay)."""
    async with driver.session() as session:
        await session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Generate, normalize, then time both writers on an emptied graph; return the report."""
    spec = WorkloadSpec(kind=args.kind, seed=args.seed, nodes=args.nodes)
    started = time.perf_counter()
    per_event = list(mutations_of(spec))
    prepare = time.perf_counter() - started
    nodes, edges, label_of = collapse(per_event)
    store = Neo4jStore(args.neo4j_uri)
    await store.open()  # creates olgraph's constraints, which the ceiling uses too
    driver = neo4j.AsyncGraphDatabase.driver(args.neo4j_uri, auth=None)
    try:
        await empty(driver)
        started = time.perf_counter()
        await write_ceiling(driver, nodes, edges, label_of)
        ceiling = time.perf_counter() - started
        await empty(driver)
        started = time.perf_counter()
        await write_olgraph(store, per_event, args.batch_events)
        ours = time.perf_counter() - started
    finally:
        await driver.close()
        await store.close()
    events = len(per_event)
    return {
        "workload": {"kind": args.kind, "seed": args.seed, "nodes": args.nodes, "events": events},
        "mutations": sum(len(m) for m in per_event),
        "node_rows": sum(len(rows) for rows in nodes.values()),
        "relationship_rows": sum(len(rows) for rows in edges.values()),
        "normalize_seconds": round(prepare, 3),
        "ceiling": {"seconds": round(ceiling, 3), "events_per_second": round(events / ceiling, 1)},
        "olgraph": {
            "seconds": round(ours, 3),
            "events_per_second": round(events / ours, 1),
            "batch_events": args.batch_events,
        },
        "olgraph_fraction_of_ceiling": round(ceiling / ours, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--neo4j-uri", required=True, help="bolt:// URI of an auth-less Neo4j (it is emptied)"
    )
    parser.add_argument("--kind", default="mixed", help="workload kind (bench/workloads.py)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nodes", type=int, default=20_000, help="graph size in nodes")
    parser.add_argument("--batch-events", type=int, default=500, help="events per olgraph store batch")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
