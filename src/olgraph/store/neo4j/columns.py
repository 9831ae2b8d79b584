"""Column lineage, column impact and column edges of the Neo4j store (private).

The walks are :class:`~olgraph.store.walk.LineageWalk` over Field nodes, one statement per
level like dataset lineage (:class:`~olgraph.store.neo4j.read.Expander`); the answers are
assembled by :mod:`olgraph.store.columns`, shared with the embedded store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from neo4j import AsyncManagedTransaction

from olgraph.errors import NotFound
from olgraph.normalize.mutations import Label
from olgraph.store import common
from olgraph.store.base import ColumnEdges, ColumnLineageResult, ImpactResult, NodeView
from olgraph.store.columns import (
    build_column_impact,
    column_lineage_result,
    datasets_named,
    plan_column_impact,
)
from olgraph.store.neo4j.read import (
    EDGE_FIELDS,
    Expander,
    impact_details,
    node_map,
    records,
    start_query,
    view_of,
)
from olgraph.store.walk import LineageWalk, WalkSpec, walk_async

FIELDS_OF = f"MATCH (:Dataset {{key: $key}})-[:HAS_FIELD]->(f) RETURN {node_map('f')} AS node ORDER BY f.key"

_PREFIX_LABELS = {"dataset:": Label.DATASET, "job:": Label.JOB, "field:": Label.FIELD, "run:": Label.RUN}
NODES_BY_KEY = (
    "CALL () {\n  "
    + "\n  UNION ALL\n  ".join(
        f"UNWIND ${label.value.lower()} AS k MATCH (n:{label.value} {{key: k}}) RETURN n"
        for label in _PREFIX_LABELS.values()
    )
    + f"\n}}\nRETURN {node_map('n')} AS node"
)
"""The jobs, datasets, columns and runs with the keys given per label (a unique-index seek each)."""

COLUMN_EDGES = f"""
UNWIND $datasets AS k
MATCH (:Dataset {{key: k}})-[:HAS_FIELD]->(f)-[e:DERIVES|INFLUENCES]->(t)
WHERE coalesce(t.dataset, t.key) IN $datasets
RETURN {EDGE_FIELDS} AS edge, {node_map("f")} AS source, {node_map("t")} AS target
"""


async def node_views(tx: AsyncManagedTransaction, keys: Iterable[str]) -> dict[str, tuple[str, NodeView]]:
    """Element id and view of each job, dataset, column and run among ``keys`` (by key prefix)."""
    params: dict[str, list[str]] = {label.value.lower(): [] for label in _PREFIX_LABELS.values()}
    for key in set(keys):
        label = next((lab for prefix, lab in _PREFIX_LABELS.items() if key.startswith(prefix)), None)
        if label is not None:
            params[label.value.lower()].append(key)
    out = {}
    for r in await records(tx, NODES_BY_KEY, **params):
        view = view_of(r["node"])
        if view is not None:
            out[view.id] = (r["node"]["id"], view)
    return out


async def _walk(tx: AsyncManagedTransaction, key: str, spec: WalkSpec, *, columns_only: bool) -> LineageWalk:
    expander = Expander(tx)
    found = await records(tx, start_query(spec.traversal), key=key)
    start = expander.remember(found[0]["node"], found[0]["aliases"]) if found else None
    allowed = ("column",) if columns_only else ("column", "dataset", "model")
    if start is None or start.type not in allowed:
        what = "column" if columns_only else "column or dataset"
        raise NotFound(f"no {what} with id {key!r}", field="nodeId")
    starts: list[NodeView] = [start]
    if start.type != "column":
        for r in await records(tx, FIELDS_OF, key=key):
            view = expander.remember(r["node"], [])
            if view is not None:
                starts.append(view)
    walk = spec.walk(starts)
    await walk_async(walk, expander)
    return walk


async def column_lineage(tx: AsyncManagedTransaction, key: str, spec: WalkSpec) -> ColumnLineageResult:
    """See :meth:`olgraph.store.base.GraphStore.column_lineage`."""
    result = (await _walk(tx, key, spec, columns_only=False)).result()
    found = await node_views(tx, datasets_named(result))
    return column_lineage_result(result, {k: view for k, (_, view) in found.items()})


async def column_impact(tx: AsyncManagedTransaction, key: str, spec: WalkSpec) -> ImpactResult:
    """See :meth:`olgraph.store.base.GraphStore.column_impact`."""
    walk = await _walk(tx, key, spec, columns_only=True)
    plan = plan_column_impact(walk)
    found = await node_views(tx, plan.keys())
    rows = [{"key": k, "id": node_id, "job": view.type == "job"} for k, (node_id, view) in found.items()]
    owners, last_runs = await impact_details(tx, rows)
    views = {k: view for k, (_, view) in found.items()}
    return build_column_impact(walk, plan, views, owners, last_runs)


async def column_edges(tx: AsyncManagedTransaction, datasets: Sequence[str]) -> ColumnEdges:
    """See :meth:`olgraph.store.base.GraphStore.column_edges`."""
    edges, columns = {}, {}
    for r in await records(tx, COLUMN_EDGES, datasets=sorted(set(datasets))):
        edge = common.edge_view(
            r["edge"]["type"], r["edge"]["source"], r["edge"]["target"], dict(r["edge"]["props"])
        )
        edges[(edge.source, edge.target, edge.type)] = edge
        for end in (r["source"], r["target"]):
            view = view_of(end)
            if view is not None and view.type == "column":
                columns[view.id] = view
    return ColumnEdges(columns=[columns[k] for k in sorted(columns)], edges=[edges[k] for k in sorted(edges)])
