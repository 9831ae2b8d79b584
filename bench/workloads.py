"""Deterministic OpenLineage workloads for olgraph's benchmarks, generated lazily from a seed.

Every event is an OpenLineage 2-0-2 RunEvent made of standard facets only. Kinds:

* ``airflow``: DAG runs whose task runs carry ``parent``/``root`` facets, START/COMPLETE
  pairs (a few runs FAIL), ``sql`` job facets, tables flowing from task to task;
* ``spark``: applications whose actions read and write wide tables (50-500 columns) with
  ``schema``, ``columnLineage``, ``symlinks`` and ``outputStatistics``;
* ``dbt``: invocations building a chain of ``chain_depth`` models, with ``sql`` facets;
* ``ml``: pipelines going features → training (a ``MODEL`` dataset with a ``version``
  facet per model version) → evaluation;
* ``streaming``: STREAMING jobs sending START and periodic RUNNING events, never a terminal one;
* ``mixed``: each group (a DAG, a project, an application, ...) is one of the above.

``fan_out`` adds that many jobs reading one hot table, ``fan_in`` one job reading that many
partitions. Units (one DAG run, one dbt invocation, ...) follow each other in time, so the
natural order of the stream is ``eventTime`` order (strictly increasing); ``disorder`` then
delays that fraction of events by 1 to ``window`` positions and ``duplicates`` re-sends
that fraction (byte-identical, as a retrying client does) up to ``window`` positions later.

Graph size: ``nodes`` counts every node olgraph's normalizer creates (jobs, runs, datasets,
dataset versions, fields, namespaces, owners; docs/graph-model.md). Generation stops at the
first unit boundary at or past it once the ``fan_out``/``fan_in`` shapes are complete. The
stores may add an implicit ``initial`` version per dataset read before any write of it;
those are not counted. Events are 1 KB to 200 KB (a ``fan_in`` over ~330 exceeds that).

API: :func:`generate` (events in delivery order), :class:`Workload` (events, lines and units,
plus what they counted), :func:`node_keys` and :func:`event_node_keys` (the graph nodes a
workload or an event creates), :func:`lineage_anchors` (start nodes for lineage queries of a
given depth), :func:`write_ndjson`.

This module holds the stream (the groups in time order, delivery with disorder and
duplicates), those functions and the command line; the spec and the tables and steps are in
``_workload_model``, the facets and events in ``_workload_events``, the generator of each kind
in ``_workload_kinds`` and the node keys of an event in ``_workload_keys``.

Command line (a one-line summary goes to stderr)::

    python bench/workloads.py --kind airflow --seed 1 --nodes 10000 --out events.ndjson

>>> spec = WorkloadSpec(kind="dbt", seed=1, nodes=500, chain_depth=5)
>>> first = next(generate(spec))
>>> first["eventType"], first["job"]["name"]
('START', 'dbt-run-customer_analytics_00000')
>>> len(node_keys(spec)) >= 500
True
"""

from __future__ import annotations

import argparse
import copy
import heapq
import itertools
import random
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import orjson
from _workload_keys import _event_keys, event_node_keys
from _workload_kinds import _GROUPS, _Context, _fan_in, _fan_out
from _workload_model import (
    FACETS_URL,
    KINDS,
    MAX_EVENT_BYTES,
    PRODUCER,
    SPEC_URL,
    Columns,
    JsonDict,
    Lineage,
    Step,
    Table,
    Unit,
    WorkloadSpec,
)

__all__ = [
    "FACETS_URL",
    "KINDS",
    "MAX_EVENT_BYTES",
    "PRODUCER",
    "SPEC_URL",
    "Columns",
    "JsonDict",
    "Lineage",
    "Step",
    "Summary",
    "Table",
    "Unit",
    "Workload",
    "WorkloadSpec",
    "event_node_keys",
    "generate",
    "lineage_anchors",
    "main",
    "node_keys",
    "write_ndjson",
]

_MIX = {"airflow": 35, "streaming": 20, "dbt": 15, "ml": 15, "spark": 15}


# --------------------------------------------------------------------------- the stream


