"""Graph questions: lineage, column lineage and impact.

Every route needs the ``read`` role. Parameters and JSON fields are camelCase on the wire
(the OpenLineage/Marquez style). Bad input raises :class:`~olgraph.errors.InvalidQuery`
(400) and an unknown node :class:`~olgraph.errors.NotFound` (404); both name the parameter
at fault, and the app's one error table turns them into responses. ``asOf`` answers from
the graph as it stood then (see docs/api.md, *Time travel*).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from olgraph.api.auth import require_role
from olgraph.api.errors import error_responses
from olgraph.api.params import (
    AsOfParam,
    ColumnParam,
    DepthParam,
    DirectionParam,
    IncludeDeletedParam,
    MaxNodesParam,
    NameParam,
    NamespaceParam,
    NodeIdParam,
    RuntimeDep,
    TypeParam,
    limits_of,
    stale_rule_of,
)
from olgraph.api.wire import (
    AffectedOut,
    ColumnLineageOut,
    ImpactOut,
    LineageOut,
    NodeCap,
    SummaryOut,
    column_lineage_out,
    lineage_out,
    node_out,
)
from olgraph.errors import InvalidQuery
from olgraph.query.columns import read_column_edges, read_column_lineage
from olgraph.query.impact import (
    IMPACT_FORMATS,
    affected_row,
    read_impact,
    render_csv,
    render_ndjson,
    summarize,
)
from olgraph.query.lineage import QueryLimits, read_lineage
from olgraph.query.nodes import COLUMN_PREFIX, NODE_PREFIXES, resolve_node_key
from olgraph.query.times import parse_time
from olgraph.runtime import Runtime

ImpactDepthParam = Annotated[
    int | None, Query(description="hops to follow (default: all of them; cap: server settings)")
]
ALL_PREFIXES = (*NODE_PREFIXES, COLUMN_PREFIX)

router = APIRouter(
    prefix="/api/v1",
    tags=["query"],
    dependencies=[Depends(require_role("read"))],
    responses=error_responses(
        e400="A parameter is invalid (`field` names it)",
        e401="Missing or unknown API key",
        e403="The API key lacks the `read` role",
        e404="The node, column, job, run or dataset named does not exist",
    ),
)


@router.get("/lineage", response_model=LineageOut)
async def get_lineage(
    runtime: RuntimeDep,
    *,
    node_id: NodeIdParam = None,
    node_type: TypeParam = None,
    namespace: NamespaceParam = None,
    name: NameParam = None,
    direction: DirectionParam = None,
    depth: DepthParam = None,
    include_deleted: IncludeDeletedParam = False,
    as_of: AsOfParam = None,
    max_nodes: MaxNodesParam = None,
    with_columns: Annotated[
        bool, Query(alias="withColumns", description="also return the column edges between the datasets")
    ] = False,
) -> LineageOut:
    """Nodes and edges around a job or dataset, up to ``depth`` hops in ``direction``."""
    key = resolve_node_key(node_id, node_type, namespace, name)
    when = parse_time(as_of, "asOf")
    limits = limits_of(runtime, max_nodes)
    result = await read_lineage(
        runtime.store,
        key,
        direction=direction,
        depth=depth,
        limits=limits,
        include_deleted=include_deleted,
        as_of=when,
    )
    columns = await read_column_edges(runtime.store, result, when) if with_columns else None
    return lineage_out(result, node_cap(runtime, limits), stale_rule_of(runtime, when), columns)


@router.get("/column-lineage", response_model=ColumnLineageOut)
async def get_column_lineage(
    runtime: RuntimeDep,
    *,
    node_id: Annotated[
        str | None,
        Query(
            alias="nodeId",
            description="a column (field:{namespace}:{name}#{column}) or a dataset: all its columns",
        ),
    ] = None,
    node_type: Annotated[
        str | None, Query(alias="type", description="column or dataset (with namespace, name)")
    ] = None,
    namespace: NamespaceParam = None,
    name: NameParam = None,
    column: ColumnParam = None,
    direction: DirectionParam = None,
    depth: DepthParam = None,
    include_deleted: IncludeDeletedParam = False,
    as_of: AsOfParam = None,
    max_nodes: MaxNodesParam = None,
) -> ColumnLineageOut:
    """Column-to-column lineage (``DERIVES``, and ``INFLUENCES`` into whole datasets) with each
    edge's transformations."""
    prefixes = ("dataset:", COLUMN_PREFIX)
    key = resolve_node_key(node_id, node_type, namespace, name, column=column, prefixes=prefixes)
    when = parse_time(as_of, "asOf")
    limits = limits_of(runtime, max_nodes)
    result = await read_column_lineage(
        runtime.store,
        key,
        direction=direction,
        depth=depth,
        limits=limits,
        include_deleted=include_deleted,
        as_of=when,
    )
    return column_lineage_out(result, node_cap(runtime, limits), stale_rule_of(runtime, when))


@router.get(
    "/impact",
    response_model=ImpactOut,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
async def get_impact(
    runtime: RuntimeDep,
    *,
    node_id: Annotated[
        str | None, Query(alias="nodeId", description="a dataset, model, job or column (field:…) id")
    ] = None,
    node_type: Annotated[
        str | None, Query(alias="type", description="dataset, model, job or column (with namespace, name)")
    ] = None,
    namespace: NamespaceParam = None,
    name: NameParam = None,
    column: ColumnParam = None,
    depth: ImpactDepthParam = None,
    as_of: AsOfParam = None,
    max_nodes: MaxNodesParam = None,
    fmt: Annotated[str | None, Query(alias="format", description="json (default), csv or ndjson")] = None,
) -> ImpactOut | Response:
    """Every live dataset, model and job (for a column: column, dataset and job) downstream of a
    node, with a summary.

    Without ``depth`` every live transitive dependent is listed, bounded only by the node cap;
    ``truncated`` says whether any limit cut the answer. ``csv`` and ``ndjson`` give one
    row/line per affected node; their ``X-Olgraph-Truncated`` header says the same.
    """
    fmt = fmt or "json"
    if fmt not in IMPACT_FORMATS:
        raise InvalidQuery(f"must be one of {', '.join(IMPACT_FORMATS)}, got {fmt!r}", field="format")
    key = resolve_node_key(node_id, node_type, namespace, name, column=column, prefixes=ALL_PREFIXES)
    limits = limits_of(runtime, max_nodes)
    result = await read_impact(runtime.store, key, depth, limits, as_of=parse_time(as_of, "asOf"))
    rows = [affected_row(item) for item in result.affected]
    if fmt != "json":
        headers = {"X-Olgraph-Truncated": str(result.truncated).lower()}
        if fmt == "csv":
            return Response(render_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
        return Response(render_ndjson(rows), media_type="application/x-ndjson", headers=headers)
    summary = summarize(result.affected)
    return ImpactOut(
        root=node_out(result.root),
        affected=[AffectedOut.model_validate(row) for row in rows],
        summary=SummaryOut(total=summary.total, by_type=summary.by_type, by_owner=summary.by_owner),
        truncated=result.truncated,
        truncated_by=list(result.truncated_by),
        max_nodes=limits.max_nodes,
        server_max_nodes=runtime.settings.query.max_nodes,
    )


def node_cap(runtime: Runtime, limits: QueryLimits) -> NodeCap:
    """The node cap an answer ran under (``limits``) and the server's."""
    return NodeCap(max_nodes=limits.max_nodes, server_max_nodes=runtime.settings.query.max_nodes)
