"""Marquez's ``GET /lineage`` and ``GET /column-lineage``: ``{"graph": [node…]}`` answers.

**Lineage.** Marquez walks from a job to every job that shares a dataset with it, whichever way
data flows, ``depth`` such steps, and returns those jobs and all their inputs and outputs. From
a dataset it starts at the job that wrote it last (else the one that read it last); a dataset
no job touches is a graph of itself. The store's :meth:`~olgraph.store.base.GraphStore.connected`
walk is that walk counted in relationships: ``depth`` job steps are ``2 * depth + 1`` of them.
Each node carries its data (Marquez's DatasetData/JobData) and its ``inEdges``/``outEdges``
(``origin`` → ``destination`` in the direction data flows), nodes sorted by id.

**Column lineage.** For a dataset (all its columns) or one column (``datasetField:ns:name:col``),
its upstream columns, ``depth`` steps, and with ``withDownstream=true`` its downstream ones too.
Edges are oriented as Marquez orients them: a column's ``inEdges`` go from it to the columns it
is derived from, its ``outEdges`` from it to the columns derived from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from olgraph import keys
from olgraph.api.auth import require_role
from olgraph.api.marquez import reads, shapes
from olgraph.api.params import RuntimeDep
from olgraph.errors import InvalidQuery, NotFound
from olgraph.store.base import Direction, EdgeView, GraphStore, LineageResult, NodeView
from olgraph.store.detail_views import JobView

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_role("read"))])

Json = dict[str, Any]
DEFAULT_DEPTH = 20
NODE_PREFIXES = ("dataset:", "datasetField:", "job:", "run:")


def check_node_id(node_id: str | None) -> str:
    """A Marquez node id, refused as Marquez refuses one without a known prefix."""
    if not node_id:
        raise InvalidQuery("query param nodeId must not be null")
    if not node_id.startswith(NODE_PREFIXES):
        raise InvalidQuery(f"node ID ({node_id}) must start with 'dataset', 'datasetField', 'job' or 'run'")
    return node_id.split("#", 1)[0] if node_id.startswith(("dataset:", "job:")) else node_id


def check_depth(depth: int, cap: int) -> int:
    """A depth Marquez accepts (``>= 0``), at most ``cap``."""
    if depth < 0:
        raise InvalidQuery("query param depth must be greater than or equal to 0")
    return min(depth, cap)


# ---------------------------------------------------------------- lineage


@router.get("/lineage")
async def lineage(
    runtime: RuntimeDep,
    node_id: Annotated[str | None, Query(alias="nodeId")] = None,
    depth: int = DEFAULT_DEPTH,
) -> Json:
    """The lineage graph around a dataset or job, as Marquez draws it."""
    key = check_node_id(node_id)
    if not key.startswith(("dataset:", "job:")):
        raise NotFound(f"Node '{key}' must be of type dataset or job!")
    settings = runtime.settings.query
    steps = check_depth(depth, settings.max_depth)
    return await lineage_graph(runtime.store, key, steps, settings.max_nodes)


async def lineage_graph(store: GraphStore, node_id: str, steps: int, max_nodes: int) -> Json:
    """``{"graph": [...]}`` for a Marquez dataset or job node id, ``steps`` job-to-job steps deep."""
    key = await _resolve(store, node_id)
    start = await _start_job(store, key)
    if start is None:
        return {"graph": await _nodes_json(store, [await _node_or_404(store, key)], [])}
    walk = await store.connected(start, 2 * steps + 1, max_nodes)
    if key not in walk.distances:  # a node cap cut the start dataset off its job
        return {"graph": await _nodes_json(store, [await _node_or_404(store, key)], [])}
    return {"graph": await _nodes_json(store, walk.nodes, walk.edges)}


async def _resolve(store: GraphStore, node_id: str) -> str:
    """The olgraph key of a Marquez node id (a job may be named ``parent.child``); 404 if none."""
    if node_id.startswith("dataset:"):
        await _node_or_404(store, node_id)
        return node_id
    if await store.get_node(node_id) is not None:
        return node_id
    rest = node_id.removeprefix("job:")
    for cut in [i for i, char in enumerate(rest) if char == ":"]:
        job = await reads.find_job(store, rest[:cut], rest[cut + 1 :])
        if job is not None:
            return job.node.id
    raise NotFound(f"Job '{rest}' not found.")


async def _node_or_404(store: GraphStore, key: str) -> NodeView:
    node = await store.get_node(key)
    if node is None or node.type not in ("dataset", "model", "job"):
        kind = "Job" if key.startswith("job:") else "Dataset"
        raise NotFound(f"{kind} '{key.split(':', 1)[1]}' not found.")
    return node


async def _start_job(store: GraphStore, key: str) -> str | None:
    """The job a walk starts from: ``key`` itself, or the dataset's latest writer, else reader."""
    if key.startswith("job:"):
        return key
    detail = await store.get_dataset(key)
    if detail is None:
        return None
    for links in (detail.producers, detail.consumers):
        jobs = [link for link in links if link.node.type == "job" and link.observed and not link.node.deleted]
        if jobs:
            latest = max(jobs, key=lambda link: (link.last_seen_at or "", link.node.id))
            return latest.node.id
    return None


