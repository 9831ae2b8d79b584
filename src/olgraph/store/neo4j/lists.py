"""Filtered listings of the Neo4j store (private): datasets/models/jobs, namespaces, tags.

Each is one statement: the count and the page (ordered by name, then key, or by
``lastSeenAt``, then key; ascending or descending). The match starts where the filter is most
selective: the owner or tag node, else the label's name or (namespace, name) index, or its
``lastSeenAt`` index for that order (which returns the nodes in order in either direction).
Nodes without the sort value are not in the index: they follow, by key, read only by the
pages that reach them.
"""

from __future__ import annotations

import functools
from typing import Any

from neo4j import AsyncManagedTransaction

from olgraph import keys
from olgraph.normalize.mutations import PropValue
from olgraph.store import common
from olgraph.store.base import Page
from olgraph.store.detail_views import TagCount
from olgraph.store.listing import BY_NAME, ListOrder, NodeFilter, Window
from olgraph.store.neo4j.cypher import label_name, public_pairs
from olgraph.store.neo4j.read import node_map, records, skip_limit

_SORT_PROPS = {"name": "name", "lastSeenAt": "lastSeenAt"}
"""The properties a listing sorts on (the only text put into the statement from the order)."""


def _match(label: str, *, owner: bool, tag: bool) -> str:
    node = f"(n:{label_name(label)})"
    if owner:
        return f"MATCH (:Owner {{key: $owner}})-[:OWNS]->{node}"
    if tag:
        return (
            f"MATCH (t:Tag)<-[:TAGGED]-{node} WHERE t.key >= $tagLow AND t.key < $tagHigh "
            "WITH DISTINCT n MATCH (n)"
        )
    return f"MATCH {node}"


@functools.cache
def _statement(
    label: str,
    *,
    namespace: bool,
    models: bool | None,
    owner: bool,
    tag: bool,
    deleted: bool,
    keyset: bool,
    job_type: bool = False,
    order: ListOrder = BY_NAME,
    in_unvalued: bool = False,
) -> str:
    match = _match(label, owner=owner, tag=tag)
    # ``name IS NOT NULL`` lets the planner seek the (namespace, name) index (identity
    # properties: it excludes nothing), or read the name index in order across namespaces.
    conditions = ["n.namespace = $namespace AND n.name IS NOT NULL" if namespace else "n.name IS NOT NULL"]
    if not deleted:
        conditions.append("coalesce(n.deleted, false) = false")
    if models is not None:
        conditions.append("n:Model" if models else "NOT n:Model")
    if job_type:
        conditions.append("n.jobType = $jobType")
    if owner and tag:
        conditions.append(
            "EXISTS { MATCH (n)-[:TAGGED]->(t:Tag) WHERE t.key >= $tagLow AND t.key < $tagHigh }"
        )
    where = " AND ".join(conditions)
    value = f"n.{_SORT_PROPS[order.prop]}"
    direction, beyond = ("DESC", "<") if order.descending else ("ASC", ">")
    valued = "" if in_unvalued else _valued(match, where, value, direction, beyond, keyset=keyset)
    unvalued = (
        _unvalued(match, where, value, direction, beyond, keyset=keyset and in_unvalued)
        if order.nullable
        else ""
    )
    first = "[]" if in_unvalued else "valued"
    return f"""
CALL () {{ {match} WHERE {where} RETURN count(n) AS total, count({value}) AS counted }}
{valued}
WITH total, counted, {first} AS items
{unvalued}
RETURN total, items
"""


def _valued(match: str, where: str, value: str, direction: str, beyond: str, *, keyset: bool) -> str:
    after = (
        f" AND ({value} {beyond} $afterValue OR ({value} = $afterValue AND n.key {beyond} $afterKey))"
        if keyset
        else ""
    )
    return f"""CALL () {{
  {match} WHERE {where} AND {value} IS NOT NULL{after}
  WITH n ORDER BY {value} {direction}, n.key {direction} SKIP $offset LIMIT $limit
  RETURN collect({node_map("n")}) AS valued
}}"""


_SKIPPED = "CASE WHEN $offset > counted THEN $offset - counted ELSE 0 END"
"""How many nodes without the value an offset page skips (those before it have the value)."""


