"""Query routes: lineage, impact, and listings of namespaces, datasets, jobs and runs.

Every route needs the ``read`` role. Parameters and JSON fields are camelCase on the wire
(the OpenLineage/Marquez style). Bad input raises :class:`~olgraph.query.InvalidParameter`
(400) and an unknown node, run or dataset :class:`~olgraph.query.UnknownReference` (404);
both name the parameter at fault, and the app's one error table turns them into responses.

Path parameters use ``{name:path}`` because namespaces (``gs://bucket``) and names contain
``/``; when a name itself contains ``/jobs/`` the query-parameter forms
(``/jobs/runs?nodeId=…``) are the unambiguous ones.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from olgraph.api.auth import get_runtime, require_role
from olgraph.api.errors import error_responses
from olgraph.errors import InvalidQuery, NotFound
from olgraph.keys import normalize_run_id
from olgraph.query.impact import (
    IMPACT_FORMATS,
    affected_row,
    read_impact,
    render_csv,
    render_ndjson,
    summarize,
)
from olgraph.query.lineage import QueryLimits, check_page, read_lineage
from olgraph.query.nodes import get_node_or_404, resolve_dataset_key, resolve_job_key, resolve_node_key
from olgraph.runtime import Runtime
from olgraph.store.base import (
    DatasetView,
    EdgeView,
    NodeView,
    Page,
    RunView,
    StartSource,
    Truncation,
    VersionRef,
    VersionView,
)

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
NodeIdParam = Annotated[
    str | None, Query(alias="nodeId", description="e.g. dataset:postgres://db:5432:public.orders")
]
TypeParam = Annotated[
    str | None, Query(alias="type", description="dataset, model or job (with namespace, name)")
]
NamespaceParam = Annotated[str | None, Query(description="namespace (with type and name, instead of nodeId)")]
NameParam = Annotated[str | None, Query(description="name (with type and namespace, instead of nodeId)")]
DepthParam = Annotated[int | None, Query(description="hops to follow (default and cap: server settings)")]
ImpactDepthParam = Annotated[
    int | None, Query(description="hops to follow (default: all of them; cap: server settings)")
]
LimitParam = Annotated[int | None, Query(description="page size (default and cap: server settings)")]
OffsetParam = Annotated[int | None, Query(description="items to skip")]

T = TypeVar("T")

router = APIRouter(
    prefix="/api/v1",
    tags=["query"],
    dependencies=[Depends(require_role("read"))],
    responses=error_responses(
        e400="A parameter is invalid (`field` names it)",
        e401="Missing or unknown API key",
        e403="The API key lacks the `read` role",
        e404="The node, job, run or dataset named does not exist",
    ),
)


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
    "`nodes` (the server's node cap)"
)


class LineageNodeOut(NodeOut):
    """A node of a lineage answer, with its distance from the start node."""

    distance: int


class LineageOut(WireModel):
    """The lineage subgraph around ``nodes[0]``."""

    nodes: list[LineageNodeOut]
    edges: list[EdgeOut]
    truncated: bool
    truncated_by: list[Truncation] = TRUNCATED_BY


class AffectedOut(WireModel):
    """One live node downstream of the impact root."""

    id: str
    type: str
    namespace: str
    name: str
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


class VersionOut(WireModel):
    """One dataset version; its statistics (``rowCount``…) appear as extra fields."""

    model_config = ConfigDict(extra="allow")
    id: str
    version: str
    created_at: str | None
    run_id: str | None
    implicit: bool


class DatasetOut(NodeOut):
    """One dataset or model with its facets, fields, owners, tags and versions (newest first)."""

    facets: dict[str, Any]
    fields: list[str]
    owners: list[str]
    tags: list[str]
    versions: list[VersionOut]


class PageOut(WireModel, Generic[T]):
    """One page of a listing; ``total`` counts every match."""

    items: list[T]
    total: int
    limit: int
    offset: int


def _extras(props: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """Properties that do not collide with the model's own fields (those win)."""
    reserved = {f.alias or n for n, f in model.model_fields.items()} | set(model.model_fields)
    return {k: v for k, v in props.items() if k not in reserved}


