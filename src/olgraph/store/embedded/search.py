"""Search in the embedded store (private): ``search_terms`` and its FTS5 trigram index.

Exact and prefix matches seek the ``(term, key)`` B-tree in order; substring matches come
from the trigram index (``search_fts``) and are sorted by name. Filters (type, namespace,
deleted) are columns of ``search_terms``, so no match needs a JSON property read; only the
hits of the page are joined to ``nodes`` for their names and times.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from olgraph.store.embedded.rows import dumps, load_nodes
from olgraph.store.search import (
    PREFIX_END,
    SearchHit,
    SearchPage,
    SearchPosition,
    SearchQuery,
    Tier,
    after_bound,
    collect_page,
)

_CONTAINS = "s.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH :phrase)"
# FTS5 reads a query as C text: a NUL ends it ("unterminated string"). Such a query (names may
# hold a NUL) is matched by comparing the terms themselves: a scan, but only for that rare input.
_CONTAINS_NUL = "instr(s.term, :q) > 0"

_TIER_WHERE = {
    "exact": "s.term = :q",
    "prefix": "s.term > :q AND s.term < :hi",
}


def _where(query: SearchQuery, tier: Tier) -> str:
    if tier != "substring":
        return _TIER_WHERE[tier]
    return f"{_contains(query)} AND NOT (s.term >= :q AND s.term < :hi)"


def _contains(query: SearchQuery) -> str:
    return _CONTAINS_NUL if "\x00" in query.text else _CONTAINS


def _filters(query: SearchQuery) -> str:
    parts = ["s.type IN (SELECT value FROM json_each(:types))"]
    if query.namespace is not None:
        parts.append("s.namespace = :namespace")
    if not query.include_deleted:
        parts.append("s.hidden = 0")
    return " AND ".join(parts)


def _params(query: SearchQuery) -> dict[str, Any]:
    return {
        "q": query.text,
        "hi": query.text + PREFIX_END,
        "phrase": '"' + query.text.replace('"', '""') + '"',
        "types": dumps(sorted(set(query.types))),  # type names: no NUL, JSON is safe
        "namespace": query.namespace,
    }


def _fetch(
    conn: sqlite3.Connection, query: SearchQuery, tier: Tier, after: SearchPosition | None, limit: int
) -> Sequence[SearchHit]:
    term, key = after_bound(after)
    rows = conn.execute(
        f"SELECT s.key, s.type, s.namespace, s.dataset, s.hidden, s.term FROM search_terms s "
        f"WHERE {_where(query, tier)} AND {_filters(query)} AND (s.term, s.key) > (:after_term, :after_key) "
        "ORDER BY s.term, s.key LIMIT :limit",
        {**_params(query), "after_term": term, "after_key": key, "limit": limit},
    ).fetchall()
    nodes = load_nodes(conn, [r[0] for r in rows])
    hits = []
    for key_, kind, namespace, dataset, hidden, found in rows:
        props = nodes[key_].props if key_ in nodes else {}
        seen = props.get("lastSeenAt")
        hits.append(
            SearchHit(
                key=key_,
                type=kind,
                namespace=namespace,
                name=str(props.get("name", found)),
                term=found,
                tier=tier,
                dataset=dataset,
                deleted=bool(hidden),
                last_seen_at=None if seen is None else str(seen),
            )
        )
    return hits


def _total(conn: sqlite3.Connection, query: SearchQuery) -> int:
    # With the substring tier, "contains q" counts the exact and prefix matches too.
    where = _contains(query) if "substring" in query.tiers() else "s.term >= :q AND s.term < :hi"
    (count,) = conn.execute(
        f"SELECT count(*) FROM search_terms s WHERE ({where}) AND {_filters(query)}", _params(query)
    ).fetchone()
    return int(count)


def search(conn: sqlite3.Connection, query: SearchQuery) -> SearchPage:
    """See :meth:`olgraph.store.base.GraphStore.search`."""
    return collect_page(
        query, lambda tier, after, limit: _fetch(conn, query, tier, after, limit), _total(conn, query)
    )
