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
from olgraph.store.neo4j.cypher import label_name, public_pairs, rel_name
from olgraph.store.neo4j.read import RUN_ORDER, node_map, records, skip_limit, view_of

_ITEMS = {
    True: "{key: m.key, labels: labels(m), props: properties(m), edge: properties(e)}",
    False: f"{{key: m.key, labels: labels(m), props: {public_pairs('m')}, edge: properties(e)}}",
}
"""A neighbour as a statement returns it: with all its properties, or (``spec.facets`` false)
without its facet JSON, as ``[name, value]`` pairs (Cypher cannot build a map of dynamic keys)."""


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
            f"RETURN collect({_ITEMS[spec.facets]}) AS s_{spec.name} }}"
        )
    if spec.limit is not None:
        parts.append(f"CALL (n) {{ MATCH {_pattern(spec)} RETURN count(m) AS c_{spec.name} }}")
    return "\n".join(parts)


@functools.cache
def neighbourhood_query(label: Label, specs: tuple[NeighbourSpec, ...]) -> str:
    """The statement fetching the ``label`` nodes of ``$keys`` and each one's neighbours by spec."""
    returns = ["n.key AS key", "labels(n) AS labels", "properties(n) AS props"]
    for spec in specs:
        if spec.limit != 0:
            returns.append(f"s_{spec.name}")
        if spec.limit is not None:
            returns.append(f"c_{spec.name}")
    body = "\n".join(_subqueries(spec) for spec in specs)
    find = f"UNWIND $keys AS key MATCH (n:{label_name(label.value)} {{key: key}})"
    return f"{find}\n{body}\nRETURN {', '.join(returns)}"


def _neighbour(item: dict[str, Any]) -> Neighbour:
    props = item["props"]
    if isinstance(props, list):  # [name, value] pairs: the properties without facets
        props = dict(props)
    labels = frozenset(item["labels"])
    return Neighbour(str(item["key"]), labels, details.clean(props), details.clean(item["edge"]))


async def neighbourhoods(
    tx: AsyncManagedTransaction, keys_: Sequence[str], label: Label, specs: Sequence[NeighbourSpec]
) -> dict[str, Neighbourhood]:
    """The nodes of ``keys_`` that have ``label``, each with its neighbours by spec, in one statement."""
    found = await records(tx, neighbourhood_query(label, tuple(specs)), keys=list(dict.fromkeys(keys_)))
    hoods = {}
    for row in found:
        hood = Neighbourhood(str(row["key"]), frozenset(row["labels"]), details.clean(row["props"]))
        for spec in specs:
            hood.found[spec.name] = [_neighbour(i) for i in row.get(f"s_{spec.name}") or []]
            if spec.limit is not None:
                hood.counts[spec.name] = int(row[f"c_{spec.name}"])
        hoods[hood.key] = hood
    return hoods


async def neighbourhood(
    tx: AsyncManagedTransaction, key: str, label: Label, specs: Sequence[NeighbourSpec]
) -> Neighbourhood | None:
    """The node ``key`` (if it has ``label``) and its neighbours by spec, in one statement."""
    return (await neighbourhoods(tx, [key], label, specs)).get(key)


RUN_STATS = """
UNWIND $keys AS key
MATCH (:Job {key: key})<-[:RUN_OF]-(r)
RETURN key, r.state AS state, count(r) AS runs, max(r.endedAt) AS ended,
       max(coalesce(r.startedAt, r.firstSeenAt, r.updatedAt)) AS started
"""


async def get_jobs(tx: AsyncManagedTransaction, keys_: Sequence[str]) -> dict[str, JobView]:
    """Jobs in detail (those of ``keys_`` that exist): two statements for all of them."""
    hoods = await neighbourhoods(tx, keys_, Label.JOB, details.JOB_SPECS)
    rows: dict[str, list[tuple[str | None, int, str | None, str | None]]] = {key: [] for key in hoods}
    for r in await records(tx, RUN_STATS, keys=list(hoods)):
        rows[r["key"]].append((r["state"], int(r["runs"]), r["ended"], r["started"]))
    return {key: details.job_view(hood, details.run_stats(rows[key])) for key, hood in hoods.items()}


async def get_job(tx: AsyncManagedTransaction, key: str) -> JobView | None:
    """See :meth:`olgraph.store.base.GraphStore.get_job`."""
    return (await get_jobs(tx, [key])).get(key)