def _schedule(ctx: _Context) -> Iterator[Iterator[Unit]]:
    """Groups in time order: the kind's groups until the target, with the shapes interleaved."""
    spec, chunk = ctx.spec, max(1, -(-ctx.spec.fan_out // 32))
    mix = list(_MIX)
    for g in itertools.count():
        if ctx.nodes >= spec.nodes and g * chunk >= spec.fan_out and not (g == 0 and spec.fan_in):
            return  # nothing owed (guards against a group that yields no unit)
        if ctx.nodes < spec.nodes:
            kind = (
                spec.kind if spec.kind != "mixed" else ctx.rng("mix", g).choices(mix, list(_MIX.values()))[0]
            )
            yield _GROUPS[kind](ctx, g)
        if g == 0 and spec.fan_in:
            yield _fan_in(ctx)
        if g * chunk < spec.fan_out:
            yield _fan_out(ctx, range(g * chunk, min((g + 1) * chunk, spec.fan_out)))


def _units(ctx: _Context) -> Iterator[Unit]:
    """The units in natural order, counted; ends at a unit boundary past the target, shapes done."""
    pending = ctx.spec.fan_out + (1 if ctx.spec.fan_in else 0)
    for group in _schedule(ctx):
        for unit in group:
            ctx.count(unit)
            pending -= unit.shape
            yield unit
            if ctx.nodes >= ctx.spec.nodes:
                if pending == 0:
                    return
                if not unit.shape:
                    break  # only the shapes are still owed


def _deliver(events: Iterable[JsonDict], spec: WorkloadSpec, stats: Counter[str]) -> Iterator[JsonDict]:
    """Delay ``disorder`` of the events by 1 to ``window`` positions; re-send ``duplicates`` of them.

    A bounded heap keyed by delivery position keeps it lazy: an event due at position
    ``i + d + 0.5`` goes out right after the event at natural position ``i + d``.
    """
    rng, order = random.Random(f"{spec.seed}/delivery"), itertools.count()
    heap: list[tuple[float, int, JsonDict]] = []
    for index, event in enumerate(events):
        delay = 0.0
        if spec.disorder and rng.random() < spec.disorder:
            delay, stats["delayed"] = rng.randint(1, spec.window) + 0.5, stats["delayed"] + 1
        heapq.heappush(heap, (index + delay, next(order), event))
        if spec.duplicates and rng.random() < spec.duplicates:
            stats["duplicated"] += 1
            heapq.heappush(
                heap, (index + rng.randint(0, spec.window) + 0.5, next(order), copy.deepcopy(event))
            )
        while heap and heap[0][0] <= index:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]


class Workload:
    """One workload's lazy event stream, and what it counted once consumed.

    ``counts``: distinct nodes by key prefix (``job``, ``dataset``, ``run``, ``field``, ...);
    ``stats``: ``events`` (distinct), ``delayed`` and ``duplicated`` deliveries.
    """

    def __init__(self, spec: WorkloadSpec) -> None:
        self.spec = spec
        self.counts: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()

    def units(self) -> Iterator[Unit]:
        """The units in natural (event time) order, before any disorder or duplicates."""
        ctx = _Context(self.spec)
        self.counts = ctx.counts
        yield from _units(ctx)

    def events(self) -> Iterator[JsonDict]:
        """The events in delivery order. Treat them as read-only."""

        def natural() -> Iterator[JsonDict]:
            for unit in self.units():
                self.stats["events"] += len(unit.events)
                yield from unit.events

        return _deliver(natural(), self.spec, self.stats)

    def lines(self) -> Iterator[bytes]:
        """The events in delivery order as compact JSON, one per line (no newline)."""
        return map(orjson.dumps, self.events())


def generate(spec: WorkloadSpec) -> Iterator[JsonDict]:
    """The events of ``spec`` in delivery order, generated lazily."""
    return Workload(spec).events()


def node_keys(spec: WorkloadSpec) -> set[str]:
    """Every node key the workload creates (generates it: a 1M-node workload takes a while)."""
    return {key for unit in Workload(spec).units() for event in unit.events for key, _ in _event_keys(event)}


def lineage_anchors(spec: WorkloadSpec, depths: Sequence[int] = (1, 5, 10, 20)) -> dict[int, str]:
    """Per depth, a dataset key with at least that many lineage hops both upstream and downstream.

    Hops as olgraph's lineage counts them (dataset → job is one). Depths no chain of the
    workload reaches are left out: dbt chains give ``2 * chain_depth`` hops end to end.
    """
    found: dict[int, str] = {}
    for unit in Workload(spec).units():
        last = len(unit.chain) - 1
        for depth in depths:
            middle = (depth + 1) // 2  # 2 * middle hops upstream of it, 2 * (last - middle) downstream
            if depth not in found and 2 * (last - middle) >= depth:
                found[depth] = unit.chain[middle]
        if len(found) == len(set(depths)):
            break
    return found


# --------------------------------------------------------------------------- summary and command line


@dataclass(frozen=True, slots=True)
class Summary:
    """What a written workload holds: events, bytes, nodes by kind, event sizes."""

    spec: WorkloadSpec
    events: int
    delivered: int
    delayed: int
    duplicated: int
    bytes: int
    counts: dict[str, int]
    sizes: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        """The one-line human summary the command line prints."""
        c, spec = self.counts, self.spec
        labels = ("job", "dataset", "run", "datasetVersion", "field", "namespace", "owner")
        nodes = f"{sum(c.values())} nodes: " + ", ".join(f"{c[label]} {label}s" for label in labels)
        sizes = " ".join(f"{name} {_human(value)}" for name, value in self.sizes.items())
        delivery = f"{self.delivered} delivered: {self.delayed} delayed, {self.duplicated} duplicated"
        return (
            f"{spec.kind} seed={spec.seed}: {self.events} events ({delivery}), {_human(self.bytes)}; "
            f"{nodes}; event size {sizes}"
        )


def _human(size: int) -> str:
    if size < 1000:
        return f"{size}B"
    scaled, unit = next((size / 1000**n, u) for n, u in ((3, "GB"), (2, "MB"), (1, "KB")) if size >= 1000**n)
    return f"{scaled:.1f}{unit}"


def _percentiles(sizes: array[int]) -> dict[str, int]:
    ordered = sorted(sizes)
    if not ordered:
        return {}
    at = {"min": 0.0, "p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}
    return {name: ordered[min(len(ordered) - 1, int(q * len(ordered)))] for name, q in at.items()}


def write_ndjson(spec: WorkloadSpec, out: BinaryIO) -> Summary:
    """Write the workload to ``out`` as NDJSON, in delivery order; return its summary."""
    workload, sizes, total = Workload(spec), array("I"), 0
    for line in workload.lines():
        out.write(line + b"\n")
        sizes.append(len(line))
        total += len(line) + 1
    stats = workload.stats
    return Summary(
        spec, stats["events"], len(sizes), stats["delayed"], stats["duplicated"], total,
        dict(workload.counts), _percentiles(sizes),
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """``python bench/workloads.py --kind airflow --seed 1 --nodes 10000 --out events.ndjson``."""
    parser = argparse.ArgumentParser(description="Generate a deterministic OpenLineage workload as NDJSON.")
    parser.add_argument("--kind", choices=KINDS, default="mixed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nodes", type=int, default=10_000, help="target graph size in nodes")
    parser.add_argument("--chain-depth", type=int, default=20, help="models per dbt chain")
    parser.add_argument("--fan-out", type=int, default=0, help="jobs reading one hot table")
    parser.add_argument(
        "--fan-in", type=int, default=0, help="partitions one job reads (over ~330, its events exceed 200 KB)"
    )
    parser.add_argument("--disorder", type=float, default=0.0, help="fraction delivered late")
    parser.add_argument("--duplicates", type=float, default=0.0, help="fraction delivered twice")
    parser.add_argument("--window", type=int, default=50, help="most positions an event moves")
    parser.add_argument("--out", default="-", help="output file ('-': stdout)")
    args = parser.parse_args(argv)
    try:
        spec = WorkloadSpec(
            args.kind, args.seed, args.nodes, args.chain_depth, args.fan_out, args.fan_in,
            args.disorder, args.duplicates, args.window,
        )  # fmt: skip
    except ValueError as exc:
        parser.error(str(exc))
    if args.out == "-":
        summary = write_ndjson(spec, sys.stdout.buffer)
    else:
        with open(args.out, "wb") as out:
            summary = write_ndjson(spec, out)
    print(summary.line(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
