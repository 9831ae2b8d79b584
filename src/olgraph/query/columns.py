"""Column lineage: parameter checks and caps in front of the store."""

from __future__ import annotations

from olgraph.query.lineage import QueryLimits, check_depth, check_direction
from olgraph.store.base import ColumnEdges, ColumnLineageResult, GraphStore, LineageResult
from olgraph.store.common import edge_exists_at


async def read_column_lineage(
    store: GraphStore,
    key: str,
    *,
    direction: str | None,
    depth: int | None,
    limits: QueryLimits,
    include_deleted: bool = False,
    as_of: str | None = None,
) -> ColumnLineageResult:
    """Column lineage around a column or all columns of a dataset, within the configured caps.

    Raises :class:`~olgraph.errors.InvalidQuery` for a bad direction or depth and
    :class:`~olgraph.errors.NotFound` when ``key`` is not a known column or dataset.
    """
    checked_direction = check_direction(direction)
    checked_depth = check_depth(depth, limits)
    return await store.column_lineage(
        key, checked_direction, checked_depth, limits.max_nodes, include_deleted, as_of=as_of
    )


async def read_column_edges(
    store: GraphStore, lineage: LineageResult, as_of: str | None = None
) -> ColumnEdges:
    """The column edges among the datasets of a dataset-level lineage answer (first seen by ``as_of``)."""
    datasets = [n.id for n in lineage.nodes if n.type in ("dataset", "model")]
    if not datasets:
        return ColumnEdges(columns=[], edges=[])
    found = await store.column_edges(datasets)
    if as_of is None:
        return found
    edges = [e for e in found.edges if edge_exists_at(e, as_of)]
    ends = {k for e in edges for k in (e.source, e.target)}
    return ColumnEdges(columns=[c for c in found.columns if c.id in ends], edges=edges)
