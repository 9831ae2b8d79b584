"""The Neo4j side of the shared write plans (private): node and relationship states, rows.

Nothing here talks to Neo4j. What a batch writes is decided by :mod:`olgraph.store.plan`,
which the embedded store shares; the write transaction (:mod:`.write`) reads the affected
nodes and relationships into the states defined here, has the plans applied to them, and
writes back the rows these produce (element ids, stored forms, ``UNWIND`` parameters).
Every object here is built fresh per transaction attempt, so a retried transaction
function never sees a half-merged state and the caller's mutations are never modified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from olgraph.normalize.mutations import MODEL_LABEL, Mutation, Prop, PropValue
from olgraph.store import plan
from olgraph.store.common import opt_str
from olgraph.store.merge import VERSIONS_PROP, decode_versions, merge_props, stored_form
from olgraph.store.neo4j.cypher import ALLOWED_EXTRA_LABELS, LOCK_PROP, label_name, rel_name
from olgraph.store.neo4j.search import search_props

EdgeId = plan.EdgeId

FreshForm = tuple[dict[str, PropValue], dict[str, str], dict[str, Any]]
"""(props, versions, stored form) of something the batch creates."""


def split_stored(stored: Mapping[str, Any]) -> tuple[dict[str, PropValue], dict[str, str]]:
    """Stored Neo4j properties → (props without ``key``/bookkeeping, LWW version map)."""
    props = dict(stored)  # copy and pop: nodes hold many properties and few of these
    for name in ("key", VERSIONS_PROP, LOCK_PROP):
        props.pop(name, None)
    raw = stored.get(VERSIONS_PROP)
    return props, decode_versions(raw if isinstance(raw, str) else None)


@dataclass(slots=True)
class NodeState:
    """One node of the batch as read inside the transaction, then merged."""

    key: str
    id: str
    label: str
    labels: set[str]
    props: dict[str, PropValue]
    versions: dict[str, str]
    stored: dict[str, Any]
    merged: bool = False
    """True once the batch is merged in (a node that held nothing or exactly the result)."""

    @classmethod
    def from_record(
        cls, key: str, node_id: str, label: str, labels: Iterable[str], stored: Mapping[str, Any]
    ) -> NodeState:
        """A node state from what the lock query returned."""
        props, versions = split_stored(stored)
        clean = dict(stored)
        clean.pop(LOCK_PROP, None)
        return cls(key, node_id, label, set(labels), props, versions, clean)

    def write_row(self) -> dict[str, Any] | None:
        """The ``nodes`` row of ``flush_query`` when the node changed, else None."""
        final = stored_form(self.key, self.props, self.versions)
        return None if final == self.stored else {"id": self.id, "props": final}


@dataclass(slots=True)
class EdgeState:
    """One relationship of the batch as read inside the transaction, then merged."""

    type: str
    source: NodeState
    target: NodeState
    props: dict[str, PropValue]
    versions: dict[str, str]
    stored: dict[str, Any]
    merged: bool = False
    """True when the relationship already holds the batch merged in (see ``NodeState``)."""

    @classmethod
    def fresh(cls, edge: EdgeId, states: Mapping[str, NodeState], form: FreshForm) -> EdgeState:
        """The relationship ``edge`` holding exactly ``form``: the batch merged into nothing."""
        props, versions, stored = form
        return cls(edge[0], states[edge[1]], states[edge[2]], dict(props), dict(versions), stored, True)

    def write_row(self) -> dict[str, Any] | None:
        """The ``set`` row of ``flush_query`` when the relationship changed, else None."""
        final = stored_form(None, self.props, self.versions)
        if final == self.stored:
            return None
        return {"s": self.source.id, "t": self.target.id, "type": self.type, "props": final}


@dataclass(frozen=True, slots=True)
class Batch(plan.BatchParts):
    """A mutation batch split by kind, validated against the label/type allow-lists."""

    @classmethod
    def of(cls, mutations: Iterable[Mutation]) -> Batch:
        """Split ``mutations``; ``ValueError`` when one names a label or type olgraph does not define."""
        parts = plan.BatchParts.of(mutations)
        for label in {node.label.value for node in parts.nodes}:
            label_name(label)
        for node in parts.nodes:
            if node.extra_labels and not node.extra_labels <= ALLOWED_EXTRA_LABELS:
                unknown = sorted(set(node.extra_labels) - ALLOWED_EXTRA_LABELS)
                raise ValueError(f"unsupported extra labels {unknown} on {node.key!r}")
        for rel in {m.type.value for m in parts.edges} | {m.type.value for m in parts.links}:
            rel_name(rel)
        return cls(parts.nodes, parts.edges, parts.links, parts.reads)

    def fresh_nodes(self) -> dict[str, NodeState]:
        """Each node of the batch as it is when it did not exist before: the batch merged into nothing.

        The states are ``merged``, their ``stored`` is what to create, their id still empty.
        """
        writes = plan.node_writes(self.nodes)
        fresh = {key: NodeState(key, "", w.label, set(), {}, {}, {}) for key, w in writes.items()}
        merge_nodes(self, fresh)
        for key, state in fresh.items():
            state.stored = stored_form(key, state.props, state.versions)
            state.merged = True
        return fresh

    def node_rows(self, fresh: Mapping[str, NodeState]) -> list[dict[str, Any]]:
        """Rows for ``lock_nodes_query``: one per key, sorted by key (the global lock order).

        ``fresh``: :meth:`fresh_nodes`; ``new`` is the stored form a node is created with.
        """
        return [
            {"key": key, "label": s.label, "model": MODEL_LABEL in s.labels, "new": s.stored}
            for key, s in sorted(fresh.items())
        ]


# ---------------------------------------------------------------- nodes and edges


def merge_nodes(batch: Batch, states: Mapping[str, NodeState]) -> None:
    """Merge every ``UpsertNode`` of ``batch`` into ``states`` (all present), but the ``merged`` ones."""
    for key, writes in plan.node_writes(batch.nodes).items():
        state = states[key]
        if not state.merged:
            state.labels.update(writes.labels)
            props, state.versions = plan.merge_node(state.label, state.props, state.versions, writes.props)
            state.props = search_props(key, props)


def fresh_edge_forms(writes: Mapping[EdgeId, Sequence[Prop]]) -> dict[EdgeId, FreshForm]:
    """Props, versions and stored form of each relationship of :func:`~olgraph.store.plan.edge_writes`
    when it did not exist before."""
    out: dict[EdgeId, FreshForm] = {}
    for edge, props in writes.items():
        merged, versions = merge_props({}, {}, props)
        out[edge] = (merged, versions, stored_form(None, merged, versions))
    return out


def merge_edges(writes: Mapping[EdgeId, Sequence[Prop]], edges: Mapping[EdgeId, EdgeState]) -> None:
    """Merge each relationship's writes into its state in ``edges``, but the ``merged`` ones."""
    for edge, props in writes.items():
        state = edges[edge]
        if not state.merged:
            state.props, state.versions = merge_props(state.props, state.versions, props)


