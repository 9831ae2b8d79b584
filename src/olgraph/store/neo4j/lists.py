"""Filtered listings of the Neo4j store (private): datasets/models/jobs, namespaces, tags.

Each is one statement: the count and the page (ordered by name, then key, or by
``lastSeenAt``, then key; ascending or both descending). The match starts where the filter is
most selective: the owner or tag node, else the label's name or (namespace, name) index; by
``lastSeenAt`` across namespaces, its index, which returns the nodes in order in either
direction from the keyset position on. Nodes without the sort value are not in that index:
a second statement reads them (by key) only for a page that reaches past the others.
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


def _match(label: str, *, owner: bool, tag: bool, hint: str | None = None) -> str:
    node = f"(n:{label_name(label)})"
    if owner:
        # Pinned to the owner: with few datasets in the graph the planner may instead scan the
        # name index in order and look for the owner of each.
        return f"MATCH (o:Owner {{key: $owner}})-[:OWNS]->{node} USING RANGE INDEX SEEK o:Owner(key)"
    if tag:
        return (
            f"MATCH (t:Tag)<-[:TAGGED]-{node} WHERE t.key >= $tagLow AND t.key < $tagHigh "
            "WITH DISTINCT n MATCH (n)"
        )
    return f"MATCH {node}" + (f" USING RANGE INDEX n:{label_name(label)}({hint})" if hint else "")


def _where(
    *,
    namespace: bool,
    models: bool | None,
    owner: bool,
    tag: bool,
    deleted: bool,
    job_type: bool,
    by_name: bool,
) -> str:
    # ``name IS NOT NULL`` lets the planner seek the (namespace, name) index (identity
    # properties: it excludes nothing), or read the name index in order across namespaces;
    # left out of other orders, where it would draw the planner to the name index.
    conditions = ["n.namespace = $namespace"] if namespace else []
    if by_name or namespace:
        conditions.append("n.name IS NOT NULL")
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
    return " AND ".join(conditions) or "true"


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
    valued: bool = True,
) -> str:
    """The count of the matches, those without the sort value among them (``counted``: those
    with it), and, when ``valued``, the page of the nodes that have the sort value."""
    prop = _SORT_PROPS[order.prop]
    where = _where(
        namespace=namespace,
        models=models,
        owner=owner,
        tag=tag,
        deleted=deleted,
        job_type=job_type,
        by_name=prop == "name",
    )
    match = _match(label, owner=owner, tag=tag)
    count = f"CALL () {{ {match} WHERE {where} RETURN count(n) AS total, count(n.{prop}) AS counted }}"
    if not valued:
        return f"{count}\nRETURN total, counted, [] AS items"
    # Across namespaces, without an owner or tag to start from, the sort property's index
    # returns the nodes in order (either direction) from the keyset position on.
    hinted = None if namespace or owner or tag or prop == "name" else prop
    value, (direction, beyond) = f"n.{prop}", order.direction
    after = (
        f" AND {value} {beyond}= $afterValue AND ({value} {beyond} $afterValue OR n.key {beyond} $afterKey)"
        if keyset
        else f" AND {value} IS NOT NULL"
    )
    return f"""
{count}
CALL () {{
  {_match(label, owner=owner, tag=tag, hint=hinted)} WHERE {where}{after}
  WITH n ORDER BY {value} {direction}, n.key {direction} SKIP $offset LIMIT $limit
  RETURN collect({node_map("n")}) AS items
}}
RETURN total, counted, items
"""


@functools.cache
def _unvalued_statement(
    label: str,
    *,
    namespace: bool,
    models: bool | None,
    owner: bool,
    tag: bool,
    deleted: bool,
    keyset: bool,
    job_type: bool,
    order: ListOrder,
) -> str:
    """The page of the matches without the sort value (not in its index), by key."""
    where = _where(
        namespace=namespace,
        models=models,
        owner=owner,
        tag=tag,
        deleted=deleted,
        job_type=job_type,
        by_name=False,
    )
    direction, beyond = order.direction
    after = f" AND n.key {beyond} $afterKey" if keyset else ""
    return f"""
{_match(label, owner=owner, tag=tag)} WHERE {where} AND n.{_SORT_PROPS[order.prop]} IS NULL{after}
WITH n ORDER BY n.key {direction} SKIP $offset LIMIT $limit
RETURN collect({node_map("n")}) AS items
"""


async def list_nodes(tx: AsyncManagedTransaction, flt: NodeFilter, window: Window) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_nodes`.

    The nodes without the sort value follow the others; a second statement reads them, only
    for a page that reaches past the last node with a value.
    """
    bounds = flt.tag_keys()
    after, order = window.after, window.order
    shape = {
        "namespace": flt.namespace is not None,
        "models": flt.models,
        "owner": flt.owner is not None,
        "tag": bounds is not None,
        "deleted": flt.include_deleted,
        "job_type": flt.job_type is not None,
        "order": order,
    }
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
    in_unvalued = after is not None and after[0] is None
    statement = _statement(flt.label, keyset=after is not None, valued=not in_unvalued, **shape)
    found = (await records(tx, statement, **params))[0]
    rows, total, counted = list(found["items"]), int(found["total"]), int(found["counted"])
    if order.nullable and len(rows) < params["limit"] and counted < total:
        rest = {
            **params,
            "offset": 0 if after is not None else max(0, window.offset - counted),
            "limit": params["limit"] - len(rows),
        }
        unvalued = _unvalued_statement(flt.label, keyset=in_unvalued, **shape)
        rows += (await records(tx, unvalued, **rest))[0]["items"]
    items = [common.node_view(n["key"], n["labels"], dict(n["props"])) for n in rows]
    return Page(items=items, total=total)


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
