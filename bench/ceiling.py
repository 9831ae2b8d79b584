"""The ceiling: olgraph's Neo4j writes against the best hand-written batched ``UNWIND`` loader.

Both sides write the same graph, built from the same workload (``bench/workloads.py``,
``mixed``), into one Neo4j, emptied before each side:

- **ceiling**: the workload's mutations (olgraph's normalizer output) are first collapsed in
  memory to the final rows, one per node and one per relationship, with plain last-write
  properties. They are then written with one ``UNWIND … MERGE … SET +=`` statement per label
  or relationship type and batch, under the same uniqueness constraints olgraph creates.
  No merge rules, no versions, no read-back. No loader that keeps olgraph's guarantees can be
  faster than this.
- **olgraph**: ``Neo4jStore.apply`` on the per-event mutations, in batches of
  ``BATCH_EVENTS`` events (the consumer's default batch), as the consumer applies them.
  Merge rules, LWW versions, dataset-version resolution and retries are all included; the
  normalizing is not timed here (the ingest section's end-to-end rate includes everything).

The section also reports the CPU seconds Neo4j and this Python process spent on each side,
which say where the difference goes, and the **normalizer's CPU per event** on the largest
size: what the consumer spends on each logged event before the store (read it back as
``EventReader.read_validated`` does, then ``normalize``), timed per event with the consumer's
garbage-collector settings (``tune_gc``), median and mean. The end-to-end fraction of the
ceiling is computed by the report from this section's ``ceiling`` rates and the ingest
section's ``e2e`` rates.

    .venv/bin/python bench/ceiling.py --quick
    .venv/bin/python bench/ceiling.py --sizes 10000,100000
    .venv/bin/python bench/ceiling.py --neo4j-uri bolt://127.0.0.1:7687  # a running Neo4j, emptied
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import neo4j
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    BenchConfig,
    config_from,
    cpu_seconds,
    log,
    neo4j_auth,
    neo4j_store_options,
    section_parser,
    service,
    write_result,
)
from workloads import WorkloadSpec, generate

from olgraph.cli._server import tune_gc
from olgraph.config import Settings
from olgraph.ingest.parse import parse_event
from olgraph.normalize.mutations import Mutation, ReplaceLinks, UpsertEdge, UpsertNode
from olgraph.normalize.normalizer import normalize
from olgraph.store.neo4j import Neo4jStore

SECTION = "ceiling"
BATCH_EVENTS = 500
MAX_NODES = 100_000
WARM_UP_NODES = 5_000
ROWS_PER_STATEMENT = 5_000
NORMALIZER_TARGET_MS = 0.3
"""Issue 12's target for the normalizer's CPU per event (median, mixed workload)."""
NodeRows = dict[tuple[str, ...], dict[str, dict[str, Any]]]
EdgeRows = dict[str, dict[tuple[str, str], dict[str, Any]]]


def normalizer_cpu(spec: WorkloadSpec) -> dict[str, Any]:
    """CPU milliseconds per event the consumer spends before the store: the logged bytes read
    back (``read_validated``, as ``olgraph serve``'s consumer reads its own log) and normalized.
    Each event is timed alone, with the consumer's collector thresholds."""
    reader = Settings().event_reader()
    logged = []
    for event in generate(spec):
        parsed, body = reader.read_event(orjson.dumps(event))
        logged.append((body, parsed.content_id))
    saved = gc.get_threshold()
    tune_gc()  # as the consumer does once it has started; undone below
    samples = []
    try:
        for body, content_id in logged:
            started = time.process_time()
            parsed = reader.read_validated(body, content_id) or reader.read_logged(body)
            mutations = list(normalize(parsed))
            samples.append((time.process_time() - started) * 1000)
            del mutations
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
    return {
        "events": len(samples),
        "p50_ms": round(statistics.median(samples), 3),
        "mean_ms": round(statistics.fmean(samples), 3),
        "p95_ms": round(statistics.quantiles(samples, n=20)[-1], 3),
    }


def mutations_of(spec: WorkloadSpec) -> Iterator[list[Mutation]]:
    """Each delivered event of the workload, normalized (what the consumer would apply)."""
    for event in generate(spec):
        yield list(normalize(parse_event(event)))


@dataclass
class Collapsed:
    """Final node and relationship rows, last write wins, no merge rules (the ceiling's input)."""

    nodes: NodeRows = field(default_factory=lambda: defaultdict(dict))
    edges: EdgeRows = field(default_factory=lambda: defaultdict(dict))
    label_of: dict[str, str] = field(default_factory=dict)

    def add(self, mutations: Sequence[Mutation]) -> None:
        """Fold one event's mutations in."""
        for m in mutations:
            if isinstance(m, UpsertNode):
                labels = (str(m.label), *sorted(m.extra_labels))
                self.label_of[m.key] = str(m.label)
                row = self.nodes[labels].setdefault(m.key, {})
                row.update({p.name: _plain(p.value) for p in m.props if p.value is not None})
            elif isinstance(m, UpsertEdge):
                row = self.edges[str(m.type)].setdefault((m.source, m.target), {})
                row.update({p.name: _plain(p.value) for p in m.props if p.value is not None})
            elif isinstance(m, ReplaceLinks):
                for link in m.others:
                    pair = (link.key, m.node) if m.incoming else (m.node, link.key)
                    self.edges[str(m.type)].setdefault(pair, {})

    def node_rows(self) -> int:
        """How many nodes the ceiling writes."""
        return sum(len(rows) for rows in self.nodes.values())

    def edge_rows(self) -> int:
        """How many relationships the ceiling writes."""
        return sum(len(rows) for rows in self.edges.values())


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


async def write_ceiling(driver: neo4j.AsyncDriver, graph: Collapsed) -> None:
    """The hand-written loader: one UNWIND statement per label set / relationship type and batch."""
    async with driver.session() as session:
        for labels, rows in graph.nodes.items():
            primary, extra = labels[0], "".join(f":`{label}`" for label in labels[1:])
            add_labels = f" SET n{extra}" if extra else ""
            cypher = f"UNWIND $rows AS r MERGE (n:`{primary}` {{key: r.key}}){add_labels} SET n += r.props"
            payload = [{"key": key, "props": props} for key, props in rows.items()]
            for chunk in _chunks(payload):
                await (await session.run(cypher, rows=chunk)).consume()
        for rel_type, rows_by_pair in graph.edges.items():
            by_labels: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for (source, target), props in rows_by_pair.items():
                ends = (graph.label_of.get(source, "Dataset"), graph.label_of.get(target, "Dataset"))
                by_labels[ends].append({"s": source, "t": target, "props": props})
            for (source_label, target_label), payload in by_labels.items():
                cypher = (
                    f"UNWIND $rows AS r MATCH (a:`{source_label}` {{key: r.s}}) "
                    f"MATCH (b:`{target_label}` {{key: r.t}}) "
                    f"MERGE (a)-[e:`{rel_type}`]->(b) SET e += r.props"
                )
                for chunk in _chunks(payload):
                    await (await session.run(cypher, rows=chunk)).consume()


def _batches(spec: WorkloadSpec, batch_events: int) -> Iterator[list[Mutation]]:
    batch: list[Mutation] = []
    count = 0
    for mutations in mutations_of(spec):
        batch.extend(mutations)
        count += 1
        if count == batch_events:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


async def write_olgraph(store: Neo4jStore, spec: WorkloadSpec, batch_events: int) -> tuple[float, float]:
    """olgraph's own path: ``Neo4jStore.apply`` per batch of events.

    Returns the seconds spent in ``apply`` and the CPU seconds spent normalizing the batches
    (done as it goes, and not olgraph's store's to count).
    """
    spent = normalizing = 0.0
    batches = _batches(spec, batch_events)
    while True:
        cpu = time.process_time()
        batch = next(batches, None)
        normalizing += time.process_time() - cpu
        if batch is None:
            return spent, normalizing
        started = time.perf_counter()
        await store.apply(batch)
        spent += time.perf_counter() - started


async def empty(driver: neo4j.AsyncDriver) -> None:
    """Delete every node and relationship (constraints and indexes stay)."""
    async with driver.session() as session:
        await session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of ``pid`` (0 when unknown)."""
    return 0.0 if pid is None else cpu_seconds(pid)


@dataclass
class Cost:
    """Wall and CPU seconds of one side."""

    wall: float = 0.0
    neo4j_cpu: float = 0.0
    python_cpu: float = 0.0

    @contextmanager
    def measure(self, neo4j_pid: int | None) -> Iterator[None]:
        """Add the block's wall time, Neo4j CPU and this process's CPU."""
        wall, server, ours = time.perf_counter(), _cpu_seconds(neo4j_pid), time.process_time()
        yield
        self.wall += time.perf_counter() - wall
        self.neo4j_cpu += _cpu_seconds(neo4j_pid) - server
        self.python_cpu += time.process_time() - ours


async def measure_size(uri: str, neo4j_pid: int | None, size: int, seed: int) -> dict[str, Any]:
    """Ceiling and olgraph on one graph size; the raw figures."""
    spec = WorkloadSpec(kind="mixed", seed=seed, nodes=size)
    log(f"ceiling: normalizing the {size:,}-node workload")
    graph, events, mutations = Collapsed(), 0, 0
    started = time.process_time()
    for per_event in mutations_of(spec):
        graph.add(per_event)
        events += 1
        mutations += len(per_event)
    normalize_cpu = time.process_time() - started
    store = Neo4jStore(uri, *neo4j_store_options(uri))
    await store.open()  # creates olgraph's constraints, which the ceiling uses too
    driver = neo4j.AsyncGraphDatabase.driver(uri, auth=neo4j_auth(uri))
    ceiling, ours = Cost(), Cost()
    try:
        await empty(driver)
        log(f"ceiling: hand-written loader, {graph.node_rows():,} nodes, {graph.edge_rows():,} relationships")
        with ceiling.measure(neo4j_pid):
            await write_ceiling(driver, graph)
        await empty(driver)
        log(f"ceiling: olgraph Neo4jStore.apply, {events:,} events in batches of {BATCH_EVENTS}")
        with ours.measure(neo4j_pid):
            apply_wall, normalizing = await write_olgraph(store, spec, BATCH_EVENTS)
        ours.python_cpu -= normalizing
        ours.wall = apply_wall
    finally:
        await driver.close()
        await store.close()
    return {
        "events": events,
        "mutations": mutations,
        "node_rows": graph.node_rows(),
        "relationship_rows": graph.edge_rows(),
        "normalize_events_per_second": round(events / normalize_cpu, 1),
        "ceiling": _side(ceiling, events),
        "olgraph": _side(ours, events),
        "olgraph_fraction_of_ceiling": round(ceiling.wall / ours.wall, 3),
    }


def _side(cost: Cost, events: int) -> dict[str, float]:
    return {
        "seconds": round(cost.wall, 3),
        "events_per_second": round(events / cost.wall, 1),
        "neo4j_cpu_seconds": round(cost.neo4j_cpu, 2),
        "python_cpu_seconds": round(max(cost.python_cpu, 0.0), 2),
    }


def document(measured: dict[int, dict[str, Any]], normalizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """The section's result document (format in ``_support``)."""
    sizes = sorted(measured)
    largest = measured[sizes[-1]]
    doc: dict[str, Any] = {
        "title": "Ceiling: Neo4jStore.apply against a hand-written UNWIND loader",
        "ceiling": {str(size): measured[size]["ceiling"]["events_per_second"] for size in sizes},
        "olgraph_store": {str(size): measured[size]["olgraph"]["events_per_second"] for size in sizes},
        "sizes": {str(size): measured[size] for size in sizes},
        "summary": [
            {
                "metric": f"graph writes, events/s ({sizes[-1]:,} nodes)",
                "olgraph": largest["olgraph"]["events_per_second"],
                "baseline": largest["ceiling"]["events_per_second"],
                "baseline_name": "hand-written UNWIND loader",
                "ratio": largest["olgraph_fraction_of_ceiling"],
                "unit": "events/s",
                "note": "Neo4jStore.apply only; the end-to-end fraction is in the headline",
            }
        ],
        "tables": [
            {
                "title": "Writing the same graph",
                "columns": [
                    "nodes",
                    "events",
                    "node rows",
                    "relationship rows",
                    "ceiling events/s",
                    "olgraph events/s",
                    "fraction",
                    "Neo4j CPU s (ceiling / olgraph)",
                    "Python CPU s (ceiling / olgraph)",
                ],
                "rows": [_table_row(size, measured[size]) for size in sizes],
            }
        ],
        "charts": [
            {
                "name": "ceiling",
                "title": "Graph writes: olgraph against the hand-written loader",
                "kind": "bar",
                "x_label": "graph size (nodes)",
                "y_label": "events/s",
                "log_y": False,
                "series": {
                    side: [[f"{size:,}", measured[size][key]["events_per_second"]] for size in sizes]
                    for side, key in (("ceiling", "ceiling"), ("olgraph store", "olgraph"))
                },
            }
        ],
        "notes": [
            "The ceiling writes each node and relationship once, from rows collapsed in memory with "
            "last-write-wins and no merge rules; olgraph applies every event's mutations as the "
            f"consumer does, {BATCH_EVENTS} events per transaction, with its merge rules and versions.",
            "Normalizing (parse + normalize, one core) ran at "
            + ", ".join(
                f"{measured[s]['normalize_events_per_second']:,} events/s ({s:,} nodes)" for s in sizes
            )
            + "; it is part of the end-to-end rate, not of these figures.",
        ],
    }
    if normalizer is not None:
        doc["normalizer"] = normalizer
        doc["summary"].append(
            {
                "metric": "normalizer CPU per event (read back + normalize), median",
                "olgraph": normalizer["p50_ms"],
                "baseline": NORMALIZER_TARGET_MS,
                "baseline_name": "issue 12 target",
                "ratio": round(NORMALIZER_TARGET_MS / normalizer["p50_ms"], 3),
                "unit": "ms",
                "note": f"mean {normalizer['mean_ms']} ms, p95 {normalizer['p95_ms']} ms over "
                f"{normalizer['events']:,} events ({sizes[-1]:,} nodes), one core, the consumer's "
                "GC settings",
            }
        )
    return doc


def _table_row(size: int, m: dict[str, Any]) -> list[Any]:
    c, o = m["ceiling"], m["olgraph"]
    return [
        f"{size:,}",
        m["events"],
        m["node_rows"],
        m["relationship_rows"],
        c["events_per_second"],
        o["events_per_second"],
        m["olgraph_fraction_of_ceiling"],
        f"{c['neo4j_cpu_seconds']} / {o['neo4j_cpu_seconds']}",
        f"{c['python_cpu_seconds']} / {o['python_cpu_seconds']}",
    ]


def _neo4j(config: BenchConfig, uri: str | None) -> AbstractContextManager[str]:
    return nullcontext(uri) if uri else service("neo4j", config.services_cache, config.neo4j_env)


def neo4j_pid(config: BenchConfig, uri: str | None = None) -> int | None:
    """The pid of the dev Neo4j started in ``config.services_cache`` (None with ``uri``: not ours)."""
    if uri:
        return None  # somebody else's server: its CPU is not ours to read
    from olgraph.devservices import launchers  # noqa: PLC0415

    info = launchers()["neo4j"].status(config.services_cache)
    return info.pid if info else None


def run(config: BenchConfig, max_nodes: int = MAX_NODES, neo4j_uri: str | None = None) -> dict[str, Any]:
    """Measure every size of ``config`` up to ``max_nodes``; write and return the document."""
    sizes = [size for size in config.sizes if size <= max_nodes] or [min(config.sizes)]
    measured: dict[int, dict[str, Any]] = {}
    with _neo4j(config, neo4j_uri) as uri:
        pid = neo4j_pid(config, neo4j_uri)
        # A fresh Neo4j runs its first statements interpreted and plans them once: an unmeasured
        # pass of both writers first, so neither side pays for that (the first one measured did).
        log(f"ceiling: warm-up pass on {WARM_UP_NODES:,} nodes (not reported)")
        asyncio.run(measure_size(uri, pid, WARM_UP_NODES, config.seed + 1))
        for size in sizes:
            measured[size] = asyncio.run(measure_size(uri, pid, size, config.seed))
            log(f"ceiling: {size:,} nodes -> {measured[size]['olgraph_fraction_of_ceiling']} of the ceiling")
    log(f"ceiling: normalizer CPU per event on the {sizes[-1]:,}-node workload")
    normalizer = normalizer_cpu(WorkloadSpec(kind="mixed", seed=config.seed, nodes=sizes[-1]))
    log(f"ceiling: normalizer {normalizer}")
    doc = document(measured, normalizer)
    write_result(SECTION, doc, config.results_dir)
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = section_parser(__doc__)
    parser.add_argument("--max-nodes", type=int, default=MAX_NODES, help="largest size measured")
    parser.add_argument("--neo4j-uri", help="use this auth-less Neo4j (it is emptied) instead of a dev one")
    args = parser.parse_args(argv)
    config = config_from(args)
    doc = run(config, args.max_nodes, args.neo4j_uri)
    for row in doc["summary"]:
        print(f"{row['metric']}: olgraph {row['olgraph']} vs {row['baseline']} -> {row['ratio']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
