"""Deciding what a mutation batch writes: the pure half of every store's ``apply``.

Nothing here does I/O. Each back end fetches the current state a step needs (plain
values), hands it to these functions with the batch's mutations, and executes what they
return — SQL in the embedded store, Cypher ``UNWIND`` batches in Neo4j. Decided here and
nowhere else, in the order both stores apply a batch:

1. how a batch splits and what it references (:class:`BatchParts`);
2. nodes: every upsert of a node merged in batch order (:func:`node_writes`,
   :func:`merge_node`), and which datasets got new explicit versions
   (:func:`touched_datasets`);
3. relationships: which to upsert, with which writes (:func:`edge_writes`);
4. ``ReplaceLinks``: which links each group loses and gains, and the slot versions won
   (:func:`plan_links`);
5. implicit reads: which datasets to re-resolve and what to fetch for them
   (:func:`new_reads`, :func:`reads_to_fetch`), which version each read links to
   (:func:`pick_version`, :func:`resolve_reads`) and what moves (:func:`plan_reads`).

Property merging itself is :func:`olgraph.store.merge.merge_props` and
:func:`~olgraph.store.merge.derive_props`; this module decides where it applies.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from olgraph import keys
from olgraph.normalize.mutations import (
    Label,
    Link,
    Mutation,
    Prop,
    PropValue,
    ReadVersion,
    ReplaceLinks,
    UpsertEdge,
    UpsertNode,
)
from olgraph.store.merge import VERSIONS_PROP, canonical, derive_props, links_win, merge_props

EdgeId = tuple[str, str, str]
"""(type, source key, target key): a relationship's identity."""


# ---------------------------------------------------------------- the batch


@dataclass(frozen=True, slots=True)
class BatchParts:
    """A mutation batch split by kind, each kind in batch order."""

    nodes: tuple[UpsertNode, ...]
    edges: tuple[UpsertEdge, ...]
    links: tuple[ReplaceLinks, ...]
    reads: tuple[ReadVersion, ...]

    @classmethod
    def of(cls, mutations: Iterable[Mutation]) -> BatchParts:
        """Split ``mutations`` by kind."""
        split: dict[type, list[Any]] = {UpsertNode: [], UpsertEdge: [], ReplaceLinks: [], ReadVersion: []}
        for m in mutations:
            split[type(m)].append(m)
        return cls(*(tuple(split[kind]) for kind in (UpsertNode, UpsertEdge, ReplaceLinks, ReadVersion)))

    def referenced(self) -> set[str]:
        """Keys the batch links to, upserted by it or not."""
        refs = {k for e in self.edges for k in (e.source, e.target)}
        refs.update(k for m in self.links for k in (m.node, *(link.key for link in m.others)))
        refs.update(k for r in self.reads for k in (r.run, r.dataset))
        return refs


# ---------------------------------------------------------------- nodes and relationships


@dataclass(slots=True)
class NodeWrites:
    """Every upsert of one node in a batch: the first one's label, all labels, all writes in order."""

    label: str
    labels: set[str]
    props: list[Prop]


def node_writes(nodes: Iterable[UpsertNode]) -> dict[str, NodeWrites]:
    """The batch's node upserts grouped by key, keys in the order the batch first names them.

    Merging a node's writes at once gives what merging them upsert by upsert gives
    (tombstoned values read as absent either way), so the stores merge once per node.
    """
    out: dict[str, NodeWrites] = {}
    for m in nodes:
        writes = out.get(m.key)
        if writes is None:
            writes = out[m.key] = NodeWrites(m.label.value, set(), [])
        writes.labels.add(m.label.value)
        writes.labels.update(m.extra_labels)
        writes.props.extend(m.props)
    return out


def merge_node(
    label: str, props: Mapping[str, PropValue], versions: Mapping[str, str], writes: Iterable[Prop]
) -> tuple[dict[str, PropValue], dict[str, str]]:
    """A node's props and version map after ``writes``, derived props recomputed."""
    merged, new_versions = merge_props(props, versions, writes)
    return derive_props(label, merged), new_versions


