"""Cypher text of the Neo4j store (private): schema statements and query builders.

Labels and relationship types are never taken from event data: every one that appears in
a query text comes from :class:`~olgraph.normalize.mutations.Label`,
:class:`~olgraph.normalize.mutations.RelType` or :data:`ALLOWED_EXTRA_LABELS`, checked
by :func:`label_name`/:func:`rel_name`. Keys and property values are always parameters,
and property maps are written whole (``SET n = row.props``), so no property name (facet
names such as ``facet.schema`` contain dots) is ever interpolated either.

Neo4j 5.26 cannot use an index for a dynamic label or type (``MERGE (n:$(x))``), so a
query that must handle several labels or types names each statically: the write path's
statements run one ``CALL`` subquery per label or type on that name's rows (see
:func:`lock_nodes_query`), the read side's have one ``UNION ALL`` branch per name, guarded
by a parameter test. Callers pass every label or type when the statement is hot, so its
text is fixed and Neo4j plans it once.

Planning the write statements (:data:`PLAN_ONCE`). Neo4j caches a plan by the statement's
text *and its parameters' types*, and an empty list is not the same type as a list of
maps: with one list parameter per label, every combination of labels present in a batch
was planned anew (measured: 1.3-2.1 s for each new combination of the edge-lock
statement). So each write statement takes one map, ``$rows``, and reads its lists from it
(``UNWIND $rows.Dataset``; a missing key is null, and ``UNWIND null`` yields no row); a
map's type does not depend on its content. Planning one of them takes 1.5-3.5 s on a busy
two-core machine (the 8, 15 and 30 statements they replace: 0.6, 1.1 and 1.6 s in all),
and Neo4j re-plans a cached statement when the graph's statistics have moved enough, which
would put that cost in the write path again and again as the graph grows. Their plans do
not depend on the statistics: every ``MERGE`` of a node seeks its label's unique key
index, every end of a relationship is found by element id, and the same plan comes out on
an empty and on a filled graph (``tests/integration/store/neo4j/test_neo4j_write.py``
compares them; only where Neo4j buffers rows for correctness may differ). Hence
``CYPHER replan=skip``: planned when first run (after a start, or after Neo4j empties its
query cache), and not again as the graph grows.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from olgraph.normalize.mutations import MODEL_LABEL, Label, RelType
from olgraph.store.common import FACET_PREFIXES
from olgraph.store.merge import VERSIONS_PROP

SCHEMA_RESOURCE = ("001_constraints.cypher",)
"""Constraints and indexes, shipped in the package (``schemas/neo4j/`` holds a copy)."""

ALLOWED_EXTRA_LABELS = frozenset({MODEL_LABEL})
"""Labels an ``UpsertNode.extra_labels`` may add besides its primary label."""

PLAN_ONCE = "CYPHER replan=skip"
"""Prefix of the write path's statements: plan once, never re-plan (see the module docstring)."""

LOCK_PROP = "_olgraph_lock"
"""Property set and removed in the same statement only to take a node's or relationship's write lock."""

_LABELS = frozenset(label.value for label in Label) | ALLOWED_EXTRA_LABELS
_TYPES = frozenset(t.value for t in RelType)


def schema_statements() -> list[str]:
    """The statements of the schema file, in order (comments and blank lines removed)."""
    text = resources.files("olgraph.store.neo4j").joinpath(*SCHEMA_RESOURCE).read_text(encoding="utf-8")
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
    """Create-or-match the nodes of each label, lock them, return their state: one statement.

    One parameter, ``$rows``: a map from label to that label's ``{key, model, new}`` rows,
    sorted by key (a label the batch has no node of is left out). One record, ``out``:
    ``[key, element id, labels, props]`` per row. Every statement here answers with one
    record of lists: the driver decodes a list natively, while each record costs tens of
    microseconds of Python (measured: 12k records took 0.7 s, one list 0.2 s).

    A node that does not exist yet is created with ``row.new``, the properties it gets when
    the batch is merged into nothing, so a new node is written once, here, and not again.
    ``props`` comes back null when the node holds exactly ``row.new`` (created now, or a
    redelivery): nothing to ship, merge or write.

    One ``CALL`` subquery per label, each with its own list and its label written in its
    ``MERGE``, so every ``MERGE`` seeks its label's unique index. Not one ``UNWIND`` with a
    ``UNION`` branch per label tested on each row: measured, that made each row cost 2-3
    times as much. Not one statement per label either: a statement costs about 1.5 ms of
    round trip and bookkeeping however little it does, and a small batch touches most
    labels (measured on a 10k-node graph: 8 lock statements took 26 ms per one-event
    batch, this one about 10 ms). See the module docstring for how it is planned.

    Every writer locks in the same order, label by label (subqueries run in order) and by
    key within a label, so writers of overlapping batches do not deadlock. A node's
    properties are read after its lock is taken, so they are the latest committed ones.
    """
    return _collecting(
        (
            f"  UNWIND $rows.{label} AS row\n"
            f"  MERGE (n:{label} {{key: row.key}}) ON CREATE SET n = row.new\n"
            f"  SET n.{LOCK_PROP} = true REMOVE n.{LOCK_PROP}\n"
            f"  FOREACH (_ IN CASE WHEN row.model THEN [1] ELSE [] END | SET n:{label_name(MODEL_LABEL)})\n"
            "  WITH row, n, properties(n) AS props\n"
            "  WITH row, n, CASE WHEN props = row.new THEN null ELSE props END AS props\n",
            "collect([row.key, elementId(n), labels(n), props])",
        )
        for label in sorted({label_name(label) for label in labels})
    )


