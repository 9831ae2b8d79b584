"""Deleting for good and expiring history in the Neo4j store (private).

Each function is one bounded write transaction; callers loop (retention never holds locks
for long, so ingest goes on between batches). Decisions are :mod:`olgraph.store.retention`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from neo4j import AsyncManagedTransaction

from olgraph.store import common
from olgraph.store.base import NodeView
from olgraph.store.neo4j.read import node_map, records
from olgraph.store.retention import RunRow, VersionRow, runs_to_remove, versions_to_remove

EXTERNAL_DEPENDENTS = f"""
CALL () {{
  MATCH (s:Dataset) WHERE s.namespace = $namespace AND s.name IS NOT NULL RETURN s
  UNION ALL
  MATCH (s:Job) WHERE s.namespace = $namespace AND s.name IS NOT NULL RETURN s
}}
WITH s WHERE coalesce(s.deleted, false) = false
MATCH (s)-[:CONSUMED_BY|PRODUCES|FEEDS]->(t)
WHERE coalesce(t.deleted, false) = false AND coalesce(t.namespace, '') <> $namespace
WITH DISTINCT t ORDER BY t.key LIMIT $limit
RETURN {node_map("t")} AS node
"""


async def external_dependents(tx: AsyncManagedTransaction, namespace: str, limit: int) -> list[NodeView]:
    """See :meth:`olgraph.store.base.GraphStore.external_dependents`."""
    rows = await records(tx, EXTERNAL_DEPENDENTS, namespace=namespace, limit=limit)
    return [common.node_view(r["node"]["key"], r["node"]["labels"], dict(r["node"]["props"])) for r in rows]


PURGE = """
CALL () {
  UNWIND $datasets AS k MATCH (n:Dataset {key: k}) RETURN n
  UNION ALL UNWIND $jobs AS k MATCH (n:Job {key: k}) RETURN n
  UNION ALL UNWIND $namespaces AS k MATCH (n:Namespace {key: k}) RETURN n
}
CALL (n) {
  OPTIONAL MATCH (n)<-[:VERSION_OF|RUN_OF]-(m) RETURN collect(m) AS owned
}
CALL (n) {
  OPTIONAL MATCH (n)-[:HAS_FIELD]->(f) RETURN collect(f) AS fields
}
WITH n, owned + fields AS extra
FOREACH (x IN extra | DETACH DELETE x)
DETACH DELETE n
RETURN 1 + size(extra) AS removed
"""


async def purge(tx: AsyncManagedTransaction, keys: Sequence[str]) -> int:
    """See :meth:`olgraph.store.base.GraphStore.purge` (one transaction)."""
    params = {
        "datasets": [k for k in keys if k.startswith("dataset:")],
        "jobs": [k for k in keys if k.startswith("job:")],
        "namespaces": [k for k in keys if k.startswith("namespace:")],
    }
    return sum(int(r["removed"]) for r in await records(tx, PURGE, **params))


RUNS_PAGE = """
MATCH (r:Run) WHERE r.key > $after
WITH r ORDER BY r.key LIMIT $limit
CALL (r) {
  OPTIONAL MATCH (r)-[:WROTE]->(v:DatasetVersion)-[:VERSION_OF]->(d:Dataset)
  CALL (d) {
    MATCH (d)<-[:VERSION_OF]-(w:DatasetVersion)
    WHERE coalesce(w.implicit, false) = false AND w.createdAt IS NOT NULL
    RETURN w.key AS latest ORDER BY w.createdAt DESC, w.key DESC LIMIT 1
  }
  RETURN count(CASE WHEN v.key = latest THEN 1 END) > 0 AS wroteLatest
}
RETURN r.key AS key, coalesce(r.updatedAt, r.firstSeenAt) AS at, wroteLatest
"""

DELETE_RUNS = "UNWIND $keys AS k MATCH (r:Run {key: k}) DETACH DELETE r"


async def expire_runs(
    tx: AsyncManagedTransaction, cutoff: str, after: str, limit: int, dry_run: bool
) -> tuple[int, str | None]:
    """Remove the old runs among the next ``limit`` runs after key ``after``: ``(removed, last key seen)``."""
    rows = await records(tx, RUNS_PAGE, after=after, limit=limit)
    if not rows:
        return 0, None
    doomed = runs_to_remove((RunRow(r["key"], r["at"], bool(r["wroteLatest"])) for r in rows), cutoff)
    if doomed and not dry_run:
        await (await tx.run(DELETE_RUNS, keys=doomed)).consume()
    return len(doomed), str(rows[-1]["key"])


VERSIONS_PAGE = """
MATCH (v:DatasetVersion) WHERE v.key > $after
WITH v ORDER BY v.key LIMIT $limit
OPTIONAL MATCH (v)-[:VERSION_OF]->(d:Dataset)
CALL (d) {
  OPTIONAL MATCH (d)<-[:VERSION_OF]-(w:DatasetVersion)
  WHERE coalesce(w.implicit, false) = false AND w.createdAt IS NOT NULL
  RETURN w.key AS latest ORDER BY w.createdAt DESC, w.key DESC LIMIT 1
}
RETURN v.key AS key, v.createdAt AS createdAt, coalesce(v.implicit, false) AS implicit,
       v.key = latest AS latest,
       EXISTS { (v)-[:READ_BY]->() } OR EXISTS { (v)<-[:WROTE]-() } AS used
"""

DELETE_VERSIONS = "UNWIND $keys AS k MATCH (v:DatasetVersion {key: k}) DETACH DELETE v"


async def expire_versions(
    tx: AsyncManagedTransaction, cutoff: str, after: str, limit: int, dry_run: bool
) -> tuple[int, str | None]:
    """Remove the old versions among the next ``limit`` versions after key ``after``."""
    rows = await records(tx, VERSIONS_PAGE, after=after, limit=limit)
    if not rows:
        return 0, None
    candidates = (
        VersionRow(r["key"], r["createdAt"], bool(r["implicit"]), bool(r["latest"]), bool(r["used"]))
        for r in rows
    )
    doomed = versions_to_remove(candidates, cutoff)
    if doomed and not dry_run:
        await (await tx.run(DELETE_VERSIONS, keys=doomed)).consume()
    return len(doomed), str(rows[-1]["key"])