def _unvalued(match: str, where: str, value: str, direction: str, beyond: str, *, keyset: bool) -> str:
    after = f" AND n.key {beyond} $afterKey" if keyset else ""
    # Read only when the valued nodes do not fill the page; SKIP and LIMIT take no variables,
    # so the offset into this segment (the page's offset less the valued nodes) is a slice.
    return f"""CALL (items, total, counted) {{
  WITH items, total, counted WHERE size(items) < $limit AND counted < total
  {match} WHERE {where} AND {value} IS NULL{after}
  WITH n ORDER BY n.key {direction} LIMIT $offset + $limit
  RETURN collect({node_map("n")}) AS unvalued
}}
WITH total, items + unvalued[{_SKIPPED}..][..$limit - size(items)] AS items"""


async def list_nodes(tx: AsyncManagedTransaction, flt: NodeFilter, window: Window) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_nodes`."""
    bounds = flt.tag_keys()
    after = window.after
    statement = _statement(
        flt.label,
        namespace=flt.namespace is not None,
        models=flt.models,
        owner=flt.owner is not None,
        tag=bounds is not None,
        deleted=flt.include_deleted,
        keyset=after is not None,
        job_type=flt.job_type is not None,
        order=window.order,
        in_unvalued=after is not None and after[0] is None,
    )
    params: dict[str, Any] = {
        "namespace": flt.namespace,
        "jobType": flt.job_type,
        "owner": flt.owner_key,
        "tagLow": bounds[0] if bounds else None,
        "tagHigh": bounds[1] if bounds else None,
        "afterValue": after[0] if after else None,
        "afterKey": after[1] if after else None,
        **skip_limit(window.limit, 0 if after is not None else window.offset),
    }
    found = (await records(tx, statement, **params))[0]
    items = [common.node_view(n["key"], n["labels"], dict(n["props"])) for n in found["items"]]
    return Page(items=items, total=int(found["total"]))


def _namespaces(deleted: bool, keyset: bool) -> str:
    where = "n.name IS NOT NULL" + ("" if deleted else " AND coalesce(n.deleted, false) = false")
    after = " AND (n.name > $afterName OR (n.name = $afterName AND n.key > $afterKey))" if keyset else ""
    return f"""
CALL () {{ MATCH (n:Namespace) WHERE {where} RETURN count(n) AS total }}
CALL () {{
  MATCH (n:Namespace) WHERE {where}{after}
  WITH n ORDER BY n.name, n.key SKIP $offset LIMIT $limit
  RETURN collect(n.name) AS items
}}
RETURN total, items
"""


async def list_namespaces(tx: AsyncManagedTransaction, window: Window, include_deleted: bool) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_namespaces`."""
    params = {
        "afterName": window.after[0] if window.after else None,
        "afterKey": window.after[1] if window.after else None,
        **skip_limit(window.limit, 0 if window.after is not None else window.offset),
    }
    found = (await records(tx, _namespaces(include_deleted, window.after is not None), **params))[0]
    return Page(items=[str(n) for n in found["items"]], total=int(found["total"]))


GET_NAMESPACES = (
    "UNWIND $keys AS k MATCH (n:Namespace {key: k}) RETURN n.name AS name, "
    + public_pairs("n")
    + " AS props, coalesce(n.deleted, false) AS deleted"
)


async def get_namespaces(tx: AsyncManagedTransaction, names: list[str]) -> dict[str, dict[str, PropValue]]:
    """See :meth:`olgraph.store.base.GraphStore.get_namespaces`."""
    found = await records(tx, GET_NAMESPACES, keys=[keys.namespace_key(name) for name in names])
    return {
        str(r["name"]): {**common.public_props(dict(r["props"])), "deleted": bool(r["deleted"])}
        for r in found
    }


LIST_TAGS = """
CALL () { MATCH (t:Tag) RETURN count(t) AS total }
CALL () {
  MATCH (t:Tag) WHERE t.key >= '' WITH t ORDER BY t.key SKIP $offset LIMIT $limit
  CALL (t) { OPTIONAL MATCH (d:Dataset)-[:TAGGED]->(t) RETURN count(d) AS datasets }
  CALL (t) { OPTIONAL MATCH (j:Job)-[:TAGGED]->(t) RETURN count(j) AS jobs }
  RETURN collect([t.name, t.value, datasets, jobs]) AS items
}
RETURN total, items
"""


async def list_tags(tx: AsyncManagedTransaction, limit: int, offset: int) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_tags`."""
    found = (await records(tx, LIST_TAGS, **skip_limit(limit, offset)))[0]
    items = [TagCount(str(n), str(v), int(d), int(j)) for n, v, d, j in found["items"]]
    return Page(items=items, total=int(found["total"]))