def touched_datasets(written: Iterable[tuple[str, Mapping[str, PropValue]]]) -> dict[str, str]:
    """Dataset key → earliest ``createdAt`` of its explicit versions among ``written``.

    ``written``: (primary label, merged props) of each node the batch upserted. Implicit reads
    at or after that time may have to move to one of the new versions.

    >>> touched_datasets([("DatasetVersion", {"dataset": "d", "createdAt": "t2"}), ("Job", {})])
    {'d': 't2'}
    """
    touched: dict[str, str] = {}
    for label, props in written:
        if label != Label.DATASET_VERSION.value or props.get("implicit") is True:
            continue
        dataset, created = props.get("dataset"), props.get("createdAt")
        if isinstance(dataset, str) and isinstance(created, str):
            touched[dataset] = min(created, touched.get(dataset, created))
    return touched


def edge_writes(edges: Iterable[UpsertEdge], present: Container[str]) -> dict[EdgeId, list[Prop]]:
    """Relationships to upsert → their writes in batch order, sorted by identity (the lock order).

    Only those whose two ends are ``present`` (exist once the batch's nodes are written): a
    relationship to a missing node is skipped, as a Cypher ``MATCH … MERGE`` would.
    """
    out: dict[EdgeId, list[Prop]] = {}
    for m in edges:
        if m.source in present and m.target in present:
            out.setdefault((m.type.value, m.source, m.target), []).extend(m.props)
    return dict(sorted(out.items()))


# ---------------------------------------------------------------- ReplaceLinks

LinkGroup = tuple[str, str, bool]
"""(node key, relationship type, incoming): the relationships one ReplaceLinks replaces."""

LinkSet = dict[str, dict[str, PropValue]]
"""Other node key → relationship props, of one :data:`LinkGroup`."""


def links_slot(slot: str) -> str:
    """Name under which a node's version map keeps the version of a ReplaceLinks ``slot``."""
    return f"links:{slot}"


def link_props(link: Link) -> dict[str, PropValue]:
    """The properties a :class:`Link` puts on its relationship (``None`` values dropped)."""
    return {k: v for k, v in link.props if v is not None}


def canonical_links(links: Iterable[tuple[str, Mapping[str, PropValue]]]) -> list[list[Any]]:
    """Canonical form of a link set, compared by :func:`olgraph.store.merge.links_win`.

    ``links`` are ``(other node key, relationship props)``; ``_versions`` and ``None`` values
    are left out. Both the new ``others`` and the stored links go through this.

    >>> canonical_links([("owner:b", {}), ("owner:a", {"type": "x"})])
    [['owner:a', {'type': 'x'}], ['owner:b', {}]]
    """
    items = [
        [key, {k: v for k, v in props.items() if v is not None and k != VERSIONS_PROP}]
        for key, props in links
    ]
    return sorted(items, key=canonical)


def link_groups(links: Iterable[ReplaceLinks], present: Container[str]) -> list[LinkGroup]:
    """The groups ``links`` may replace whose node is ``present``, distinct and sorted."""
    return sorted({(m.node, m.type.value, m.incoming) for m in links if m.node in present})


@dataclass(slots=True)
class LinksPlan:
    """What a batch's ``ReplaceLinks`` change: per replaced group, its links before and after."""

    before: dict[LinkGroup, LinkSet]
    after: dict[LinkGroup, LinkSet] = field(default_factory=dict)
    slots: dict[str, dict[str, str]] = field(default_factory=dict)
    """Node key → the slot versions (``links:…``) its replacements won, to set in its version map."""

    def removed(self, group: LinkGroup) -> list[str]:
        """Other keys whose relationship in ``group`` is deleted, sorted."""
        return sorted(self.before.get(group, {}).keys() - self.after[group].keys())

    def written(self, group: LinkGroup) -> list[tuple[str, dict[str, PropValue]]]:
        """Relationships of ``group`` to create or overwrite (other key, props), sorted by key."""
        before = self.before.get(group, {})
        after = sorted(self.after[group].items())
        return [(other, props) for other, props in after if before.get(other) != props]


