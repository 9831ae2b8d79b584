"""Read queries of the Neo4j store (private): transaction functions for ``execute_read``.

Listings, runs and datasets are one Cypher statement each. Lineage and impact walk the
graph breadth-first with :class:`olgraph.store.LineageWalk`, inside one read transaction. Why
not one variable-length Cypher pattern for the answer: the node cap must cut a level by id,
distances must be shortest (``both`` is the union of two walks), ``ALIAS_OF`` costs no distance
and deleted nodes are neither returned nor crossed, while the walk shared with the embedded
store guarantees identical answers.

What the walk asks for is fetched ahead (:func:`reach_query`): one statement answers the
frontier and also expands up to :data:`AHEAD` levels past it (at most :data:`PREFETCH_NODES`
more nodes, and never past the walk's depth or node cap), with every relationship of each node
it expands in the walk's direction. Later
levels whose nodes were all expanded are answered from that cache, so a depth-20 walk over a
small answer costs a few statements rather than twenty. Only nodes whose relationships were all
fetched are cached, so the walk sees exactly what one statement per level would show it. Each
reached node comes with its alias relationships, which answers the walk's alias requests from
cache too; impact costs one more statement for owners and last runs.

Traversal starts at the start node's unique-key index and then moves by element id
(``NodeByElementIdSeek``), never by a label scan. Facet JSON is filtered out on the server
(:func:`olgraph.store.neo4j.cypher.public_pairs`) where a view does not show it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from neo4j import AsyncManagedTransaction

from olgraph import keys
from olgraph.errors import NotFound
from olgraph.store import common
from olgraph.store.base import (
    EdgeView,
    GraphDump,
    ImpactResult,
    LineageResult,
    NodeView,
    Page,
    RunView,
    VersionRef,
)
from olgraph.store.neo4j.cypher import public_pairs, rel_name
from olgraph.store.walk import (
    PROBE_LIMIT,
    ExpandRequest,
    ExpandResponse,
    LineageWalk,
    Traversal,
    WalkSpec,
    build_impact,
    impact_keys,
    pick_last_run,
    walk_async,
)

_NODE_FIELDS = (
    f"{{key: {{n}}.key, id: elementId({{n}}), labels: labels({{n}}), props: {public_pairs('{n}')}}}"
)


_SHAPE_FIELDS = (
    "{key: {n}.key, id: elementId({n}), labels: labels({n}), "
    "props: [k IN ['namespace', 'name', 'deleted'] WHERE {n}[k] IS NOT NULL | [k, {n}[k]]]}"
)


def node_map(var: str, shape_only: bool = False) -> str:
    """Cypher map of a node as :func:`view_of` reads it (``shape_only``: with no properties but
    those of its identity, see :class:`~olgraph.store.walk.Traversal`)."""
    return (_SHAPE_FIELDS if shape_only else _NODE_FIELDS).replace("{n}", var)


def edge_map(var: str) -> str:
    """Cypher map of a relationship as :func:`edge_of` reads it."""
    return (
        f"{{type: type({var}), source: startNode({var}).key, target: endNode({var}).key, "
        f"props: {public_pairs(var)}}}"
    )


EDGE_FIELDS = edge_map("e")

_FIND = """
CALL () {
  MATCH (n:Job {key: $key}) RETURN n
  UNION ALL MATCH (n:Dataset {key: $key}) RETURN n
  UNION ALL MATCH (n:Run {key: $key}) RETURN n
  UNION ALL MATCH (n:Field {key: $key}) RETURN n
}
"""
"""The job, dataset, run or column ``$key``: one unique-index seek per label that views show."""

GET_NODE = f"{_FIND}RETURN {node_map('n')} AS node LIMIT 1"


def _types(names: Iterable[str]) -> str:
    return "|".join(rel_name(name) for name in names)


def _aliases_of(var: str, traversal: Traversal) -> str:
    """A list expression: ``var``'s alias relationships, each with the node at its other end.

    A pattern comprehension, not a ``CALL`` subquery with ``collect``: it is evaluated once per
    node without an aggregation of its own, which took about a quarter of the server time of a
    walk statement whose nodes mostly have no alias at all.
    """
    if not traversal.alias_types:
        return "[]"
    arrow = "->" if traversal.alias_directed else "-"
    pattern = f"({var})-[alias:{_types(traversal.alias_types)}]{arrow}(o)"
    return f"[{pattern} | {{edge: {edge_map('alias')}, node: {node_map('o')}}}]"


@functools.cache
def start_query(traversal: Traversal) -> str:
    """The start node ``$key`` and its alias relationships."""
    return f"{_FIND}\nRETURN {node_map('n')} AS node, {_aliases_of('n', traversal)} AS aliases\nLIMIT 1"


@functools.cache
def probe_query(traversal: Traversal) -> str:
    """Is anything past the depth? Relationships out of ``$down`` / into ``$up`` (element ids).

    Only those to nodes not in ``$exclude`` (keys), at most ``PROBE_LIMIT`` rows, no aliases.
    """
    hops = _types(traversal.hop_types)
    return f"""