ROOT_RUNS = "UNWIND $keys AS key MATCH (r:Run {key: key}) RETURN key, properties(r) AS props"


async def get_run_details(tx: AsyncManagedTransaction, run_keys: Sequence[str]) -> dict[str, RunDetail]:
    """Runs in detail by run key (those that exist), with their root runs: two statements."""
    hoods = await neighbourhoods(tx, run_keys, Label.RUN, details.RUN_SPECS)
    root_of = {
        key: keys.run_key(str(hood.props["rootRunId"]))
        for key, hood in hoods.items()
        if hood.props.get("rootRunId") is not None
    }
    roots = {
        r["key"]: details.clean(r["props"])
        for r in await records(tx, ROOT_RUNS, keys=sorted(set(root_of.values())))
    }
    return {
        key: details.run_detail(
            hood, (root_of[key], roots[root_of[key]]) if root_of.get(key) in roots else None
        )
        for key, hood in hoods.items()
    }


async def get_run_detail(tx: AsyncManagedTransaction, run_id: str) -> RunDetail | None:
    """See :meth:`olgraph.store.base.GraphStore.get_run_detail`."""
    key = keys.run_key(keys.normalize_run_id(run_id))
    return (await get_run_details(tx, [key])).get(key)


async def get_datasets(tx: AsyncManagedTransaction, keys_: Sequence[str]) -> dict[str, DatasetDetail]:
    """Datasets in detail (those of ``keys_`` that exist), in one statement."""
    hoods = await neighbourhoods(tx, keys_, Label.DATASET, details.DATASET_SPECS)
    return {key: details.dataset_detail(hood) for key, hood in hoods.items()}


async def get_dataset(tx: AsyncManagedTransaction, key: str) -> DatasetDetail | None:
    """See :meth:`olgraph.store.base.GraphStore.get_dataset`."""
    return (await get_datasets(tx, [key])).get(key)


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
  RETURN collect({_ITEMS[spec.facets]}) AS items
}}
RETURN total, items
"""


_VERSIONS = NeighbourSpec("versions", "VERSION_OF", incoming=True, order=("createdAt",), facets=True)
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


LATEST_RUNS = f"""
UNWIND $jobs AS job
MATCH (j:Job {{key: job}})
CALL (j) {{ MATCH (j)<-[:RUN_OF]-(r:Run) WITH r {RUN_ORDER} LIMIT $limit RETURN collect(r.key) AS runs }}
RETURN job, runs
"""
"""The keys of the ``$limit`` latest runs of each job of ``$jobs`` (the order of ``list_runs``)."""

GET_NODES = f"UNWIND $keys AS key MATCH (n:Dataset {{key: key}}) RETURN key, {node_map('n')} AS node"


async def get_details(
    tx: AsyncManagedTransaction, jobs: list[str], datasets: list[str], runs: int
) -> NodeDetails:
    """See :meth:`olgraph.store.base.GraphStore.get_details` (one read transaction; a statement
    per kind over all keys)."""
    job_hoods = await neighbourhoods(tx, jobs, Label.JOB, details.GRAPH_JOB_SPECS)
    no_stats = details.run_stats(())
    found_jobs = {k: details.job_view(job_hoods[k], no_stats) for k in dict.fromkeys(jobs) if k in job_hoods}
    hoods = await neighbourhoods(tx, datasets, Label.DATASET, details.GRAPH_DATASET_SPECS)
    found_datasets = {k: details.dataset_detail(hoods[k]) for k in dict.fromkeys(datasets) if k in hoods}
    limit = skip_limit(runs, 0)["limit"]
    rows = await records(tx, LATEST_RUNS, jobs=list(found_jobs), limit=limit)
    run_keys: dict[str, list[str]] = {key: [] for key in found_jobs} | {r["job"]: r["runs"] for r in rows}
    run_details = await get_run_details(tx, [k for ks in run_keys.values() for k in ks])
    latest = {key: [run_details[k] for k in ks if k in run_details] for key, ks in run_keys.items()}
    refs = sorted(
        {io.ref.dataset for found in latest.values() for d in found for io in (*d.inputs, *d.outputs)}
    )
    found_nodes = {r["key"]: view_of(r["node"]) for r in await records(tx, GET_NODES, keys=refs)}
    nodes = {k: n for k in refs if (n := found_nodes.get(k)) is not None}
    return NodeDetails(found_jobs, found_datasets, latest, nodes)
