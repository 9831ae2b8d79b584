"""Detail reads of the Neo4j store (private): one statement per neighbourhood (a ``CALL``
subquery per spec), run statistics, and paged lists of versions and child runs. Answers are
assembled by :mod:`olgraph.store.details`, shared with the embedded store."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from neo4j import AsyncManagedTransaction

from olgraph import keys
from olgraph.normalize.mutations import Label
from olgraph.store import common, details
from olgraph.store.base import Page
from olgraph.store.detail_views import DatasetDetail, JobView, NodeDetails, RunDetail, VersionDetail
from olgraph.store.details import Neighbour, Neighbourhood, NeighbourSpec
from olgraph.store.neo4j.cypher import label_name, rel_name
from olgraph.store.neo4j.read import get_node, list_runs, records

_ITEM = "{key: m.key, labels: labels(m), props: properties(m), edge: properties(e)}"


def _pattern(spec: NeighbourSpec) -> str:
    rel = rel_name(spec.rel)
    return f"(n)<-[e:{rel}]-(m)" if spec.incoming else f"(n)-[e:{rel}]->(m)"


def _order(spec: NeighbourSpec) -> str:
    if not spec.order:
        return "ORDER BY m.key"
    values = ", ".join(f"m.{p}" for p in spec.order)
    return f"ORDER BY coalesce({values}, '') DESC, m.key"


def _subqueries(spec: NeighbourSpec) -> str:
    limit = "" if spec.limit is None else f" LIMIT {int(spec.limit)}"
    parts = []
    if spec.limit != 0:
        parts.append(
            f"CALL (n) {{ MATCH {_pattern(spec)} WITH m, e {_order(spec)}{limit} "
            f"RETURN collect({_ITEM}) AS s_{spec.name} }}"
        )
    if spec.limit is not None:
        parts.append(f"CALL (n) {{ MATCH {_pattern(spec)} RETURN count(m) AS c_{spec.name} }}")
    return "\n".join(parts)


@functools.cache
def neighbourhood_query(label: Label, specs: tuple[NeighbourSpec, ...]) -> str:
    """The statement fetching the ``label`` node ``$key`` and its neighbours by spec."""
    returns = ["n.key AS key", "labels(n) AS labels", "properties(n) AS props"]
    for spec in specs:
        if spec.limit != 0:
            returns.append(f"s_{spec.name}")
        if spec.limit is not None:
            returns.append(f"c_{spec.name}")
    body = "\n".join(_subqueries(spec) for spec in specs)
    return f"MATCH (n:{label_name(label.value)} {{key: $key}})\n{body}\nRETURN {', '.join(returns)}"


def _neighbour(item: dict[str, Any]) -> Neighbour:
    return Neighbour(
        str(item["key"]), frozenset(item["labels"]), details.clean(item["props"]), details.clean(item["edge"])
    )


async def neighbourhood(
    tx: AsyncManagedTransaction, key: str, label: Label, specs: Sequence[NeighbourSpec]
) -> Neighbourhood | None:
    """The node ``key`` (if it has ``label``) and its neighbours by spec, in one statement."""
    found = await records(tx, neighbourhood_query(label, tuple(specs)), key=key)
    if not found:
        return None
    row = found[0]
    hood = Neighbourhood(key, frozenset(row["labels"]), details.clean(row["props"]))
    for spec in specs:
        hood.found[spec.name] = [_neighbour(i) for i in row.get(f"s_{spec.name}") or []]
        if spec.limit is not None:
            hood.counts[spec.name] = int(row[f"c_{spec.name}"])
    return hood


RUN_STATS = """
MATCH (:Job {key: $key})<-[:RUN_OF]-(r)
RETURN r.state AS state, count(r) AS runs, max(r.endedAt) AS ended,
       max(coalesce(r.startedAt, r.firstSeenAt, r.updatedAt)) AS started