CALL () {{
  UNWIND $down AS id MATCH (a) WHERE elementId(a) = id
  MATCH (a)-[e:{hops}]->(b) WHERE NOT b.key IN $exclude RETURN e, b
  UNION ALL
  UNWIND $up AS id MATCH (a) WHERE elementId(a) = id
  MATCH (a)<-[e:{hops}]-(b) WHERE NOT b.key IN $exclude RETURN e, b
}}
RETURN {EDGE_FIELDS} AS edge, {node_map("b", traversal.shape_only)} AS node, [] AS aliases LIMIT {PROBE_LIMIT}
"""


AHEAD = 8
"""Levels past the frontier that one walk statement expands ahead (literal in the pattern)."""

PREFETCH_NODES = 1000
"""Most nodes past the frontier that one walk statement expands ahead."""


def _ahead(ids: str, left: str, rel: str, right: str, levels: int) -> str:
    """Up to ``$extra`` distinct nodes reachable from the nodes ``$<ids>`` within ``levels``
    steps along ``{left}[{rel}]{right}``; none when their own relationships already number
    ``$room`` or more.

    That many relationships almost always fill the node cap at the next level, which ends the
    walk, so nodes fetched past it would be shipped for nothing (a table read by 10,000 jobs:
    a third of the answer's time). Should the level still leave room (its relationships lead
    to fewer distinct or to deleted nodes), the walk asks again: one more statement.
    Counting a node's relationships of some types reads its degree, not the relationships.
    """
    return f"""CALL () {{
    UNWIND ${ids} AS id MATCH (a) WHERE elementId(a) = id
    WITH collect(a) AS asked, sum(COUNT {{ (a){left}[:{rel}]{right}() }}) AS relationships
    WHERE relationships < $room
    UNWIND asked AS a
    MATCH (a){left}[:{rel}*1..{levels}]{right}(m) WHERE NOT elementId(m) IN ${ids}
    RETURN DISTINCT m LIMIT $extra
  }}"""


@functools.cache
def reach_query(traversal: Traversal, levels: int = AHEAD) -> str:
    """The relationships out of ``$down`` / into ``$up`` (element ids), and of nodes past them.

    Each row is one node the statement expanded: its key, element id, direction (``down``) and
    all its ``traversal.hop_types`` relationships in that direction, each with the node at the
    other end and that node's alias relationships. The asked nodes are always expanded; up to
    ``$extra`` nodes reachable within ``levels`` levels of them are expanded too (distinct nodes,
    not paths: a pruning expansion, so diamonds cost nothing). ``levels`` 0: the asked nodes only.
    An undirected traversal asks for the same nodes both ways (``$down``): each of them, and
    each node reached ahead along relationships in either direction, is expanded both ways.
    """
    hops = _types(traversal.hop_types)
    if traversal.undirected:  # every node is expanded both ways, so is every node reached ahead
        branches = [
            "UNWIND $down AS id MATCH (m) WHERE elementId(m) = id UNWIND [true, false] AS down RETURN m, down"
        ]
        if levels > 0:
            ahead = _ahead("down", "-", hops, "-", levels)
            branches.append(f"{ahead}\n  UNWIND [true, false] AS down RETURN m, down")
    else:
        branches = [
            "UNWIND $down AS id MATCH (m) WHERE elementId(m) = id RETURN m, true AS down",
            "UNWIND $up AS id MATCH (m) WHERE elementId(m) = id RETURN m, false AS down",
        ]
        if levels > 0:
            branches.append(f"{_ahead('down', '-', hops, '->', levels)}\n  RETURN m, true AS down")
            branches.append(f"{_ahead('up', '<-', hops, '-', levels)}\n  RETURN m, false AS down")
    union = "\n  UNION ALL\n  ".join(branches)
    aliases, node = _aliases_of("b", traversal), node_map("b", traversal.shape_only)
    return f"""
