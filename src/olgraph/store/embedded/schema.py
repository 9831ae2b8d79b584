"""The embedded store's schema and its migrations, applied every time the file opens (private).

``PRAGMA user_version`` records how far a file is: 1 (``001_graph.sql``: nodes and edges)
or 2 (``002_read_side.sql``: the ``search``/``hidden`` columns of ``nodes``, the listing
index, the search tables and their triggers). Opening a file of an older olgraph migrates it
in place: the DDL is idempotent, the new columns are added when missing, and the rows written
before are back-filled once, in batches, with exactly what :func:`save_nodes` writes now
(the derived ``searchName``/``deleted`` properties and a Field's ``namespace``).
"""

from __future__ import annotations

import logging
import sqlite3
from importlib import resources
from pathlib import Path

from olgraph.normalize.mutations import Label
from olgraph.store.embedded.rows import dumps, loads
from olgraph.store.merge import derive_props

logger = logging.getLogger(__name__)

SCHEMA_FILES = ("001_graph.sql", "002_read_side.sql")
"""The DDL files, in order, shipped in ``olgraph/store/embedded/sql`` (``schemas/sqlite`` holds copies)."""

VERSION = 2
"""The schema version this olgraph writes (``PRAGMA user_version``)."""

NODE_COLUMNS = {"search": "TEXT", "hidden": "INTEGER NOT NULL DEFAULT 0"}
"""Columns schema 2 adds to ``nodes``."""

BACKFILL_BATCH = 5000

PLANNER_STATS = (
    ("edges", "edges", "1000000 100000 1 1"),
    ("edges", "edges_by_dst", "1000000 10 2 1"),
    ("edges", "edges_by_src", "1000000 10 2 1"),
)
"""The shape of ``edges`` told to SQLite's query planner (``sqlite_stat1`` rows: table, index,
rows then rows per distinct prefix of the index's columns): few relationship types, few
relationships per node. Without statistics SQLite takes every indexed equality for selective
and answers ``type = ? AND dst = ?`` from the primary key's ``type`` prefix, which covers
``props``: a walk over every relationship of that type, instead of ``edges_by_dst``. The
figures are a shape, not a count; a real ``ANALYZE`` replaces them."""


def schema_sql(name: str) -> str:
    """The text of one DDL file."""
    return resources.files("olgraph.store.embedded").joinpath("sql", name).read_text(encoding="utf-8")


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the store file: WAL, ``synchronous=FULL``, schema applied.

    The connection is in autocommit mode; callers open transactions explicitly. A file of an
    older olgraph is migrated (:func:`migrate`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed batch survives power loss; the consumer commits offsets after it.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=OFF")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the file to :data:`VERSION` (idempotent; a fresh file gets everything at once)."""
    conn.executescript(schema_sql(SCHEMA_FILES[0]))
    present = {row[1] for row in conn.execute("PRAGMA table_info(nodes)")}
    for column, decl in NODE_COLUMNS.items():
        if column not in present:
            conn.execute(f"ALTER TABLE nodes ADD COLUMN {column} {decl}")
    conn.executescript(schema_sql(SCHEMA_FILES[1]))
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version < VERSION:
        _backfill(conn)
        conn.execute(f"PRAGMA user_version = {VERSION}")
    _seed_planner_stats(conn)


def _seed_planner_stats(conn: sqlite3.Connection) -> None:
    """Write :data:`PLANNER_STATS` unless ``edges`` has statistics already (seeded or analyzed)."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()
    if exists and conn.execute("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'edges' LIMIT 1").fetchone():
        return
    try:
        conn.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1 (analyzing the schema alone: cheap)
    except sqlite3.OperationalError as exc:
        if "readonly" in str(exc):  # a read-only file of an older olgraph: it reads, only slower
            logger.warning("embedded store: read-only file, query planner statistics not written")
            return
        raise
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'edges'")
        conn.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", PLANNER_STATS)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    conn.execute("ANALYZE sqlite_schema")  # this connection reads the statistics again


def _backfill(conn: sqlite3.Connection) -> None:
    """Re-derive every node written before schema 2, in key order and batches of transactions."""
    after, total = "", 0
    while True:
        rows = conn.execute(
            "SELECT key, label, labels, props, versions FROM nodes WHERE key > ? ORDER BY key LIMIT ?",
            (after, BACKFILL_BATCH),
        ).fetchall()
        if not rows:
            break
        conn.execute("BEGIN IMMEDIATE")
        try:
            for key, label, _labels, props_text, versions_text in rows:
                _backfill_one(conn, key, label, loads(props_text), loads(versions_text))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        after, total = rows[-1][0], total + len(rows)
    if total:
        logger.info("embedded store migrated to schema %d (%d nodes re-derived)", VERSION, total)


def _backfill_one(
    conn: sqlite3.Connection, key: str, label: str, props: dict[str, object], versions: dict[str, str]
) -> None:
    if label == Label.FIELD.value and "namespace" not in props:
        dataset = conn.execute(
            "SELECT namespace FROM nodes WHERE key = ?", (props.get("dataset"),)
        ).fetchone()
        if dataset is not None and dataset[0] is not None:
            props["namespace"] = dataset[0]
            versions.setdefault("namespace", "")
    derived = derive_props(label, props)  # type: ignore[arg-type]
    conn.execute(
        "UPDATE nodes SET props = ?, versions = ?, namespace = ?, search = ?, hidden = ? WHERE key = ?",
        (
            dumps(derived),
            dumps(versions),
            derived.get("namespace"),
            derived.get("searchName"),
            int(derived.get("deleted") is True),
            key,
        ),
    )
