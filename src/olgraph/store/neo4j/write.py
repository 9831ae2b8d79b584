"""Applying one mutation batch to Neo4j in one write transaction (private).

Read-merge-write, in the embedded store's order (every ``UpsertNode``, then ``UpsertEdge``,
then ``ReplaceLinks`` in batch order, then ``ReadVersion`` and re-resolution of implicit
reads), with what to write decided by :mod:`olgraph.store.plan` (shared with the embedded
store) on the states of :mod:`.batch`. Round trips per batch,
whatever its size and however many labels and types it touches:

1. lock the batch's nodes: ``MERGE`` by key, creating the new ones with their final
   properties, and read back those that hold something else (1);
   plus 1 only if the batch links to nodes it does not upsert, and 1 to record the names
   of new columns for search;
2. lock the relationships to upsert the same way (1);
3. with ``ReplaceLinks``: write what is pending, then read the link sets (2);
4. with reads or new versions: write what is pending, then read the datasets' versions
   and reads (2), and write the re-linked reads (1);
5. write what is still pending: deleted and changed relationships, changed nodes (1).

A one-event batch thus runs about 7 statements, where it ran about 21 when each label and
type had its own (see ``lock_nodes_query`` for why that matters).

What is new is written once, in step 1 or 2; a re-delivered batch that changes nothing
writes nothing. Each statement answers with one record of lists (see ``lock_nodes_query``).

Locks: writers lock nodes in one global order (label, then key), which avoids deadlocks
between concurrent overlapping batches; a lock is taken by setting and removing a dummy
property, and a node's properties are read only after its lock is held, so no concurrent
update is lost. Deadlocks that still happen (e.g. through nodes a batch only links to) are
transient errors the driver retries with the whole function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neo4j import AsyncManagedTransaction

from olgraph.normalize.mutations import Label, RelType
from olgraph.store import plan
from olgraph.store.neo4j import batch as b
from olgraph.store.neo4j import cypher as cy
from olgraph.store.neo4j.read import records as read_records
from olgraph.store.neo4j.search import TERM_WRITE, new_terms

_PRIMARY = frozenset(label.value for label in Label)
_TYPES = frozenset(t.value for t in RelType)

# Fixed texts covering every label or type (see ``lock_nodes_query``): Neo4j plans each once.
LOCK_NODES = cy.lock_nodes_query(_PRIMARY)
FIND_NODES = cy.find_nodes_query(_PRIMARY)
LOCK_EDGES = cy.lock_edges_query(_TYPES)
FLUSH = cy.flush_query(_TYPES)


def by_name(rows: list[dict[str, Any]], field_name: str) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by their label or type ``field_name`` (removed), names sorted, rows in order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        rest = dict(row)
        out.setdefault(rest.pop(field_name), []).append(rest)
    return dict(sorted(out.items()))


async def _collected(tx: AsyncManagedTransaction, query: str, params: dict[str, Any]) -> list[list[Any]]:
    """The one list a ``RETURN collect(…)`` statement answers (see ``lock_nodes_query``)."""
    result = await tx.run(query, params)
    record = await result.single(strict=True)
    rows: list[list[Any]] = record[0]
    return rows


@dataclass(slots=True)
class _Pending:
    """Writes collected until the next read needs them in the database."""

    deletes: list[dict[str, Any]] = field(default_factory=list)
    sets: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)

    async def flush(self, tx: AsyncManagedTransaction) -> None:
        if not (self.deletes or self.sets or self.nodes):
            return
        rows = {"nodes": self.nodes}
        for use, use_rows in (("delete", self.deletes), ("set", self.sets)):
            rows |= {cy.flush_key(rel, use): r for rel, r in by_name(use_rows, "type").items()}
        await (await tx.run(FLUSH, {"rows": rows})).consume()
        self.deletes, self.sets, self.nodes = [], [], []


async def apply_batch(tx: AsyncManagedTransaction, batch: b.Batch) -> None:
    """The write transaction function: apply ``batch`` (may run more than once; ``batch`` is not modified)."""
    states = await _lock_nodes(tx, batch)
    await _record_names(tx, states)
    b.merge_nodes(batch, states)
    touched = plan.touched_datasets((s.label, s.props) for s in states.values())
    missing = sorted(batch.referenced() - states.keys())
    if missing:
        states.update(await _find_nodes(tx, missing))
    pending = _Pending()
    await _upsert_edges(tx, batch, states, pending)
    if batch.links:
        await pending.flush(tx)
        await _replace_links(tx, batch, states, pending)
    pending.nodes = [row for s in states.values() if (row := s.write_row()) is not None]
    reads = plan.new_reads(batch.reads, states)
    if reads or touched:
        await pending.flush(tx)
        await _relink_reads(tx, batch, reads, touched, states)
    await pending.flush(tx)


async def _lock_nodes(tx: AsyncManagedTransaction, batch: b.Batch) -> dict[str, b.NodeState]:
    fresh = batch.fresh_nodes()
    if not fresh:
        return {}
    states = {}
    rows = by_name(batch.node_rows(fresh), "label")
    for key, node_id, labels, props in await _collected(tx, LOCK_NODES, {"rows": rows}):
        if props is None:  # holds exactly what the batch makes of it: already merged
            state = fresh[key]
            state.id = node_id
            state.labels.update(labels)
        else:
            state = b.NodeState.from_record(key, node_id, fresh[key].label, labels, props)
        states[key] = state
    return states


async def _record_names(tx: AsyncManagedTransaction, states: dict[str, b.NodeState]) -> None:
    """Record the names of the columns the lock created (or found exactly as the batch makes
    them: a redelivery), for search (see :mod:`olgraph.store.neo4j.search`)."""
    terms = new_terms([(s.label, s.props) for s in states.values() if s.merged])
    if terms:
        await (await tx.run(TERM_WRITE, {"terms": terms})).consume()


async def _find_nodes(tx: AsyncManagedTransaction, keys: list[str]) -> dict[str, b.NodeState]:
    """Existing nodes the batch references without upserting them (absent keys are left out)."""
    out = {}
    for key, node_id, labels, props in await _collected(tx, FIND_NODES, {"keys": keys}):
        primary = sorted(set(labels) & _PRIMARY)
        out[key] = b.NodeState.from_record(key, node_id, primary[0], labels, props)
    return out


async def _upsert_edges(
    tx: AsyncManagedTransaction, batch: b.Batch, states: dict[str, b.NodeState], pending: _Pending
) -> None:
    writes = plan.edge_writes(batch.edges, states)
    if not writes:
        return
    ids = list(writes)
    fresh = b.fresh_edge_forms(writes)
    rows = [
        {"i": i, "s": states[src].id, "t": states[dst].id, "type": rel, "new": fresh[(rel, src, dst)][2]}
        for i, (rel, src, dst) in enumerate(ids)
    ]
    changed = await _collected(tx, LOCK_EDGES, {"rows": by_name(rows, "type")})
    # Relationships that came back unchanged hold exactly what the batch makes of them.
    edges = {edge: b.EdgeState.fresh(edge, states, fresh[edge]) for edge in ids}
    for i, stored_props in changed:
        rel, src, dst = edge = ids[i]
        props, versions = b.split_stored(stored_props)
        stored = {k: v for k, v in stored_props.items() if k != cy.LOCK_PROP}
        edges[edge] = b.EdgeState(rel, states[src], states[dst], props, versions, stored)
    b.merge_edges(writes, edges)
    pending.sets.extend(row for e in edges.values() if (row := e.write_row()) is not None)


async def _replace_links(
    tx: AsyncManagedTransaction, batch: b.Batch, states: dict[str, b.NodeState], pending: _Pending
) -> None:
    groups = plan.link_groups(batch.links, states)
    if not groups:
        return
    rows = [
        {"i": i, "id": states[node].id, "type": rel, "incoming": incoming}
        for i, (node, rel, incoming) in enumerate(groups)
    ]
    query = cy.links_query((rel, incoming) for _, rel, incoming in groups)
    current: dict[plan.LinkGroup, plan.LinkSet] = {g: {} for g in groups}
    other_ids: dict[str, str] = {}
    for i, other, other_id, props in await _collected(tx, query, {"rows": rows}):
        current[groups[i]][other] = props
        other_ids[other] = other_id
    versions = {m.node: states[m.node].versions for m in batch.links if m.node in states}
    outcome = plan.plan_links(batch.links, versions, states, current)
    for group in outcome.after:
        node, rel, incoming = group
        for other in outcome.removed(group):
            pending.deletes.append(_link_row(rel, states[node].id, other_ids[other], incoming))
        for other, props in outcome.written(group):
            row = _link_row(rel, states[node].id, states[other].id, incoming)
            pending.sets.append({**row, "props": props})
    for key, slots in outcome.slots.items():
        states[key].versions.update(slots)


def _link_row(rel: str, node_id: str, other_id: str, incoming: bool) -> dict[str, Any]:
    source, target = (other_id, node_id) if incoming else (node_id, other_id)
    return {"s": source, "t": target, "type": rel}


async def _relink_reads(
    tx: AsyncManagedTransaction,
    batch: b.Batch,
    reads: dict[str, dict[str, str]],
    touched: dict[str, str],
    states: dict[str, b.NodeState],
) -> None:
    rows = [{"key": q.dataset, "runs": q.runs, "since": q.since} for q in plan.reads_to_fetch(reads, touched)]
    records = await read_records(tx, cy.READS_STATE, rows=rows)
    node_ids = {key: state.id for key, state in states.items()}
    relink = b.Relink()
    props = plan.read_props(batch.reads)
    for r in sorted(records, key=lambda rec: str(rec["key"])):
        dataset = b.DatasetReads.from_record(r["key"], r["id"], r["versions"], r["reads"])
        b.relink(dataset, reads.get(dataset.key, {}), node_ids, relink, props)
    if not relink.is_empty():
        await tx.run(cy.RELINK_READS, relink.params())
