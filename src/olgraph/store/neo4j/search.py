"""Search in the Neo4j store (private): name-ordered RANGE indexes and trigram TEXT indexes.

Every searchable node carries ``searchName`` (its lower-cased name) and ``searchTie`` (the
first :data:`TIE_CHARS` characters of its key). A composite RANGE index on
``(searchName, searchTie)`` per label returns nodes in the order hits are ranked in — by name,
then by key — so a page is read by seeking the index and stopping after ``$limit`` entries, even
inside a name thousands of columns share (``id``). The key itself cannot be the index's second
property: a column's key and name together may exceed what one index entry holds (8 KB), and a
prefix of the key orders like the key (ties inside the prefix are sorted by the key).

Columns are the bulk of a large graph and repeat their names (``order_id`` in thousands of
tables), so substrings are looked up among the *distinct* column names: one ``FieldName`` node
per lower-cased name, written with the columns, with its own RANGE (unique) and TEXT indexes.
A substring page of columns reads the matching names in order and, name by name, the columns
bearing it from the composite index; no column is read that is not on the page.

Two statements per search. The first counts the matches of each type up to the query's cap,
and those of its substring tier (for columns: the distinct names), which decide how that tier
is read. The second answers every tier still to read at
once: one ``UNION ALL`` branch per tier and type, each ordered and limited on its own, then
merged. Substring branches of a type with few matches read the TEXT index and sort them; those
of a type with many walk the RANGE index in name order, keeping the names that contain ``q``
(see :mod:`olgraph.store.search`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from neo4j import AsyncManagedTransaction

from olgraph.store.neo4j.read import records
from olgraph.store.search import (
    PREFIX_END,
    TIERS,
    SearchHit,
    SearchPage,
    SearchQuery,
    SearchType,
    Tier,
    page_of,
    tiers_from,
)

TIE_CHARS = 256
"""Characters of a node's key kept in ``searchTie`` (small enough for any index entry)."""
TERM_LABEL = "FieldName"
"""The label of the distinct lower-cased column names."""

_LABEL: dict[SearchType, tuple[str, str]] = {
    "dataset": ("Dataset", "NOT n:Model AND "),
    "model": ("Model", ""),
    "job": ("Job", ""),
    "column": ("Field", ""),
    "namespace": ("Namespace", ""),
}
_TIER: dict[Tier, str] = {
    "exact": "n.searchName = $q",
    # one range seek past the exact name (thousands of columns may share it), as the embedded store
    "prefix": "n.searchName > $q AND n.searchName < $qEnd",
    "substring": "n.searchName CONTAINS $q AND NOT n.searchName STARTS WITH $q",
}
# Inside the tier of the page's position: entries after it. The first conjunct seeks the index;
# past the position's name everything follows, inside it the keys after the position's (ordering
# by key is ordering by searchTie then key). A CASE, not an OR: the planner may split an OR into a
# union of two seeks, which loses the index order and sorts every match.
_AFTER = (
    " AND n.searchName >= $afterTerm AND CASE WHEN n.searchName = $afterTerm"
    " THEN n.searchTie >= $afterTie AND n.key > $afterKey ELSE true END"
)
_AFTER_EXACT = " AND n.searchTie >= $afterTie AND n.key > $afterKey"
_ORDERED = " AND n.searchTie IS NOT NULL"  # lets the planner use the composite index
_HIT = (
    "{{key: n.key, type: {kind!r}, namespace: CASE WHEN n:Namespace THEN n.name ELSE n.namespace END, "
    "name: n.name, term: n.searchName, dataset: n.dataset, deleted: coalesce(n.deleted, false), "
    "lastSeenAt: n.lastSeenAt, tier: {tier!r}, rank: {rank}}}"
)
_ORDER = "ORDER BY n.searchName, n.searchTie, n.key LIMIT $limit"
TERM_PREFIX = "fieldName:"
"""Start of a ``FieldName`` node's key (every node of the graph has a unique key)."""
TERM_WRITE = (
    f"UNWIND $terms AS term MERGE (t:{TERM_LABEL} {{searchName: term}})"
    f" ON CREATE SET t.key = {TERM_PREFIX!r} + term"
)
"""Records the distinct column names a write brings (``$terms``, sorted: locks in one order)."""


