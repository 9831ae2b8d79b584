"""What the Marquez routes ask the store, with Marquez's 404 messages.

Marquez checks the namespace before the dataset or job in it and answers, e.g.,
``Namespace 'x' not found.`` then ``Dataset 'y' not found.``; these helpers do the same.
Several independent store calls of one answer run concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from olgraph import keys
from olgraph.api.marquez import shapes
from olgraph.errors import InvalidQuery, NotFound
from olgraph.normalize.mutations import PropValue
from olgraph.store.base import GraphStore, NodeView
from olgraph.store.detail_views import DatasetDetail, JobView, RunDetail

LATEST_RUNS = 10
"""How many of a job's newest runs a job in a listing carries (as Marquez's ``latestRuns``)."""

MAX_LIMIT = 10_000
"""Largest page any Marquez listing answers (Marquez has no cap; this keeps answers bounded)."""


def check_window(limit: int, offset: int) -> tuple[int, int]:
    """``limit``/``offset`` as Marquez checks them (``>= 0``), bounded by :data:`MAX_LIMIT`."""
    if limit < 0:
        raise InvalidQuery("query param limit must be greater than or equal to 0")
    if offset < 0:
        raise InvalidQuery("query param offset must be greater than or equal to 0")
    return min(limit, MAX_LIMIT), offset


async def namespace_or_404(store: GraphStore, name: str) -> dict[str, PropValue]:
    """The namespace's properties, or Marquez's 404."""
    found = await store.get_namespaces([name])
    if name not in found:
        raise NotFound(f"Namespace '{name}' not found.")
    return found[name]


async def dataset_or_404(store: GraphStore, namespace: str, name: str) -> DatasetDetail:
    """The dataset (or model) after its namespace, or Marquez's 404 for whichever is missing."""
    await namespace_or_404(store, namespace)
    found = await store.get_dataset(keys.dataset_key(namespace, name))
    if found is None or found.node.deleted:  # Marquez hides what was deleted
        raise NotFound(f"Dataset '{name}' not found.")
    return found


async def find_job(store: GraphStore, namespace: str, name: str) -> JobView | None:
    """The job Marquez calls ``name``: olgraph's job of that name, else one whose parent's name
    and own name make it (``parent.child``, see :func:`shapes.marquez_job_name`)."""
    found = await store.get_job(keys.job_key(namespace, name))
    if found is not None and shapes.job_name(found) == name:
        return found
    for cut in [i for i, char in enumerate(name) if char == "."]:
        child = await store.get_job(keys.job_key(namespace, name[cut + 1 :]))
        if child is not None and shapes.job_name(child) == name:
            return child
    return found


async def job_or_404(store: GraphStore, namespace: str, name: str) -> JobView:
    """The job after its namespace, or Marquez's 404 for whichever is missing."""
    await namespace_or_404(store, namespace)
    found = await find_job(store, namespace, name)
    if found is None or found.node.deleted:  # Marquez hides what was deleted
        raise NotFound(f"Job '{name}' not found.")
    return found


async def job_names(store: GraphStore, job_keys: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Job key → (namespace, the name Marquez gives it)."""
    wanted = sorted(set(job_keys))
    found = await asyncio.gather(*(store.get_job(k) for k in wanted))
    return {k: (j.node.namespace, shapes.job_name(j)) for k, j in zip(wanted, found, strict=True) if j}


async def run_or_404(store: GraphStore, run_id: str) -> RunDetail:
    """One run in full, or Marquez's 404."""
    found = await store.get_run_detail(run_id)
    if found is None:
        raise NotFound(f"Run '{run_id}' not found.")
    return found


async def nodes_by_key(store: GraphStore, node_keys: Iterable[str]) -> dict[str, NodeView]:
    """The views of the given job or dataset keys that exist."""
    wanted = sorted(set(node_keys))
    found = await asyncio.gather(*(store.get_node(k) for k in wanted))
    return {k: view for k, view in zip(wanted, found, strict=True) if view is not None}


async def dataset_names(store: GraphStore, dataset_keys: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Dataset key → (namespace, name), for the datasets runs read and wrote."""
    return {k: (v.namespace, v.name) for k, v in (await nodes_by_key(store, dataset_keys)).items()}


async def runs_json(store: GraphStore, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Runs in full (their reads and writes with their facets), in Marquez's shape, in order."""
    found = await asyncio.gather(*(store.get_run_detail(r) for r in run_ids))
    details = [d for d in found if d is not None]
    refs = [io.ref.dataset for d in details for io in (*d.inputs, *d.outputs)]
    names, jobs = await asyncio.gather(
        dataset_names(store, refs), job_names(store, [d.run.job for d in details if d.run.job])
    )
    return [shapes.run_out(d.run, jobs.get(d.run.job or ""), names, d.inputs, d.outputs) for d in details]


async def latest_runs(store: GraphStore, job_key: str, count: int = LATEST_RUNS) -> list[dict[str, Any]]:
    """A job's newest runs, newest first, in Marquez's shape."""
    page = await store.list_runs(job_key, count, 0)
    return await runs_json(store, [run.run_id for run in page.items])


async def job_json(store: GraphStore, job: JobView) -> dict[str, Any]:
    """A job in Marquez's shape, with its newest runs."""
    return shapes.job_out(job, await latest_runs(store, job.node.id))


async def dataset_details(store: GraphStore, nodes: Iterable[NodeView]) -> list[DatasetDetail]:
    """The details of listed datasets, in order (the ones deleted meanwhile left out)."""
    found = await asyncio.gather(*(store.get_dataset(n.id) for n in nodes))
    return [d for d in found if d is not None]


async def job_details(store: GraphStore, nodes: Iterable[NodeView]) -> list[JobView]:
    """The details of listed jobs, in order (the ones deleted meanwhile left out)."""
    found = await asyncio.gather(*(store.get_job(n.id) for n in nodes))
    return [j for j in found if j is not None]


async def dataset_json(store: GraphStore, dataset: DatasetDetail, max_nodes: int) -> dict[str, Any]:
    """A dataset in Marquez's shape, with the column lineage into its columns."""
    found = await store.column_lineage(dataset.node.id, "upstream", 1, max_nodes)
    return shapes.dataset_out(dataset, shapes.column_lineage_out(dataset.node.id, found))
