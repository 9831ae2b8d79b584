"""Applying one mutation batch to Neo4j in one write transaction (private).

Read-merge-write, in the embedded store's order (every ``UpsertNode``, then ``UpsertEdge``,
then ``ReplaceLinks`` in batch order, then ``ReadVersion`` and re-resolution of implicit
reads), with the merging done in Python by :mod:`._neo4j_batch`. Round trips per batch,
whatever its size:

1. lock the batch's nodes: ``MERGE`` by key, sorted by key, and read them (1);
   (plus 1 only if the batch links to nodes it does not upsert);
2. lock the relationships to upsert: ``MERGE``, sorted, and read them (1 if any);
3. with ``ReplaceLinks``: write the relationships, then read the link sets (2);
4. with reads or new versions: write, then read the datasets' versions and reads (2),
   and write the re-linked reads (1);
5. write what is still pending: relationships and changed nodes (1).

So 2 to 8 statements (4.8 on average for the shared corpus, one event per batch; a
re-delivered batch that changes nothing writes nothing).

Locks: writers lock nodes in one global order (sorted keys), which avoids deadlocks between
concurrent overlapping batches; a lock is taken by setting and removing a dummy property,
and the properties are read only after every lock is held, so no concurrent update is lost.
Deadlocks that still happen (e.g. through nodes a batch only links to) are transient
errors the driver retries with the whole function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neo4j import AsyncManagedTransaction

from olgraph.normalize.mutations import Label, RelType
from olgraph.store import _neo4j_batch as b
from olgraph.store import _neo4j_cypher as cy

_PRIMARY = frozenset(label.value for label in Label)
_TYPES = frozenset(t.value for t in RelType)

# Every statement carries a branch for every label or type, so its text never changes and
# Neo4j plans it once (planning a many-branch statement costs far more than running it).
LOCK_NODES = cy.lock_nodes_query(_PRIMARY)
FIND_NODES = cy.find_nodes_query(_PRIMARY)
LOCK_EDGES = cy.lock_edges_query(_TYPES)
WRITES = {
    (deletes, sets, nodes): cy.write_query(_TYPES if deletes else (), _TYPES if sets else (), nodes)
    for deletes in (False, True)
    for sets in (False, True)
    for nodes in (False, True)
}


async def _records(tx: AsyncManagedTransaction, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = await tx.run(query, params)
    return await result.data()


@dataclass(slots=True)
class _Pending:
    """Writes collected until the next read needs them in the database."""

    deletes: list[dict[str, Any]] = field(default_factory=list)
    sets: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)

    async def flush(self, tx: AsyncManagedTransaction) -> None:
        if not (self.deletes or self.sets or self.nodes):
            return
        query = WRITES[(bool(self.deletes), bool(self.sets), bool(self.nodes))]
        await tx.run(query, {"deletes": self.deletes, "sets": self.sets, "nodes": self.nodes})
        self.deletes, self.sets, self.nodes = [], [], []


async def apply_batch(tx: AsyncManagedTransaction, batch: b.Batch) -> None:
    """The write transaction function: apply ``batch`` (may run more than once; ``batch`` is not modified)."""
    states = await _lock_nodes(tx, batch)
    b.merge_nodes(batch, states)
    touched = b.touched_datasets(batch, states)
    missing = sorted(batch.referenced() - states.keys())
    if missing:
        states.update(await _find_nodes(tx, missing))
    pending = _Pending()
    await _upsert_edges(tx, batch, states, pending)
    if batch.links:
        await pending.flush(tx)
        await _replace_links(tx, batch, states, pending)
    pending.nodes = [row for s in states.values() if (row := s.write_row()) is not None]
    reads = b.new_reads(batch, states)
    if reads or touched:
        await pending.flush(tx)
        await _relink_reads(tx, reads, touched, states)
    await pending.flush(tx)


async def _lock_nodes(tx: AsyncManagedTransaction, batch: b.Batch) -> dict[str, b.NodeState]:
    rows = batch.node_rows()
    if not rows:
        return {}
    label = {r["key"]: r["label"] for r in rows}
    records = await _records(tx, LOCK_NODES, {"rows": rows})
    return {
        r["key"]: b.NodeState.from_record(r["key"], r["id"], label[r["key"]], r["labels"], r["props"])
        for r in records
    }


async def _find_nodes(tx: AsyncManagedTransaction, keys: list[str]) -> dict[str, b.NodeState]:
    """Existing nodes the batch references without upserting them (absent keys are left out)."""
    records = await _records(tx, FIND_NODES, {"keys": keys})
    out = {}
    for r in records:
        primary = sorted(set(r["labels"]) & _PRIMARY)
        out[r["key"]] = b.NodeState.from_record(r["key"], r["id"], primary[0], r["labels"], r["props"])
    return out


async def _upsert_edges(
    tx: AsyncManagedTransaction, batch: b.Batch, states: dict[str, b.NodeState], pending: _Pending
) -> None:
    ids = b.wanted_edges(batch, states)
    if not ids:
        return
    rows = [
        {"i": i, "s": states[src].id, "t": states[dst].id, "type": rel}
        for i, (rel, src, dst) in enumerate(ids)
    ]
    records = await _records(tx, LOCK_EDGES, {"rows": rows})
    edges: dict[b.EdgeId, b.EdgeState] = {}
    for r in records:
        rel, src, dst = ids[r["i"]]
        props, versions = b.split_stored(r["props"])
        stored = {k: v for k, v in r["props"].items() if k != cy.LOCK_PROP}
        edges[ids[r["i"]]] = b.EdgeState(rel, states[src], states[dst], props, versions, stored)
    b.merge_edges(batch, edges)
    pending.sets.extend(row for e in edges.values() if (row := e.write_row()) is not None)


async def _replace_links(
    tx: AsyncManagedTransaction, batch: b.Batch, states: dict[str, b.NodeState], pending: _Pending
) -> None:
    groups = sorted({(m.node, m.type.value, m.incoming) for m in batch.links if m.node in states})
    if not groups:
        return
    rows = [
        {"i": i, "id": states[node].id, "type": rel, "incoming": incoming}
        for i, (node, rel, incoming) in enumerate(groups)
    ]
    query = cy.links_query((rel, incoming) for _, rel, incoming in groups)
    current: dict[b.LinkGroup, dict[str, dict[str, Any]]] = {g: {} for g in groups}
    other_ids: dict[str, str] = {}
    for r in await _records(tx, query, {"rows": rows}):
        current[groups[r["i"]]][r["other"]] = r["props"]
        other_ids[r["other"]] = r["other_id"]
    outcome = b.replace_links(batch.links, states, current)
    for (node, rel, incoming), after in outcome.after.items():
        before = outcome.before[(node, rel, incoming)]
        for other in sorted(before.keys() - after.keys()):
            pending.deletes.append(_link_row(rel, states[node].id, other_ids[other], incoming))
        for other, props in sorted(after.items()):
            if before.get(other) != props:
                row = _link_row(rel, states[node].id, states[other].id, incoming)
                pending.sets.append({**row, "props": props})


def _link_row(rel: str, node_id: str, other_id: str, incoming: bool) -> dict[str, Any]:
    source, target = (other_id, node_id) if incoming else (node_id, other_id)
    return {"s": source, "t": target, "type": rel}


async def _relink_reads(
    tx: AsyncManagedTransaction,
    reads: dict[str, dict[str, str]],
    touched: dict[str, str],
    states: dict[str, b.NodeState],
) -> None:
    datasets = sorted(set(reads) | set(touched))
    rows = [{"key": d, "runs": sorted(reads.get(d, {})), "since": touched.get(d)} for d in datasets]
    records = await _records(tx, cy.READS_STATE, {"rows": rows})
    node_ids = {key: state.id for key, state in states.items()}
    relink = b.Relink()
    for r in sorted(records, key=lambda rec: str(rec["key"])):
        dataset = b.DatasetReads.from_record(r["key"], r["id"], r["versions"], r["reads"])
        b.relink(dataset, reads.get(dataset.key, {}), node_ids, relink)
    if not relink.is_empty():
        await tx.run(cy.RELINK_READS, relink.params())
