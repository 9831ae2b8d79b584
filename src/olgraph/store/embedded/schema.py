"""The embedded store's schema and its migrations, applied every time the file opens (private).

``PRAGMA user_version`` records how far a file is: 1 (``001_graph.sql``: nodes and edges),
2 (``002_read_side.sql``: the ``search``/``hidden`` columns of ``nodes``, the listing
index, the search tables and their triggers) or 3 (``003_listing_order.sql``: the index of
listings by last-seen time; created by its DDL, nothing to back-fill). Opening a file of an
older olgraph migrates it in place: the DDL is idempotent, the new columns are added when
missing, and the rows written before schema 2 are back-filled once, in batches, with exactly
what :func:`save_nodes` writes now (the derived ``searchName``/``deleted`` properties and a
Field's ``namespace``).
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

SCHEMA_FILES = ("001_graph.sql", "002_read_side.sql", "003_listing_order.sql")
"""The DDL files, in order, shipped in ``olgraph/store/embedded/sql`` (``schemas/sqlite`` holds copies)."""

VERSION = 3
"""The schema version this olgraph writes (``PRAGMA user_version``)."""

NODE_COLUMNS = {"search": "TEXT", "hidden": "INTEGER NOT NULL DEFAULT 0"}
"""Columns schema 2 adds to ``nodes``."""

BACKFILLED_FROM = 2
"""Files older than this schema version have their nodes re-derived (:func:`_backfill`)."""

BACKFILL_BATCH = 5000


def schema_sql(name: str) -> str:
    """The text of one DDL file."""
    return resources.files("olgraph.store.embedded").joinpath("sql", name).read_text(encoding="utf-8")


CACHE_KIB = 64 * 1024
"""SQLite's page cache per connection, in KiB (its default is 2 MiB).

Pages are cached as they are read, up to this size. On the million-node bench graph a
10,000-node impact answer reads 20,000 rows spread over the file; with 2 MiB most of them
came from the operating system again on every call (250-380 ms for that one statement),
with 64 MiB they stay (about 180 ms)."""


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
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
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
    for name in SCHEMA_FILES[1:]:
        conn.executescript(schema_sql(name))
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version < VERSION:
        if version < BACKFILLED_FROM:
            _backfill(conn)
        conn.execute(f"PRAGMA user_version = {VERSION}")


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
