"""Row-level access to the embedded store's SQLite file (private to ``olgraph.store``).

Everything here is synchronous and runs on the store's single worker thread. Key sets are
loaded into a temporary table (:func:`key_set`) that the statement joins, so a query over
any number of keys is one statement (no parameter-count limits, no per-key round trips).
They used to be one JSON array expanded with ``json_each``, but SQLite's JSON functions cut
text at a NUL character, and names may contain one: such a key then matched nothing.

Queries join with ``CROSS JOIN``, which SQLite never reorders: the planner cannot estimate
how many rows a key set holds and otherwise may scan every relationship of a type
once per key instead of seeking from the (few) keys given.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from olgraph.normalize.mutations import PropValue

EdgeId = tuple[str, str, str]
"""(type, source key, target key): a relationship's identity."""


@dataclass(slots=True)
class NodeRow:
    """One node as stored: primary label, all labels, props (no ``_versions``) and version map."""

    key: str
    label: str
    labels: set[str]
    props: dict[str, PropValue] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class EdgeRow:
    """One relationship as stored."""

    type: str
    src: str
    dst: str
    props: dict[str, PropValue] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> EdgeId:
        """The relationship's identity."""
        return (self.type, self.src, self.dst)


def dumps(value: Any) -> str:
    """Canonical JSON text (sorted keys) for a column."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def loads(text: str | bytes | None) -> Any:
    """Parse a JSON column (``None`` → empty object)."""
    return orjson.loads(text) if text else {}


def key_set(conn: sqlite3.Connection, keys: Iterable[str], table: str = "key_set") -> str:
    """Load the distinct ``keys`` into temporary table ``table`` (column ``value``); return its name.

    Join it as ``FROM {table} f CROSS JOIN nodes n ON n.key = f.value``. The table belongs to
    the connection and is refilled by the next call with the same name, so a statement that
    needs two key sets uses two names.
    """
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} (value TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.execute(f"DELETE FROM {table}")
    conn.executemany(f"INSERT OR IGNORE INTO {table} (value) VALUES (?)", [(key,) for key in keys])
    return table


def edge_set(conn: sqlite3.Connection, ids: Iterable[EdgeId]) -> str:
    """Load relationship identities into temporary table ``edge_set`` (``type, src, dst``)."""
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS edge_set (type TEXT, src TEXT, dst TEXT, "
        "PRIMARY KEY (type, src, dst)) WITHOUT ROWID"
    )
    conn.execute("DELETE FROM edge_set")
    conn.executemany("INSERT OR IGNORE INTO edge_set (type, src, dst) VALUES (?, ?, ?)", list(ids))
    return "edge_set"


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already done so, without masking the error
    being handled: after ``database or disk is full`` or an I/O error SQLite may have rolled back
    by itself, and a ROLLBACK then fails with "no transaction is active"."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


# ---------------------------------------------------------------- nodes


def _node_row(key: str, label: str, labels: str, props: str, versions: str) -> NodeRow:
    return NodeRow(key, label, set(loads(labels) or ()), loads(props), loads(versions))


def load_nodes(conn: sqlite3.Connection, keys: Iterable[str]) -> dict[str, NodeRow]:
    """The stored nodes among ``keys`` (missing keys are simply absent)."""
    rows = conn.execute(
        f"SELECT n.key, n.label, n.labels, n.props, n.versions FROM {key_set(conn, keys)} f "
        "CROSS JOIN nodes n ON n.key = f.value"
    )
    return {r[0]: _node_row(*r) for r in rows}


def existing_keys(conn: sqlite3.Connection, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are stored nodes."""
    rows = conn.execute(f"SELECT n.key FROM {key_set(conn, keys)} f CROSS JOIN nodes n ON n.key = f.value")
    return {r[0] for r in rows}


