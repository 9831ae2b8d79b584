"""Detail reads of the embedded store (private): neighbourhoods, run statistics and paged
lists of versions and child runs. Answers are assembled by :mod:`olgraph.store.details`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from olgraph import keys
from olgraph.normalize.mutations import Label, PropValue
from olgraph.store import common, details
from olgraph.store.base import Page
from olgraph.store.detail_views import DatasetDetail, JobView, NodeDetails, RunDetail, VersionDetail
from olgraph.store.details import Neighbour, Neighbourhood, NeighbourSpec
from olgraph.store.embedded.query import RUN_ORDER
from olgraph.store.embedded.rows import key_set, load_nodes, loads


def _order(props: Sequence[str]) -> str:
    if not props:
        return "ORDER BY n.key"
    values = ", ".join(f"json_extract(n.props, '$.{p}')" for p in props)
    return f"ORDER BY coalesce({values}, '') DESC, n.key"


def _edges(incoming: bool) -> tuple[str, str, str]:
    """(table with index hint, column matched to the node, column of the neighbour)."""
    return ("edges e INDEXED BY edges_by_dst", "dst", "src") if incoming else ("edges e", "src", "dst")


def neighbours(conn: sqlite3.Connection, key: str, spec: NeighbourSpec, offset: int = 0) -> list[Neighbour]:
    """The neighbours of ``key`` that ``spec`` asks for (``offset`` skips the first ones)."""
    table, near, far = _edges(spec.incoming)
    limit = "" if spec.limit is None else f" LIMIT {int(spec.limit)} OFFSET {int(offset)}"
    rows = conn.execute(
        f"SELECT n.key, n.labels, n.props, e.props FROM {table} CROSS JOIN nodes n ON n.key = e.{far} "
        f"WHERE e.type = ? AND e.{near} = ? {_order(spec.order)}{limit}",
        (spec.rel, key),
    )
    return [_neighbour(*row) for row in rows]


def _neighbour(key: str, labels: str, props: str, edge: str) -> Neighbour:
    """A neighbour from its stored row (key, labels, props and the relationship's props)."""
    return Neighbour(key, frozenset(loads(labels)), loads(props), loads(edge))


def count(conn: sqlite3.Connection, key: str, spec: NeighbourSpec) -> int:
    """How many neighbours ``spec`` would find without its limit."""
    table, near, _ = _edges(spec.incoming)
    (found,) = conn.execute(
        f"SELECT count(*) FROM {table} WHERE e.type = ? AND e.{near} = ?", (spec.rel, key)
    ).fetchone()
    return int(found)


def neighbourhood(
    conn: sqlite3.Connection, key: str, label: Label, specs: Sequence[NeighbourSpec]
) -> Neighbourhood | None:
    """The node ``key`` (if it has ``label``) and its neighbours by spec."""
    row = load_nodes(conn, [key]).get(key)
    if row is None or row.label != label.value:
        return None
    hood = Neighbourhood(key, frozenset(row.labels), details.clean(row.props))
    for spec in specs:
        hood.found[spec.name] = neighbours(conn, key, spec) if spec.limit != 0 else []
        if spec.limit is not None:
            hood.counts[spec.name] = count(conn, key, spec)
    return hood


def neighbourhoods(
    conn: sqlite3.Connection, keys_: Sequence[str], label: Label, specs: Sequence[NeighbourSpec]
) -> dict[str, Neighbourhood]:
    """:func:`neighbourhood` of many nodes: one query per spec (and one per count) for all of
    them, instead of per node. Each spec's limit is applied per node after reading all of
    their neighbours, so it suits specs with small neighbour sets (a lineage graph's)."""
    rows = load_nodes(conn, keys_)
    hoods = {
        key: Neighbourhood(key, frozenset(row.labels), details.clean(row.props))
        for key in dict.fromkeys(keys_)
        if (row := rows.get(key)) is not None and row.label == label.value
    }
    keys = key_set(conn, hoods, "hood_keys")
    for spec in specs:
        table, near, far = _edges(spec.incoming)
        joined = f"{keys} f CROSS JOIN {table} ON e.type = ? AND e.{near} = f.value"
        for hood in hoods.values():
            hood.found[spec.name] = []
        if spec.limit != 0:
            found = conn.execute(
                f"SELECT e.{near}, n.key, n.labels, n.props, e.props FROM {joined} "
                f"CROSS JOIN nodes n ON n.key = e.{far} {_order(spec.order)}",
                (spec.rel,),
            )
            for near_key, *row in found:
                listed = hoods[near_key].found[spec.name]
                if spec.limit is None or len(listed) < spec.limit:
                    listed.append(_neighbour(*row))
        if spec.limit is not None:
            counts = dict(conn.execute(f"SELECT e.{near}, count(*) FROM {joined} GROUP BY 1", (spec.rel,)))
            for key, hood in hoods.items():
                hood.counts[spec.name] = int(counts.get(key, 0))
    return hoods


_RUN_STATS = (
    "SELECT json_extract(r.props, '$.state'), count(*), max(json_extract(r.props, '$.endedAt')), "
    "max(coalesce(json_extract(r.props, '$.startedAt'), json_extract(r.props, '$.firstSeenAt'), "
    "json_extract(r.props, '$.updatedAt'))) "
    "FROM edges e INDEXED BY edges_by_dst CROSS JOIN nodes r ON r.key = e.src "
    "WHERE e.type = 'RUN_OF' AND e.dst = ? GROUP BY 1"
)


def get_job(conn: sqlite3.Connection, key: str) -> JobView | None:
    """See :meth:`olgraph.store.base.GraphStore.get_job`."""
    hood = neighbourhood(conn, key, Label.JOB, details.JOB_SPECS)
    if hood is None:
        return None
    return details.job_view(hood, details.run_stats(conn.execute(_RUN_STATS, (key,)).fetchall()))


def get_run_detail(conn: sqlite3.Connection, run_id: str) -> RunDetail | None:
    """See :meth:`olgraph.store.base.GraphStore.get_run_detail`."""
    hood = neighbourhood(conn, keys.run_key(keys.normalize_run_id(run_id)), Label.RUN, details.RUN_SPECS)
    if hood is None:
        return None
    return details.run_detail(hood, _root_runs(conn, [hood]).get(hood.key))


def get_dataset(conn: sqlite3.Connection, key: str) -> DatasetDetail | None:
    """See :meth:`olgraph.store.base.GraphStore.get_dataset`."""
    hood = neighbourhood(conn, key, Label.DATASET, details.DATASET_SPECS)
    return details.dataset_detail(hood) if hood is not None else None


def get_version(conn: sqlite3.Connection, dataset: str, version: str) -> VersionDetail | None:
    """See :meth:`olgraph.store.base.GraphStore.get_version`."""
    key = keys.dataset_version_key(dataset, version)
    hood = neighbourhood(conn, key, Label.DATASET_VERSION, details.VERSION_SPECS)
    if hood is None or hood.props.get("dataset") != dataset:
        return None
    writers = hood.of("writers")
    inputs = neighbours(conn, writers[0].key, details.WRITER_INPUT_SPECS[0]) if writers else []
    return details.version_detail(hood, inputs)


_VERSIONS = details.NeighbourSpec("versions", "VERSION_OF", incoming=True, order=("createdAt",))
_CHILDREN = details.NeighbourSpec("children", "CHILD_OF", incoming=True, order=details.RUN_START)


def list_versions(conn: sqlite3.Connection, key: str, limit: int, offset: int) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_versions`."""
    spec = NeighbourSpec(_VERSIONS.name, _VERSIONS.rel, True, _VERSIONS.order, limit)
    found = neighbours(conn, key, spec, offset)
    return Page(items=[common.version_view(n.key, n.props) for n in found], total=count(conn, key, spec))


def list_child_runs(conn: sqlite3.Connection, run_id: str, limit: int, offset: int) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_child_runs`."""
    key = keys.run_key(keys.normalize_run_id(run_id))
    spec = NeighbourSpec(_CHILDREN.name, _CHILDREN.rel, True, _CHILDREN.order, limit)
    found = neighbours(conn, key, spec, offset)
    return Page(items=[details.run_summary(n.key, n.props) for n in found], total=count(conn, key, spec))


_LATEST_RUNS = (
    "SELECT job, key FROM (SELECT e.dst AS job, r.key AS key, row_number() OVER ("
    f"PARTITION BY e.dst {RUN_ORDER}) AS rank FROM {{keys}} f "
    "CROSS JOIN edges e INDEXED BY edges_by_dst ON e.type = 'RUN_OF' AND e.dst = f.value "
    "CROSS JOIN nodes r ON r.key = e.src AND r.label = 'Run') WHERE rank <= ? ORDER BY job, rank"
)


def latest_runs(conn: sqlite3.Connection, jobs: Sequence[str], limit: int) -> dict[str, list[str]]:
    """The keys of each job's ``limit`` newest runs (the order of ``list_runs``), in one query."""
    out: dict[str, list[str]] = {}
    bound = limit if limit >= 0 else 2**62
    for job, key in conn.execute(_LATEST_RUNS.format(keys=key_set(conn, jobs, "run_jobs")), (bound,)):
        out.setdefault(job, []).append(key)
    return out


def _root_runs(
    conn: sqlite3.Connection, hoods: Iterable[Neighbourhood]
) -> dict[str, tuple[str, dict[str, PropValue]]]:
    """Run key → (root run key, its props) of the runs among ``hoods`` that name a stored root."""
    root_of = {
        hood.key: keys.run_key(str(hood.props["rootRunId"]))
        for hood in hoods
        if hood.props.get("rootRunId") is not None
    }
    rows = load_nodes(conn, set(root_of.values()))
    return {key: (root, rows[root].props) for key, root in root_of.items() if root in rows}


def get_details(conn: sqlite3.Connection, jobs: list[str], datasets: list[str], runs: int) -> NodeDetails:
    """See :meth:`olgraph.store.base.GraphStore.get_details` (one read transaction)."""
    no_stats = details.run_stats(())
    job_hoods = neighbourhoods(conn, jobs, Label.JOB, details.GRAPH_JOB_SPECS)
    found_jobs = {key: details.job_view(hood, no_stats) for key, hood in job_hoods.items()}
    dataset_hoods = neighbourhoods(conn, datasets, Label.DATASET, details.GRAPH_DATASET_SPECS)
    found_datasets = {key: details.dataset_detail(hood) for key, hood in dataset_hoods.items()}
    run_keys = latest_runs(conn, list(found_jobs), runs)
    run_hoods = neighbourhoods(
        conn, [k for ks in run_keys.values() for k in ks], Label.RUN, details.RUN_SPECS
    )
    roots = _root_runs(conn, run_hoods.values())
    run_details = {key: details.run_detail(hood, roots.get(key)) for key, hood in run_hoods.items()}
    latest = {key: [run_details[k] for k in run_keys.get(key, []) if k in run_details] for key in found_jobs}
    refs = {io.ref.dataset for found in latest.values() for d in found for io in (*d.inputs, *d.outputs)}
    rows = load_nodes(conn, refs)
    nodes = {
        k: common.node_view(k, row.labels, row.props)
        for k in sorted(refs)
        if (row := rows.get(k)) is not None and common.node_type(row.labels) is not None
    }
    return NodeDetails(found_jobs, found_datasets, latest, nodes)
