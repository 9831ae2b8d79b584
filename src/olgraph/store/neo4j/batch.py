"""The pure half of applying a batch to Neo4j (private): grouping, merging, re-linking.

Nothing here talks to Neo4j. The write transaction (:mod:`.write`) reads the
affected nodes and relationships, hands them to these functions, and writes back what
they return. The rules are those of the embedded store (``olgraph.store.embedded.apply``), step for step:
merging is :func:`~olgraph.store.merge.merge_props` + :func:`~olgraph.store.merge.derive_props`,
link replacement :func:`~olgraph.store.merge.links_win`, version picking
:func:`olgraph.store.common.resolve_reads`. Every object here is built fresh per
transaction attempt, so a retried transaction function never sees a half-merged state and
the caller's mutations are never modified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from olgraph.normalize.mutations import (
    MODEL_LABEL,
    Label,
    Mutation,
    Prop,
    PropValue,
    ReadVersion,
    ReplaceLinks,
    UpsertEdge,
    UpsertNode,
)
from olgraph.store import common
from olgraph.store.merge import (
    VERSIONS_PROP,
    decode_versions,
    derive_props,
    encode_versions,
    links_win,
    merge_props,
)
from olgraph.store.neo4j.cypher import ALLOWED_EXTRA_LABELS, LOCK_PROP, label_name, rel_name
from olgraph.store.neo4j.search import search_props

EdgeId = tuple[str, str, str]
"""(type, source key, target key): a relationship's identity."""

FreshForm = tuple[dict[str, PropValue], dict[str, str], dict[str, Any]]
"""(props, versions, stored form) of something the batch creates."""

LinkGroup = tuple[str, str, bool]
"""(node key, relationship type, incoming): the relationships one ReplaceLinks replaces."""


def split_stored(stored: Mapping[str, Any]) -> tuple[dict[str, PropValue], dict[str, str]]:
    """Stored Neo4j properties → (props without ``key``/bookkeeping, LWW version map)."""
    props = dict(stored)  # copy and pop: nodes hold many properties and few of these
    for name in ("key", VERSIONS_PROP, LOCK_PROP):
        props.pop(name, None)
    raw = stored.get(VERSIONS_PROP)
    return props, decode_versions(raw if isinstance(raw, str) else None)


def stored_form(
    key: str | None, props: Mapping[str, PropValue], versions: Mapping[str, str]
) -> dict[str, Any]:
    """The full property map to write: props, ``key`` (nodes), ``_versions`` when non-empty."""
    out: dict[str, Any] = {k: v for k, v in props.items() if v is not None}
    if key is not None:
        out["key"] = key
    if versions:
        out[VERSIONS_PROP] = encode_versions(versions)
    return out


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
        """The ``WRITE_NODES`` row when the node changed, else None."""
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
        """The ``set_edges_query`` row when the relationship changed, else None."""
        final = stored_form(None, self.props, self.versions)
        if final == self.stored:
            return None
        return {"s": self.source.id, "t": self.target.id, "type": self.type, "props": final}


@dataclass(frozen=True, slots=True)
class Batch:
    """A mutation batch split by kind, validated against the label/type allow-lists."""

    nodes: tuple[UpsertNode, ...]
    edges: tuple[UpsertEdge, ...]
    links: tuple[ReplaceLinks, ...]
    reads: tuple[ReadVersion, ...]

    @classmethod
    def of(cls, mutations: Sequence[Mutation]) -> Batch:
        """Split ``mutations``; ``ValueError`` when one names a label or type olgraph does not define."""
        split: dict[type, list[Any]] = {UpsertNode: [], UpsertEdge: [], ReplaceLinks: [], ReadVersion: []}
        for m in mutations:
            split[type(m)].append(m)
        nodes: list[UpsertNode] = split[UpsertNode]
        for label in {node.label.value for node in nodes}:
            label_name(label)
        for node in nodes:
            if node.extra_labels and not node.extra_labels <= ALLOWED_EXTRA_LABELS:
                unknown = sorted(set(node.extra_labels) - ALLOWED_EXTRA_LABELS)
                raise ValueError(f"unsupported extra labels {unknown} on {node.key!r}")
        for rel in {m.type.value for m in (*split[UpsertEdge], *split[ReplaceLinks])}:
            rel_name(rel)
        return cls(
            tuple(nodes), tuple(split[UpsertEdge]), tuple(split[ReplaceLinks]), tuple(split[ReadVersion])
        )

    def fresh_nodes(self) -> dict[str, NodeState]:
        """Each node of the batch as it is when it did not exist before: the batch merged into nothing.

        The states are ``merged``, their ``stored`` is what to create, their id still empty.
        """
        fresh: dict[str, NodeState] = {}
        for m in self.nodes:
            if m.key not in fresh:
                fresh[m.key] = NodeState(m.key, "", m.label.value, set(), {}, {}, {})
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

    def referenced(self) -> set[str]:
        """Keys the batch links to, upserted by it or not."""
        refs = {k for e in self.edges for k in (e.source, e.target)}
        refs.update(k for m in self.links for k in (m.node, *(link.key for link in m.others)))
        refs.update(k for r in self.reads for k in (r.run, r.dataset))
        return refs


