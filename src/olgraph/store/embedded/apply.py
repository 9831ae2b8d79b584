"""Applying one mutation batch to the embedded store, in one transaction (private).

Order within a batch: every ``UpsertNode``, then ``UpsertEdge``, then ``ReplaceLinks``,
then ``ReadVersion`` (and re-resolution of implicit reads). What to write is decided by
:mod:`olgraph.store.plan`, which the Neo4j store shares; this module reads the rows each
step needs and executes the plans in SQL.

Relationships whose end nodes do not exist are skipped, as a Cypher ``MATCH … MERGE``
would: the normalizer upserts both ends in the same batch, so this only guards bad input.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from olgraph.normalize.mutations import Label, Mutation, RelType, UpsertNode
from olgraph.store import plan
from olgraph.store.common import opt_str
from olgraph.store.embedded.rows import (
    EdgeId,
    EdgeRow,
    NodeRow,
    delete_edges,
    delete_node,
    edges_of,
    existing_keys,
    key_set,
    load_edges,
    load_nodes,
    loads,
    rollback,
    save_edges,
    save_nodes,
)
from olgraph.store.merge import merge_props, stored_form

READ_BY = RelType.READ_BY.value
VERSION_OF = RelType.VERSION_OF.value


def apply_batch(conn: sqlite3.Connection, mutations: Iterable[Mutation]) -> None:
    """Apply ``mutations`` atomically (``BEGIN IMMEDIATE`` … ``COMMIT``, rollback on any error)."""
    parts = plan.BatchParts.of(mutations)
    conn.execute("BEGIN IMMEDIATE")
    try:
        touched = _apply_nodes(conn, parts.nodes)
        _apply_edges(conn, parts)
        if parts.links:
            _apply_links(conn, parts)
        _apply_reads(conn, parts, touched)
        conn.execute("COMMIT")  # inside: a COMMIT that fails (a full disk) must not leave it open
    except BaseException:
        rollback(conn)
        raise


def _apply_nodes(conn: sqlite3.Connection, upserts: Iterable[UpsertNode]) -> dict[str, str]:
    """Merge node upserts; return dataset key → earliest ``createdAt`` of its versions written."""
    writes = plan.node_writes(upserts)
    if not writes:
        return {}
    rows = load_nodes(conn, writes)
    for key, w in writes.items():
        row = rows.get(key) or NodeRow(key, w.label, {w.label})
        row.labels.update(w.labels)
        row.props, row.versions = plan.merge_node(row.label, row.props, row.versions, w.props)
        rows[key] = row
    written = [rows[key] for key in writes]
    save_nodes(conn, written)
    return plan.touched_datasets((row.label, row.props) for row in written)


def _apply_edges(conn: sqlite3.Connection, parts: plan.BatchParts) -> None:
    if not parts.edges:
        return
    present = existing_keys(conn, {k for m in parts.edges for k in (m.source, m.target)})
    writes = plan.edge_writes(parts.edges, present)
    rows = load_edges(conn, writes)
    for edge_id, props in writes.items():
        row = rows.get(edge_id) or EdgeRow(*edge_id)
        row.props, row.versions = merge_props(row.props, row.versions, props)
        rows[edge_id] = row
    save_edges(conn, rows.values())


def _apply_links(conn: sqlite3.Connection, parts: plan.BatchParts) -> None:
    """Replace the links of each group a ``ReplaceLinks`` wins last-writer-wins for."""
    nodes = load_nodes(conn, {m.node for m in parts.links})
    present = existing_keys(conn, {link.key for m in parts.links for link in m.others})
    current: dict[plan.LinkGroup, plan.LinkSet] = {}
    for node, rel, incoming in plan.link_groups(parts.links, nodes):
        stored = edges_of(conn, rel, node, incoming=incoming)
        links = {(e.src if incoming else e.dst): stored_form(None, e.props, e.versions) for e in stored}
        current[(node, rel, incoming)] = links
    outcome = plan.plan_links(
        parts.links, {key: row.versions for key, row in nodes.items()}, present, current
    )
    for group in outcome.after:
        delete_edges(conn, (_link_id(group, other) for other in outcome.removed(group)))
        save_edges(conn, (EdgeRow(*_link_id(group, other), props) for other, props in outcome.written(group)))
    for key, slots in outcome.slots.items():
        nodes[key].versions.update(slots)
    save_nodes(conn, (nodes[key] for key in outcome.slots))


def _link_id(group: plan.LinkGroup, other: str) -> EdgeId:
    node, rel, incoming = group
    return (rel, other, node) if incoming else (rel, node, other)


# ---------------------------------------------------------------- implicit reads


def _apply_reads(conn: sqlite3.Connection, parts: plan.BatchParts, touched: Mapping[str, str]) -> None:
    """Record the batch's reads and re-link the implicit reads a new read or version may have moved."""
    present = existing_keys(conn, {k for r in parts.reads for k in (r.run, r.dataset)})
    reads = plan.new_reads(parts.reads, present)
    props = plan.read_props(parts.reads)
    for query in plan.reads_to_fetch(reads, touched):
        current = _implicit_reads(conn, query)
        versions = _candidate_versions(conn, query.dataset)
        batch_reads = reads.get(query.dataset, {})
        _execute(conn, plan.plan_reads(query.dataset, current, batch_reads, versions, props))


