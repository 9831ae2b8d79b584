"""Marquez's namespaces, datasets, dataset versions, jobs, runs and tags routes.

Reads need the ``read`` role, deletes ``admin`` (audit-logged; Marquez deletes whatever
depends on the node, so these pass olgraph's ``force``). Path parameters are single segments
as Marquez's clients encode them (:mod:`olgraph.api.marquez.paths`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from olgraph.api.auth import Principal, require_role
from olgraph.api.marquez import reads, shapes
from olgraph.api.marquez.paths import segment
from olgraph.api.params import RuntimeDep, limits_of
from olgraph.errors import InvalidQuery, NotFound
from olgraph.query.admin import delete_namespace, delete_node
from olgraph.runtime import Runtime
from olgraph.store.detail_views import JobView
from olgraph.store.listing import NodeFilter, Window

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_role("read"))])
admin_router = APIRouter(prefix="/api/v1")

AdminDep = Annotated[Principal, Depends(require_role("admin"))]
Limit = Annotated[int, Query()]
Offset = Annotated[int, Query()]
Json = dict[str, Any]
JOB_SCAN_LIMIT = 10_000
"""Most jobs ``/jobs?lastRunStates=`` looks through for matches (keeps the answer bounded)."""


# ---------------------------------------------------------------- namespaces


@router.get("/namespaces")
async def list_namespaces(runtime: RuntimeDep, limit: Limit = 100, offset: Offset = 0) -> Json:
    """Every namespace, by name: ``{"namespaces": [...]}``; deleted ones with ``isHidden``."""
    size, start = reads.check_window(limit, offset)
    if size == 0:
        return {"namespaces": []}
    page = await runtime.store.list_namespaces(size, start, include_deleted=True)  # hidden ones too
    props = await runtime.store.get_namespaces(page.items)
    return {"namespaces": [shapes.namespace_out(n, props.get(n, {})) for n in page.items]}


@router.get("/namespaces/{namespace}")
async def get_namespace(runtime: RuntimeDep, namespace: str) -> Json:
    """One namespace."""
    name = segment(namespace)
    return shapes.namespace_out(name, await reads.namespace_or_404(runtime.store, name))


@admin_router.delete("/namespaces/{namespace}")
async def delete_namespace_route(runtime: RuntimeDep, principal: AdminDep, namespace: str) -> Json:
    """Soft-delete a namespace with its datasets and jobs; answers the namespace as it was."""
    name = segment(namespace)
    before = shapes.namespace_out(name, await reads.namespace_or_404(runtime.store, name))
    await delete_namespace(runtime.store, name, force=True, purge=False, by=principal.name)
    return before


# ---------------------------------------------------------------- datasets


@router.get("/namespaces/{namespace}/datasets")
async def list_datasets(runtime: RuntimeDep, namespace: str, limit: Limit = 100, offset: Offset = 0) -> Json:
    """Live datasets of a namespace by name, with ``totalCount``."""
    name = segment(namespace)
    size, start = reads.check_window(limit, offset)
    await reads.namespace_or_404(runtime.store, name)
    page = await runtime.store.list_nodes(NodeFilter("dataset", name), Window(max(size, 1), start))
    details = await reads.dataset_details(runtime.store, page.items[:size])
    cap = runtime.settings.query.max_nodes
    datasets = await asyncio.gather(*(reads.dataset_json(runtime.store, d, cap) for d in details))
    return {"totalCount": page.total, "datasets": list(datasets)}


@router.get("/namespaces/{namespace}/datasets/{dataset}")
async def get_dataset(runtime: RuntimeDep, namespace: str, dataset: str) -> Json:
    """One dataset."""
    found = await reads.dataset_or_404(runtime.store, segment(namespace), segment(dataset))
    return await reads.dataset_json(runtime.store, found, runtime.settings.query.max_nodes)


async def _soft_delete(runtime: Runtime, principal: Principal, node_id: str) -> None:
    """Marquez's DELETE: a soft delete, audit-logged, never refused for live dependents (forced)."""
    await delete_node(
        runtime.store, node_id, force=True, purge=False, by=principal.name, limits=limits_of(runtime)
    )


