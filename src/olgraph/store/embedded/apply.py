"""Applying one mutation batch to the embedded store, in one transaction (private).

Order within a batch: every ``UpsertNode``, then ``UpsertEdge``, then ``ReplaceLinks``,
then ``ReadVersion`` (and re-resolution of implicit reads). Property merging is
:func:`olgraph.store.merge.merge_props` + :func:`~olgraph.store.merge.derive_props` only.

Relationships whose end nodes do not exist are skipped, as a Cypher ``MATCH … MERGE``
would: the normalizer upserts both ends in the same batch, so this only guards bad input.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from olgraph.normalize.mutations import (
    Label,
    Mutation,
    Prop,
    PropValue,
    ReadVersion,
    RelType,
    ReplaceLinks,
    UpsertEdge,
    UpsertNode,
)
from olgraph.store import common
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
from olgraph.store.merge import derive_props, links_win, merge_props

READ_BY = RelType.READ_BY.value
VERSION_OF = RelType.VERSION_OF.value


def apply_batch(conn: sqlite3.Connection, mutations: Sequence[Mutation]) -> None:
    """Apply ``mutations`` atomically (``BEGIN IMMEDIATE`` … ``COMMIT``, rollback on any error)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        touched = _apply_nodes(conn, [m for m in mutations if isinstance(m, UpsertNode)])
        _apply_edges(conn, [m for m in mutations if isinstance(m, UpsertEdge)])
        for link in (m for m in mutations if isinstance(m, ReplaceLinks)):
            _apply_links(conn, link)
        _apply_reads(conn, [m for m in mutations if isinstance(m, ReadVersion)], touched)
        conn.execute("COMMIT")  # inside: a COMMIT that fails (a full disk) must not leave it open
    except BaseException:
        rollback(conn)
        raise


def _apply_nodes(conn: sqlite3.Connection, upserts: Sequence[UpsertNode]) -> dict[str, str]:
    """Merge node upserts; return dataset key → earliest ``createdAt`` of its versions written."""
    if not upserts:
        return {}
    rows = load_nodes(conn, (m.key for m in upserts))
    for m in upserts:
        row = rows.get(m.key) or NodeRow(m.key, m.label.value, {m.label.value})
        row.labels.update((m.label.value, *m.extra_labels))
        row.props, row.versions = merge_props(row.props, row.versions, m.props)
        rows[m.key] = row
    written = [rows[k] for k in dict.fromkeys(m.key for m in upserts)]
    for row in written:
        row.props = derive_props(row.label, row.props)
    save_nodes(conn, written)
    touched: dict[str, str] = {}
    for row in written:
        dataset, created = row.props.get("dataset"), row.props.get("createdAt")
        if row.label != Label.DATASET_VERSION.value or row.props.get("implicit") is True:
            continue
        if isinstance(dataset, str) and isinstance(created, str):
            touched[dataset] = min(created, touched.get(dataset, created))
    return touched


def _apply_edges(conn: sqlite3.Connection, upserts: Sequence[UpsertEdge]) -> None:
    if not upserts:
        return
    present = existing_keys(conn, {k for m in upserts for k in (m.source, m.target)})
    wanted = [m for m in upserts if m.source in present and m.target in present]
    rows = load_edges(conn, ((m.type.value, m.source, m.target) for m in wanted))
    for m in wanted:
        edge_id: EdgeId = (m.type.value, m.source, m.target)
        row = rows.get(edge_id) or EdgeRow(*edge_id)
        row.props, row.versions = merge_props(row.props, row.versions, m.props)
        rows[edge_id] = row
    save_edges(conn, rows.values())


def _apply_links(conn: sqlite3.Connection, m: ReplaceLinks) -> None:
    """Replace the node's ``type`` links when ``m`` wins last-writer-wins for its slot."""
    node = load_nodes(conn, [m.node]).get(m.node)
    if node is None:
        return
    slot = common.links_slot(m.slot)
    current = edges_of(conn, m.type.value, m.node, incoming=m.incoming)
    old = common.canonical_links(((e.src if m.incoming else e.dst), e.props) for e in current)
    new = common.canonical_links((link.key, common.link_props(link)) for link in m.others)
    if not links_win(m.version, new, node.versions.get(slot), old):
        return
    delete_edges(conn, (e.id for e in current))
    present = existing_keys(conn, (link.key for link in m.others))
    fresh = []
    for link in m.others:
        if link.key in present:
            src, dst = (link.key, m.node) if m.incoming else (m.node, link.key)
            fresh.append(EdgeRow(m.type.value, src, dst, common.link_props(link)))
    save_edges(conn, fresh)
    node.versions[slot] = m.version
    save_nodes(conn, [node])


# ---------------------------------------------------------------- implicit reads