def _execute(conn: sqlite3.Connection, reads: plan.ReadsPlan) -> None:
    if reads.needs_initial:
        _ensure_initial(conn, reads.dataset)
    delete_edges(conn, ((READ_BY, version, run) for version, run in reads.stale))
    fresh = (EdgeRow(READ_BY, r.version, run, r.relationship_props(), r.versions) for run, r in reads.fresh)
    save_edges(conn, fresh)
    _drop_unused_initial(conn, reads.initial)


def _implicit_reads(conn: sqlite3.Connection, query: plan.ReadsQuery) -> dict[str, plan.ImplicitRead]:
    """Implicit reads of the dataset by ``query.runs`` or at/after ``query.since``: run → the read."""
    rows = conn.execute(
        "SELECT r.dst, r.src, json_extract(r.props, '$.at'), r.props, r.versions FROM edges v "
        "CROSS JOIN edges r ON r.type = 'READ_BY' AND r.src = v.src "
        "WHERE v.type = 'VERSION_OF' AND v.dst = ? AND json_extract(r.props, '$.implicit') = 1 "
        f"AND (r.dst IN (SELECT value FROM {key_set(conn, query.runs)}) "
        "OR json_extract(r.props, '$.at') >= ?)",
        (query.dataset, query.since),
    )
    return {
        run: plan.ImplicitRead.of(version, str(at), loads(props), loads(versions))
        for run, version, at, props, versions in rows
    }


def _candidate_versions(conn: sqlite3.Connection, dataset: str) -> list[plan.VersionCandidate]:
    rows = conn.execute(
        "SELECT n.key, json_extract(n.props, '$.createdAt'), json_extract(n.props, '$.runId') "
        "FROM edges v CROSS JOIN nodes n ON n.key = v.src "
        "WHERE v.type = 'VERSION_OF' AND v.dst = ? AND coalesce(json_extract(n.props, '$.implicit'), 0) != 1",
        (dataset,),
    )
    return [(key, opt_str(created), opt_str(writer)) for key, created, writer in rows]


def _ensure_initial(conn: sqlite3.Connection, dataset: str) -> None:
    key = plan.initial_version_key(dataset)
    if not load_nodes(conn, [key]):
        props = plan.initial_version_props(dataset)
        save_nodes(conn, [NodeRow(key, Label.DATASET_VERSION.value, {Label.DATASET_VERSION.value}, props)])
    if not load_edges(conn, [(VERSION_OF, key, dataset)]):
        save_edges(conn, [EdgeRow(VERSION_OF, key, dataset)])


def _drop_unused_initial(conn: sqlite3.Connection, key: str) -> None:
    exists = conn.execute("SELECT 1 FROM nodes WHERE key = ?", (key,)).fetchone()
    used = conn.execute("SELECT 1 FROM edges WHERE type = 'READ_BY' AND src = ? LIMIT 1", (key,)).fetchone()
    if exists and not used:
        delete_node(conn, key)