# ---------------------------------------------------------------- nodes and edges


def merge_nodes(batch: Batch, states: Mapping[str, NodeState]) -> None:
    """Merge every ``UpsertNode`` of ``batch`` into ``states`` (all present), but the ``merged`` ones."""
    writes: dict[str, list[Prop]] = {}
    for m in batch.nodes:
        state = states[m.key]
        if not state.merged:
            state.labels.add(m.label.value)
            state.labels.update(m.extra_labels)
            writes.setdefault(m.key, []).extend(m.props)
    # One merge over all of a node's writes, in batch order: the same result as one merge per
    # mutation (tombstoned values read as absent either way), without copying the maps each time.
    for key, props in writes.items():
        state = states[key]
        merged, state.versions = merge_props(state.props, state.versions, props)
        state.props = search_props(key, derive_props(state.label, merged))


def touched_datasets(batch: Batch, states: Mapping[str, NodeState]) -> dict[str, str]:
    """Dataset key → earliest ``createdAt`` of its explicit versions this batch wrote."""
    touched: dict[str, str] = {}
    for key in dict.fromkeys(m.key for m in batch.nodes):
        state = states[key]
        if state.label != Label.DATASET_VERSION.value or state.props.get("implicit") is True:
            continue
        dataset, created = state.props.get("dataset"), state.props.get("createdAt")
        if isinstance(dataset, str) and isinstance(created, str):
            touched[dataset] = min(created, touched.get(dataset, created))
    return touched


def wanted_edges(batch: Batch, states: Mapping[str, NodeState]) -> list[EdgeId]:
    """Distinct relationships to upsert whose two ends exist, sorted (the lock order)."""
    ids = {
        (m.type.value, m.source, m.target) for m in batch.edges if m.source in states and m.target in states
    }
    return sorted(ids)


def fresh_edge_forms(batch: Batch, ids: Iterable[EdgeId]) -> dict[EdgeId, FreshForm]:
    """Props, versions and stored form of each relationship in ``ids`` when it did not exist before."""
    writes: dict[EdgeId, list[Prop]] = {edge: [] for edge in ids}
    for m in batch.edges:
        props = writes.get((m.type.value, m.source, m.target))
        if props is not None:
            props.extend(m.props)
    out: dict[EdgeId, FreshForm] = {}
    for edge, props in writes.items():
        merged, versions = merge_props({}, {}, props)
        out[edge] = (merged, versions, stored_form(None, merged, versions))
    return out


def merge_edges(batch: Batch, edges: Mapping[EdgeId, EdgeState]) -> None:
    """Merge every ``UpsertEdge`` of ``batch`` whose relationship was read into ``edges``."""
    for m in batch.edges:
        state = edges.get((m.type.value, m.source, m.target))
        if state is not None and not state.merged:
            state.props, state.versions = merge_props(state.props, state.versions, m.props)


# ---------------------------------------------------------------- ReplaceLinks


@dataclass(slots=True)
class LinkOutcome:
    """What replacing links changed: per group, the links before and after."""

    before: dict[LinkGroup, dict[str, dict[str, PropValue]]]
    after: dict[LinkGroup, dict[str, dict[str, PropValue]]] = field(default_factory=dict)