"""


async def get_job(tx: AsyncManagedTransaction, key: str) -> JobView | None:
    """See :meth:`olgraph.store.base.GraphStore.get_job`."""
    hood = await neighbourhood(tx, key, Label.JOB, details.JOB_SPECS)
    if hood is None:
        return None
    rows = await records(tx, RUN_STATS, key=key)
    stats = details.run_stats((r["state"], int(r["runs"]), r["ended"], r["started"]) for r in rows)
    return details.job_view(hood, stats)


ROOT_RUN = "MATCH (r:Run {key: $key}) RETURN properties(r) AS props"


async def get_run_detail(tx: AsyncManagedTransaction, run_id: str) -> RunDetail | None:
    """See :meth:`olgraph.store.base.GraphStore.get_run_detail`."""
    hood = await neighbourhood(tx, keys.run_key(keys.normalize_run_id(run_id)), Label.RUN, details.RUN_SPECS)
    if hood is None:
        return None
    root = None
    root_id = hood.props.get("rootRunId")
    if root_id is not None:
        root_key = keys.run_key(str(root_id))
        found = await records(tx, ROOT_RUN, key=root_key)
        root = (root_key, details.clean(found[0]["props"])) if found else None
    return details.run_detail(hood, root)


async def get_dataset(tx: AsyncManagedTransaction, key: str) -> DatasetDetail | None:
    """See :meth:`olgraph.store.base.GraphStore.get_dataset`."""
    hood = await neighbourhood(tx, key, Label.DATASET, details.DATASET_SPECS)
    return details.dataset_detail(hood) if hood is not None else None


async def get_version(tx: AsyncManagedTransaction, dataset: str, version: str) -> VersionDetail | None:
    """See :meth:`olgraph.store.base.GraphStore.get_version`."""
    key = keys.dataset_version_key(dataset, version)
    hood = await neighbourhood(tx, key, Label.DATASET_VERSION, details.VERSION_SPECS)
    if hood is None or hood.props.get("dataset") != dataset:
        return None
    writers = hood.of("writers")
    inputs: list[Neighbour] = []
    if writers:
        writer = await neighbourhood(tx, writers[0].key, Label.RUN, details.WRITER_INPUT_SPECS)
        inputs = writer.of("inputs") if writer is not None else []
    return details.version_detail(hood, inputs)


@functools.cache
def page_query(label: Label, spec: NeighbourSpec) -> str:
    """One page (``$offset``, ``$limit``) of the neighbours of the ``label`` node ``$key`` over
    ``spec``, with their count."""
    return f"""
MATCH (n:{label_name(label.value)} {{key: $key}})
CALL (n) {{ MATCH {_pattern(spec)} RETURN count(m) AS total }}
CALL (n) {{
  MATCH {_pattern(spec)} WITH m, e {_order(spec)} SKIP $offset LIMIT $limit
  RETURN collect({_ITEM}) AS items
}}
RETURN total, items
"""


_VERSIONS = NeighbourSpec("versions", "VERSION_OF", incoming=True, order=("createdAt",))
_CHILDREN = NeighbourSpec("children", "CHILD_OF", incoming=True, order=details.RUN_START)


async def _page(
    tx: AsyncManagedTransaction, label: Label, spec: NeighbourSpec, key: str, *, limit: int, offset: int
) -> tuple[int, list[Neighbour]]:
    found = await records(tx, page_query(label, spec), key=key, limit=limit, offset=offset)
    if not found:
        return 0, []
    return int(found[0]["total"]), [_neighbour(i) for i in found[0]["items"]]


async def list_versions(tx: AsyncManagedTransaction, key: str, limit: int, offset: int) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_versions`."""
    total, found = await _page(tx, Label.DATASET, _VERSIONS, key, limit=limit, offset=offset)
    return Page(items=[common.version_view(n.key, n.props) for n in found], total=total)


async def list_child_runs(tx: AsyncManagedTransaction, run_id: str, limit: int, offset: int) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_child_runs`."""
    key = keys.run_key(keys.normalize_run_id(run_id))
    total, found = await _page(tx, Label.RUN, _CHILDREN, key, limit=limit, offset=offset)
    return Page(items=[details.run_summary(n.key, n.props) for n in found], total=total)


async def get_details(
    tx: AsyncManagedTransaction, jobs: list[str], datasets: list[str], runs: int
) -> NodeDetails:
    """See :meth:`olgraph.store.base.GraphStore.get_details` (one read transaction)."""
    found_jobs = {k: j for k in dict.fromkeys(jobs) if (j := await get_job(tx, k)) is not None}
    found_datasets = {k: d for k in dict.fromkeys(datasets) if (d := await get_dataset(tx, k)) is not None}
    latest: dict[str, list[RunDetail]] = {}
    for key in found_jobs:
        page = await list_runs(tx, key, runs, 0)
        latest[key] = [rd for r in page.items if (rd := await get_run_detail(tx, r.run_id)) is not None]
    refs = {io.ref.dataset for found in latest.values() for d in found for io in (*d.inputs, *d.outputs)}
    nodes = {k: n for k in sorted(refs) if (n := await get_node(tx, k)) is not None}
    return NodeDetails(found_jobs, found_datasets, latest, nodes)
