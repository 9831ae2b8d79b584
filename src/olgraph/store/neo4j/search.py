"""Search in the Neo4j store (private): RANGE and TEXT indexes on ``searchName``.

Exact and prefix matches seek the RANGE index of each label in name order (each branch is
ordered and limited on its own, then merged); substring matches use the TEXT index
(``CONTAINS``, trigram based) and are sorted by name. One statement per tier and one for the
total, each with one ``UNION ALL`` branch per type asked for.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from neo4j import AsyncManagedTransaction

from olgraph.store.neo4j.read import records
from olgraph.store.search import (
    SearchHit,
    SearchPage,
    SearchPosition,
    SearchQuery,
    SearchType,
    Tier,
    after_bound,
    collect_page_async,
)

_MATCH: dict[SearchType, str] = {
    "dataset": "MATCH (n:Dataset) WHERE NOT n:Model AND",
    "model": "MATCH (n:Dataset) WHERE n:Model AND",
    "job": "MATCH (n:Job) WHERE",
    "column": "MATCH (n:Field) WHERE",
    "namespace": "MATCH (n:Namespace) WHERE",
}
_TIER: dict[Tier, str] = {
    "exact": "n.searchName = $q",
    "prefix": "n.searchName STARTS WITH $q AND n.searchName <> $q",
    "substring": "n.searchName CONTAINS $q AND NOT n.searchName STARTS WITH $q",
}
_AFTER = "(n.searchName > $afterTerm OR (n.searchName = $afterTerm AND n.key > $afterKey))"
_HIT = (
    "{key: n.key, type: $kind, namespace: CASE WHEN n:Namespace THEN n.name ELSE n.namespace END, "
    "name: n.name, term: n.searchName, dataset: n.dataset, deleted: coalesce(n.deleted, false), "
    "lastSeenAt: n.lastSeenAt}"
)


def _filters(kind: SearchType, namespace: bool, include_deleted: bool) -> str:
    parts = []
    if namespace:
        parts.append("n.name = $namespace" if kind == "namespace" else "n.namespace = $namespace")
    if not include_deleted:
        parts.append("coalesce(n.deleted, false) = false")
    return "".join(f" AND {p}" for p in parts)


@functools.cache
def tier_query(types: tuple[SearchType, ...], tier: Tier, namespace: bool, include_deleted: bool) -> str:
    """The statement answering one tier: per type, the first ``$limit`` after the position."""
    branches = [
        f"{_MATCH[kind]} {_TIER[tier]}{_filters(kind, namespace, include_deleted)} AND {_AFTER}\n"
        f"  RETURN {_HIT.replace('$kind', repr(kind))} AS hit ORDER BY n.searchName, n.key LIMIT $limit"
        for kind in types
    ]
    union = "\n  UNION ALL\n  ".join(branches)
    return f"CALL () {{\n  {union}\n}}\nRETURN hit ORDER BY hit.term, hit.key LIMIT $limit"


@functools.cache
def total_query(
    types: tuple[SearchType, ...], substring: bool, namespace: bool, include_deleted: bool
) -> str:
    """The statement counting every match of every tier."""
    match = "n.searchName CONTAINS $q" if substring else "n.searchName STARTS WITH $q"
    branches = [
        f"{_MATCH[kind]} {match}{_filters(kind, namespace, include_deleted)} RETURN count(n) AS c"
        for kind in types
    ]
    union = "\n  UNION ALL\n  ".join(branches)
    return f"CALL () {{\n  {union}\n}}\nRETURN sum(c) AS total"


async def search(tx: AsyncManagedTransaction, query: SearchQuery) -> SearchPage:
    """See :meth:`olgraph.store.base.GraphStore.search`."""
    flags = (query.namespace is not None, query.include_deleted)
    params = {"q": query.text, "namespace": query.namespace}
    substring = "substring" in query.tiers()
    found = await records(tx, total_query(tuple(query.types), substring, *flags), **params)
    total = int(found[0]["total"]) if found else 0

    async def fetch(tier: Tier, after: SearchPosition | None, limit: int) -> Sequence[SearchHit]:
        term, key = after_bound(after)
        rows = await records(
            tx,
            tier_query(tuple(query.types), tier, *flags),
            **params,
            afterTerm=term,
            afterKey=key,
            limit=limit,
        )
        return [_hit(r["hit"], tier) for r in rows]

    return await collect_page_async(query, fetch, total)


def _hit(row: dict[str, object], tier: Tier) -> SearchHit:
    seen = row.get("lastSeenAt")
    dataset = row.get("dataset")
    namespace = row.get("namespace")
    return SearchHit(
        key=str(row["key"]),
        type=row["type"],  # type: ignore[arg-type]
        namespace=None if namespace is None else str(namespace),
        name=str(row["name"]),
        term=str(row["term"]),
        tier=tier,
        dataset=None if dataset is None else str(dataset),
        deleted=bool(row["deleted"]),
        last_seen_at=None if seen is None else str(seen),
    )
