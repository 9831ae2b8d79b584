"""Query parameters the query routes share, and the settings-derived caps they are checked against."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from olgraph.api.auth import get_runtime
from olgraph.query.lineage import QueryLimits, check_max_nodes
from olgraph.query.stale import StaleRule
from olgraph.runtime import Runtime

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
NodeIdParam = Annotated[
    str | None, Query(alias="nodeId", description="e.g. dataset:postgres://db:5432:public.orders")
]
TypeParam = Annotated[
    str | None, Query(alias="type", description="dataset, model or job (with namespace, name)")
]
NamespaceParam = Annotated[str | None, Query(description="namespace (with type and name, instead of nodeId)")]
NameParam = Annotated[str | None, Query(description="name (with type and namespace, instead of nodeId)")]
ColumnParam = Annotated[str | None, Query(description="column path, with type=column, namespace and name")]
DepthParam = Annotated[int | None, Query(description="hops to follow (default and cap: server settings)")]
DirectionParam = Annotated[str | None, Query(description="upstream, downstream or both (default)")]
IncludeDeletedParam = Annotated[
    bool, Query(alias="includeDeleted", description="also return (and cross) deleted nodes")
]
AsOfParam = Annotated[
    str | None,
    Query(alias="asOf", description="answer from the graph as it stood then (ISO-8601 date-time or date)"),
]
MaxNodesParam = Annotated[
    int | None,
    Query(alias="maxNodes", description="most nodes in the answer (default and ceiling: the server's cap)"),
]
LimitParam = Annotated[int | None, Query(description="page size (default and cap: server settings)")]
OffsetParam = Annotated[int | None, Query(description="items to skip")]
CursorParam = Annotated[str | None, Query(description="the previous page's nextCursor")]


def limits_of(runtime: Runtime, max_nodes: int | None = None) -> QueryLimits:
    """The caps of the running server, with the node cap a request asked for (``maxNodes``)."""
    return check_max_nodes(max_nodes, QueryLimits.of(runtime.settings.query))


def stale_rule_of(runtime: Runtime, as_of: str | None) -> StaleRule:
    """Which nodes are stale at ``as_of`` (a stored time; None: now) under the server's settings."""
    return StaleRule.at(runtime.settings.query.stale_after_days, as_of)