def replace_links(
    links: Sequence[ReplaceLinks],
    states: Mapping[str, NodeState],
    current: Mapping[LinkGroup, Mapping[str, Mapping[str, PropValue]]],
) -> LinkOutcome:
    """Apply ``links`` in batch order, each seeing the previous ones' result (as the embedded store).

    ``current``: group → other key → stored relationship props (``_versions`` included or
    not). Updates the nodes' slot versions in ``states``; returns the groups that changed.
    """
    before = {g: {k: dict(p) for k, p in others.items()} for g, others in current.items()}
    work = {g: {k: dict(p) for k, p in others.items()} for g, others in current.items()}
    outcome = LinkOutcome(before=before)
    for m in links:
        node = states.get(m.node)
        if node is None:
            continue
        group: LinkGroup = (m.node, m.type.value, m.incoming)
        slot = common.links_slot(m.slot)
        old = common.canonical_links(work.get(group, {}).items())
        new = common.canonical_links((link.key, common.link_props(link)) for link in m.others)
        if not links_win(m.version, new, node.versions.get(slot), old):
            continue
        work[group] = {link.key: common.link_props(link) for link in m.others if link.key in states}
        outcome.after[group] = work[group]
        node.versions[slot] = m.version
    return outcome


# ---------------------------------------------------------------- implicit reads


def new_reads(batch: Batch, states: Mapping[str, NodeState]) -> dict[str, dict[str, str]]:
    """Dataset key → run key → earliest ``at`` of the batch's reads whose run and dataset exist."""
    out: dict[str, dict[str, str]] = {}
    for r in batch.reads:
        if r.run in states and r.dataset in states:
            runs = out.setdefault(r.dataset, {})
            runs[r.run] = min(r.at, runs.get(r.run, r.at))
    return out


def read_props(batch: Batch) -> dict[tuple[str, str], list[Prop]]:
    """(dataset key, run key) → the props (input facets) of the batch's reads of it, in order."""
    out: dict[tuple[str, str], list[Prop]] = {}
    for r in batch.reads:
        if r.props:
            out.setdefault((r.dataset, r.run), []).extend(r.props)
    return out


@dataclass(slots=True)
class DatasetReads:
    """What Neo4j holds about one dataset's implicit reads (one ``READS_STATE`` row)."""

    key: str
    id: str
    versions: list[common.VersionCandidate]
    current: dict[str, tuple[str, str]]
    """Run key → (version key, at) of the implicit reads that may move."""
    ids: dict[str, str]
    """Element ids of the runs and versions in ``current``."""
    extras: dict[str, tuple[dict[str, PropValue], dict[str, str]]] = field(default_factory=dict)
    """Run key → the read's other props (its input facets) and their LWW versions."""

    @classmethod
    def from_record(
        cls, key: str, node_id: str, versions: Iterable[Sequence[Any]], reads: Iterable[Sequence[Any]]
    ) -> DatasetReads:
        """Parse the ``versions`` and ``reads`` lists ``READS_STATE`` returns."""
        candidates = [
            (str(v), common.opt_str(created), common.opt_str(writer)) for v, created, writer in versions
        ]
        state = cls(key, node_id, candidates, {}, {})
        for run, version, at, run_id, version_id, stored in reads:
            state.current[str(run)] = (str(version), str(at))
            state.ids[str(run)] = str(run_id)
            state.ids[str(version)] = str(version_id)
            props, read_versions = split_stored(stored)
            state.extras[str(run)] = (common.read_extra_props(props), read_versions)
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
    """Re-resolve ``dataset``'s implicit reads (as ``_resolve_dataset`` of the embedded store).

    Adds the writes needed to ``out``.

    ``batch_reads``: run → earliest ``at`` read in this batch; ``run_ids``: element ids of the
    batch's nodes (runs read in this batch are among them); ``batch_props``: (dataset, run)
    → props of the batch's reads, merged into the read's other props, which move with it.
    """
    reads = {run: at for run, (_, at) in dataset.current.items()}
    for run, at in batch_reads.items():
        reads[run] = min(at, reads.get(run, at))
    targets = common.resolve_reads(dataset.key, reads, dataset.versions)
    initial = common.initial_version_key(dataset.key)
    if initial in targets.values():
        props = {"key": initial, **common.initial_version_props(dataset.key)}
        out.initial.append({"ds": dataset.id, "key": initial, "props": props})
    for run, target in targets.items():
        old = dataset.current.get(run)
        stored, stored_versions = dataset.extras.get(run, ({}, {}))
        extra, versions = common.merge_read_props(
            stored, stored_versions, (batch_props or {}).get((dataset.key, run), ())
        )
        if old == (target, reads[run]) and (extra, versions) == (stored, stored_versions):
            continue
        run_id = run_ids.get(run) or dataset.ids[run]
        if old is not None:
            out.stale.append({"v": dataset.ids[old[0]], "r": run_id})
        props = stored_form(None, {**extra, **common.implicit_read_props(reads[run])}, versions)
        out.fresh.append({"v": target, "r": run_id, "props": props})
    out.unused.append(initial)