async def _nodes_json(store: GraphStore, nodes: list[NodeView], edges: list[EdgeView]) -> list[Json]:
    """The graph's nodes in Marquez's shape, everything they show read in one store call."""
    found = await store.get_details(
        [n.id for n in nodes if n.type == "job"], [n.id for n in nodes if n.type != "job"], 1
    )
    ids = {n.id: n.id for n in nodes}
    ids |= {k: f"job:{j.node.namespace}:{shapes.job_name(j)}" for k, j in found.jobs.items()}
    jobs = {k: (j.node.namespace, shapes.job_name(j)) for k, j in found.jobs.items()}
    names = {k: (n.namespace, n.name) for k, n in found.nodes.items()}
    lineage_edges = [e for e in edges if e.type in ("CONSUMED_BY", "PRODUCES")]
    out: list[Json] = []
    for key, job in found.jobs.items():
        runs = found.latest_runs.get(key, [])
        latest = (
            shapes.run_out(runs[0].run, jobs.get(key), names, runs[0].inputs, runs[0].outputs)
            if runs
            else None
        )
        out.append(_node(ids, key, "JOB", _job_data(job, lineage_edges, latest), lineage_edges))
    for key, dataset in found.datasets.items():
        out.append(_node(ids, key, "DATASET", shapes.dataset_data(dataset), lineage_edges))
    return sorted(out, key=lambda node: node["id"])


def _node(ids: Mapping[str, str], key: str, kind: str, data: Json, edges: list[EdgeView]) -> Json:
    incoming = sorted((ids[e.source], ids[e.target]) for e in edges if e.target == key)
    outgoing = sorted((ids[e.source], ids[e.target]) for e in edges if e.source == key)
    return {
        "id": ids[key],
        "type": kind,
        "data": data,
        "inEdges": [{"origin": o, "destination": d} for o, d in incoming],
        "outEdges": [{"origin": o, "destination": d} for o, d in outgoing],
    }


def _job_data(job: JobView, edges: list[EdgeView], latest_run: Json | None) -> Json:
    """JobData whose inputs and outputs are the ones the graph holds (as Marquez's are)."""
    data = shapes.job_data(job, latest_run)
    names = {link.node.id: link.node for link in (*job.inputs, *job.outputs)}
    ins = sorted(e.source for e in edges if e.target == job.node.id and e.source in names)
    outs = sorted(e.target for e in edges if e.source == job.node.id and e.target in names)
    data["inputs"] = [shapes.dataset_id(names[k].namespace, names[k].name) for k in ins]
    data["outputs"] = [shapes.dataset_id(names[k].namespace, names[k].name) for k in outs]
    return data


# ---------------------------------------------------------------- column lineage


def column_start(node_id: str) -> tuple[str, str]:
    """``(olgraph key, dataset key)`` of a Marquez column-lineage node id (dataset or column).

    >>> column_start("datasetField:s3://b:orders:id")
    ('field:s3://b:orders#id', 'dataset:s3://b:orders')
    """
    if node_id.startswith("dataset:"):
        return node_id, node_id
    if node_id.startswith("datasetField:"):
        rest = node_id.removeprefix("datasetField:").split("#", 1)[0]
        dataset_part, _, column = rest.rpartition(":")
        dataset = "dataset:" + dataset_part
        return keys.field_key(dataset, column), dataset
    raise InvalidQuery(f"node ID ({node_id}) must be a dataset or a dataset field here")


