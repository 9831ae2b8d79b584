"""Filtered listings of the embedded store (private): datasets/models/jobs, namespaces, tags.

Ordered by (name, key) from the ``(label, namespace, name)`` and ``(label, name)`` indexes
(a WITHOUT ROWID table's index ends with the key), or by (``lastSeenAt``, key) from the
``(label, lastSeenAt, key)`` expression index, read forwards or backwards; owner and tag
filters seek the edges. Nodes without the sort value (it is NULL in the index) are a second
segment, read by key after the others.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from olgraph import keys
from olgraph.normalize.mutations import PropValue
from olgraph.store import common
from olgraph.store.base import Page
from olgraph.store.detail_views import TagCount
from olgraph.store.embedded.rows import load_nodes, loads
from olgraph.store.listing import ListOrder, NodeFilter, Window

NO_LIMIT = 2**62
"""What a negative limit means (SQLite's LIMIT -1: every row)."""

_VALUES = {"name": "n.name", "lastSeenAt": "json_extract(n.props, '$.lastSeenAt')"}
"""The SQL of each sort value; the expression must be the one the index holds, to use it."""


def _where(flt: NodeFilter) -> tuple[str, dict[str, Any]]:
    parts = ["n.label = :label"]
    params: dict[str, Any] = {"label": flt.label}
    if flt.namespace is not None:
        parts.append("n.namespace = :namespace")
        params["namespace"] = flt.namespace
    else:
        parts.append("n.name IS NOT NULL")
    if not flt.include_deleted:
        parts.append("n.hidden = 0")
    if flt.models is not None:
        parts.append("instr(n.labels, '\"Model\"') " + ("> 0" if flt.models else "= 0"))
    if flt.job_type is not None:
        parts.append("json_extract(n.props, '$.jobType') = :job_type")
        params["job_type"] = flt.job_type
    if flt.owner_key is not None:
        parts.append("n.key IN (SELECT o.dst FROM edges o WHERE o.type = 'OWNS' AND o.src = :owner)")
        params["owner"] = flt.owner_key
    bounds = flt.tag_keys()
    if bounds is not None:
        parts.append(
            "n.key IN (SELECT t.src FROM edges t INDEXED BY edges_by_dst "
            "WHERE t.dst >= :tag_low AND t.dst < :tag_high AND t.type = 'TAGGED')"
        )
        params["tag_low"], params["tag_high"] = bounds
    return " AND ".join(parts), params


def list_nodes(conn: sqlite3.Connection, flt: NodeFilter, window: Window) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_nodes`."""
    where, params = _where(flt)
    order = window.order
    value = _VALUES[order.prop]
    total, valued = conn.execute(
        f"SELECT count(*), count({value}) FROM nodes n WHERE {where}", params
    ).fetchone()
    after = window.after
    items: list[Any] = []
    if after is None or after[0] is not None:
        items = _valued(conn, where, params, order, window)
    missing = int(total) - int(valued)
    limit = window.limit if window.limit >= 0 else NO_LIMIT
    if len(items) < limit and missing and order.nullable:
        start = 0 if after is not None else max(0, window.offset - int(valued))
        items += _unvalued(conn, where, params, order, limit=limit - len(items), offset=start, after=after)
    return Page(items=items, total=int(total))


def _page(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    rows = conn.execute(sql, params)
    return [common.node_view(k, loads(labels), loads(props)) for k, labels, props in rows]


def _valued(
    conn: sqlite3.Connection, where: str, params: dict[str, Any], order: ListOrder, window: Window
) -> list[Any]:
    """The nodes that have the sort value, in order (a range of the index, read either way)."""
    value = _VALUES[order.prop]
    direction, beyond = order.direction
    page_where, offset = f"{where} AND {value} IS NOT NULL", window.offset
    params = {**params, "limit": window.limit}
    if window.after is not None:
        # Spelled so that SQLite seeks the index to the position (a row value does not).
        page_where += (
            f" AND {value} {beyond}= :after_value"
            f" AND ({value} {beyond} :after_value OR n.key {beyond} :after_key)"
        )
        params["after_value"], params["after_key"] = window.after
        offset = 0
    sql = (
        f"SELECT n.key, n.labels, n.props FROM nodes n WHERE {page_where} "
        f"ORDER BY {value} {direction}, n.key {direction} LIMIT :limit OFFSET :offset"
    )
    return _page(conn, sql, {**params, "offset": offset})


def _unvalued(
    conn: sqlite3.Connection,
    where: str,
    params: dict[str, Any],
    order: ListOrder,
    *,
    limit: int,
    offset: int,
    after: tuple[str | None, str] | None,
) -> list[Any]:
    """The nodes without the sort value, by key (the index's NULL range)."""
    direction, beyond = order.direction
    page_where = f"{where} AND {_VALUES[order.prop]} IS NULL"
    params = {**params, "limit": limit, "offset": offset}
    if after is not None and after[0] is None:
        page_where += f" AND n.key {beyond} :after_key"
        params["after_key"] = after[1]
    sql = (
        f"SELECT n.key, n.labels, n.props FROM nodes n WHERE {page_where} "
        f"ORDER BY n.key {direction} LIMIT :limit OFFSET :offset"
    )
    return _page(conn, sql, params)


def list_namespaces(conn: sqlite3.Connection, window: Window, include_deleted: bool) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_namespaces`."""
    where = "label = 'Namespace'" + ("" if include_deleted else " AND hidden = 0")
    (total,) = conn.execute(f"SELECT count(*) FROM nodes WHERE {where}").fetchone()
    params: dict[str, Any] = {"limit": window.limit, "offset": window.offset}
    if window.after is not None:
        where += " AND (name, key) > (:after_name, :after_key)"
        params |= {"after_name": window.after[0], "after_key": window.after[1], "offset": 0}
    rows = conn.execute(
        f"SELECT name FROM nodes WHERE {where} ORDER BY name, key LIMIT :limit OFFSET :offset", params
    )
    return Page(items=[str(name) for (name,) in rows], total=int(total))


def get_namespaces(conn: sqlite3.Connection, names: list[str]) -> dict[str, dict[str, PropValue]]:
    """See :meth:`olgraph.store.base.GraphStore.get_namespaces`."""
    rows = load_nodes(conn, [keys.namespace_key(name) for name in names])
    return {
        str(row.props.get("name")): {
            **common.public_props(row.props),
            "deleted": bool(row.props.get("deleted")),
        }
        for row in rows.values()
        if row.label == "Namespace"
    }


def list_tags(conn: sqlite3.Connection, limit: int, offset: int) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_tags`."""
    (total,) = conn.execute("SELECT count(*) FROM nodes WHERE label = 'Tag'").fetchone()
    rows = conn.execute(
        "SELECT t.key, t.props, "
        "(SELECT count(*) FROM edges e INDEXED BY edges_by_dst CROSS JOIN nodes d ON d.key = e.src "
        " WHERE e.dst = t.key AND e.type = 'TAGGED' AND d.label = 'Dataset'), "
        "(SELECT count(*) FROM edges e INDEXED BY edges_by_dst CROSS JOIN nodes j ON j.key = e.src "
        " WHERE e.dst = t.key AND e.type = 'TAGGED' AND j.label = 'Job') "
        "FROM nodes t WHERE t.label = 'Tag' ORDER BY t.key LIMIT ? OFFSET ?",
        (limit, offset),
    )
    items = []
    for _key, props, datasets, jobs in rows:
        values = loads(props)
        items.append(
            TagCount(str(values.get("name", "")), str(values.get("value", "")), int(datasets), int(jobs))
        )
    return Page(items=items, total=int(total))