@admin_router.delete("/namespaces/{namespace}/datasets/{dataset}")
async def delete_dataset(runtime: RuntimeDep, principal: AdminDep, namespace: str, dataset: str) -> Json:
    """Soft-delete a dataset (an event naming it again revives it); answers it as it was."""
    found = await reads.dataset_or_404(runtime.store, segment(namespace), segment(dataset))
    before = await reads.dataset_json(runtime.store, found, runtime.settings.query.max_nodes)
    await _soft_delete(runtime, principal, found.node.id)
    return before


@router.get("/namespaces/{namespace}/datasets/{dataset}/versions")
async def list_dataset_versions(
    runtime: RuntimeDep, namespace: str, dataset: str, limit: Limit = 100, offset: Offset = 0
) -> Json:
    """A dataset's versions, newest first, each with the run that wrote it."""
    size, start = reads.check_window(limit, offset)
    found = await reads.dataset_or_404(runtime.store, segment(namespace), segment(dataset))
    page = await runtime.store.list_versions(found.node.id, max(size, 1), start)
    versions = page.items[:size]
    runs = await reads.runs_json(runtime.store, [v.run_id for v in versions if v.run_id])
    by_run = {run["id"]: run for run in runs}
    return {
        "versions": [
            shapes.dataset_version_out(found, v, by_run.get(v.run_id or ""), found.facets) for v in versions
        ],
        "totalCount": page.total,
    }


@router.get("/namespaces/{namespace}/datasets/{dataset}/versions/{version}")
async def get_dataset_version(runtime: RuntimeDep, namespace: str, dataset: str, version: str) -> Json:
    """One version of a dataset (its ``version`` string, as the listing gives it)."""
    found = await reads.dataset_or_404(runtime.store, segment(namespace), segment(dataset))
    wanted = segment(version)
    detail = await runtime.store.get_version(found.node.id, wanted)
    if detail is None:
        raise NotFound(f"Dataset version '{wanted}' not found.")
    run_id = detail.version.run_id
    runs = await reads.runs_json(runtime.store, [run_id] if run_id else [])
    return shapes.dataset_version_out(found, detail.version, runs[0] if runs else None, found.facets)


# ---------------------------------------------------------------- jobs


def _run_states(values: list[str]) -> set[str] | None:
    states: set[str] = set()
    for value in values:
        for part in value.split(","):
            state = part.strip().upper()
            if state and state not in shapes.MARQUEZ_RUN_STATES:
                allowed = ", ".join(shapes.MARQUEZ_RUN_STATES)
                raise InvalidQuery(f"lastRunStates: {part!r} is not one of {allowed}")
            states.add(state)
    states.discard("")
    return states or None


async def _jobs_page(
    runtime: RuntimeDep, namespace: str | None, limit: int, offset: int, states: list[str]
) -> Json:
    size, start = reads.check_window(limit, offset)
    wanted = _run_states(states)
    flt = NodeFilter("job", namespace)
    store = runtime.store
    if wanted is None:
        page = await store.list_nodes(flt, Window(max(size, 1), start))
        jobs, total = await reads.job_details(store, page.items[:size]), page.total
    else:  # Marquez filters on the state of each job's latest run, then pages
        jobs, total = await _jobs_in_states(runtime, flt, wanted, size, start)
    answers = await asyncio.gather(*(reads.job_json(store, job) for job in jobs))
    return {"totalCount": total, "jobs": list(answers)}


async def _jobs_in_states(
    runtime: RuntimeDep, flt: NodeFilter, wanted: set[str], size: int, start: int
) -> tuple[list[JobView], int]:
    store, after, scanned, total = runtime.store, None, 0, 0
    matched: list[JobView] = []
    while len(matched) < start + size and scanned < JOB_SCAN_LIMIT:
        page = await store.list_nodes(flt, Window(100, 0, after))
        total = page.total
        details = await reads.job_details(store, page.items)
        for job in details:
            state = shapes.run_state(job.latest_run.state) if job.latest_run else None
            if state is None or state in wanted:
                matched.append(job)
        scanned += len(page.items)
        if len(page.items) < 100:
            break
        after = (page.items[-1].name, page.items[-1].id)
    return matched[start : start + size], total


