"""Cypher text of the Neo4j store (private): schema statements and query builders.

Labels and relationship types are never taken from event data: every one that appears in
a query text comes from :class:`~olgraph.normalize.mutations.Label`,
:class:`~olgraph.normalize.mutations.RelType` or :data:`ALLOWED_EXTRA_LABELS`, checked
by :func:`label_name`/:func:`rel_name`. Keys and property values are always parameters,
and property maps are written whole (``SET n = row.props``), so no property name (facet
names such as ``facet.schema`` contain dots) is ever interpolated either.

Neo4j 5.26 cannot use an index for a dynamic label or type (``MERGE (n:$(x))``), so a
query that must handle several labels or types has one ``UNION ALL`` branch per static
label or type, each guarded by a parameter test; only the branch that matches runs.
Callers pass every label or type when the statement is hot, so its text is fixed and Neo4j
plans it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from olgraph.normalize.mutations import MODEL_LABEL, Label, RelType
from olgraph.store.common import FACET_PREFIXES
from olgraph.store.merge import VERSIONS_PROP

SCHEMA_RESOURCE = ("cypher", "001_constraints.cypher")
"""Constraints and indexes, shipped in the package (``schemas/neo4j/`` holds a copy)."""

ALLOWED_EXTRA_LABELS = frozenset({MODEL_LABEL})
"""Labels an ``UpsertNode.extra_labels`` may add besides its primary label."""

LOCK_PROP = "_olgraph_lock"
"""Property set and removed in the same statement only to take a node's or relationship's write lock."""

_LABELS = frozenset(label.value for label in Label) | ALLOWED_EXTRA_LABELS
_TYPES = frozenset(t.value for t in RelType)


def schema_statements() -> list[str]:
    """The statements of the schema file, in order (comments and blank lines removed)."""
    text = resources.files("olgraph.store").joinpath(*SCHEMA_RESOURCE).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("//")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


def label_name(label: str) -> str:
    """``label`` if it is one olgraph defines, else ``ValueError`` (never interpolate anything else).

    >>> label_name("Dataset")
    'Dataset'
    """
    if label not in _LABELS:
        raise ValueError(f"not an olgraph label: {label!r}")
    return label


def rel_name(rel_type: str) -> str:
    """``rel_type`` if it is one olgraph defines, else ``ValueError``."""
    if rel_type not in _TYPES:
        raise ValueError(f"not an olgraph relationship type: {rel_type!r}")
    return rel_type


def public_pairs(var: str) -> str:
    """Cypher expression: ``[name, value]`` pairs of ``var``'s properties without facets or ``_versions``.

    Views never show facet JSON, so reads leave it on the server instead of shipping it.

    >>> "STARTS WITH 'facet.'" in public_pairs("n")
    True
    """
    hidden = " OR ".join([*(f"k STARTS WITH '{p}'" for p in FACET_PREFIXES), f"k = '{VERSIONS_PROP}'"])
    return f"[k IN keys({var}) WHERE NOT ({hidden}) | [k, {var}[k]]]"


def _union(branches: Iterable[str]) -> str:
    return "\n  UNION ALL\n  ".join(branches)


# ---------------------------------------------------------------- nodes


def lock_nodes_query(labels: Iterable[str]) -> str:
    """Create-or-match nodes ``$rows`` (``{key, label, model}``), lock them, return their state.

    Rows must come sorted by key: every writer then locks in the same order (no deadlocks
    between writers of overlapping batches). The ``Eager`` the planner puts before the
    ``SET`` makes every MERGE run before the first lock, and the properties are read after
    all locks are held, so they are the latest committed ones.
    """
    names = sorted({label_name(lab) for lab in labels})
    branches = [
        f"WITH row WHERE row.label = '{lab}' MERGE (n:{lab} {{key: row.key}}) RETURN n" for lab in names
    ]
    return (
        "UNWIND $rows AS row\n"
        f"CALL (row) {{\n  {_union(branches)}\n}}\n"
        f"SET n.{LOCK_PROP} = true REMOVE n.{LOCK_PROP}\n"
        f"FOREACH (_ IN CASE WHEN row.model THEN [1] ELSE [] END | SET n:{label_name(MODEL_LABEL)})\n"
        "RETURN row.key AS key, elementId(n) AS id, labels(n) AS labels, properties(n) AS props"
    )


def find_nodes_query(labels: Iterable[str]) -> str:
    """Match existing nodes by key (``$keys``, sorted), lock them, return their state.

    For keys a batch references without upserting them: the label is unknown, so every
    label's unique index is probed (one seek each).
    """
    branches = [f"MATCH (n:{label_name(lab)} {{key: k}}) RETURN n" for lab in sorted(set(labels))]
    return (
        "UNWIND $keys AS k\n"
        f"CALL (k) {{\n  {_union(branches)}\n}}\n"
        f"SET n.{LOCK_PROP} = true REMOVE n.{LOCK_PROP}\n"
        "RETURN k AS key, elementId(n) AS id, labels(n) AS labels, properties(n) AS props"
    )


WRITE_NODES = "UNWIND $nodes AS row MATCH (n) WHERE elementId(n) = row.id SET n = row.props"
"""Replace the whole property map of each node ``row.id`` (tombstoned properties vanish)."""


# ---------------------------------------------------------------- relationships


def edge_call(types: Iterable[str], clause: str) -> str:
    """A ``CALL`` yielding ``e``, the ``row.type`` relationship from node ``a`` to node ``b``.

    ``clause`` is ``MERGE`` (create when missing; Neo4j locks both ends while it checks)
    or ``MATCH``. One branch per type: Neo4j can only expand by a static type efficiently.
    """
    if clause not in ("MERGE", "MATCH"):
        raise ValueError(clause)
    branches = [
        f"WITH a, b, row WHERE row.type = '{rel_name(t)}' {clause} (a)-[e:{rel_name(t)}]->(b) RETURN e"
        for t in sorted(set(types))
    ]
    return f"CALL (a, b, row) {{\n  {_union(branches)}\n}}\n"


_ENDS = "MATCH (a) WHERE elementId(a) = row.s\nMATCH (b) WHERE elementId(b) = row.t\n"


def lock_edges_query(types: Iterable[str]) -> str:
    """Create-or-match relationships ``$rows`` (``{i, s, t, type}``), lock them, return their props."""
    return (
        f"UNWIND $rows AS row\n{_ENDS}{edge_call(types, 'MERGE')}"
        f"SET e.{LOCK_PROP} = true REMOVE e.{LOCK_PROP}\n"
        "RETURN row.i AS i, properties(e) AS props"
    )


def write_query(delete_types: Iterable[str], set_types: Iterable[str], nodes: bool) -> str:
    """One statement for a transaction's pending writes, each part run only when given.

    ``$deletes`` (``{s, t, type}``): relationships to delete; ``$sets`` (``{s, t, type,
    props}``): relationships to create or match and whose properties to replace;
    ``$nodes`` (``{id, props}``): nodes whose properties to replace.
    """
    parts = []
    if deletes := sorted(set(delete_types)):
        parts.append(f"UNWIND $deletes AS row\n{_ENDS}{edge_call(deletes, 'MATCH')}DELETE e")
    if sets := sorted(set(set_types)):
        parts.append(f"UNWIND $sets AS row\n{_ENDS}{edge_call(sets, 'MERGE')}SET e = row.props")
    if nodes:
        parts.append(WRITE_NODES)
    return "\n".join(f"CALL () {{\n{part}\n}}" for part in parts)


def links_query(groups: Iterable[tuple[str, bool]]) -> str:
    """Relationships of ``row.type`` on node ``row.id``, incoming or outgoing per ``row.incoming``.

    Returns one row per relationship: ``i`` (the request row), the other node's key and
    element id, and the relationship's properties.
    """
    branches = []
    for rel_type, incoming in sorted(set(groups)):
        pattern = f"(n)<-[e:{rel_name(rel_type)}]-(o)" if incoming else f"(n)-[e:{rel_name(rel_type)}]->(o)"
        test = "row.incoming" if incoming else "NOT row.incoming"
        branches.append(f"WITH n, row WHERE row.type = '{rel_type}' AND {test} MATCH {pattern} RETURN e, o")
    return (
        "UNWIND $rows AS row\nMATCH (n) WHERE elementId(n) = row.id\n"
        f"CALL (n, row) {{\n  {_union(branches)}\n}}\n"
        "RETURN row.i AS i, o.key AS other, elementId(o) AS other_id, properties(e) AS props"
    )


# ---------------------------------------------------------------- implicit reads

READS_STATE = f"""
UNWIND $rows AS row
MATCH (ds:Dataset {{key: row.key}})
SET ds.{LOCK_PROP} = true REMOVE ds.{LOCK_PROP}
WITH ds, row
CALL (ds) {{
  MATCH (ds)<-[:VERSION_OF]-(v) WHERE coalesce(v.implicit, false) <> true
  RETURN collect([v.key, v.createdAt, v.runId]) AS versions
}}
CALL (ds, row) {{
  MATCH (ds)<-[:VERSION_OF]-(v)-[e:READ_BY]->(r)
  WHERE e.implicit = true AND (r.key IN row.runs OR e.at >= row.since)
  RETURN collect([r.key, v.key, e.at, elementId(r), elementId(v)]) AS reads
}}
RETURN row.key AS key, elementId(ds) AS id, versions, reads
"""
"""For each dataset ``row.key``: its explicit versions (key, createdAt, runId) and the implicit reads
that may move: those by ``row.runs``, or at/after ``row.since`` (earlier reads cannot see
versions created since). The dataset is locked first, so concurrent re-resolutions of one
dataset queue up and each sees the versions the others wrote."""

RELINK_READS = """
CALL () {
  UNWIND $initial AS i
  MATCH (ds) WHERE elementId(ds) = i.ds
  MERGE (v:DatasetVersion {key: i.key}) ON CREATE SET v = i.props
  MERGE (v)-[:VERSION_OF]->(ds)
}
CALL () {
  UNWIND $stale AS s
  MATCH (v) WHERE elementId(v) = s.v
  MATCH (r) WHERE elementId(r) = s.r
  MATCH (v)-[e:READ_BY]->(r)
  DELETE e
}
CALL () {
  UNWIND $fresh AS f
  MATCH (v:DatasetVersion {key: f.v})
  MATCH (r) WHERE elementId(r) = f.r
  MERGE (v)-[e:READ_BY]->(r)
  SET e = f.props
}
CALL () {
  UNWIND $unused AS k
  MATCH (v:DatasetVersion {key: k}) WHERE NOT (v)-[:READ_BY]->()
  DETACH DELETE v
}
"""
"""Re-link implicit reads: create needed ``initial`` versions, move the reads whose target
changed, then delete each ``initial`` version no read uses any more."""