def _collecting(parts: Iterable[tuple[str, str]]) -> str:
    """One write statement of ``CALL`` subqueries, in order: each runs its ``body``, then
    ``RETURN`` its ``collect(…)`` expression; the statement answers their lists joined, ``out``."""
    calls = [
        f"CALL () {{\n{body}  RETURN {collected} AS out_{i}\n}}" for i, (body, collected) in enumerate(parts)
    ]
    joined = " + ".join(f"out_{i}" for i in range(len(calls)))
    return f"{PLAN_ONCE}\n" + "\n".join(calls) + f"\nRETURN {joined} AS out"


def find_nodes_query(labels: Iterable[str]) -> str:
    """Match existing nodes by key (``$keys``, sorted), lock them, return their state.

    One record, ``nodes``: ``[key, element id, labels, props]`` per node found.

    For keys a batch references without upserting them: the label is unknown, so every
    label's unique index is probed (one seek each).
    """
    branches = [f"MATCH (n:{label_name(lab)} {{key: k}}) RETURN n" for lab in sorted(set(labels))]
    return (
        "UNWIND $keys AS k\n"
        f"CALL (k) {{\n  {_union(branches)}\n}}\n"
        f"SET n.{LOCK_PROP} = true REMOVE n.{LOCK_PROP}\n"
        "RETURN collect([k, elementId(n), labels(n), properties(n)]) AS nodes"
    )


# ---------------------------------------------------------------- relationships


def lock_edges_query(rel_types: Iterable[str]) -> str:
    """Create-or-match the relationships of each type, lock them: one statement.

    ``$rows``: a map from type to its ``{i, s, t, new}`` rows (``s``/``t``: element ids of
    the ends), types without rows left out. A new
    relationship is created with ``row.new``. One record, ``out``: ``[i, props]`` of each
    relationship that holds something else than ``row.new``. Built as :func:`lock_nodes_query`
    (a subquery per type, run in type order; Neo4j locks both ends while it merges).
    """
    return _collecting(
        (
            f"  {_ends(rel)}"
            f"  MERGE (a)-[e:{rel}]->(b) ON CREATE SET e = row.new\n"
            f"  SET e.{LOCK_PROP} = true REMOVE e.{LOCK_PROP}\n"
            "  WITH row, properties(e) AS props WHERE props <> row.new\n",
            "collect([row.i, props])",
        )
        for rel in _types(rel_types)
    )


def flush_query(rel_types: Iterable[str]) -> str:
    """Write what a batch left pending, in one statement: delete, then set relationships, then nodes.

    ``$rows``: a map, with the rows of each key present, of :func:`flush_key` ``(type,
    "delete")``: ``{s, t}`` rows, delete the relationship; ``(type, "set")``: ``{s, t,
    props}``, create or match it and replace its properties; and ``nodes``: ``{id, props}``,
    replace the whole property map of node ``id`` (tombstoned properties vanish). Returns
    nothing.
    """
    types = _types(rel_types)
    deletes = [
        f"CALL () {{\n  {_ends(flush_key(rel, 'delete'))}  MATCH (a)-[e:{rel}]->(b)\n  DELETE e\n}}"
        for rel in types
    ]
    sets = [
        f"CALL () {{\n  {_ends(flush_key(rel, 'set'))}  MERGE (a)-[e:{rel}]->(b)\n  SET e = row.props\n}}"
        for rel in types
    ]
    nodes = "CALL () {\n  UNWIND $rows.nodes AS row\n  MATCH (n) WHERE elementId(n) = row.id\n"
    nodes += "  SET n = row.props\n}"
    return "\n".join([PLAN_ONCE, *deletes, *sets, nodes])


def flush_key(rel_type: str, use: str) -> str:
    """The key of :func:`flush_query`'s ``$rows`` holding the rows of ``rel_type`` to ``use`` (set or delete).

    >>> flush_key("OWNS", "set")
    'set_OWNS'
    """
    return f"{use}_{rel_name(rel_type)}"


def _types(rel_types: Iterable[str]) -> list[str]:
    return sorted({rel_name(rel) for rel in rel_types})


def _ends(key: str) -> str:
    return (
        f"UNWIND $rows.{key} AS row\n"
        "  MATCH (a) WHERE elementId(a) = row.s\n"
        "  MATCH (b) WHERE elementId(b) = row.t\n"
    )


def links_query(groups: Iterable[tuple[str, bool]]) -> str:
    """Relationships of ``row.type`` on node ``row.id``, incoming or outgoing per ``row.incoming``.

    One record, ``links``: per relationship, ``[i, other key, other element id, props]``
    (``i``: the request row).
    """
    branches = []
    for rel_type, incoming in sorted(set(groups)):
        pattern = f"(n)<-[e:{rel_name(rel_type)}]-(o)" if incoming else f"(n)-[e:{rel_name(rel_type)}]->(o)"
        test = "row.incoming" if incoming else "NOT row.incoming"
        branches.append(f"WITH n, row WHERE row.type = '{rel_type}' AND {test} MATCH {pattern} RETURN e, o")
    return (
        "UNWIND $rows AS row\nMATCH (n) WHERE elementId(n) = row.id\n"
        f"CALL (n, row) {{\n  {_union(branches)}\n}}\n"
        "RETURN collect([row.i, o.key, elementId(o), properties(e)]) AS links"
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
  RETURN collect([r.key, v.key, e.at, elementId(r), elementId(v), properties(e)]) AS reads
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
