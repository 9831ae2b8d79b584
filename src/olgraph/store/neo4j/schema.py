"""The Neo4j store's schema and its migrations, applied every time the store opens (private).

Constraints and indexes come from ``001_constraints.cypher`` (every statement IF [NOT] EXISTS).
A graph written by an older olgraph lacks what the read side derives on every write (a
dataset's, job's, column's or namespace's ``searchName`` and ``searchTie``; a column's
``namespace``): such nodes are found cheaply (an indexed count against the label's count) and
re-derived once, in key order and bounded batches, with exactly what a write would store now.
Column names without their ``FieldName`` node (search's distinct names) are recorded the same way.
"""

from __future__ import annotations

import logging
from typing import Any

import neo4j
from neo4j.exceptions import ClientError

from olgraph.store.merge import (
    SEARCHABLE_LABELS,
    VERSIONS_PROP,
    decode_versions,
    derive_props,
    encode_versions,
)
from olgraph.store.neo4j.cypher import schema_statements
from olgraph.store.neo4j.search import TERM_LABEL, TERM_WRITE, search_props

logger = logging.getLogger(__name__)

INDEX_WAIT_SECONDS = 300
"""How long ``open`` waits for new indexes to come online (they are built in the background)."""

BATCH = 5000

_MISSING = """
CALL () {{ MATCH (n:{label}) RETURN count(n) AS total }}
CALL () {{
  MATCH (m:{label}) WHERE m.searchName IS NOT NULL AND m.searchTie IS NOT NULL RETURN count(m) AS indexed
}}
RETURN total - indexed AS missing
"""
_PAGE = """
MATCH (n:{label}) WHERE n.key > $after
WITH n ORDER BY n.key LIMIT $limit
OPTIONAL MATCH (d:Dataset {{key: n.dataset}})
RETURN n.key AS key, elementId(n) AS id, properties(n) AS props, d.namespace AS datasetNamespace
"""
_WRITE = "UNWIND $rows AS row MATCH (n) WHERE elementId(n) = row.id SET n = row.props"
_NAMES_MISSING = f"""
MATCH (n:Field) USING RANGE INDEX n:Field(searchName, searchTie)
WHERE n.searchName >= '' AND n.searchTie IS NOT NULL
WITH DISTINCT n.searchName AS name
WHERE NOT EXISTS {{ MATCH (t:{TERM_LABEL} {{searchName: name}}) }}
RETURN count(name) AS missing
"""
_NAMES_PAGE = """
MATCH (n:Field) USING RANGE INDEX n:Field(searchName, searchTie)
WHERE n.searchName > $after AND n.searchTie IS NOT NULL
WITH DISTINCT n.searchName AS name ORDER BY name LIMIT $limit
RETURN collect(name) AS names
"""


async def apply_schema(driver: neo4j.AsyncDriver, database: str | None) -> None:
    """Create what is missing of the constraints and indexes, wait for them, then migrate."""
    async with driver.session(database=database) as session:
        for statement in schema_statements():
            try:
                await (await session.run(statement)).consume()
            except ClientError as exc:
                # Another process created the same constraint or index between our
                # IF NOT EXISTS check and the creation: what we wanted exists.
                if "AlreadyExists" not in (exc.code or ""):
                    raise
        await (await session.run("CALL db.awaitIndexes($seconds)", seconds=INDEX_WAIT_SECONDS)).consume()
        for label in sorted(SEARCHABLE_LABELS):
            await _migrate_label(session, label)
        await _record_column_names(session)


async def _migrate_label(session: neo4j.AsyncSession, label: str) -> None:
    record = await (await session.run(_MISSING.format(label=label))).single()
    if record is None or not record["missing"]:
        return
    after, total = "", 0
    while True:
        result = await session.run(_PAGE.format(label=label), after=after, limit=BATCH)
        rows = [dict(r) async for r in result]
        if not rows:
            break
        writes = [w for r in rows if (w := _rederived(label, r)) is not None]
        if writes:
            await (await session.run(_WRITE, rows=writes)).consume()
        after, total = rows[-1]["key"], total + len(writes)
    logger.info("Neo4j store: %d %s nodes re-derived (search and column properties)", total, label)


async def _record_column_names(session: neo4j.AsyncSession) -> None:
    """Give every column name its ``FieldName`` node (graphs written before search had them)."""
    record = await (await session.run(_NAMES_MISSING)).single()
    if record is None or not record["missing"]:
        return
    after, total = "", 0
    while True:
        page = await (await session.run(_NAMES_PAGE, after=after, limit=BATCH)).single()
        names: list[str] = [] if page is None else page["names"]
        if not names:
            break
        await (await session.run(TERM_WRITE, terms=sorted(names))).consume()
        after, total = max(names), total + len(names)
    logger.info("Neo4j store: %d column names recorded for search (schema 3)", total)


def _rederived(label: str, row: dict[str, Any]) -> dict[str, Any] | None:
    """The write that brings one node up to date, or None when it already is."""
    stored: dict[str, Any] = dict(row["props"])
    props = {k: v for k, v in stored.items() if k not in ("key", VERSIONS_PROP)}
    versions = decode_versions(stored.get(VERSIONS_PROP))
    if label == "Field" and "namespace" not in props and row["datasetNamespace"] is not None:
        props["namespace"] = row["datasetNamespace"]
        versions.setdefault("namespace", "")
    final: dict[str, Any] = {**search_props(row["key"], derive_props(label, props)), "key": row["key"]}
    if versions:
        final[VERSIONS_PROP] = encode_versions(versions)
    return None if final == stored else {"id": row["id"], "props": final}