@router.get("/column-lineage")
async def column_lineage(
    runtime: RuntimeDep,
    node_id: Annotated[str | None, Query(alias="nodeId")] = None,
    depth: int = DEFAULT_DEPTH,
    with_downstream: Annotated[bool, Query(alias="withDownstream")] = False,
) -> Json:
    """Column lineage around a dataset's columns, one column, or a job's outputs' columns, as
    Marquez draws it."""
    key = check_node_id(node_id)
    settings = runtime.settings.query
    steps = check_depth(depth, settings.max_depth)
    direction: Direction = "both" if with_downstream else "upstream"
    if key.startswith("job:"):
        return await _job_column_lineage(runtime.store, key, direction, steps, settings.max_nodes)
    start, dataset = column_start(key)
    detail = await runtime.store.get_dataset(dataset)
    if (
        detail is None
        or not detail.schema
        or (start != dataset and start.split("#", 1)[1] not in detail.fields)
    ):
        raise NotFound("Could not find node")
    found = await runtime.store.column_lineage(start, direction, steps, settings.max_nodes)
    versions = await _current_versions(runtime.store, found.datasets)
    return {"graph": column_nodes(found.lineage, found.datasets, versions)}


async def _job_column_lineage(
    store: GraphStore, node_id: str, direction: Direction, steps: int, max_nodes: int
) -> Json:
    """The column lineage of every dataset a job writes, as one graph."""
    job = await store.get_job(await _resolve(store, node_id))
    if job is None:
        raise NotFound("Could not find node")
    outputs = sorted({link.node.id for link in job.outputs if link.node.type != "job"})
    walks = await asyncio.gather(*(store.column_lineage(k, direction, steps, max_nodes) for k in outputs))
    nodes = {n.id: n for walk in walks for n in walk.lineage.nodes}
    edges = {(e.source, e.target, e.type): e for walk in walks for e in walk.lineage.edges}
    datasets = {k: v for walk in walks for k, v in walk.datasets.items()}
    merged = LineageResult(
        list(nodes.values()), list(edges.values()), any(w.lineage.truncated for w in walks)
    )
    versions = await _current_versions(store, datasets)
    graph = column_nodes(merged, datasets, versions)
    if not graph:  # as Marquez: a job whose outputs have no column lineage is not a node of it
        raise NotFound("Could not find node")
    return {"graph": graph}


async def _current_versions(store: GraphStore, datasets: Mapping[str, NodeView]) -> dict[str, str | None]:
    pages = await asyncio.gather(*(store.list_versions(k, 1, 0) for k in datasets))
    return {k: (p.items[0].version if p.items else None) for k, p in zip(datasets, pages, strict=True)}


def column_nodes(
    result: LineageResult, datasets: Mapping[str, NodeView], versions: Mapping[str, str | None]
) -> list[Json]:
    """Marquez's DATASET_FIELD nodes for the columns of a column-lineage walk."""
    columns = {n.id: n for n in result.nodes if n.type == "column"}
    derives = [e for e in result.edges if e.type == "DERIVES" and e.source in columns and e.target in columns]
    out: list[Json] = []

    def ident(column: NodeView) -> tuple[str, str, str | None, str]:
        dataset = datasets.get(str(column.props.get("dataset")))
        namespace, name = (dataset.namespace, dataset.name) if dataset else (column.namespace, "")
        return namespace, name, versions.get(str(column.props.get("dataset"))), column.name

    def marquez_id(column: NodeView) -> str:
        namespace, name, _, field = ident(column)
        return f"datasetField:{namespace}:{name}:{field}"

    for key, column in columns.items():
        namespace, name, version, field = ident(column)
        inputs = []
        for edge in sorted((e for e in derives if e.target == key), key=lambda e: e.source):
            source = columns[edge.source]
            s_ns, s_name, s_version, s_field = ident(source)
            kind, text = shapes.legacy_transformation(edge.props.get("transformationDetails"))
            inputs.append(
                {
                    "namespace": s_ns,
                    "dataset": s_name,
                    "datasetVersion": s_version,
                    "field": s_field,
                    "transformationDescription": text,
                    "transformationType": kind,
                }
            )
        me = marquez_id(column)
        in_edges = sorted(marquez_id(columns[e.source]) for e in derives if e.target == key)
        out_edges = sorted(marquez_id(columns[e.target]) for e in derives if e.source == key)
        if not in_edges and not out_edges:
            continue  # Marquez draws only columns that take part in column lineage
        first = inputs[0] if inputs else {}
        field_type = column.props.get("type")
        out.append(
            {
                "id": me,
                "type": "DATASET_FIELD",
                "data": {
                    "namespace": namespace,
                    "dataset": name,
                    "datasetVersion": version,
                    "field": field,
                    "fieldType": field_type if isinstance(field_type, str) else "",
                    "transformationDescription": first.get("transformationDescription"),
                    "transformationType": first.get("transformationType"),
                    "inputFields": inputs,
                },
                "inEdges": [{"origin": me, "destination": other} for other in in_edges],
                "outEdges": [{"origin": me, "destination": other} for other in out_edges],
            }
        )
    return sorted(out, key=lambda node: node["id"])
