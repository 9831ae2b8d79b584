"""Catalog routes: namespaces, datasets, jobs and runs — listings and details.

Every route needs the ``read`` role. Path parameters use ``{name:path}`` because namespaces
(``gs://bucket``) and names contain ``/``; when a name itself contains ``/jobs/`` the
query-parameter forms (``/jobs/runs?nodeId=…``) are the unambiguous ones.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from olgraph.api.auth import require_role
from olgraph.api.errors import error_responses
from olgraph.api.params import (
    LimitParam,
    NameParam,
    NamespaceParam,
    NodeIdParam,
    OffsetParam,
    RuntimeDep,
    limits_of,
)
from olgraph.api.wire import (
    DatasetOut,
    NamespaceOut,
    NodeOut,
    PageOut,
    RunOut,
    dataset_out,
    node_out,
    page_out,
    run_out,
)
from olgraph.errors import NotFound
from olgraph.keys import normalize_run_id
from olgraph.query.lineage import check_page
from olgraph.query.nodes import get_node_or_404, resolve_dataset_key, resolve_job_key
from olgraph.runtime import Runtime

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


@router.get("/namespaces", response_model=PageOut[NamespaceOut])
async def list_namespaces(
    runtime: RuntimeDep, limit: LimitParam = None, offset: OffsetParam = None
) -> PageOut[NamespaceOut]:
    """Every namespace, sorted by name."""
    size, start = check_page(limit, offset, limits_of(runtime))
    page = await runtime.store.list_namespaces(size, start)
    return page_out(page, [NamespaceOut(name=n) for n in page.items], size, start)


@router.get("/namespaces/{namespace:path}/datasets", response_model=PageOut[NodeOut])
async def list_datasets(
    runtime: RuntimeDep, namespace: str, limit: LimitParam = None, offset: OffsetParam = None
) -> PageOut[NodeOut]:
    """Datasets and models of a namespace, sorted by name."""
    size, start = check_page(limit, offset, limits_of(runtime))
    page = await runtime.store.list_datasets(namespace, size, start)
    return page_out(page, [node_out(n) for n in page.items], size, start)


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
    size, start = check_page(limit, offset, limits_of(runtime))
    page = await runtime.store.list_jobs(namespace, size, start)
    return page_out(page, [node_out(n) for n in page.items], size, start)


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
    size, start = check_page(limit, offset, limits_of(runtime))
    await get_node_or_404(runtime.store, key)
    page = await runtime.store.list_runs(key, size, start)
    return page_out(page, [run_out(r) for r in page.items], size, start)


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
