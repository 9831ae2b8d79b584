"""A graph written by the previous olgraph keeps working: the store migrates it when it opens.

The first version wrote neither ``searchName`` (any searchable node) nor a column's
``namespace``, and the embedded file had neither the ``search``/``hidden`` columns nor the
search tables. The second wrote them, but in Neo4j neither ``searchTie`` nor the ``FieldName``
nodes search reads column names from. Each test builds a graph, takes it back to that shape,
reopens the store and checks that the migrated graph is exactly the one the current version
builds.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from contract_events import apply_events, warehouse_events
from contract_stores import StoreFactory

from olgraph.store.embedded import EmbeddedStore
from olgraph.store.merge import VERSIONS_PROP
from olgraph.store.search import SearchQuery


def _previous(
    props: dict[str, Any], versions: dict[str, str], label: str, schema: int = 1
) -> tuple[dict[str, Any], dict[str, str]]:
    props = {k: v for k, v in props.items() if k not in ("searchName", "searchTie")[schema - 1 :]}
    if label == "Field" and schema == 1:
        props.pop("namespace", None)
        versions = {k: v for k, v in versions.items() if k != "namespace"}
    return props, versions


async def test_an_embedded_file_of_the_previous_version_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "graph.db"
    store = EmbeddedStore(path)
    await store.open()
    await apply_events(store, warehouse_events())
    expected = await store.dump()
    await store.close()

    conn = sqlite3.connect(path, isolation_level=None)
    for key, label, props, versions in conn.execute(
        "SELECT key, label, props, versions FROM nodes"
    ).fetchall():
        old_props, old_versions = _previous(orjson.loads(props), orjson.loads(versions), label)
        conn.execute(
            "UPDATE nodes SET props = ?, versions = ?, namespace = ? WHERE key = ?",
            (
                orjson.dumps(old_props).decode(),
                orjson.dumps(old_versions).decode(),
                old_props.get("namespace"),
                key,
            ),
        )
    conn.executescript(
        "DROP TRIGGER nodes_search_ai; DROP TRIGGER nodes_search_au; DROP TRIGGER nodes_search_ad;"
        "DROP TABLE search_fts; DROP TABLE search_terms; DROP INDEX nodes_by_label_name;"
        "ALTER TABLE nodes DROP COLUMN search; ALTER TABLE nodes DROP COLUMN hidden; PRAGMA user_version = 0;"
    )
    conn.close()

    reopened = EmbeddedStore(path)
    await reopened.open()
    try:
        assert await reopened.dump() == expected
        terms = await reopened._call(lambda c: c.execute("SELECT count(*) FROM search_terms").fetchone()[0])
        assert terms == sum(
            1
            for labels, _ in expected.nodes.values()
            if {"Dataset", "Job", "Field", "Namespace"} & set(labels)
        )
    finally:
        await reopened.close()


@pytest.mark.neo4j
@pytest.mark.parametrize("schema", [1, 2])
async def test_a_neo4j_graph_of_a_previous_version_is_migrated(
    request: pytest.FixtureRequest, schema: int
) -> None:
    from contract_stores import neo4j_factory  # noqa: PLC0415

    make: StoreFactory = neo4j_factory(request)
    async with make() as store:
        await apply_events(store, warehouse_events())
        expected = await store.dump()
        columns = sorted({props["name"] for labels, props in expected.nodes.values() if "Field" in labels})
        queries = [SearchQuery(name.lower()[1:4], types=("column",)) for name in columns if len(name) >= 4]
        answers = [await store.search(q) for q in queries]
    assert queries
    driver = request.getfixturevalue("neo4j_driver")
    with driver.session() as session:
        session.run("MATCH (t:FieldName) DETACH DELETE t").consume()
        rows = session.run(
            "MATCH (n) RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props"
        ).data()
        for row in rows:
            stored = dict(row["props"])
            versions = orjson.loads(stored.pop(VERSIONS_PROP, "{}"))
            primary = next(label for label in row["labels"] if label != "Model")
            props, versions = _previous(stored, versions, primary, schema)
            if versions:
                props[VERSIONS_PROP] = orjson.dumps(versions, option=orjson.OPT_SORT_KEYS).decode()
            session.run(
                "MATCH (n) WHERE elementId(n) = $id SET n = $props", id=row["id"], props=props
            ).consume()
        assert session.run("MATCH (n) WHERE n.searchTie IS NOT NULL RETURN count(n) AS c").single()["c"] == 0

    from olgraph.store.neo4j import Neo4jStore  # noqa: PLC0415

    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    reopened = Neo4jStore(
        str(request.getfixturevalue("neo4j_uri")), user=user or None, password=password or None
    )
    await reopened.open()
    try:
        assert await reopened.dump() == expected
        assert [await reopened.search(q) for q in queries] == answers
    finally:
        await reopened.close()
    with driver.session() as session:
        names = session.run("MATCH (t:FieldName) RETURN collect(t.searchName) AS names").single()["names"]
    assert sorted(names) == sorted({name.lower() for name in columns})
    with driver.session() as session:
        keys = session.run("MATCH (t:FieldName) RETURN collect(t.key) AS keys").single()["keys"]
    assert sorted(keys) == sorted(f"fieldName:{name}" for name in names)


async def test_an_embedded_file_of_schema_2_gets_the_last_seen_index(tmp_path: Path) -> None:
    """Schema 3 only adds the index of listings by last-seen time: created on open, no back-fill."""
    path = tmp_path / "graph.db"
    store = EmbeddedStore(path)
    await store.open()
    await apply_events(store, warehouse_events())
    expected = await store.dump()
    await store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript("DROP INDEX nodes_by_label_seen; PRAGMA user_version = 2;")
    conn.close()

    reopened = EmbeddedStore(path)
    await reopened.open()
    try:
        assert await reopened.dump() == expected
    finally:
        await reopened.close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        conn.close()
    assert (version, "nodes_by_label_seen" in indexes) == (3, True)
