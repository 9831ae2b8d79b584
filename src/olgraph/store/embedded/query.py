"""Read queries of the embedded store (private; synchronous, on the store's worker thread).

Traversals go through :class:`olgraph.store.LineageWalk`: one SQL statement per hop
covers the whole frontier. Views are built with :mod:`olgraph.store.common` so both stores
answer alike.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable

from olgraph import keys
from olgraph.errors import NotFound
from olgraph.normalize.mutations import Label, PropValue
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
from olgraph.store.embedded.rows import iter_edges, iter_nodes, key_set, load_nodes, loads
from olgraph.store.walk import (
    PROBE_LIMIT,
    ExpandRequest,
    ExpandResponse,
    LineageWalk,
    WalkSpec,
    build_impact,
    impact_keys,
    pick_last_run,
    walk_sync,
)

_NEIGHBOURS = {
    # request part -> (edges table with index hint, column matched to the frontier, far column).
    # Incoming lookups name their index: SQLite otherwise may prefer the primary key's type
    # prefix and scan every relationship of that type (test_no_query_scans_a_table).
    "out": ("edges e", "src", "dst"),
    "in": ("edges e INDEXED BY edges_by_dst", "dst", "src"),
}


def _type_list(types: Iterable[str]) -> str:
    """An SQL ``IN`` list of relationship types (only olgraph's own type names, never input)."""
    names = sorted(set(types))
    if not names or not all(name.isidentifier() and name.isupper() for name in names):
        raise ValueError(f"bad relationship types {names!r}")
    return "(" + ", ".join(f"'{name}'" for name in names) + ")"


def get_node(conn: sqlite3.Connection, key: str) -> NodeView | None:
    """The job, dataset or run ``key``, or None."""
    row = load_nodes(conn, [key]).get(key)
    if row is None or common.node_type(row.labels) is None:
        return None
    return common.node_view(row.key, row.labels, row.props)


def _start(conn: sqlite3.Connection, key: str) -> NodeView:
    view = get_node(conn, key)
    if view is None:
        raise NotFound(f"no job or dataset with id {key!r}")
    return view


def expand(conn: sqlite3.Connection, request: ExpandRequest) -> ExpandResponse:
    """Answer one walk request with a single UNION ALL statement."""
    parts: list[str] = []
    hops, aliases = request.traversal.hop_types, request.traversal.alias_types
    node_props = _SHAPE_PROPS if request.traversal.shape_only else "n.props"
    for name, side, type_names, frontier in (
        ("downstream", "out", hops, request.downstream),
        ("upstream", "in", hops, request.upstream),
        ("alias_out", "out", aliases, request.aliases),
        ("alias_in", "in", aliases, request.aliases),
    ):
        if not frontier or not type_names:
            continue
        table, near, far = _NEIGHBOURS[side]
        types = _type_list(type_names)
        keys = key_set(conn, frontier, f"key_set_{name}")
        exclude = ""
        if request.probe:
            excluded = key_set(conn, request.exclude, "key_set_exclude")
            exclude = f" AND e.{far} NOT IN (SELECT x.value FROM {excluded} x)"
        parts.append(
            f"SELECT e.type, e.src, e.dst, e.props, n.key, n.labels, {node_props} FROM {keys} f "
            f"CROSS JOIN {table} ON e.type IN {types} AND e.{near} = f.value{exclude} "
            f"CROSS JOIN nodes n ON n.key = e.{far}"
        )
    edges: list[EdgeView] = []
    nodes: dict[str, NodeView] = {}
    query = " UNION ALL ".join(parts) + (f" LIMIT {PROBE_LIMIT}" if request.probe else "")
    for rel, src, dst, props, key, labels, node_props in conn.execute(query):
        label_set = loads(labels)
        if common.node_type(label_set) is None:
            continue
        edges.append(common.edge_view(rel, src, dst, loads(props)))
        found = loads(node_props)
        if request.traversal.shape_only:
            found = {name: value for name, value in found.items() if value is not None}
        nodes[key] = common.node_view(key, label_set, found)
    return ExpandResponse(edges=edges, nodes=nodes)


_SHAPE_PROPS = (
    "json_object('namespace', n.namespace, 'name', n.name, 'deleted', "
    "CASE WHEN n.hidden THEN json('true') END)"
)
"""A reached node's props when the traversal wants its shape only: its identity (the columns
that copy it), as JSON (its ``null`` values are dropped after reading, as Neo4j leaves out
absent properties)."""


def _walk(conn: sqlite3.Connection, key: str, spec: WalkSpec) -> LineageWalk:
    walk = spec.walk(_start(conn, key))
    walk_sync(walk, lambda request: expand(conn, request))
    return walk


def lineage(conn: sqlite3.Connection, key: str, spec: WalkSpec) -> LineageResult:
    """See :meth:`olgraph.store.base.GraphStore.lineage`."""
    return _walk(conn, key, spec).result()


def impact(conn: sqlite3.Connection, key: str, spec: WalkSpec) -> ImpactResult:
    """See :meth:`olgraph.store.base.GraphStore.impact` (``spec`` is downstream, live only)."""
    walk = _walk(conn, key, spec)
    affected = impact_keys(walk)
    jobs = [k for k in affected if walk.views[k].type == "job"]
    datasets = [k for k in affected if walk.views[k].type != "job"]
    return build_impact(walk, owners(conn, affected), last_runs(conn, jobs, datasets))


def owners(conn: sqlite3.Connection, node_keys: Iterable[str]) -> dict[str, list[str]]:
    """Owner names of each of ``node_keys`` (one statement)."""
    rows = conn.execute(
        f"SELECT e.dst, o.key, o.props FROM {key_set(conn, node_keys)} f "
        "CROSS JOIN edges e ON e.type = 'OWNS' AND e.dst = f.value CROSS JOIN nodes o ON o.key = e.src"
    )
    owners: dict[str, list[str]] = defaultdict(list)
    for node, owner, props in rows:
        owners[node].append(common.owner_name(owner, loads(props)))
    return owners


# The most recent run per node; the ordering is the one pick_last_run defines.
_LAST_RUN = (
    "SELECT node, run, updated, state FROM (SELECT f.value AS node, r.key AS run, "
    "json_extract(r.props, '$.updatedAt') AS updated, json_extract(r.props, '$.state') AS state, "
    "row_number() OVER (PARTITION BY f.value "
    "ORDER BY coalesce(json_extract(r.props, '$.updatedAt'), '') DESC, r.key DESC) AS rank "
    "FROM {keys} f {joins}) WHERE rank = 1"
)
_JOB_RUNS = "CROSS JOIN edges e ON e.type = 'RUN_OF' AND e.dst = f.value CROSS JOIN nodes r ON r.key = e.src"
_WRITER_RUNS = (
    "CROSS JOIN edges v ON v.type = 'VERSION_OF' AND v.dst = f.value "
    "CROSS JOIN edges w ON w.type = 'WROTE' AND w.dst = v.src CROSS JOIN nodes r ON r.key = w.src"
)


def last_runs(
    conn: sqlite3.Connection, jobs: Iterable[str], datasets: Iterable[str]
) -> dict[str, tuple[str | None, str | None]]:
    """(time, state) of the most recent run of each job, and of the most recent writer of each dataset."""
    out: dict[str, tuple[str | None, str | None]] = {}
    for joins, node_keys in ((_JOB_RUNS, jobs), (_WRITER_RUNS, datasets)):
        statement = _LAST_RUN.format(keys=key_set(conn, node_keys), joins=joins)
        for node, run, updated, state in conn.execute(statement):
            out[node] = pick_last_run([(run, updated, state)])
    return out


# ---------------------------------------------------------------- listings


_RUNS_OF_JOB = (
    "FROM edges e CROSS JOIN nodes r ON r.key = e.src AND r.label = 'Run' "
    "WHERE e.type = 'RUN_OF' AND e.dst = ? AND (? IS NULL OR json_extract(r.props, '$.state') = ?)"
)


RUN_ORDER = (
    "ORDER BY coalesce(json_extract(r.props, '$.startedAt'), json_extract(r.props, '$.firstSeenAt'), "
    "json_extract(r.props, '$.updatedAt'), '') DESC, json_extract(r.props, '$.runId') ASC"
)
"""A job's runs ``r``, newest start first, then by runId (the order of ``list_runs``)."""


def list_runs(
    conn: sqlite3.Connection, job_key: str, limit: int, offset: int, state: str | None = None
) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_runs` (newest start first, then runId)."""
    total = conn.execute(f"SELECT count(*) {_RUNS_OF_JOB}", (job_key, state, state)).fetchone()[0]
    rows = conn.execute(
        f"SELECT r.key, r.props {_RUNS_OF_JOB} {RUN_ORDER} LIMIT ? OFFSET ?",
        (job_key, state, state, limit, offset),
    )
    runs = [(key, loads(props)) for key, props in rows]
    io = _run_io(conn, [key for key, _ in runs])
    return Page(items=[_run_view(key, props, job_key, io) for key, props in runs], total=total)


# ---------------------------------------------------------------- runs and datasets

_RunIO = dict[tuple[str, str], list[VersionRef]]


def _run_io(conn: sqlite3.Connection, run_keys: list[str]) -> _RunIO:
    """(run key, "in"/"out") → versions read/written, for all ``run_keys`` in one statement."""
    keys = key_set(conn, run_keys)
    rows = conn.execute(
        f"SELECT e.dst, 'in', v.key, v.props FROM {keys} f CROSS JOIN edges e ON e.type = 'READ_BY' "
        f"AND e.dst = f.value CROSS JOIN nodes v ON v.key = e.src UNION ALL "
        f"SELECT e.src, 'out', v.key, v.props FROM {keys} f CROSS JOIN edges e ON e.type = 'WROTE' "
        "AND e.src = f.value CROSS JOIN nodes v ON v.key = e.dst"
    )
    out: _RunIO = defaultdict(list)
    for run, kind, version, props in rows:
        out[(run, kind)].append(common.version_ref(version, loads(props)))
    return out


def _run_view(key: str, props: dict[str, PropValue], job: str | None, io: _RunIO) -> RunView:
    return common.run_view(props, job, io.get((key, "in"), []), io.get((key, "out"), []))


def get_run(conn: sqlite3.Connection, run_id: str) -> RunView | None:
    """See :meth:`olgraph.store.base.GraphStore.get_run` (the runId is matched lower-cased)."""
    key = keys.run_key(keys.normalize_run_id(run_id))
    row = load_nodes(conn, [key]).get(key)
    if row is None or row.label != Label.RUN.value:
        return None
    job = conn.execute("SELECT dst FROM edges WHERE type = 'RUN_OF' AND src = ? ORDER BY dst LIMIT 1", (key,))
    found = job.fetchone()
    return _run_view(key, row.props, found[0] if found else None, _run_io(conn, [key]))


def dump(conn: sqlite3.Connection) -> GraphDump:
    """See :meth:`olgraph.store.base.GraphStore.dump`."""
    nodes = {
        r.key: (tuple(sorted(r.labels)), common.dump_props(r.props, r.versions)) for r in iter_nodes(conn)
    }
    edges = {e.id: common.dump_props(e.props, e.versions) for e in iter_edges(conn)}
    return GraphDump(nodes=nodes, edges=edges)