def plan_links(
    links: Sequence[ReplaceLinks],
    versions: Mapping[str, Mapping[str, str]],
    present: Container[str],
    current: Mapping[LinkGroup, Mapping[str, Mapping[str, PropValue]]],
) -> LinksPlan:
    """Apply ``links`` in batch order, each seeing the result of those before it.

    ``versions``: node key → LWW version map of each existing node a ReplaceLinks names (a
    ReplaceLinks on a node not there changes nothing); ``present``: which other keys exist
    (links to the others are compared but not written); ``current``: each group's stored
    relationships as stored (:func:`~olgraph.store.merge.stored_form`, ``_versions`` included).
    A replacement happens when it wins last-writer-wins for its slot.
    """
    before = {g: {k: dict(p) for k, p in others.items()} for g, others in current.items()}
    work = {g: {k: dict(p) for k, p in others.items()} for g, others in current.items()}
    out = LinksPlan(before=before)
    for m in links:
        node = versions.get(m.node)
        if node is None:
            continue
        group: LinkGroup = (m.node, m.type.value, m.incoming)
        slot, won = links_slot(m.slot), out.slots.get(m.node, {})
        old = canonical_links(work.get(group, {}).items())
        new = canonical_links((link.key, link_props(link)) for link in m.others)
        if not links_win(m.version, new, won.get(slot, node.get(slot)), old):
            continue
        work[group] = {link.key: link_props(link) for link in m.others if link.key in present}
        out.after[group] = work[group]
        out.slots.setdefault(m.node, {})[slot] = m.version
    return out


# ---------------------------------------------------------------- implicit reads: which version


def initial_version_key(dataset: str) -> str:
    """Key of the implicit ``initial`` version of ``dataset``."""
    return keys.dataset_version_key(dataset, keys.INITIAL_VERSION)


def initial_version_props(dataset: str) -> dict[str, PropValue]:
    """Properties of the implicit initial version the store creates (no ``_versions``)."""
    return {"dataset": dataset, "version": keys.INITIAL_VERSION, "implicit": True}


def implicit_read_props(at: str) -> dict[str, PropValue]:
    """The resolution properties of a ``READ_BY`` relationship written for a ReadVersion."""
    return {"at": at, "implicit": True}


def read_extra_props(props: Mapping[str, PropValue]) -> dict[str, PropValue]:
    """A stored implicit read's properties besides its resolution (``at``, ``implicit``): its facets."""
    return {k: v for k, v in props.items() if k not in ("at", "implicit", VERSIONS_PROP) and v is not None}


VersionCandidate = tuple[str, str | None, str | None]
"""A dataset version an implicit read may link to: ``(version key, createdAt, runId of its writer)``."""


def pick_version(versions: Iterable[VersionCandidate], at: str, reader: str | None = None) -> str | None:
    """The version current at ``at`` for run ``reader`` (a runId): greatest ``createdAt <= at``,
    ties → greatest key; versions written by ``reader`` itself are skipped, so a run that reads
    and writes one dataset (an append, a MERGE INTO) reads the version before its own write.

    ``versions`` are the dataset's non-implicit versions; versions without ``createdAt`` are
    never picked. None means "use the initial version".

    >>> pick_version([("v1", "2024-01", "r0"), ("v2", "2024-03", "r1")], "2024-02")
    'v1'
    >>> pick_version([("v1", "2024-01", "r0"), ("v2", "2024-03", "r1")], "2024-03", reader="r1")
    'v1'
    """
    best: tuple[str, str] | None = None
    for key, created, writer in versions:
        if created is None or created > at or (reader is not None and writer == reader):
            continue
        if best is None or (created, key) > best:
            best = (created, key)
    return None if best is None else best[1]


def resolve_reads(
    dataset: str, reads: Mapping[str, str], versions: Iterable[VersionCandidate]
) -> dict[str, str]:
    """Target version key of every implicit read of ``dataset``: ``{run key: version key}``.

    ``reads`` maps run key → earliest ``at``; ``versions`` as for :func:`pick_version`.
    """
    candidates = list(versions)
    return {
        run: pick_version(candidates, at, reader=run.removeprefix("run:")) or initial_version_key(dataset)
        for run, at in sorted(reads.items())
    }


# ---------------------------------------------------------------- implicit reads: what moves


def new_reads(reads: Iterable[ReadVersion], present: Container[str]) -> dict[str, dict[str, str]]:
    """Dataset key → run key → earliest ``at`` of the batch's reads whose run and dataset are ``present``."""
    out: dict[str, dict[str, str]] = {}
    for r in reads:
        if r.run in present and r.dataset in present:
            runs = out.setdefault(r.dataset, {})
            runs[r.run] = min(r.at, runs.get(r.run, r.at))
    return out


