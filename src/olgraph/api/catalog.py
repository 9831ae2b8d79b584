"""Catalog routes: namespaces, datasets, models, jobs, runs, versions and tags — listings and details.

Every route needs the ``read`` role. Path parameters use ``{name:path}`` because namespaces
(``gs://bucket``) and names contain ``/``; the query-parameter forms (``/jobs?nodeId=…``,
``/runs?runId=…``) are the unambiguous ones (a name may contain ``/jobs/``, a run id ``/``).
Listings page by ``offset`` or by ``cursor`` (the previous page's ``nextCursor``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from olgraph.api.auth import require_role
from olgraph.api.detail_wire import (
    ChangedColumnOut,
    ColumnTypeOut,
    DatasetOut,
    DiffOut,
    JobOut,
    RunDetailOut,
    RunSummaryOut,
    TagCountOut,
    VersionDetailOut,
    VersionOut,
    dataset_out,
    job_out,
    run_detail_out,
    summary_out,
    tag_count_out,
    version_detail_out,
    version_out,
)
from olgraph.api.errors import error_responses
from olgraph.api.params import (
    CursorParam,
    IncludeDeletedParam,
    LimitParam,
    NameParam,
    NamespaceParam,
    NodeIdParam,
    OffsetParam,
    RuntimeDep,
    limits_of,
)
from olgraph.api.wire import NamespaceOut, NodeOut, PageOut, RunOut, node_out, page_out, run_out
from olgraph.errors import NotFound
from olgraph.query.catalog import (
    SORTS,
    check_state,
    diff_versions,
    list_order,
    listing,
    next_cursor,
    node_filter,
    node_positions,
    version_or_404,
)
from olgraph.query.lineage import check_page
from olgraph.query.nodes import get_node_or_404, resolve_dataset_key, resolve_job_key
from olgraph.runtime import Runtime
from olgraph.store.listing import ListKind

router = APIRouter(
    prefix="/api/v1",
    tags=["query"],
    dependencies=[Depends(require_role("read"))],
    responses=error_responses(
        e400="A parameter is invalid (`field` names it)",
        e401="Missing or unknown API key",
        e403="The API key lacks the `read` role",
        e404="The node, job, run, dataset or version named does not exist",
    ),
)

OwnerParam = Annotated[str | None, Query(description="only nodes this owner owns (e.g. team:data)")]
TagParam = Annotated[
    str | None, Query(description="only nodes with this tag: key=value, or key for any value")
]
DatasetTypeParam = Annotated[str | None, Query(alias="type", description="dataset or model (default: both)")]
JobTypeParam = Annotated[
    str | None,
    Query(alias="jobType", description="only jobs of this jobType facet value (e.g. WORKLOAD, QUERY, DAG)"),
]
SortParam = Annotated[
    str | None,
    Query(
        description=(
            "the order: name (default), -name, lastSeen, -lastSeen (newest first); ties by node id, "
            "nodes never seen last in both directions"
        ),
        json_schema_extra={"enum": list(SORTS)},
    ),
]
StateParam = Annotated[str | None, Query(description="only runs in this state (COMPLETE, FAIL, …)")]
RunIdPath = Annotated[str, Path(alias="runId")]


# ---------------------------------------------------------------- namespaces


@router.get("/namespaces", response_model=PageOut[NamespaceOut])
async def list_namespaces(
    runtime: RuntimeDep,
    limit: LimitParam = None,
    offset: OffsetParam = None,
    cursor: CursorParam = None,
    include_deleted: IncludeDeletedParam = False,
) -> PageOut[NamespaceOut]:
    """Every namespace, sorted by name."""
    request = listing(
        "namespaces", include_deleted, limit=limit, offset=offset, cursor=cursor, limits=limits_of(runtime)
    )
    window = request.window
    page = await runtime.store.list_namespaces(
        window.limit, window.offset, include_deleted=include_deleted, after=request.name_after
    )
    names = [(n, f"namespace:{n}") for n in page.items]
    return page_out(
        page,
        [NamespaceOut(name=n) for n in page.items],
        window.limit,
        window.offset,
        next_cursor(request, page, names),
    )


# ---------------------------------------------------------------- datasets and jobs: listings


async def _list_nodes(
    runtime: Runtime,
    kind: ListKind,
    *,
    namespace: str | None,
    node_type: str | None,
    owner: str | None,
    tag: str | None,
    include_deleted: bool,
    limit: int | None,
    offset: int | None,
    cursor: str | None,
    job_type: str | None = None,
    sort: str | None = None,
) -> PageOut[NodeOut]:
    order = list_order(sort)
    flt = node_filter(
        kind,
        namespace=namespace,
        node_type=node_type,
        owner=owner,
        tag=tag,
        include_deleted=include_deleted,
        job_type=job_type,
    )
    request = listing(
        f"list:{kind}", flt, limit=limit, offset=offset, cursor=cursor, limits=limits_of(runtime), order=order
    )
    page = await runtime.store.list_nodes(flt, request.window)
    items = [node_out(n) for n in page.items]
    cursor_out = next_cursor(request, page, node_positions(page.items, order))
    return page_out(page, items, request.window.limit, request.window.offset, cursor_out)


@router.get("/list/datasets", response_model=PageOut[NodeOut])
async def list_all_datasets(
    runtime: RuntimeDep,
    *,
    namespace: Annotated[str | None, Query(description="only this namespace")] = None,
    node_type: DatasetTypeParam = None,
    owner: OwnerParam = None,
    tag: TagParam = None,
    include_deleted: IncludeDeletedParam = False,
    limit: LimitParam = None,
    offset: OffsetParam = None,
    cursor: CursorParam = None,
    sort: SortParam = None,
) -> PageOut[NodeOut]:
    """Datasets and models of every namespace (or one), with filters; by name then id, or in
    the order ``sort`` names."""
    return await _list_nodes(
        runtime,
        "dataset",
        namespace=namespace,
        node_type=node_type,
        owner=owner,
        tag=tag,
        include_deleted=include_deleted,
        limit=limit,
        offset=offset,
        cursor=cursor,
        sort=sort,
    )


@router.get("/list/jobs", response_model=PageOut[NodeOut])
async def list_all_jobs(
    runtime: RuntimeDep,
    *,
    namespace: Annotated[str | None, Query(description="only this namespace")] = None,
    owner: OwnerParam = None,
    tag: TagParam = None,
    job_type: JobTypeParam = None,
    include_deleted: IncludeDeletedParam = False,
    limit: LimitParam = None,
    offset: OffsetParam = None,
    cursor: CursorParam = None,
    sort: SortParam = None,
) -> PageOut[NodeOut]:
    """Jobs of every namespace (or one), with filters; by name then id, or in the order
    ``sort`` names."""
    return await _list_nodes(
        runtime,
        "job",
        namespace=namespace,
        node_type=None,
        owner=owner,
        tag=tag,
        include_deleted=include_deleted,
        limit=limit,
        offset=offset,
        cursor=cursor,
        job_type=job_type,
        sort=sort,
    )


@router.get("/list/tags", response_model=PageOut[TagCountOut])
async def list_tags(
    runtime: RuntimeDep, limit: LimitParam = None, offset: OffsetParam = None
) -> PageOut[TagCountOut]:
    """Every tag (``key=value``), with how many datasets and jobs carry it."""
    size, start = check_page(limit, offset, limits_of(runtime))
    page = await runtime.store.list_tags(size, start)
    return page_out(page, [tag_count_out(t) for t in page.items], size, start)


@router.get("/namespaces/{namespace:path}/datasets", response_model=PageOut[NodeOut])
async def list_datasets(
    runtime: RuntimeDep,
    namespace: str,
    *,
    node_type: DatasetTypeParam = None,
    owner: OwnerParam = None,
    tag: TagParam = None,
    include_deleted: IncludeDeletedParam = False,
    limit: LimitParam = None,
    offset: OffsetParam = None,
    cursor: CursorParam = None,
) -> PageOut[NodeOut]:
    """Datasets and models of a namespace, sorted by name."""
    return await _list_nodes(
        runtime,
        "dataset",
        namespace=namespace,
        node_type=node_type,
        owner=owner,
        tag=tag,
        include_deleted=include_deleted,
        limit=limit,
        offset=offset,
        cursor=cursor,
    )


@router.get("/namespaces/{namespace:path}/jobs/{name:path}/runs", response_model=PageOut[RunOut])
async def list_job_runs_by_path(
    runtime: RuntimeDep,
    namespace: str,
    name: str,
    *,
    limit: LimitParam = None,
    offset: OffsetParam = None,
    state: StateParam = None,
) -> PageOut[RunOut]:
    """Runs of the job ``namespace``/``name``, newest first."""
    return await _list_runs(runtime, resolve_job_key(None, namespace, name), limit, offset, state)


@router.get("/namespaces/{namespace:path}/jobs", response_model=PageOut[NodeOut])
async def list_jobs(
    runtime: RuntimeDep,
    namespace: str,
    *,
    owner: OwnerParam = None,
    tag: TagParam = None,
    job_type: JobTypeParam = None,
    include_deleted: IncludeDeletedParam = False,
    limit: LimitParam = None,
    offset: OffsetParam = None,
    cursor: CursorParam = None,
) -> PageOut[NodeOut]:
    """Jobs of a namespace, sorted by name."""
    return await _list_nodes(
        runtime,
        "job",
        namespace=namespace,
        node_type=None,
        owner=owner,
        tag=tag,
        include_deleted=include_deleted,
        limit=limit,
        offset=offset,
        cursor=cursor,
        job_type=job_type,
    )


# ---------------------------------------------------------------- jobs and runs


@router.get("/jobs", response_model=JobOut)
async def get_job(
    runtime: RuntimeDep, node_id: NodeIdParam = None, namespace: NamespaceParam = None, name: NameParam = None
) -> JobOut:
    """One job (``nodeId=job:…`` or namespace + name): facets (SQL, source code, documentation,
    ownership, job type, tags), owners, parent and children, declared and observed inputs and
    outputs, latest run and run statistics."""
    key = resolve_job_key(node_id, namespace, name)
    view = await runtime.store.get_job(key)
    if view is None:
        raise NotFound(f"job {key!r} was not found", field="nodeId")
    return job_out(view)


@router.get("/jobs/runs", response_model=PageOut[RunOut])
async def list_job_runs(
    runtime: RuntimeDep,
    *,
    node_id: NodeIdParam = None,
    namespace: NamespaceParam = None,
    name: NameParam = None,
    limit: LimitParam = None,
    offset: OffsetParam = None,
    state: StateParam = None,
) -> PageOut[RunOut]:
    """Runs of a job (``nodeId=job:…`` or namespace + name), newest first."""
    return await _list_runs(runtime, resolve_job_key(node_id, namespace, name), limit, offset, state)


async def _list_runs(
    runtime: Runtime, key: str, limit: int | None, offset: int | None, state: str | None
) -> PageOut[RunOut]:
    size, start = check_page(limit, offset, limits_of(runtime))
    wanted = check_state(state)
    await get_node_or_404(runtime.store, key)
    page = await runtime.store.list_runs(key, size, start, wanted)
    return page_out(page, [run_out(r) for r in page.items], size, start)


async def _run_detail(runtime: Runtime, run_id: str) -> RunDetailOut:
    detail = await runtime.store.get_run_detail(run_id)
    if detail is None:
        raise NotFound(f"run {run_id!r} was not found", field="runId")
    return run_detail_out(detail)


@router.get("/runs/{runId}", response_model=RunDetailOut)
async def get_run(runtime: RuntimeDep, run_id: RunIdPath) -> RunDetailOut:
    """One run by its OpenLineage runId: state timeline, duration, parent and root, every facet,
    and each input and output with its exact version and that read's or write's facets."""
    return await _run_detail(runtime, run_id)


@router.get("/runs", response_model=RunDetailOut)
async def get_run_by_query(
    runtime: RuntimeDep, run_id: Annotated[str, Query(alias="runId", description="any runId, e.g. with '/'")]
) -> RunDetailOut:
    """The same as ``/runs/{runId}``, for run ids that contain ``/``."""
    return await _run_detail(runtime, run_id)


@router.get("/runs/{runId}/children", response_model=PageOut[RunSummaryOut])
async def list_child_runs(
    runtime: RuntimeDep, run_id: RunIdPath, limit: LimitParam = None, offset: OffsetParam = None
) -> PageOut[RunSummaryOut]:
    """Runs whose parent is this run (an Airflow DAG run's tasks, a workload's executions), newest first."""
    size, start = check_page(limit, offset, limits_of(runtime))
    if await runtime.store.get_run(run_id) is None:
        raise NotFound(f"run {run_id!r} was not found", field="runId")
    page = await runtime.store.list_child_runs(run_id, size, start)
    return page_out(page, [summary_out(r) for r in page.items], size, start)


# ---------------------------------------------------------------- datasets and versions


@router.get("/datasets", response_model=DatasetOut)
async def get_dataset(
    runtime: RuntimeDep, node_id: NodeIdParam = None, namespace: NamespaceParam = None, name: NameParam = None
) -> DatasetOut:
    """One dataset or model (``nodeId=dataset:…`` or namespace + name): current schema, owners,
    tags (field-level too), producers and consumers, latest statistics and quality, newest versions."""
    key = resolve_dataset_key(node_id, namespace, name)
    view = await runtime.store.get_dataset(key)
    if view is None:
        raise NotFound(f"dataset {key!r} was not found", field="nodeId")
    return dataset_out(view)


@router.get("/datasets/versions", response_model=PageOut[VersionOut])
async def list_versions(
    runtime: RuntimeDep,
    *,
    node_id: NodeIdParam = None,
    namespace: NamespaceParam = None,
    name: NameParam = None,
    limit: LimitParam = None,
    offset: OffsetParam = None,
) -> PageOut[VersionOut]:
    """Every version of a dataset, newest first, each with its schema."""
    key = resolve_dataset_key(node_id, namespace, name)
    size, start = check_page(limit, offset, limits_of(runtime))
    await get_node_or_404(runtime.store, key)
    page = await runtime.store.list_versions(key, size, start)
    return page_out(page, [version_out(v) for v in page.items], size, start)


@router.get("/datasets/version", response_model=VersionDetailOut)
async def get_version(
    runtime: RuntimeDep,
    *,
    node_id: NodeIdParam = None,
    namespace: NamespaceParam = None,
    name: NameParam = None,
    version: Annotated[str, Query(description="the version (e.g. 7, or run:{runId})")],
) -> VersionDetailOut:
    """One version and its provenance: the run that wrote it, the versions that run read, and
    the runs that read it ("which dataset versions and run produced model v7", "where was it loaded")."""
    key = resolve_dataset_key(node_id, namespace, name)
    await get_node_or_404(runtime.store, key)
    return version_detail_out(await version_or_404(runtime.store, key, version))


@router.get("/datasets/diff", response_model=DiffOut)
async def diff_dataset_versions(
    runtime: RuntimeDep,
    *,
    node_id: NodeIdParam = None,
    namespace: NamespaceParam = None,
    name: NameParam = None,
    source: Annotated[
        str | None, Query(alias="from", description="older version (default: the one before `to`)")
    ] = None,
    target: Annotated[
        str | None, Query(alias="to", description="newer version (default: the newest)")
    ] = None,
) -> DiffOut:
    """How the schema changed between two versions: columns added, removed, and whose type changed."""
    key = resolve_dataset_key(node_id, namespace, name)
    await get_node_or_404(runtime.store, key)
    diff = await diff_versions(runtime.store, key, source, target)
    return DiffOut(
        dataset=key,
        **{"from": diff.source},
        to=diff.target,
        added=[ColumnTypeOut(name=n, type=t) for n, t in diff.added],
        removed=[ColumnTypeOut(name=n, type=t) for n, t in diff.removed],
        changed=[ChangedColumnOut(name=n, from_type=a, to_type=b) for n, a, b in diff.changed],
    )