def node_out(node: NodeView) -> NodeOut:
    """The wire shape of a node."""
    return NodeOut(
        id=node.id,
        type=node.type,
        namespace=node.namespace,
        name=node.name,
        deleted=node.deleted,
        **_extras(node.props, NodeOut),
    )


def edge_out(edge: EdgeView) -> EdgeOut:
    """The wire shape of an edge."""
    return EdgeOut(source=edge.source, target=edge.target, type=edge.type, **_extras(edge.props, EdgeOut))


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
        inputs=[_ref_out(r) for r in run.inputs],
        outputs=[_ref_out(r) for r in run.outputs],
        facets=run.facets,
    )


def _ref_out(ref: VersionRef) -> VersionRefOut:
    return VersionRefOut(dataset=ref.dataset, version=ref.version, version_id=ref.version_id)


def _version_out(version: VersionView) -> VersionOut:
    return VersionOut(
        id=version.id,
        version=version.version,
        created_at=version.created_at,
        run_id=version.run_id,
        implicit=version.implicit,
        **_extras(version.props, VersionOut),
    )


def dataset_out(view: DatasetView) -> DatasetOut:
    """The wire shape of a dataset with its details."""
    node = view.node
    return DatasetOut(
        id=node.id,
        type=node.type,
        namespace=node.namespace,
        name=node.name,
        deleted=node.deleted,
        facets=view.facets,
        fields=view.fields,
        owners=view.owners,
        tags=view.tags,
        versions=[_version_out(v) for v in view.versions],
        **_extras(node.props, DatasetOut),
    )


def _limits(runtime: Runtime) -> QueryLimits:
    return QueryLimits.of(runtime.settings.query)


@router.get("/lineage", response_model=LineageOut)
async def get_lineage(
    runtime: RuntimeDep,
    *,
    node_id: NodeIdParam = None,
    node_type: TypeParam = None,
    namespace: NamespaceParam = None,
    name: NameParam = None,
    direction: Annotated[str | None, Query(description="upstream, downstream or both (default)")] = None,
    depth: DepthParam = None,
    include_deleted: Annotated[bool, Query(alias="includeDeleted")] = False,
) -> LineageOut:
    """Nodes and edges around a job or dataset, up to ``depth`` hops in ``direction``."""
    key = resolve_node_key(node_id, node_type, namespace, name)
    result = await read_lineage(
        runtime.store,
        key,
        direction=direction,
        depth=depth,
        limits=_limits(runtime),
        include_deleted=include_deleted,
    )
    return LineageOut(
        nodes=[
            LineageNodeOut(**node_out(n).model_dump(), distance=result.distances.get(n.id, 0))
            for n in result.nodes
        ],
        edges=[edge_out(e) for e in result.edges],
        truncated=result.truncated,
        truncated_by=list(result.truncated_by),
    )


@router.get(
    "/impact",
    response_model=ImpactOut,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
async def get_impact(
    runtime: RuntimeDep,
    *,
    node_id: NodeIdParam = None,
    node_type: TypeParam = None,
    namespace: NamespaceParam = None,
    name: NameParam = None,
    depth: ImpactDepthParam = None,
    fmt: Annotated[str | None, Query(alias="format", description="json (default), csv or ndjson")] = None,
) -> ImpactOut | Response:
    """Every live dataset, model and job downstream of a node, with a summary.

    Without ``depth`` every live transitive dependent is listed, bounded only by the node cap;
    ``truncated`` says whether any limit cut the answer. ``csv`` and ``ndjson`` give one
    row/line per affected node; their ``X-Olgraph-Truncated`` header says the same.
    """
    fmt = fmt or "json"
    if fmt not in IMPACT_FORMATS:
        raise InvalidQuery(f"must be one of {', '.join(IMPACT_FORMATS)}, got {fmt!r}", field="format")
    key = resolve_node_key(node_id, node_type, namespace, name)
    result = await read_impact(runtime.store, key, depth, _limits(runtime))
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
    )