@router.get("/jobs")
async def list_all_jobs(
    runtime: RuntimeDep,
    limit: Limit = 100,
    offset: Offset = 0,
    last_run_states: Annotated[list[str], Query(alias="lastRunStates")] = [],  # noqa: B006
) -> Json:
    """Jobs of every namespace, optionally only those whose latest run is in ``lastRunStates``."""
    return await _jobs_page(runtime, None, limit, offset, last_run_states)


@router.get("/namespaces/{namespace}/jobs")
async def list_jobs(
    runtime: RuntimeDep,
    namespace: str,
    limit: Limit = 100,
    offset: Offset = 0,
    last_run_states: Annotated[list[str], Query(alias="lastRunStates")] = [],  # noqa: B006
) -> Json:
    """Jobs of a namespace."""
    name = segment(namespace)
    await reads.namespace_or_404(runtime.store, name)
    return await _jobs_page(runtime, name, limit, offset, last_run_states)


@router.get("/namespaces/{namespace}/jobs/{job}")
async def get_job(runtime: RuntimeDep, namespace: str, job: str) -> Json:
    """One job with its latest runs."""
    found = await reads.job_or_404(runtime.store, segment(namespace), segment(job))
    return await reads.job_json(runtime.store, found)


@admin_router.delete("/namespaces/{namespace}/jobs/{job}")
async def delete_job(runtime: RuntimeDep, principal: AdminDep, namespace: str, job: str) -> Json:
    """Soft-delete a job (an event naming it again revives it); answers it as it was."""
    found = await reads.job_or_404(runtime.store, segment(namespace), segment(job))
    before = await reads.job_json(runtime.store, found)
    await _soft_delete(runtime, principal, found.node.id)
    return before


@router.get("/namespaces/{namespace}/jobs/{job}/runs")
async def list_runs(
    runtime: RuntimeDep, namespace: str, job: str, limit: Limit = 100, offset: Offset = 0
) -> Json:
    """A job's runs, newest first, with ``totalCount``."""
    size, start = reads.check_window(limit, offset)
    found = await reads.job_or_404(runtime.store, segment(namespace), segment(job))
    page = await runtime.store.list_runs(found.node.id, max(size, 1), start)
    runs = await reads.runs_json(runtime.store, [r.run_id for r in page.items[:size]])
    return {"runs": runs, "totalCount": page.total}


# ---------------------------------------------------------------- runs


@router.get("/jobs/runs/{run_id}")
async def get_run(runtime: RuntimeDep, run_id: str) -> Json:
    """One run, with the facets of each of its reads and writes."""
    detail = await reads.run_or_404(runtime.store, segment(run_id))
    return (await reads.runs_json(runtime.store, [detail.run.run_id]))[0]


@router.get("/jobs/runs/{run_id}/facets")
async def get_run_facets(
    runtime: RuntimeDep, run_id: str, facet_type: Annotated[str | None, Query(alias="type")] = None
) -> Json:
    """The run's facets (``type=run``) or its job's (``type=job``): ``{runId, facets}``."""
    if facet_type is None or facet_type.lower() not in ("run", "job", "dataset"):
        raise InvalidQuery("query param type must be one of run, job, dataset")
    detail = await reads.run_or_404(runtime.store, segment(run_id))
    facets: Json = {}
    if facet_type.lower() == "run":
        facets = dict(detail.run.facets)
    elif facet_type.lower() == "job" and detail.run.job:
        job = await runtime.store.get_job(detail.run.job)
        facets = dict(job.facets) if job is not None else {}
    return {"runId": detail.run.run_id, "facets": facets}


# ---------------------------------------------------------------- tags


@router.get("/tags")
async def list_tags(runtime: RuntimeDep, limit: Limit = 100, offset: Offset = 0) -> Json:
    """Every tag on a dataset, column or job (OpenLineage ``tags`` facets), by name."""
    size, start = reads.check_window(limit, offset)
    page = await runtime.store.list_tags(max(size, 1), start)
    names = sorted({shapes.tag_name(t.key, t.value) for t in page.items[:size]})
    return {"tags": [{"name": n, "description": None} for n in names]}