def save_nodes(conn: sqlite3.Connection, rows: Iterable[NodeRow]) -> None:
    """Insert or overwrite nodes.

    The ``namespace``, ``name``, ``search`` (``searchName``) and ``hidden`` (``deleted``)
    columns copy props so that listings and search use indexes (and triggers keep the search
    tables in step).
    """
    conn.executemany(
        "INSERT INTO nodes (key, label, labels, namespace, name, props, versions, search, hidden) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET label = excluded.label, "
        "labels = excluded.labels, namespace = excluded.namespace, name = excluded.name, "
        "props = excluded.props, versions = excluded.versions, search = excluded.search, "
        "hidden = excluded.hidden",
        [
            (
                r.key,
                r.label,
                dumps(sorted(r.labels)),
                _opt_text(r.props.get("namespace")),
                _opt_text(r.props.get("name")),
                dumps(r.props),
                dumps(r.versions),
                _opt_text(r.props.get("searchName")),
                int(r.props.get("deleted") is True),
            )
            for r in rows
        ],
    )


def _opt_text(value: PropValue) -> str | None:
    return None if value is None else str(value)


def delete_node(conn: sqlite3.Connection, key: str) -> None:
    """Delete a node and every relationship touching it."""
    conn.execute("DELETE FROM edges WHERE src = ?", (key,))
    conn.execute("DELETE FROM edges WHERE dst = ?", (key,))
    conn.execute("DELETE FROM nodes WHERE key = ?", (key,))


def iter_nodes(conn: sqlite3.Connection) -> Iterator[NodeRow]:
    """Every node (for ``dump``)."""
    for row in conn.execute("SELECT key, label, labels, props, versions FROM nodes ORDER BY key"):
        yield _node_row(*row)


# ---------------------------------------------------------------- edges


def load_edges(conn: sqlite3.Connection, ids: Iterable[EdgeId]) -> dict[EdgeId, EdgeRow]:
    """The stored relationships among ``ids``."""
    rows = conn.execute(
        f"SELECT e.type, e.src, e.dst, e.props, e.versions FROM {edge_set(conn, ids)} f "
        "CROSS JOIN edges e ON e.type = f.type AND e.src = f.src AND e.dst = f.dst"
    )
    out = {}
    for t, s, d, p, v in rows:
        out[(t, s, d)] = EdgeRow(t, s, d, loads(p), loads(v))
    return out


def save_edges(conn: sqlite3.Connection, rows: Iterable[EdgeRow]) -> None:
    """Insert or overwrite relationships."""
    conn.executemany(
        "INSERT INTO edges (type, src, dst, props, versions) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (type, src, dst) DO UPDATE SET props = excluded.props, versions = excluded.versions",
        [(r.type, r.src, r.dst, dumps(r.props), dumps(r.versions)) for r in rows],
    )


def delete_edges(conn: sqlite3.Connection, ids: Iterable[EdgeId]) -> None:
    """Delete relationships by identity."""
    conn.executemany("DELETE FROM edges WHERE type = ? AND src = ? AND dst = ?", list(ids))


def edges_of(conn: sqlite3.Connection, rel_type: str, key: str, incoming: bool) -> list[EdgeRow]:
    """Relationships of ``rel_type`` into (``incoming``) or out of ``key``."""
    # Incoming: pinned to (dst, type). Reading props, the planner would otherwise take the primary
    # key's `type` prefix (it covers props) and walk every relationship of the type.
    where = "edges INDEXED BY edges_by_dst WHERE dst = ?" if incoming else "edges WHERE src = ?"
    rows = conn.execute(f"SELECT type, src, dst, props, versions FROM {where} AND type = ?", (key, rel_type))
    return [EdgeRow(t, s, d, loads(p), loads(v)) for t, s, d, p, v in rows]


def iter_edges(conn: sqlite3.Connection) -> Iterator[EdgeRow]:
    """Every relationship (for ``dump``)."""
    for t, s, d, p, v in conn.execute(
        "SELECT type, src, dst, props, versions FROM edges ORDER BY type, src, dst"
    ):
        yield EdgeRow(t, s, d, loads(p), loads(v))
