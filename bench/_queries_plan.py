"""What the queries section measures: a graph size's workload and anchors, and the queries
run on them with their timings.

``plan_for`` finds the anchors (a dataset in the middle of a long chain, an ordinary
dataset, the fan-out table) by generating the workload; ``query_set`` lists the lineage and
impact queries of a plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workloads import Workload, WorkloadSpec

SECTION = "queries"
DEPTHS = (1, 5, 10, 20)
DIRECTIONS = ("upstream", "downstream", "both")
CHAIN_DEPTH = 30  # dbt chains of 30 models: 60 lineage hops end to end (the issue asks for 50+)
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
