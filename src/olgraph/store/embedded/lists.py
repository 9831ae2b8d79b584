"""Filtered listings of the embedded store (private): datasets/models/jobs, namespaces, tags.

Ordered by (name, key) from the ``(label, namespace, name)`` and ``(label, name)`` indexes
(a WITHOUT ROWID table's index ends with the key); owner and tag filters seek the edges.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from olgraph.store import common
from olgraph.store.base import Page
from olgraph.store.detail_views import TagCount
from olgraph.store.embedded.rows import loads
from olgraph.store.listing import NodeFilter, Window


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
    (total,) = conn.execute(f"SELECT count(*) FROM nodes n WHERE {where}", params).fetchone()
    page_where, offset = where, window.offset
    if window.after is not None:
        page_where += " AND (n.name, n.key) > (:after_name, :after_key)"
        params["after_name"], params["after_key"] = window.after
        offset = 0
    rows = conn.execute(
        f"SELECT n.key, n.labels, n.props FROM nodes n WHERE {page_where} ORDER BY n.name, n.key "
        "LIMIT :limit OFFSET :offset",
        {**params, "limit": window.limit, "offset": offset},
    )
    items = [common.node_view(k, loads(labels), loads(props)) for k, labels, props in rows]
    return Page(items=items, total=int(total))


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