def read_props(reads: Iterable[ReadVersion]) -> dict[tuple[str, str], list[Prop]]:
    """(dataset key, run key) → the props (input facets) of the batch's reads of it, in order."""
    out: dict[tuple[str, str], list[Prop]] = {}
    for r in reads:
        if r.props:
            out.setdefault((r.dataset, r.run), []).extend(r.props)
    return out


@dataclass(frozen=True, slots=True)
class ReadsQuery:
    """What to fetch about one dataset whose implicit reads may move.

    Its explicit versions, and its implicit reads by ``runs`` or at/after ``since`` (reads
    earlier than the batch's new versions cannot see them).
    """

    dataset: str
    runs: list[str]
    since: str | None


def reads_to_fetch(reads: Mapping[str, Mapping[str, str]], touched: Mapping[str, str]) -> list[ReadsQuery]:
    """The datasets to re-resolve, sorted: those read in the batch (:func:`new_reads`) and those
    with new explicit versions (:func:`touched_datasets`)."""
    return [
        ReadsQuery(dataset, sorted(reads.get(dataset, {})), touched.get(dataset))
        for dataset in sorted(set(reads) | set(touched))
    ]


@dataclass(frozen=True, slots=True)
class ImplicitRead:
    """An implicit read of a dataset version, stored or to store: the version it links to, its
    ``at`` (earliest time read), its other props (input facets) and their LWW versions."""

    version: str
    at: str
    props: dict[str, PropValue]
    versions: dict[str, str]

    @classmethod
    def of(
        cls, version: str, at: str, props: Mapping[str, PropValue], versions: Mapping[str, str]
    ) -> ImplicitRead:
        """A read from its stored relationship's props (the resolution props are dropped)."""
        return cls(version, at, read_extra_props(props), dict(versions))

    def relationship_props(self) -> dict[str, PropValue]:
        """The props of its ``READ_BY`` relationship: the other props, ``at`` and ``implicit``."""
        return {**self.props, **implicit_read_props(self.at)}


@dataclass(slots=True)
class ReadsPlan:
    """The writes that re-resolve one dataset's implicit reads, in the order to execute them.

    Create the ``initial`` version (and its ``VERSION_OF``) if ``needs_initial`` and it is
    missing; delete the ``stale`` reads (version key, run key); write the ``fresh`` ones
    (run key, read); then delete the ``initial`` version if no read uses it any more.
    """

    dataset: str
    initial: str
    needs_initial: bool = False
    stale: list[tuple[str, str]] = field(default_factory=list)
    fresh: list[tuple[str, ImplicitRead]] = field(default_factory=list)


def plan_reads(
    dataset: str,
    current: Mapping[str, ImplicitRead],
    batch_reads: Mapping[str, str],
    versions: Iterable[VersionCandidate],
    batch_props: Mapping[tuple[str, str], Sequence[Prop]] | None = None,
) -> ReadsPlan:
    """Re-resolve ``dataset``'s implicit reads that may have moved.

    ``current``: run key → the stored implicit reads fetched for the :class:`ReadsQuery`;
    ``batch_reads``: run key → earliest ``at`` read in this batch (a run's earliest read
    wins over a stored later one); ``versions``: the dataset's explicit versions;
    ``batch_props``: (dataset, run) → props of the batch's reads, merged into the read's
    other props, which move with it. A read already where it belongs, holding what it
    would be written with, is left alone.
    """
    reads = {run: read.at for run, read in current.items()}
    for run, at in batch_reads.items():
        reads[run] = min(at, reads.get(run, at))
    targets = resolve_reads(dataset, reads, versions)
    new_props = batch_props or {}
    out = ReadsPlan(dataset, initial_version_key(dataset))
    out.needs_initial = out.initial in targets.values()
    for run, target in targets.items():
        old = current.get(run)
        stored, stored_versions = (old.props, old.versions) if old else ({}, {})
        extra, new_versions = merge_props(stored, stored_versions, new_props.get((dataset, run), ()))
        if old is not None and (old.version, old.at, stored, stored_versions) == (
            target,
            reads[run],
            extra,
            new_versions,
        ):
            continue
        if old is not None:
            out.stale.append((old.version, run))
        out.fresh.append((run, ImplicitRead(target, reads[run], extra, new_versions)))
    return out