def _page_out(page: Page, items: list[T], limit: int, offset: int) -> PageOut[T]:
    return PageOut[T](items=items, total=page.total, limit=limit, offset=offset)


@router.get("/namespaces", response_model=PageOut[NamespaceOut])
async def list_namespaces(
    runtime: RuntimeDep, limit: LimitParam = None, offset: OffsetParam = None
) -> PageOut[NamespaceOut]:
    """Every namespace, sorted by name."""
    size, start = check_page(limit, offset, _limits(runtime))
    page = await runtime.store.list_namespaces(size, start)
    return _page_out(page, [NamespaceOut(name=n) for n in page.items], size, start)


@router.get("/namespaces/{namespace:path}/datasets", response_model=PageOut[NodeOut])
async def list_datasets(
    runtime: RuntimeDep, namespace: str, limit: LimitParam = None, offset: OffsetParam = None
) -> PageOut[NodeOut]:
    """Datasets and models of a namespace, sorted by name."""
    size, start = check_page(limit, offset, _limits(runtime))
    page = await runtime.store.list_datasets(namespace, size, start)
    return _page_out(page, [node_out(n) for n in page.items], size, start)


@router.get("/namespaces/{namespace:path}/jobs/{name:path}/runs", response_model=PageOut[RunOut])
async def list_job_runs_by_path(
    runtime: RuntimeDep, namespace: str, name: str, limit: LimitParam = None, offset: OffsetParam = None
) -> PageOut[RunOut]:
    """Runs of the job ``namespace``/``name``, newest first."""
    return await _list_runs(runtime, resolve_job_key(None, namespace, name), limit, offset)


@router.get("/namespaces/{namespace:path}/jobs", response_model=PageOut[NodeOut])
async def list_jobs(
    runtime: RuntimeDep, namespace: str, limit: LimitParam = None, offset: OffsetParam = None
) -> PageOut[NodeOut]:
    """Jobs of a namespace, sorted by name."""
    size, start = check_page(limit, offset, _limits(runtime))
    page = await runtime.store.list_jobs(namespace, size, start)
    return _page_out(page, [node_out(n) for n in page.items], size, start)


@router.get("/jobs/runs", response_model=PageOut[RunOut])
async def list_job_runs(
    runtime: RuntimeDep,
    *,
    node_id: NodeIdParam = None,
    namespace: NamespaceParam = None,
    name: NameParam = None,
    limit: LimitParam = None,
    offset: OffsetParam = None,
) -> PageOut[RunOut]:
    """Runs of a job (``nodeId=job:…`` or namespace + name), newest first."""
    return await _list_runs(runtime, resolve_job_key(node_id, namespace, name), limit, offset)


async def _list_runs(runtime: Runtime, key: str, limit: int | None, offset: int | None) -> PageOut[RunOut]:
    size, start = check_page(limit, offset, _limits(runtime))
    await get_node_or_404(runtime.store, key)
    page = await runtime.store.list_runs(key, size, start)
    return _page_out(page, [run_out(r) for r in page.items], size, start)


@router.get("/runs/{runId}", response_model=RunOut)
async def get_run(runtime: RuntimeDep, run_id: Annotated[str, Path(alias="runId")]) -> RunOut:
    """One run by its OpenLineage runId."""
    run = await runtime.store.get_run(normalize_run_id(run_id))
    if run is None:
        raise NotFound(f"run {run_id!r} was not found", field="runId")
    return run_out(run)


@router.get("/datasets", response_model=DatasetOut)
async def get_dataset(
    runtime: RuntimeDep, node_id: NodeIdParam = None, namespace: NamespaceParam = None, name: NameParam = None
) -> DatasetOut:
    """One dataset (``nodeId=dataset:…`` or namespace + name) with its versions and details."""
    key = resolve_dataset_key(node_id, namespace, name)
    view = await runtime.store.get_dataset(key)
    if view is None:
        raise NotFound(f"dataset {key!r} was not found", field="nodeId")
    return dataset_out(view)
