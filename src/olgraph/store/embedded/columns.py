"""Column lineage, column impact and column edges of the embedded store (private).

The walks are :class:`~olgraph.store.walk.LineageWalk` over Field nodes, answered by the
same one-statement-per-hop expansion as dataset lineage; the answers are assembled by
:mod:`olgraph.store.columns`, shared with Neo4j.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from olgraph.errors import NotFound
from olgraph.store import common
from olgraph.store.base import ColumnEdges, ColumnLineageResult, ImpactResult, NodeView
from olgraph.store.columns import (
    COLUMN_EDGE_TYPES,
    build_column_impact,
    column_lineage_result,
    datasets_named,
    plan_column_impact,
)
from olgraph.store.embedded.query import expand, get_node, last_runs, owners
from olgraph.store.embedded.rows import key_set, load_nodes, loads
from olgraph.store.walk import LineageWalk, WalkSpec, walk_sync


def views(conn: sqlite3.Connection, keys: Iterable[str]) -> dict[str, NodeView]:
    """Views of the jobs, datasets, runs and columns among ``keys`` (others are left out)."""
    out = {}
    for key, row in load_nodes(conn, keys).items():
        if common.node_type(row.labels) is not None:
            out[key] = common.node_view(key, row.labels, row.props)
    return out


def _fields_of(conn: sqlite3.Connection, dataset: str) -> list[NodeView]:
    rows = conn.execute(
        "SELECT n.key, n.labels, n.props FROM edges e CROSS JOIN nodes n ON n.key = e.dst "
        "WHERE e.type = 'HAS_FIELD' AND e.src = ? ORDER BY n.key",
        (dataset,),
    )
    return [common.node_view(k, loads(labels), loads(props)) for k, labels, props in rows]


def _walk(conn: sqlite3.Connection, key: str, spec: WalkSpec, *, columns_only: bool) -> LineageWalk:
    start = get_node(conn, key)
    allowed = ("column",) if columns_only else ("column", "dataset", "model")
    if start is None or start.type not in allowed:
        what = "column" if columns_only else "column or dataset"
        raise NotFound(f"no {what} with id {key!r}", field="nodeId")
    starts = [start] if start.type == "column" else [start, *_fields_of(conn, key)]
    walk = spec.walk(starts)
    walk_sync(walk, lambda request: expand(conn, request))
    return walk


def column_lineage(conn: sqlite3.Connection, key: str, spec: WalkSpec) -> ColumnLineageResult:
    """See :meth:`olgraph.store.base.GraphStore.column_lineage`."""
    result = _walk(conn, key, spec, columns_only=False).result()
    return column_lineage_result(result, views(conn, datasets_named(result)))


def column_impact(conn: sqlite3.Connection, key: str, spec: WalkSpec) -> ImpactResult:
    """See :meth:`olgraph.store.base.GraphStore.column_impact`."""
    walk = _walk(conn, key, spec, columns_only=True)
    plan = plan_column_impact(walk)
    found = views(conn, plan.keys())
    jobs = [k for k, v in found.items() if v.type == "job"]
    datasets = [k for k, v in found.items() if v.type != "job"]
    return build_column_impact(walk, plan, found, owners(conn, found), last_runs(conn, jobs, datasets))


def column_edges(conn: sqlite3.Connection, datasets: Sequence[str]) -> ColumnEdges:
    """See :meth:`olgraph.store.base.GraphStore.column_edges`."""
    types = ", ".join(f"'{t}'" for t in COLUMN_EDGE_TYPES)
    given = key_set(conn, datasets)
    rows = conn.execute(
        f"SELECT e.type, e.src, e.dst, e.props FROM {given} f "
        "CROSS JOIN edges h ON h.type = 'HAS_FIELD' AND h.src = f.value "
        f"CROSS JOIN edges e ON e.type IN ({types}) AND e.src = h.dst "
        "CROSS JOIN nodes t ON t.key = e.dst "
        f"WHERE coalesce(json_extract(t.props, '$.dataset'), t.key) IN (SELECT g.value FROM {given} g)"
    ).fetchall()
    edges = [common.edge_view(rel, src, dst, loads(props)) for rel, src, dst, props in rows]
    ends = {k for e in edges for k in (e.source, e.target)}
    columns = [v for v in views(conn, ends).values() if v.type == "column"]
    return ColumnEdges(
        columns=sorted(columns, key=lambda v: v.id),
        edges=sorted(edges, key=lambda e: (e.source, e.target, e.type)),
    )