def search_props(key: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """``props`` with ``searchTie`` when the node is searchable (it has ``searchName``)."""
    if "searchName" not in props:
        return dict(props)
    return {**props, "searchTie": key[:TIE_CHARS]}


def new_terms(rows: list[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """The column names (``searchName``) of the written ``(label, props)`` rows, sorted, once each."""
    return sorted({str(p["searchName"]) for label, p in rows if label == "Field" and "searchName" in p})


def _filters(kind: SearchType, namespace: bool, include_deleted: bool) -> str:
    parts = []
    if namespace:
        parts.append("n.name = $namespace" if kind == "namespace" else "n.namespace = $namespace")
    if not include_deleted:
        parts.append("coalesce(n.deleted, false) = false")
    return "".join(f" AND {p}" for p in parts)


def _where(tier: Tier, after: bool, walk: bool) -> str:
    """The index predicates of one branch (and the position's, when it starts after one)."""
    if tier == "exact":
        return _TIER[tier] + (_AFTER_EXACT if after else _ORDERED)
    where = _TIER[tier]
    if after:
        where += _AFTER
    elif walk:
        where += " AND n.searchName >= ''"  # true of every name: a walk of the whole index, in order
    return where if tier == "substring" and not walk else where + _ORDERED


def _branch(
    kind: SearchType, tier: Tier, after: bool, *, dense: bool, namespace: bool, include_deleted: bool
) -> str:
    if kind == "column" and tier == "substring":
        return _column_substring(after, dense=dense, namespace=namespace, include_deleted=include_deleted)
    label, label_filter = _LABEL[kind]
    # Exact, prefix and dense substring branches walk the composite RANGE index in rank order,
    # so LIMIT stops the walk; left to itself the planner may take the TEXT index for STARTS
    # WITH and sort every match. Only a sparse substring reads the TEXT index (its few matches,
    # then sorted).
    walk = tier == "substring" and dense
    sparse = tier == "substring" and not dense
    hint = (
        f"USING TEXT INDEX n:{label}(searchName)"
        if sparse
        else f"USING RANGE INDEX SEEK n:{label}(searchName, searchTie)"
    )
    hit = _HIT.format(kind=kind, tier=tier, rank=TIERS.index(tier))
    return (
        f"MATCH (n:{label}) {hint} WHERE {label_filter}{_where(tier, after, walk)}"
        f"{_filters(kind, namespace, include_deleted)}\n"
        f"  RETURN {hit} AS hit {_ORDER}"
    )


def _column_substring(after: bool, *, dense: bool, namespace: bool, include_deleted: bool) -> str:
    """Columns whose name holds ``q`` (not at its start): the distinct names in order, then the
    columns of each name from the composite index, until the page is full."""
    hint = (
        f"USING RANGE INDEX SEEK t:{TERM_LABEL}(searchName)"
        if dense
        else f"USING TEXT INDEX t:{TERM_LABEL}(searchName)"
    )
    start = " AND t.searchName >= $afterTerm" if after else (" AND t.searchName >= ''" if dense else "")
    inside = (
        " AND n.searchTie >= CASE WHEN term = $afterTerm THEN $afterTie ELSE '' END"
        " AND CASE WHEN term = $afterTerm THEN n.key > $afterKey ELSE true END"
        if after
        else ""
    )
    hit = _HIT.format(kind="column", tier="substring", rank=TIERS.index("substring"))
    return (
        f"MATCH (t:{TERM_LABEL}) {hint} WHERE t.searchName CONTAINS $q AND NOT t.searchName STARTS WITH $q"
        f"{start}\n"
        "  WITH t.searchName AS term ORDER BY term\n"
        "  CALL (term) {\n"
        "    MATCH (n:Field) USING RANGE INDEX SEEK n:Field(searchName, searchTie)\n"
        f"    WHERE n.searchName = term{_ORDERED}{inside}{_filters('column', namespace, include_deleted)}\n"
        "    RETURN n ORDER BY n.searchName, n.searchTie, n.key LIMIT $limit\n"
        "  }\n"
        f"  RETURN {hit} AS hit ORDER BY term, n.searchTie, n.key LIMIT $limit"
    )


@functools.cache
def page_query(
    types: tuple[SearchType, ...],
    tiers: tuple[tuple[Tier, bool], ...],
    dense: tuple[SearchType, ...],
    namespace: bool,
    include_deleted: bool,
) -> str:
    """The statement answering ``tiers`` ((tier, whether it starts after the page's position)):
    per tier and type the first ``$limit`` names, merged in rank order. ``dense``: the types
    whose substrings are read by walking a RANGE index (for columns: of the distinct names)."""
    branches = [
        _branch(kind, tier, after, dense=kind in dense, namespace=namespace, include_deleted=include_deleted)
        for tier, after in tiers
        for kind in types
    ]
    union = "\n  UNION ALL\n  ".join(branches)
    return f"CALL () {{\n  {union}\n}}\nRETURN hit ORDER BY hit.rank, hit.term, hit.key LIMIT $limit"


def _count_branches(kind: SearchType, substring: bool, namespace: bool, include_deleted: bool) -> list[str]:
    """Per type: its matches (``all``) and, when substrings are read, its substring-tier matches
    (``substring``: distinct names for columns), which decide whether that tier walks the index."""
    match = "CONTAINS $q" if substring else "STARTS WITH $q"
    inner = "n.searchName CONTAINS $q AND NOT n.searchName STARTS WITH $q"
    filters = _filters(kind, namespace, include_deleted)
    tail = "WITH n LIMIT $cap RETURN {kind!r} AS kind, {what!r} AS what, count(n) AS counted"
    if kind == "column":
        branches = [
            f"MATCH (t:{TERM_LABEL}) WHERE t.searchName {match} "
            "MATCH (n:Field) USING RANGE INDEX SEEK n:Field(searchName, searchTie) "
            f"WHERE n.searchName = t.searchName{_ORDERED}{filters} " + tail.format(kind=kind, what="all")
        ]
        if substring:
            names = f"MATCH (n:{TERM_LABEL}) USING TEXT INDEX n:{TERM_LABEL}(searchName) WHERE {inner} "
            branches.append(names + tail.format(kind=kind, what="substring"))
        return branches
    label, label_filter = _LABEL[kind]
    if substring:
        text = f"MATCH (n:{label}) USING TEXT INDEX n:{label}(searchName) WHERE {label_filter}"
        return [
            f"{text}n.searchName {match}{filters} " + tail.format(kind=kind, what="all"),
            f"{text}{inner}{filters} " + tail.format(kind=kind, what="substring"),
        ]
    hint = f"USING RANGE INDEX SEEK n:{label}(searchName, searchTie)"
    where = f"{label_filter}n.searchName {match}{_ORDERED}{filters} "
    return [f"MATCH (n:{label}) {hint} WHERE {where}" + tail.format(kind=kind, what="all")]


@functools.cache
def count_query(
    types: tuple[SearchType, ...], substring: bool, namespace: bool, include_deleted: bool
) -> str:
    """The statement counting, per type, the matches of every tier and those of the substring
    tier, each up to ``$cap`` (see :func:`_count_branches`)."""
    branches = [b for kind in types for b in _count_branches(kind, substring, namespace, include_deleted)]
    union = "\n  UNION ALL\n  ".join(branches)
    return f"CALL () {{\n  {union}\n}}\nRETURN kind, what, counted"


async def search(tx: AsyncManagedTransaction, query: SearchQuery) -> SearchPage:
    """See :meth:`olgraph.store.base.GraphStore.search`.

    Density is decided per type: each type's branch walks its own index, so a query common
    among datasets but rare among columns walks the dataset names and reads the column
    names from the TEXT index. Only substring-tier matches count for it (a query whose matches
    mostly start with it would walk a whole index for few substrings); for columns, distinct names."""
    flags = (query.namespace is not None, query.include_deleted)
    types = tuple(query.types)
    params = {"q": query.text, "qEnd": query.text + PREFIX_END, "namespace": query.namespace}
    substring = "substring" in query.tiers()
    found = await records(tx, count_query(types, substring, *flags), **params, cap=query.count_cap + 1)
    counts = {(row["kind"], row["what"]): int(row["counted"]) for row in found}
    counted = sum(n for (_, what), n in counts.items() if what == "all")
    tiers = tiers_from(query)
    if not tiers:
        return page_of(query, [], counted)
    dense = tuple(kind for kind in types if query.dense(counts.get((kind, "substring"), 0)))
    after = query.after
    rows = await records(
        tx,
        page_query(types, tuple((t, a is not None) for t, a in tiers), dense, *flags),
        **params,
        afterTerm=None if after is None else after.term,
        afterTie=None if after is None else after.key[:TIE_CHARS],
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