def _apply_reads(conn: sqlite3.Connection, reads: Sequence[ReadVersion], touched: Mapping[str, str]) -> None:
    """Record ``reads`` and re-link the implicit reads a new read or version may have changed."""
    present = existing_keys(conn, {k for r in reads for k in (r.run, r.dataset)})
    batch: dict[str, dict[str, str]] = {}
    props: dict[tuple[str, str], list[Prop]] = {}
    for r in reads:
        if r.run in present and r.dataset in present:
            runs = batch.setdefault(r.dataset, {})
            runs[r.run] = min(r.at, runs.get(r.run, r.at))
            props.setdefault((r.dataset, r.run), []).extend(r.props)
    for dataset in sorted(set(batch) | set(touched)):
        _resolve_dataset(conn, dataset, batch.get(dataset, {}), touched.get(dataset), props)


def _resolve_dataset(
    conn: sqlite3.Connection,
    dataset: str,
    new_reads: Mapping[str, str],
    since: str | None,
    new_props: Mapping[tuple[str, str], Sequence[Prop]],
) -> None:
    """Re-resolve the implicit reads of ``dataset`` that may have moved.

    Those are the reads in this batch, and, when versions with ``createdAt >= since``
    were written, the reads at or after ``since`` (earlier reads cannot see them). A read's
    other properties (its input facets) are merged with the batch's and move with it.
    """
    current = _implicit_reads(conn, dataset, new_reads, since)
    reads = {run: read.at for run, read in current.items()}
    for run, at in new_reads.items():
        reads[run] = min(at, reads.get(run, at))
    targets = common.resolve_reads(dataset, reads, _candidate_versions(conn, dataset))
    initial = common.initial_version_key(dataset)
    if initial in targets.values():
        _ensure_initial(conn, dataset)
    stale: list[EdgeId] = []
    fresh: list[EdgeRow] = []
    for run, target in targets.items():
        old = current.get(run)
        extra, versions = common.merge_read_props(
            old.props if old else {}, old.versions if old else {}, new_props.get((dataset, run), ())
        )
        props = {**extra, **common.implicit_read_props(reads[run])}
        if old is not None and (old.version, old.at, old.props, old.versions) == (
            target,
            reads[run],
            extra,
            versions,
        ):
            continue
        if old is not None:
            stale.append((READ_BY, old.version, run))
        fresh.append(EdgeRow(READ_BY, target, run, props, versions))
    delete_edges(conn, stale)
    save_edges(conn, fresh)
    _drop_unused_initial(conn, initial)


@dataclass(frozen=True, slots=True)
class _Read:
    """An implicit read as stored: its version, ``at``, other props and their LWW versions."""

    version: str
    at: str
    props: dict[str, PropValue]
    versions: dict[str, str]


def _implicit_reads(
    conn: sqlite3.Connection, dataset: str, runs: Mapping[str, str], since: str | None
) -> dict[str, _Read]:
    """Implicit reads of ``dataset`` by ``runs`` or at/after ``since``: run → the read."""
    rows = conn.execute(
        "SELECT r.dst, r.src, json_extract(r.props, '$.at'), r.props, r.versions FROM edges v "
        "CROSS JOIN edges r ON r.type = 'READ_BY' AND r.src = v.src "
        "WHERE v.type = 'VERSION_OF' AND v.dst = ? AND json_extract(r.props, '$.implicit') = 1 "
        f"AND (r.dst IN (SELECT value FROM {key_set(conn, runs)}) OR json_extract(r.props, '$.at') >= ?)",
        (dataset, since),
    )
    out = {}
    for run, version, at, props, versions in rows:
        extra = common.read_extra_props(loads(props))
        out[run] = _Read(version, str(at), extra, loads(versions))
    return out


def _candidate_versions(conn: sqlite3.Connection, dataset: str) -> list[common.VersionCandidate]:
    rows = conn.execute(
        "SELECT n.key, json_extract(n.props, '$.createdAt'), json_extract(n.props, '$.runId') "
        "FROM edges v CROSS JOIN nodes n ON n.key = v.src "
        "WHERE v.type = 'VERSION_OF' AND v.dst = ? AND coalesce(json_extract(n.props, '$.implicit'), 0) != 1",
        (dataset,),
    )
    return [(key, common.opt_str(created), common.opt_str(writer)) for key, created, writer in rows]


def _ensure_initial(conn: sqlite3.Connection, dataset: str) -> None:
    key = common.initial_version_key(dataset)
    if not load_nodes(conn, [key]):
        props = common.initial_version_props(dataset)
        save_nodes(conn, [NodeRow(key, Label.DATASET_VERSION.value, {Label.DATASET_VERSION.value}, props)])
    if not load_edges(conn, [(VERSION_OF, key, dataset)]):
        save_edges(conn, [EdgeRow(VERSION_OF, key, dataset)])


def _drop_unused_initial(conn: sqlite3.Connection, key: str) -> None:
    exists = conn.execute("SELECT 1 FROM nodes WHERE key = ?", (key,)).fetchone()
    used = conn.execute("SELECT 1 FROM edges WHERE type = 'READ_BY' AND src = ? LIMIT 1", (key,)).fetchone()
    if exists and not used:
        delete_node(conn, key)
