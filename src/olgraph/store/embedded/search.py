"""Search in the embedded store (private): ``search_terms`` and its FTS5 trigram index.

Exact and prefix matches seek the ``(term, key)`` B-tree in order. Substring matches of a
sparse query come from the trigram index (``search_fts``) and are sorted by name; those of a
dense one are read from the B-tree in order, keeping the terms that contain ``q`` (see
:mod:`olgraph.store.search`). The count is capped the same way, read from the trigram index
as it streams. Filters (type, namespace, deleted) are columns of ``search_terms``, so no match
needs a JSON property read; only the hits of the page are joined to ``nodes`` for their names
and times.
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
# Dense queries, and queries with a NUL: FTS5 reads a query as C text, a NUL ends it
# ("unterminated string"), so such a query (names may hold a NUL) compares the terms themselves.
_CONTAINS_SCAN = "instr(s.term, :q) > 0"

_TIER_WHERE = {
    "exact": "s.term = :q",
    "prefix": "s.term > :q AND s.term < :hi",
}


def _where(query: SearchQuery, tier: Tier, dense: bool) -> str:
    if tier != "substring":
        return _TIER_WHERE[tier]
    contains = _CONTAINS_SCAN if dense or _has_nul(query) else _CONTAINS
    return f"{contains} AND NOT (s.term >= :q AND s.term < :hi)"


def _has_nul(query: SearchQuery) -> bool:
    return "\x00" in query.text


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
    conn: sqlite3.Connection,
    query: SearchQuery,
    tier: Tier,
    after: SearchPosition | None,
    limit: int,
    *,
    dense: bool,
) -> Sequence[SearchHit]:
    term, key = after_bound(after)
    # A dense scan must walk the (term, key) index in order: INDEXED BY makes sure it does.
    table = "search_terms s"
    if dense and tier == "substring":
        table += " INDEXED BY search_terms_by_term"
    rows = conn.execute(
        f"SELECT s.key, s.type, s.namespace, s.dataset, s.hidden, s.term FROM {table} "
        f"WHERE {_where(query, tier, dense)} AND {_filters(query)} "
        "AND (s.term, s.key) > (:after_term, :after_key) ORDER BY s.term, s.key LIMIT :limit",
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


def _count(conn: sqlite3.Connection, query: SearchQuery) -> int:
    """Matches of every tier, counted up to ``count_cap + 1``."""
    # With the substring tier, "contains q" counts the exact and prefix matches too; the trigram
    # index drives the join, so the count stops with the cap instead of collecting every match.
    if "substring" not in query.tiers():
        source = "search_terms s WHERE s.term >= :q AND s.term < :hi"
    elif _has_nul(query):
        source = f"search_terms s WHERE {_CONTAINS_SCAN}"
    else:
        source = "search_fts f JOIN search_terms s ON s.id = f.rowid WHERE search_fts MATCH :phrase"
    (count,) = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {source} AND {_filters(query)} LIMIT :cap)",
        {**_params(query), "cap": query.count_cap + 1},
    ).fetchone()
    return int(count)


def search(conn: sqlite3.Connection, query: SearchQuery) -> SearchPage:
    """See :meth:`olgraph.store.base.GraphStore.search`."""
    counted = _count(conn, query)
    dense = query.dense(counted)
    return collect_page(
        query, lambda tier, after, limit: _fetch(conn, query, tier, after, limit, dense=dense), counted
    )