CALL () {{
  {union}
}}
CALL (m, down) {{
  CALL (m, down) {{
    MATCH (m)-[e:{hops}]->(b) WHERE down RETURN e, b
    UNION ALL
    MATCH (m)<-[e:{hops}]-(b) WHERE NOT down RETURN e, b
  }}
  RETURN collect({{edge: {EDGE_FIELDS}, node: {node}, aliases: {aliases}}}) AS hops
}}
RETURN m.key AS key, elementId(m) AS id, down, hops
"""


@functools.cache
def aliases_query(traversal: Traversal) -> str:
    """The alias relationships of the nodes ``$ids`` (element ids)."""
    return f"""
UNWIND $ids AS id
MATCH (n) WHERE elementId(n) = id
RETURN n.key AS key, {_aliases_of("n", traversal)} AS aliases
"""


IMPACT_DETAILS = """
UNWIND $rows AS row
MATCH (n) WHERE elementId(n) = row.id
CALL (n) { MATCH (o)-[:OWNS]->(n) RETURN collect([o.key, o.name]) AS owners }
CALL (n, row) {
  OPTIONAL MATCH (r)-[:RUN_OF]->(n) WHERE row.job
  RETURN r AS job_run ORDER BY coalesce(r.updatedAt, '') DESC, r.key DESC LIMIT 1
}
CALL (n, row) {
  OPTIONAL MATCH (r)-[:WROTE]->()-[:VERSION_OF]->(n) WHERE NOT row.job
  RETURN r AS writer ORDER BY coalesce(r.updatedAt, '') DESC, r.key DESC LIMIT 1
}
WITH row, owners, coalesce(job_run, writer) AS r
RETURN collect([row.key, owners, r.key, r.updatedAt, r.state]) AS rows
"""
"""Owners and the most recent run (order of :func:`pick_last_run`) of each impacted node: one
record holding a list, which the driver decodes several times faster than a record per node
(a 10,000-node impact answer)."""


# ---------------------------------------------------------------- helpers


async def records(tx: AsyncManagedTransaction, query: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of ``query`` as dicts of plain values.

    Not ``Result.data()``: it rebuilds every nested value through the driver's exporter,
    which took a third of the client time of a 2,000-node walk (pyinstrument). Our
    statements return only maps, lists and scalars, which the driver already decodes into
    plain Python values, so the records' tuples are used as they are.
    """
    result = await tx.run(query, params)
    keys = result.keys()
    return [dict(zip(keys, record, strict=True)) async for record in result]


def view_of(node: dict[str, Any]) -> NodeView | None:
    """The view of a node map built by :func:`node_map`, or None when it is not a job/dataset/run."""
    if common.node_type(node["labels"]) is None:
        return None
    return common.node_view(node["key"], node["labels"], dict(node["props"]))


def edge_of(edge: dict[str, Any]) -> EdgeView:
    return common.edge_view(edge["type"], edge["source"], edge["target"], dict(edge["props"]))


def skip_limit(limit: int, offset: int) -> dict[str, int]:
    """SKIP/LIMIT values with SQLite's meaning of negative numbers (no limit; offset 0)."""
    return {"offset": max(offset, 0), "limit": limit if limit >= 0 else 2**62}


# ---------------------------------------------------------------- lineage and impact


