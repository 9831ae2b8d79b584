"""The wire shapes of the query API: pydantic models (camelCase on the wire) and builders.

Stores answer with views (:mod:`olgraph.store.base`); these are what clients see. Separate
shapes for what is stored and what is answered, so the storage model never leaks.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from olgraph.query.stale import StaleRule
from olgraph.store.base import (
    ColumnEdges,
    ColumnLineageResult,
    EdgeView,
    LineageResult,
    NodeView,
    Page,
    RunView,
    StartSource,
    Truncation,
    VersionRef,
)

T = TypeVar("T")


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class NodeOut(WireModel):
    """A job, dataset or model; its typed properties (``firstSeenAt``…) appear as extra fields."""

    model_config = ConfigDict(extra="allow")
    id: str
    type: str
    namespace: str
    name: str
    deleted: bool


class EdgeOut(WireModel):
    """A lineage edge (``CONSUMED_BY``, ``PRODUCES``, ``ALIAS_OF``) with its properties as extras."""

    model_config = ConfigDict(extra="allow")
    source: str
    target: str
    type: str


TRUNCATED_BY = Field(
    description="The limits that cut the answer: `depth` (more lies beyond the depth asked for), "
    "`nodes` (the node cap, `maxNodes`)"
)
MAX_NODES = Field(
    description="The node cap the answer ran under (the request's `maxNodes`, else the server's)"
)
SERVER_MAX_NODES = Field(
    description="The server's node cap: the largest `maxNodes` a request may ask for (`query.max_nodes`)"
)
STALE = Field(
    description="Nothing was seen of the node for `query.stale_after_days` days before now (or `asOf`); "
    "never true of a deleted node"
)


@dataclass(frozen=True, slots=True)
class NodeCap:
    """The node cap an answer ran under and the largest one the server allows."""

    max_nodes: int
    server_max_nodes: int


class LineageNodeOut(NodeOut):
    """A node of a lineage answer, with its distance from the start node and whether it is stale."""

    distance: int
    stale: bool = STALE


class TransformationOut(WireModel):
    """One transformation a column edge applies, as the ``columnLineage`` facet describes it."""

    type: str
    subtype: str | None
    description: str | None
    masking: bool


class ColumnNodeOut(WireModel):
    """A column (``type: column``) or a dataset a column influences as a whole.

    ``dataset``/``datasetName``: the dataset the column belongs to (a dataset: itself);
    ``name``: the column's path (nested columns are dotted); ``fieldType``: its schema type.
    """

    id: str
    type: str
    dataset: str
    namespace: str
    dataset_name: str | None
    name: str
    field_type: str | None
    description: str | None
    deleted: bool
    stale: bool = STALE
    distance: int | None = None


class ColumnEdgeOut(WireModel):
    """``DERIVES`` (column → column) or ``INFLUENCES`` (column → a whole dataset)."""

    source: str
    target: str
    type: str
    transformations: list[TransformationOut]
    masking: bool
    jobs: list[str] = Field(description="The jobs whose runs reported the edge")
    first_seen_at: str | None
    last_seen_at: str | None


class ColumnLineageOut(WireModel):
    """Column lineage around ``nodes[0]`` (a column, or a dataset and all its columns)."""

    nodes: list[ColumnNodeOut]
    edges: list[ColumnEdgeOut]
    truncated: bool
    truncated_by: list[Truncation] = TRUNCATED_BY
    max_nodes: int = MAX_NODES
    server_max_nodes: int = SERVER_MAX_NODES


class LineageOut(WireModel):
    """The lineage subgraph around ``nodes[0]``; with ``withColumns``, the column edges among
    its datasets (``columns`` and ``columnEdges``, else empty)."""

    nodes: list[LineageNodeOut]
    edges: list[EdgeOut]
    truncated: bool
    truncated_by: list[Truncation] = TRUNCATED_BY
    max_nodes: int = MAX_NODES
    server_max_nodes: int = SERVER_MAX_NODES
    columns: list[ColumnNodeOut] = Field(default_factory=list)
    column_edges: list[ColumnEdgeOut] = Field(default_factory=list)


class AffectedOut(WireModel):
    """One live node downstream of the impact root."""

    id: str
    type: str
    namespace: str
    name: str
    dataset: str | None = Field(description="A column's dataset (null for other nodes)")
    distance: int
    owners: list[str]
    last_run_at: str | None
    last_run_state: str | None


class SummaryOut(WireModel):
    """Counts of affected nodes: all, by type, by owner."""

    total: int
    by_type: dict[str, int]
    by_owner: dict[str, int]


class ImpactOut(WireModel):
    """What breaks if ``root`` goes away."""

    root: NodeOut
    affected: list[AffectedOut]
    summary: SummaryOut
    truncated: bool
    truncated_by: list[Truncation] = TRUNCATED_BY
    max_nodes: int = MAX_NODES
    server_max_nodes: int = SERVER_MAX_NODES


class NamespaceOut(WireModel):
    """One namespace."""

    name: str


class VersionRefOut(WireModel):
    """A dataset version a run read or wrote."""

    dataset: str
    version: str
    version_id: str


class StateAtOut(WireModel):
    """When a run's events first reported a state."""

    state: str
    at: str