# ---------------------------------------------------------------- implicit reads


@dataclass(slots=True)
class DatasetReads:
    """What Neo4j holds about one dataset's implicit reads (one ``READS_STATE`` row)."""

    key: str
    id: str
    versions: list[plan.VersionCandidate]
    current: dict[str, plan.ImplicitRead]
    """Run key → the implicit reads that may move."""
    ids: dict[str, str]
    """Element ids of the runs and versions in ``current``."""

    @classmethod
    def from_record(
        cls, key: str, node_id: str, versions: Iterable[Sequence[Any]], reads: Iterable[Sequence[Any]]
    ) -> DatasetReads:
        """Parse the ``versions`` and ``reads`` lists ``READS_STATE`` returns."""
        candidates = [(str(v), opt_str(created), opt_str(writer)) for v, created, writer in versions]
        state = cls(key, node_id, candidates, {}, {})
        for run, version, at, run_id, version_id, stored in reads:
            props, read_versions = split_stored(stored)
            state.current[str(run)] = plan.ImplicitRead.of(str(version), str(at), props, read_versions)
            state.ids[str(run)] = str(run_id)
            state.ids[str(version)] = str(version_id)
        return state


@dataclass(slots=True)
class Relink:
    """The writes that re-link implicit reads (parameters of ``RELINK_READS``)."""

    initial: list[dict[str, Any]] = field(default_factory=list)
    stale: list[dict[str, str]] = field(default_factory=list)
    fresh: list[dict[str, Any]] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    def params(self) -> dict[str, Any]:
        """Query parameters."""
        return {"initial": self.initial, "stale": self.stale, "fresh": self.fresh, "unused": self.unused}

    def is_empty(self) -> bool:
        """Whether there is nothing to write."""
        return not (self.initial or self.stale or self.fresh or self.unused)


def relink(
    dataset: DatasetReads,
    batch_reads: Mapping[str, str],
    run_ids: Mapping[str, str],
    out: Relink,
    batch_props: Mapping[tuple[str, str], Sequence[Prop]] | None = None,
) -> None:
    """Add the rows that execute :func:`~olgraph.store.plan.plan_reads` for ``dataset`` to ``out``.

    ``batch_reads``, ``batch_props``: as for ``plan_reads``; ``run_ids``: element ids of the
    batch's nodes (runs read in this batch are among them).
    """
    reads = plan.plan_reads(dataset.key, dataset.current, batch_reads, dataset.versions, batch_props)
    if reads.needs_initial:
        props = {"key": reads.initial, **plan.initial_version_props(dataset.key)}
        out.initial.append({"ds": dataset.id, "key": reads.initial, "props": props})
    for version, run in reads.stale:
        out.stale.append({"v": dataset.ids[version], "r": run_ids.get(run) or dataset.ids[run]})
    for run, read in reads.fresh:
        props = stored_form(None, read.relationship_props(), read.versions)
        out.fresh.append({"v": read.version, "r": run_ids.get(run) or dataset.ids[run], "props": props})
    out.unused.append(reads.initial)
