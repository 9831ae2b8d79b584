"""The mutation accumulator the normalizer writes into, and small helpers it shares.

:class:`GraphBuilder` collects node and edge writes in first-mention order, merging the
writes of one node (or edge) into one mutation, so the output is deterministic and
compact. It also guarantees the invariant the stores rely on: an edge's endpoints are
upserted in the same batch, because the only way to add an edge is through helpers that
upsert both ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from olgraph.keys import dataset_key, job_key, namespace_key, run_key
from olgraph.normalize.mutations import (
    Label,
    Link,
    Merge,
    Mutation,
    Prop,
    PropValue,
    ReadVersion,
    RelType,
    ReplaceLinks,
    UpsertEdge,
    UpsertNode,
)


def canonical(value: Any) -> str:
    """Canonical JSON text (sorted keys, compact): the stored form of facets."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def lww(name: str, value: PropValue, version: str) -> Prop:
    """A last-writer-wins write versioned by ``version`` (usually the event time)."""
    return Prop(name, value, Merge.LWW, version)


def fixed(name: str, value: PropValue) -> Prop:
    """An identity property: the same value in every write, so its version never matters."""
    return Prop(name, value, Merge.LWW, "")


def seen(at: str, first: str = "firstSeenAt", last: str = "lastSeenAt") -> tuple[Prop, Prop]:
    """The earliest/latest-seen pair of time properties."""
    return Prop(first, at, Merge.MIN), Prop(last, at, Merge.MAX)


_NONE: frozenset[str] = frozenset()


@dataclass
class _Node:
    label: Label
    props: list[Prop] = field(default_factory=list)
    extra_labels: set[str] = field(default_factory=set)
    known: set[Prop] | None = None
    """The hashable ones of ``props``, built on the node's second mention to skip repeats."""


class GraphBuilder:
    """Accumulates the mutations of one event, in a deterministic order."""

    def __init__(self) -> None:
        self._nodes: dict[str, _Node] = {}
        self._edges: dict[tuple[RelType, str, str], list[Prop]] = {}
        self._links: list[ReplaceLinks] = []
        self._reads: list[ReadVersion] = []
        self._namespaces: dict[str, str] = {}
        self._field_identity: dict[str, tuple[Prop, ...]] = {}

    def node(self, key: str, label: Label, *props: Prop, extra_labels: tuple[str, ...] = ()) -> str:
        """Upsert node ``key`` with ``props``; returns ``key``."""
        node = self._nodes.get(key)
        if node is None:
            node = self._nodes[key] = _Node(label)
        _extend(node, props)
        if extra_labels:
            node.extra_labels.update(extra_labels)
        return key

    def edge(self, rel: RelType, source: str, target: str, *props: Prop) -> None:
        """Upsert ``(source)-[rel]->(target)``; both ends must already be upserted."""
        if source not in self._nodes or target not in self._nodes:
            raise KeyError(f"edge {rel} {source} -> {target} has an endpoint that was not upserted")
        edge = (rel, source, target)
        if edge not in self._edges:
            self._edges[edge] = list(props)
        else:
            _extend_list(self._edges[edge], props)

    def replace_links(self, links: ReplaceLinks) -> None:
        """Add a replace-the-set write; its other nodes must already be upserted."""
        self._links.append(links)

    def read_version(self, run: str, dataset: str, at: str, *props: Prop) -> None:
        """Record an implicit (unversioned) read of ``dataset`` by ``run`` (``props``: its input facets)."""
        for i, read in enumerate(self._reads):
            if (read.run, read.dataset, read.at) == (run, dataset, at):
                merged = list(read.props)
                _extend_list(merged, props)
                self._reads[i] = ReadVersion(run=run, dataset=dataset, at=at, props=tuple(merged))
                return
        self._reads.append(ReadVersion(run=run, dataset=dataset, at=at, props=tuple(props)))

    def namespace(self, namespace: str) -> str:
        """Upsert the Namespace node."""
        return self.node(namespace_key(namespace), Label.NAMESPACE, fixed("name", namespace))

    def job(self, namespace: str, name: str, *props: Prop) -> str:
        """Upsert a Job (with its Namespace and CONTAINS edge)."""
        key = self.node(
            job_key(namespace, name), Label.JOB, fixed("namespace", namespace), fixed("name", name), *props
        )
        self.edge(RelType.CONTAINS, self.namespace(namespace), key)
        return key

    def field_identity(self, dataset: str) -> tuple[Prop, ...]:
        """The identity every Field of ``dataset`` carries: its dataset, and its namespace
        when this builder upserted the dataset (built once per dataset, not per field)."""
        identity = self._field_identity.get(dataset)
        if identity is None:
            namespace = self._namespaces.get(dataset)
            if not namespace:
                return (fixed("dataset", dataset),)
            identity = self._field_identity[dataset] = (
                fixed("dataset", dataset),
                fixed("namespace", namespace),
            )
        return identity

    def dataset(self, namespace: str, name: str, *props: Prop, extra_labels: tuple[str, ...] = ()) -> str:
        """Upsert a Dataset (with its Namespace and CONTAINS edge)."""
        self._namespaces[dataset_key(namespace, name)] = namespace
        key = self.node(
            dataset_key(namespace, name),
            Label.DATASET,
            fixed("namespace", namespace),
            fixed("name", name),
            *props,
            extra_labels=extra_labels,
        )
        self.edge(RelType.CONTAINS, self.namespace(namespace), key)
        return key

    def run(self, run_id: str, *props: Prop) -> str:
        """Upsert a Run."""
        return self.node(run_key(run_id), Label.RUN, fixed("runId", run_id), *props)

    def mutations(self) -> list[Mutation]:
        """Every node first (stores apply nodes before edges), then edges, links and reads."""
        out: list[Mutation] = [
            UpsertNode(
                key,
                node.label,
                tuple(node.props),
                frozenset(node.extra_labels) if node.extra_labels else _NONE,
            )
            for key, node in self._nodes.items()
        ]
        out.extend(UpsertEdge(rel, src, dst, tuple(props)) for (rel, src, dst), props in self._edges.items())
        out.extend(self._links)
        out.extend(self._reads)
        return out


def _extend(node: _Node, props: tuple[Prop, ...]) -> None:
    """Append ``props`` to ``node``, skipping exact repeats (an event often names a node twice).

    A set lookup, not a list scan: a dataset named by every column-lineage reference of a
    wide table would otherwise compare each repeat with all its properties.
    """
    if not node.props:  # first mention: nothing to repeat (most nodes are named once)
        node.props.extend(props)
        return
    if node.known is None:
        node.known = known = set()
        for prop in node.props:
            try:  # noqa: SIM105 - not contextlib.suppress: a context manager per property is slow here
                known.add(prop)
            except TypeError:  # a list value: found by the scan below
                pass
    for prop in props:
        try:
            if prop in node.known:
                continue
            node.known.add(prop)
        except TypeError:  # a list value: not hashable, scan
            if prop in node.props:
                continue
        node.props.append(prop)


def _extend_list(target: list[Prop], props: tuple[Prop, ...]) -> None:
    """Append ``props``, skipping exact repeats (edges carry few properties: a scan is enough)."""
    for prop in props:
        if prop not in target:
            target.append(prop)


def link(key: str, **props: PropValue) -> Link:
    """A :class:`Link` to ``key`` with the non-null ``props`` in name order."""
    return Link(key, tuple(sorted((k, v) for k, v in props.items() if v is not None)))