class Expander:
    """Answers a :class:`LineageWalk`'s requests: levels fetched ahead, aliases cached."""

    def __init__(self, tx: AsyncManagedTransaction) -> None:
        self.tx = tx
        self.ids: dict[str, str] = {}
        self.aliases: dict[str, list[tuple[EdgeView, NodeView]]] = {}
        self.hops: dict[tuple[str, bool], list[tuple[EdgeView, NodeView]]] = {}
        self._traversal: Traversal | None = None
        self.statements = 0

    def remember(self, node: dict[str, Any], aliases: Iterable[dict[str, Any]]) -> NodeView | None:
        """Record a node's element id and its alias relationships; return its view."""
        self.ids[node["key"]] = node["id"]
        self.remember_aliases(node["key"], aliases)
        return view_of(node)

    def remember_aliases(self, key: str, aliases: Iterable[dict[str, Any]]) -> None:
        """Record the ``ALIAS_OF`` relationships of ``key`` and the element ids of their other ends."""
        found = []
        for alias in aliases:
            self.ids[alias["node"]["key"]] = alias["node"]["id"]
            view = view_of(alias["node"])
            if view is not None:
                found.append((edge_of(alias["edge"]), view))
        self.aliases[key] = found

    async def __call__(self, request: ExpandRequest) -> ExpandResponse:
        edges: list[EdgeView] = []
        nodes: dict[str, NodeView] = {}
        if request.probe:
            await self._probe(request, edges, nodes)
        elif request.downstream or request.upstream:
            await self._reach(request)
            wanted = [(k, True) for k in request.downstream] + [(k, False) for k in request.upstream]
            for want in wanted:
                for edge, view in self.hops[want]:
                    edges.append(edge)
                    nodes[view.id] = view
        missing = [self.ids[k] for k in request.aliases if k not in self.aliases]
        if missing:
            self.statements += 1
            for r in await records(self.tx, aliases_query(request.traversal), ids=missing):
                self.remember_aliases(r["key"], r["aliases"])
        for key in request.aliases:
            for edge, view in self.aliases.get(key, []):
                edges.append(edge)
                nodes[view.id] = view
        return ExpandResponse(edges=edges, nodes=nodes)

    async def _probe(self, request: ExpandRequest, edges: list[EdgeView], nodes: dict[str, NodeView]) -> None:
        """Is anything past the depth? One statement, at most ``PROBE_LIMIT`` rows."""
        down = [self.ids[k] for k in request.downstream]
        up = [self.ids[k] for k in request.upstream]
        self.statements += 1
        query = probe_query(request.traversal)
        for r in await records(self.tx, query, down=down, up=up, exclude=sorted(request.exclude)):
            view = self.remember(r["node"], r["aliases"])
            if view is not None:
                edges.append(edge_of(r["edge"]))
                nodes[view.id] = view

    async def _reach(self, request: ExpandRequest) -> None:
        """Fetch the relationships of the asked nodes not expanded yet, and of nodes past them."""
        if self._traversal != request.traversal:
            self._traversal = request.traversal
            self.hops.clear()
        down = [self.ids[k] for k in request.downstream if (k, True) not in self.hops]
        up = [self.ids[k] for k in request.upstream if (k, False) not in self.hops]
        if request.traversal.undirected:  # both ways at once (reach_query)
            down, up = list(dict.fromkeys(down + up)), []
        if not down and not up:
            return
        self.statements += 1
        extra = min(PREFETCH_NODES, request.room)
        query = reach_query(request.traversal, min(AHEAD, request.ahead) if extra > 0 else 0)
        for r in await records(self.tx, query, down=down, up=up, extra=extra, room=request.room):
            self.ids[r["key"]] = r["id"]
            found = []
            for hop in r["hops"]:
                view = self.remember(hop["node"], hop["aliases"])
                if view is not None:
                    found.append((edge_of(hop["edge"]), view))
            self.hops[(r["key"], r["down"])] = found


async def walk_from(tx: AsyncManagedTransaction, key: str, spec: WalkSpec) -> tuple[LineageWalk, Expander]:
    expander = Expander(tx)
    found = await records(tx, start_query(spec.traversal), key=key)
    start = expander.remember(found[0]["node"], found[0]["aliases"]) if found else None
    if start is None:
        raise NotFound(f"no job or dataset with id {key!r}")
    walk = spec.walk(start)
    await walk_async(walk, expander)
    return walk, expander


async def get_node(tx: AsyncManagedTransaction, key: str) -> NodeView | None:
    """See :meth:`olgraph.store.base.GraphStore.get_node`."""
    found = await records(tx, GET_NODE, key=key)
    return view_of(found[0]["node"]) if found else None


async def lineage(tx: AsyncManagedTransaction, key: str, spec: WalkSpec) -> LineageResult:
    """See :meth:`olgraph.store.base.GraphStore.lineage`."""
    walk, _ = await walk_from(tx, key, spec)
    return walk.result()


async def impact(tx: AsyncManagedTransaction, key: str, spec: WalkSpec) -> ImpactResult:
    """See :meth:`olgraph.store.base.GraphStore.impact` (``spec`` is downstream, live only)."""
    walk, expander = await walk_from(tx, key, spec)
    rows = [{"key": k, "id": expander.ids[k], "job": walk.views[k].type == "job"} for k in impact_keys(walk)]
    return build_impact(walk, *await impact_details(tx, rows))


LastRuns = dict[str, tuple[str | None, str | None]]


