"""Search in the Neo4j store (private): RANGE and TEXT indexes on ``searchName``.

Two statements per search. The first counts the matches up to the query's cap (streamed from the
TEXT index for ``CONTAINS``, from the RANGE index for prefixes). The second answers every tier
still to read at once: one ``UNION ALL`` branch per tier and type, each ordered and limited on
its own, then merged. Exact and prefix branches seek the RANGE index in name order; substring
branches use the TEXT index (``CONTAINS``, trigram based) and sort when the query is sparse, or
walk the RANGE index in name order, keeping the names that contain ``q``, when it is dense (see
:mod:`olgraph.store.search`).
"""

from __future__ import annotations

import functools

from neo4j import AsyncManagedTransaction

from olgraph.store.neo4j.read import records
from olgraph.store.search import (
    TIERS,
    SearchHit,
    SearchPage,
    SearchQuery,
    SearchType,
    Tier,
    page_of,
    tiers_from,
)

_LABEL: dict[SearchType, tuple[str, str]] = {
    "dataset": ("Dataset", "NOT n:Model AND "),
    "model": ("Model", ""),
    "job": ("Job", ""),
    "column": ("Field", ""),
    "namespace": ("Namespace", ""),
}
_TIER: dict[Tier, str] = {
    "exact": "n.searchName = $q",
    "prefix": "n.searchName STARTS WITH $q AND n.searchName <> $q",
    "substring": "n.searchName CONTAINS $q AND NOT n.searchName STARTS WITH $q",
}
# Inside the tier of the page's position: names after it (the first conjunct seeks the index).
_AFTER = " AND n.searchName >= $afterTerm AND (n.searchName > $afterTerm OR n.key > $afterKey)"
_HIT = (
    "{{key: n.key, type: {kind!r}, namespace: CASE WHEN n:Namespace THEN n.name ELSE n.namespace END, "
    "name: n.name, term: n.searchName, dataset: n.dataset, deleted: coalesce(n.deleted, false), "
    "lastSeenAt: n.lastSeenAt, tier: {tier!r}, rank: {rank}}}"
)


def _filters(kind: SearchType, namespace: bool, include_deleted: bool) -> str:
    parts = []
    if namespace:
        parts.append("n.name = $namespace" if kind == "namespace" else "n.namespace = $namespace")
    if not include_deleted:
        parts.append("coalesce(n.deleted, false) = false")
    return "".join(f" AND {p}" for p in parts)


def _branch(
    kind: SearchType, tier: Tier, after: bool, *, dense: bool, namespace: bool, include_deleted: bool
) -> str:
    label, label_filter = _LABEL[kind]
    # Exact, prefix and dense substring branches walk the RANGE index in name order (a dense one
    # from the position, or from the start: every name is >= ''), so LIMIT stops the walk; left
    # to itself the planner may take the TEXT index for STARTS WITH and sort every match. Only
    # a sparse substring reads the TEXT index (its few matches, then sorted).
    walk = tier == "substring" and dense
    index = "TEXT" if tier == "substring" and not dense else "RANGE"
    hint = f" USING {index} INDEX n:{label}(searchName)"
    bound = _AFTER if after else (" AND n.searchName >= ''" if walk else "")
    hit = _HIT.format(kind=kind, tier=tier, rank=TIERS.index(tier))
    return (
        f"MATCH (n:{label}){hint} WHERE {label_filter}{_TIER[tier]}{bound}"
        f"{_filters(kind, namespace, include_deleted)}\n"
        f"  RETURN {hit} AS hit ORDER BY n.searchName, n.key LIMIT $limit"
    )


@functools.cache
def page_query(
    types: tuple[SearchType, ...],
    tiers: tuple[tuple[Tier, bool], ...],
    dense: bool,
    namespace: bool,
    include_deleted: bool,
) -> str:
    """The statement answering ``tiers`` ((tier, whether it starts after the page's position)):
    per tier and type the first ``$limit`` names, merged in rank order."""
    branches = [
        _branch(kind, tier, after, dense=dense, namespace=namespace, include_deleted=include_deleted)
        for tier, after in tiers
        for kind in types
    ]
    union = "\n  UNION ALL\n  ".join(branches)
    return f"CALL () {{\n  {union}\n}}\nRETURN hit ORDER BY hit.rank, hit.term, hit.key LIMIT $limit"


@functools.cache
def count_query(
    types: tuple[SearchType, ...], substring: bool, namespace: bool, include_deleted: bool
) -> str:
    """The statement counting the matches of every tier, up to ``$cap``."""
    match = "n.searchName CONTAINS $q" if substring else "n.searchName STARTS WITH $q"
    branches = []
    for kind in types:
        label, label_filter = _LABEL[kind]
        branches.append(
            f"MATCH (n:{label}) WHERE {label_filter}{match}{_filters(kind, namespace, include_deleted)} "
            "RETURN n LIMIT $cap"
        )
    union = "\n  UNION ALL\n  ".join(branches)
    return f"CALL () {{\n  {union}\n}}\nWITH n LIMIT $cap\nRETURN count(n) AS counted"


async def search(tx: AsyncManagedTransaction, query: SearchQuery) -> SearchPage:
    """See :meth:`olgraph.store.base.GraphStore.search`."""
    flags = (query.namespace is not None, query.include_deleted)
    types = tuple(query.types)
    params = {"q": query.text, "namespace": query.namespace}
    substring = "substring" in query.tiers()
    found = await records(tx, count_query(types, substring, *flags), **params, cap=query.count_cap + 1)
    counted = int(found[0]["counted"]) if found else 0
    tiers = tiers_from(query)
    if not tiers:
        return page_of(query, [], counted)
    after = query.after
    rows = await records(
        tx,
        page_query(types, tuple((t, a is not None) for t, a in tiers), query.dense(counted), *flags),
        **params,
        afterTerm=None if after is None else after.term,
        afterKey=None if after is None else after.key,
        limit=query.limit + 1,
    )
    return page_of(query, [_hit(r["hit"]) for r in rows], counted)


def _hit(row: dict[str, object]) -> SearchHit:
    seen = row.get("lastSeenAt")
    dataset = row.get("dataset")
    namespace = row.get("namespace")
    return SearchHit(
        key=str(row["key"]),
        type=row["type"],  # type: ignore[arg-type]
        namespace=None if namespace is None else str(namespace),
        name=str(row["name"]),
        term=str(row["term"]),
        tier=row["tier"],  # type: ignore[arg-type]
        dataset=None if dataset is None else str(dataset),
        deleted=bool(row["deleted"]),
        last_seen_at=None if seen is None else str(seen),
    )