class RunOut(WireModel):
    """One run with what it read and wrote and its facets (name → facet JSON).

    ``startedAt`` is the earliest START, else the earliest event of the run
    (``startedAtSource``: ``START`` or ``firstEvent``); ``durationMs`` is set once it ended.
    """

    run_id: str
    job: str | None
    state: str | None
    started_at: str | None
    started_at_source: StartSource | None
    ended_at: str | None
    updated_at: str | None
    duration_ms: int | None
    nominal_start_time: str | None
    nominal_end_time: str | None
    parent_run_id: str | None
    root_run_id: str | None
    error_message: str | None
    timeline: list[StateAtOut]
    inputs: list[VersionRefOut]
    outputs: list[VersionRefOut]
    facets: dict[str, Any]


class PageOut(WireModel, Generic[T]):
    """One page of a listing; ``total`` counts every match; ``nextCursor`` (when the listing pages
    by cursor) continues it, null on the last page."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = None


@functools.cache
def _reserved(model: type[BaseModel]) -> frozenset[str]:
    """The names and aliases of ``model``'s own fields."""
    return frozenset({f.alias or n for n, f in model.model_fields.items()} | set(model.model_fields))


def extras(props: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """Properties that do not collide with the model's own fields (those win)."""
    reserved = _reserved(model)
    return {k: v for k, v in props.items() if k not in reserved}


def node_out(node: NodeView) -> NodeOut:
    """The wire shape of a node."""
    return NodeOut(
        id=node.id,
        type=node.type,
        namespace=node.namespace,
        name=node.name,
        deleted=node.deleted,
        **extras(node.props, NodeOut),
    )


def edge_out(edge: EdgeView) -> EdgeOut:
    """The wire shape of an edge."""
    return EdgeOut(source=edge.source, target=edge.target, type=edge.type, **extras(edge.props, EdgeOut))


def run_out(run: RunView) -> RunOut:
    """The wire shape of a run."""
    return RunOut(
        run_id=run.run_id,
        job=run.job,
        state=run.state,
        started_at=run.started_at,
        started_at_source=run.started_at_source,
        ended_at=run.ended_at,
        updated_at=run.updated_at,
        duration_ms=run.duration_ms,
        nominal_start_time=run.nominal_start_time,
        nominal_end_time=run.nominal_end_time,
        parent_run_id=run.parent_run_id,
        root_run_id=run.root_run_id,
        error_message=run.error_message,
        timeline=[StateAtOut(state=state, at=at) for state, at in run.timeline],
        inputs=[ref_out(r) for r in run.inputs],
        outputs=[ref_out(r) for r in run.outputs],
        facets=run.facets,
    )


def ref_out(ref: VersionRef) -> VersionRefOut:
    return VersionRefOut(dataset=ref.dataset, version=ref.version, version_id=ref.version_id)


def page_out(
    page: Page, items: list[T], limit: int, offset: int, next_cursor: str | None = None
) -> PageOut[T]:
    """The wire shape of one page of a listing."""
    return PageOut[T](items=items, total=page.total, limit=limit, offset=offset, next_cursor=next_cursor)


def lineage_out(
    result: LineageResult, cap: NodeCap, stale: StaleRule, columns: ColumnEdges | None = None
) -> LineageOut:
    """The wire shape of a lineage answer (with its column edges when asked for)."""
    datasets = {n.id: n for n in result.nodes}
    return LineageOut(
        nodes=[
            LineageNodeOut(
                id=n.id,
                type=n.type,
                namespace=n.namespace,
                name=n.name,
                deleted=n.deleted,
                distance=result.distances.get(n.id, 0),
                stale=stale.is_stale(n),
                **extras(n.props, LineageNodeOut),
            )
            for n in result.nodes
        ],
        edges=[edge_out(e) for e in result.edges],
        truncated=result.truncated,
        truncated_by=list(result.truncated_by),
        max_nodes=cap.max_nodes,
        server_max_nodes=cap.server_max_nodes,
        columns=[column_node_out(c, datasets, stale) for c in columns.columns] if columns else [],
        column_edges=[column_edge_out(e) for e in columns.edges] if columns else [],
    )


def column_lineage_out(answer: ColumnLineageResult, cap: NodeCap, stale: StaleRule) -> ColumnLineageOut:
    """The wire shape of a column lineage answer."""
    result = answer.lineage
    return ColumnLineageOut(
        nodes=[column_node_out(n, answer.datasets, stale, result.distances.get(n.id)) for n in result.nodes],
        edges=[column_edge_out(e) for e in result.edges],
        truncated=result.truncated,
        truncated_by=list(result.truncated_by),
        max_nodes=cap.max_nodes,
        server_max_nodes=cap.server_max_nodes,
    )


def column_node_out(
    view: NodeView, datasets: Mapping[str, NodeView], stale: StaleRule, distance: int | None = None
) -> ColumnNodeOut:
    """A column (or dataset) of a column lineage answer; ``datasets``: views by key, for names.

    A column is as deleted and as stale as its dataset (columns are seen with their dataset)."""
    dataset_key = str(view.props.get("dataset") or view.id)
    dataset = datasets.get(dataset_key)
    return ColumnNodeOut(
        id=view.id,
        type=view.type,
        dataset=dataset_key,
        namespace=view.namespace,
        dataset_name=dataset.name if dataset is not None else None,
        name=view.name,
        field_type=_opt(view.props.get("type")) if view.type == "column" else None,
        description=_opt(view.props.get("description")),
        deleted=dataset.deleted if dataset is not None else view.deleted,
        stale=stale.is_stale(dataset if dataset is not None else view),
        distance=distance,
    )


def column_edge_out(edge: EdgeView) -> ColumnEdgeOut:
    """A column edge with its transformations (descriptions included when the producer sent them)."""
    jobs = edge.props.get("jobs")
    return ColumnEdgeOut(
        source=edge.source,
        target=edge.target,
        type=edge.type,
        transformations=[TransformationOut(**t) for t in transformations_of(edge.props)],
        masking=edge.props.get("masking") is True,
        jobs=[str(j) for j in jobs] if isinstance(jobs, list) else [],
        first_seen_at=_opt(edge.props.get("firstSeenAt")),
        last_seen_at=_opt(edge.props.get("lastSeenAt")),
    )


def transformations_of(props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Transformations of a column edge: ``transformationDetails`` parsed, else (a graph written
    before they were kept) built from the ``TYPE/SUBTYPE`` names."""
    details = props.get("transformationDetails")
    if isinstance(details, list) and details:
        return [orjson.loads(d) for d in details]
    names = props.get("transformations")
    out = []
    for name in names if isinstance(names, list) else ():
        kind, _, subtype = str(name).partition("/")
        out.append({"type": kind, "subtype": subtype or None, "description": None, "masking": False})
    return out


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)
