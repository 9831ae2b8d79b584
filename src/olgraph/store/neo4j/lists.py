"""Filtered listings of the Neo4j store (private): datasets/models/jobs, namespaces, tags.

Each is one statement: the count and the page (ordered by name, then key). The match starts
where the filter is most selective: the owner or tag node, else the label's name or
(namespace, name) index.
"""

from __future__ import annotations

import functools
from typing import Any

from neo4j import AsyncManagedTransaction

from olgraph.store import common
from olgraph.store.base import Page
from olgraph.store.detail_views import TagCount
from olgraph.store.listing import NodeFilter, Window
from olgraph.store.neo4j.cypher import label_name
from olgraph.store.neo4j.read import node_map, records, skip_limit


@functools.cache
def _statement(
    label: str, *, namespace: bool, models: bool | None, owner: bool, tag: bool, deleted: bool, keyset: bool
) -> str:
    node = f"(n:{label_name(label)})"
    if owner:
        match = f"MATCH (:Owner {{key: $owner}})-[:OWNS]->{node}"
    elif tag:
        match = (
            f"MATCH (t:Tag)<-[:TAGGED]-{node} WHERE t.key >= $tagLow AND t.key < $tagHigh "
            "WITH DISTINCT n MATCH (n)"
        )
    else:
        match = f"MATCH {node}"
    # ``name IS NOT NULL`` lets the planner seek the (namespace, name) index (identity
    # properties: it excludes nothing), or read the name index in order across namespaces.
    conditions = ["n.namespace = $namespace AND n.name IS NOT NULL" if namespace else "n.name IS NOT NULL"]
    if not deleted:
        conditions.append("coalesce(n.deleted, false) = false")
    if models is not None:
        conditions.append("n:Model" if models else "NOT n:Model")
    if owner and tag:
        conditions.append(
            "EXISTS { MATCH (n)-[:TAGGED]->(t:Tag) WHERE t.key >= $tagLow AND t.key < $tagHigh }"
        )
    where = " AND ".join(conditions)
    after = " AND (n.name > $afterName OR (n.name = $afterName AND n.key > $afterKey))" if keyset else ""
    return f"""
CALL () {{ {match} WHERE {where} RETURN count(n) AS total }}
CALL () {{
  {match} WHERE {where}{after}
  WITH n ORDER BY n.name, n.key SKIP $offset LIMIT $limit
  RETURN collect({node_map("n")}) AS items
}}
RETURN total, items
"""


async def list_nodes(tx: AsyncManagedTransaction, flt: NodeFilter, window: Window) -> Page:
    """See :meth:`olgraph.store.base.GraphStore.list_nodes`."""
    bounds = flt.tag_keys()
    statement = _statement(
        flt.label,
        namespace=flt.namespace is not None,
        models=flt.models,
        owner=flt.owner is not None,
        tag=bounds is not None,
        deleted=flt.include_deleted,
        keyset=window.after is not None,
    )
    params: dict[str, Any] = {
        "namespace": flt.namespace,
        "owner": flt.owner_key,
        "tagLow": bounds[0] if bounds else None,
        "tagHigh": bounds[1] if bounds else None,
        "afterName": window.after[0] if window.after else None,
        "afterKey": window.after[1] if window.after else None,
        **skip_limit(window.limit, 0 if window.after is not None else window.offset),
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
