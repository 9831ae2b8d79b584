"""Deleting for good and expiring history in the embedded store (private).

Every function here is one bounded transaction on the store's worker thread; the callers
loop, so the consumer's batches go on in between (retention never blocks ingest).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from olgraph.store import common
from olgraph.store.base import NodeView
from olgraph.store.embedded.rows import delete_node, key_set, loads
from olgraph.store.retention import RunRow, VersionRow, runs_to_remove, versions_to_remove

T = TypeVar("T")


def _in_transaction(conn: sqlite3.Connection, work: Callable[[], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def external_dependents(conn: sqlite3.Connection, namespace: str, limit: int) -> list[NodeView]:
    """See :meth:`olgraph.store.base.GraphStore.external_dependents`."""
    rows = conn.execute(
        "SELECT DISTINCT t.key, t.labels, t.props FROM nodes s "
        "CROSS JOIN edges e ON e.src = s.key AND e.type IN ('CONSUMED_BY', 'PRODUCES', 'FEEDS') "
        "CROSS JOIN nodes t ON t.key = e.dst "
        "WHERE s.label IN ('Dataset', 'Job') AND s.namespace = ? AND s.hidden = 0 "
        "AND t.hidden = 0 AND t.namespace IS NOT ? ORDER BY t.key LIMIT ?",
        (namespace, namespace, limit),
    )
    return [common.node_view(k, loads(labels), loads(props)) for k, labels, props in rows]


def _closure(conn: sqlite3.Connection, keys: Sequence[str]) -> set[str]:
    """``keys`` and what goes with them: a dataset's versions and columns, a job's runs."""
    given = key_set(conn, keys)
    rows = conn.execute(
        f"SELECT e.src FROM {given} f CROSS JOIN edges e INDEXED BY edges_by_dst "
        "ON e.dst = f.value AND e.type IN ('VERSION_OF', 'RUN_OF') UNION "
        f"SELECT e.dst FROM {given} f CROSS JOIN edges e ON e.src = f.value AND e.type = 'HAS_FIELD'"
    )
    return set(keys) | {r[0] for r in rows}


def purge(conn: sqlite3.Connection, keys: Sequence[str]) -> int:
    """See :meth:`olgraph.store.base.GraphStore.purge` (one transaction)."""

    def work() -> int:
        doomed = _closure(conn, keys)
        present = {
            r[0]
            for r in conn.execute(
                f"SELECT n.key FROM {key_set(conn, doomed)} f CROSS JOIN nodes n ON n.key = f.value"
            )
        }
        for key in sorted(present):
            delete_node(conn, key)
        return len(present)

    return _in_transaction(conn, work)


def _latest(conn: sqlite3.Connection, datasets: Iterable[str]) -> dict[str, str]:
    """Dataset key → key of its latest explicit version (by createdAt, then key)."""
    rows = conn.execute(
        "SELECT e.dst, max(json_extract(v.props, '$.createdAt') || '|' || v.key) "
        f"FROM {key_set(conn, datasets)} f "
        "CROSS JOIN edges e INDEXED BY edges_by_dst ON e.type = 'VERSION_OF' AND e.dst = f.value "
        "CROSS JOIN nodes v ON v.key = e.src "
        "WHERE coalesce(json_extract(v.props, '$.implicit'), 0) != 1 GROUP BY e.dst"
    )
    return {dataset: best.split("|", 1)[1] for dataset, best in rows if best is not None}


def _page(
    conn: sqlite3.Connection, label: str, after: str, limit: int
) -> list[tuple[str, dict[str, object]]]:
    """One page of the nodes of ``label`` (runs, versions: no namespace or name) in key order."""
    rows = conn.execute(
        "SELECT key, props FROM nodes WHERE label = ? AND namespace IS NULL AND name IS NULL AND key > ? "
        "ORDER BY key LIMIT ?",
        (label, after, limit),
    )
    return [(k, loads(p)) for k, p in rows]


def expire_runs(
    conn: sqlite3.Connection, cutoff: str, after: str, limit: int, dry_run: bool
) -> tuple[int, str | None]:
    """Remove the old runs among the next ``limit`` runs after key ``after``: ``(removed, last key seen)``."""

    def work() -> tuple[int, str | None]:
        page = _page(conn, "Run", after, limit)
        if not page:
            return 0, None
        wrote = conn.execute(
            "SELECT e.src, v.key, json_extract(v.props, '$.dataset') "
            f"FROM {key_set(conn, (k for k, _ in page))} f "
            "CROSS JOIN edges e ON e.type = 'WROTE' AND e.src = f.value CROSS JOIN nodes v ON v.key = e.dst"
        ).fetchall()
        latest = _latest(conn, {d for _, _, d in wrote if d is not None})
        writers_of_latest = {run for run, version, dataset in wrote if latest.get(dataset) == version}
        rows = [
            RunRow(k, _time(p.get("updatedAt") or p.get("firstSeenAt")), k in writers_of_latest)
            for k, p in page
        ]
        doomed = runs_to_remove(rows, cutoff)
        if not dry_run:
            for key in doomed:
                delete_node(conn, key)
        return len(doomed), page[-1][0]

    return _in_transaction(conn, work)


def expire_versions(
    conn: sqlite3.Connection, cutoff: str, after: str, limit: int, dry_run: bool
) -> tuple[int, str | None]:
    """Remove the old versions among the next ``limit`` versions after key ``after``."""

    def work() -> tuple[int, str | None]:
        page = _page(conn, "DatasetVersion", after, limit)
        if not page:
            return 0, None
        keys = key_set(conn, (k for k, _ in page))
        used = {
            r[0]
            for r in conn.execute(
                f"SELECT f.value FROM {keys} f WHERE EXISTS (SELECT 1 FROM edges e "
                "WHERE e.type = 'READ_BY' AND e.src = f.value) OR EXISTS (SELECT 1 FROM edges e "
                "INDEXED BY edges_by_dst WHERE e.dst = f.value AND e.type = 'WROTE')"
            ).fetchall()
        }
        latest = set(_latest(conn, {str(p.get("dataset")) for _, p in page}).values())
        rows = [
            VersionRow(k, _time(p.get("createdAt")), p.get("implicit") is True, k in latest, k in used)
            for k, p in page
        ]
        doomed = versions_to_remove(rows, cutoff)
        if not dry_run:
            for key in doomed:
                delete_node(conn, key)
        return len(doomed), page[-1][0]

    return _in_transaction(conn, work)


def _time(value: object) -> str | None:
    return None if value is None else str(value)