async def impact_details(
    tx: AsyncManagedTransaction, rows: list[dict[str, Any]]
) -> tuple[dict[str, list[str]], LastRuns]:
    """Owner names and :func:`pick_last_run` of the nodes ``rows`` (``{key, id, job}``)."""
    owners: dict[str, list[str]] = {}
    last_runs: LastRuns = {}
    details = (await records(tx, IMPACT_DETAILS, rows=rows))[0]["rows"] if rows else []
    for key, found, run, updated, state in details:
        owners[key] = [common.owner_name(o, {"name": name}) for o, name in found]
        if run is not None:
            last_runs[key] = pick_last_run([(run, updated, state)])
    return owners, last_runs


# ---------------------------------------------------------------- listings

_VERSION_REF = "{key: v.key, dataset: v.dataset, version: v.version}"
_RUN_IO = f"""
  CALL (r) {{ MATCH (v)-[:READ_BY]->(r) RETURN collect({_VERSION_REF}) AS inputs }}
  CALL (r) {{ MATCH (r)-[:WROTE]->(v) RETURN collect({_VERSION_REF}) AS outputs }}
"""

RUN_ORDER = "ORDER BY coalesce(r.startedAt, r.firstSeenAt, r.updatedAt, '') DESC, r.runId ASC"
"""A job's runs, newest first (the order of ``list_runs``)."""

LIST_RUNS = f"""
OPTIONAL MATCH (j:Job {{key: $job}})
CALL (j) {{ MATCH (j)<-[:RUN_OF]-(r:Run) WHERE $state IS NULL OR r.state = $state RETURN count(r) AS total }}
CALL (j) {{
  MATCH (j)<-[:RUN_OF]-(r:Run) WHERE $state IS NULL OR r.state = $state
  WITH r {RUN_ORDER}
  SKIP $offset LIMIT $limit
  {_RUN_IO}
  RETURN collect({{key: r.key, props: properties(r), inputs: inputs, outputs: outputs}}) AS items
}}
RETURN total, items
"""


async def _page(tx: AsyncManagedTransaction, query: str, limit: int, offset: int, **params: Any) -> Any:
    found = await records(tx, query, **params, **skip_limit(limit, offset))
    return found[0]


def _refs(rows: Sequence[dict[str, Any]]) -> list[VersionRef]:
    return [common.version_ref(r["key"], {k: v for k, v in r.items() if v is not None}) for r in rows]


def _run_view(run: dict[str, Any], job: str | None) -> RunView:
    return common.run_view(dict(run["props"]), job, _refs(run["inputs"]), _refs(run["outputs"]))


async def list_runs(
    tx: AsyncManagedTransaction, job_key: str, limit: int, offset: int, state: str | None = None
) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_runs`."""
    found = await _page(tx, LIST_RUNS, limit, offset, job=job_key, state=state)
    return Page(items=[_run_view(run, job_key) for run in found["items"]], total=found["total"])


GET_RUN = f"""
MATCH (r:Run {{key: $key}})
CALL (r) {{ OPTIONAL MATCH (r)-[:RUN_OF]->(j) RETURN j.key AS job ORDER BY j.key LIMIT 1 }}
{_RUN_IO}
RETURN {{key: r.key, props: properties(r), inputs: inputs, outputs: outputs}} AS run, job
"""


async def get_run(tx: AsyncManagedTransaction, run_id: str) -> RunView | None:
    """See :meth:`olgraph.store.base.GraphStore.get_run` (the runId is matched lower-cased)."""
    found = await records(tx, GET_RUN, key=keys.run_key(keys.normalize_run_id(run_id)))
    return _run_view(found[0]["run"], found[0]["job"]) if found else None


async def dump(tx: AsyncManagedTransaction) -> GraphDump:
    """See :meth:`olgraph.store.base.GraphStore.dump`."""
    nodes = {}
    # Search's own structures (the distinct column names, each node's searchTie) are left out:
    # the embedded store keeps the same facts in tables of its own.
    query = "MATCH (n) WHERE NOT n:FieldName RETURN n.key AS key, labels(n) AS labels, properties(n) AS props"
    for r in await records(tx, query):
        props = {k: v for k, v in r["props"].items() if k != "searchTie"}
        nodes[r["key"]] = (tuple(sorted(r["labels"])), common.dump_props(props, props.get("_versions")))
    edges = {}
    query = "MATCH (a)-[e]->(b) RETURN type(e) AS type, a.key AS s, b.key AS t, properties(e) AS props"
    for r in await records(tx, query):
        edges[(r["type"], r["s"], r["t"])] = common.dump_props(r["props"], r["props"].get("_versions"))
    return GraphDump(nodes=nodes, edges=edges)
