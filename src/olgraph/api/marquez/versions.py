"""Marquez's job versions, upstream run lineage and sources, answered from olgraph's graph.

olgraph keeps no job versions of its own: a job has one version here, whose id is the stable
UUID ``currentVersion`` already gives (derived from the job's name), with the job's inputs,
outputs and latest run. Upstream run lineage follows olgraph's dataset versions, whose ids name
the run that wrote them (``run:<id>``): the runs that wrote what a run read, and so on up.
Sources: Marquez groups datasets by the ``dataSource`` facet's name, else ``default``; olgraph
answers the ``default`` source.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from olgraph.api.auth import require_role
from olgraph.api.marquez import reads, shapes
from olgraph.api.marquez.paths import segment
from olgraph.api.params import RuntimeDep
from olgraph.errors import InvalidQuery, NotFound
from olgraph.store.base import GraphStore
from olgraph.store.detail_views import JobView, RunDetail

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_role("read"))])
Json = dict[str, Any]
DEFAULT_DEPTH = 20
RUN_PREFIX = "run:"


def version_out(job: JobView, latest_run: Json | None) -> Json:
    """A JobVersion: the job's one version."""
    data = shapes.job_out(job, [latest_run] if latest_run else None)
    version = data["currentVersion"]
    return {
        "id": shapes.version_id(job.node.namespace, data["name"], version),
        "name": data["name"],
        "version": version,
        "createdAt": data["createdAt"],
        "updatedAt": data["updatedAt"],
        "namespace": job.node.namespace,
        "location": data["location"],
        "inputs": data["inputs"],
        "outputs": data["outputs"],
        "latestRun": latest_run,
        "facets": data["facets"],
    }


@router.get("/namespaces/{namespace}/jobs/{job}/versions")
async def list_job_versions(runtime: RuntimeDep, namespace: str, job: str) -> Json:
    """A job's versions (one), with ``totalCount``."""
    found = await reads.job_or_404(runtime.store, segment(namespace), segment(job))
    runs = await reads.latest_runs(runtime.store, found.node.id, 1)
    return {"versions": [version_out(found, runs[0] if runs else None)], "totalCount": 1}


@router.get("/namespaces/{namespace}/jobs/{job}/versions/{version}")
async def get_job_version(runtime: RuntimeDep, namespace: str, job: str, version: str) -> Json:
    """One version of a job, by the id its listing gives."""
    found = await reads.job_or_404(runtime.store, segment(namespace), segment(job))
    runs = await reads.latest_runs(runtime.store, found.node.id, 1)
    out = version_out(found, runs[0] if runs else None)
    if out["version"] != segment(version):
        raise NotFound(f"Job version '{segment(version)}' not found.")
    return out


@router.get("/runlineage/upstream")
async def upstream_run_lineage(
    runtime: RuntimeDep,
    run_id: Annotated[str | None, Query(alias="runId")] = None,
    depth: int = DEFAULT_DEPTH,
) -> Json:
    """The run, then the runs that wrote what it read, ``depth`` steps up, breadth first."""
    if not run_id:
        raise InvalidQuery("query param runId must not be null")
    if depth < 0:
        raise InvalidQuery("query param depth must be greater than or equal to 0")
    steps = min(depth, runtime.settings.query.max_depth)
    first = await reads.run_or_404(runtime.store, run_id)
    seen, level, out = {first.run.run_id}, [first], []
    for step in range(steps + 1):
        out += [await _run_entry(runtime.store, detail) for detail in level]
        if step == steps:
            break
        level = await _writers(runtime.store, level, seen)
    return {"runs": out}


async def _writers(store: GraphStore, runs: list[RunDetail], seen: set[str]) -> list[RunDetail]:
    """The runs, not yet ``seen``, that wrote the dataset versions ``runs`` read."""
    wanted = sorted(
        {
            io.ref.version.removeprefix(RUN_PREFIX)
            for detail in runs
            for io in detail.inputs
            if io.ref.version.startswith(RUN_PREFIX)
        }
        - seen
    )
    seen.update(wanted)
    found = [await store.get_run_detail(run_id) for run_id in wanted]
    return [detail for detail in found if detail is not None]


async def _run_entry(store: GraphStore, detail: RunDetail) -> Json:
    run = detail.run
    names = await reads.dataset_names(store, [io.ref.dataset for io in detail.inputs])
    jobs = await reads.job_names(store, [run.job] if run.job else [])
    namespace, name = jobs.get(run.job or "", ("", ""))
    return {
        "job": {
            "namespace": namespace,
            "name": name,
            "version": shapes.stand_in_uuid(f"jobVersion:{namespace}:{name}"),
        },
        "run": {
            "id": run.run_id,
            "start": shapes.instant(run.started_at),
            "end": shapes.instant(run.ended_at),
            "status": shapes.run_state(run.state),
        },
        "inputs": [
            shapes.version_id(*names.get(io.ref.dataset, ("", io.ref.dataset)), io.ref.version)
            for io in detail.inputs
        ],
    }


# ---------------------------------------------------------------- sources


def _default_source() -> Json:
    return {
        "type": "POSTGRESQL",
        "name": shapes.DEFAULT_SOURCE,
        "createdAt": None,
        "updatedAt": None,
        "connectionUrl": None,
        "description": None,
    }


@router.get("/sources")
async def list_sources(runtime: RuntimeDep, limit: int = 100, offset: int = 0) -> Json:
    """The sources (``default``)."""
    size, start = reads.check_window(limit, offset)
    del runtime
    return {"sources": [_default_source()][start : start + size]}


@router.get("/sources/{source}")
async def get_source(runtime: RuntimeDep, source: str) -> Json:
    """One source; only ``default`` exists."""
    del runtime
    if segment(source) != shapes.DEFAULT_SOURCE:
        raise NotFound(f"Source '{segment(source)}' not found.")
    return _default_source()
