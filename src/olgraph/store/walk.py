"""Lineage traversal and impact assembly, shared by both graph stores (pure, no I/O).

:class:`LineageWalk` is a sans-I/O breadth-first walk: it asks for one frontier at a time
(:class:`ExpandRequest`) and the store answers with one query for the whole frontier
(:class:`ExpandResponse`), so a store never makes one round trip per node. Drive it with
:func:`walk_sync` (the embedded store) or :func:`walk_async` (Neo4j). The caps, ordering,
alias, deleted-node and time-travel rules documented in :mod:`olgraph.store.base` are
decided here once. What is walked is a :class:`Traversal`: dataset-level lineage
(``CONSUMED_BY``/``PRODUCES``/``FEEDS``, symlinks at no cost), column lineage
(``DERIVES``/``INFLUENCES``) or column impact (the same, plus every column of a dataset a
column influences as a whole).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from olgraph.normalize.mutations import RelType
from olgraph.store.base import (
    Direction,
    EdgeView,
    ImpactItem,
    ImpactResult,
    LineageResult,
    NodeView,
    Truncation,
)
from olgraph.store.common import ALIAS_TYPE, LINEAGE_TYPES, deleted_at, edge_exists_at, exists_at

Step = Literal["downstream", "upstream"]

PROBE_LIMIT = 100
"""Most rows a probe past the depth asks for. When that many come back and none of them is a
node the walk could return, the walk still reports truncation (over-reporting is the safe side)."""


@dataclass(frozen=True, slots=True)
class Traversal:
    """What a walk follows.

    ``hop_types`` cost one step of distance, followed forward downstream and backward
    upstream (``undirected``: both ways at every step, whatever the walk's direction).
    ``alias_types`` cost nothing: followed both ways, or, when ``alias_directed``, only from
    their source to their target. ``shape_only``: the nodes reached are answered with their
    identity alone (key, type, namespace, name, deleted), no other properties: for callers
    that want the graph's shape and read what they show of its nodes in one call afterwards.
    """

    hop_types: tuple[str, ...] = LINEAGE_TYPES
    alias_types: tuple[str, ...] = (ALIAS_TYPE,)
    alias_directed: bool = False
    undirected: bool = False
    shape_only: bool = False


DATASET_LINEAGE = Traversal()
"""Jobs and datasets: CONSUMED_BY, PRODUCES, FEEDS; symlinks join datasets."""

COLUMN_LINEAGE = Traversal(hop_types=(RelType.DERIVES.value, RelType.INFLUENCES.value), alias_types=())
"""Columns: DERIVES (column to column) and INFLUENCES (column to a whole dataset)."""

COLUMN_IMPACT = Traversal(
    hop_types=(RelType.DERIVES.value, RelType.INFLUENCES.value),
    alias_types=(RelType.HAS_FIELD.value,),
    alias_directed=True,
)
"""Column lineage where a dataset influenced as a whole passes it on through all its columns."""

CONNECTED = Traversal(
    hop_types=(RelType.CONSUMED_BY.value, RelType.PRODUCES.value),
    alias_types=(),
    undirected=True,
    shape_only=True,
)
"""Jobs and the datasets they read and write, each relationship followed both ways: everything
linked to the start through jobs' inputs and outputs (what Marquez calls lineage). Its nodes
past the start carry no properties (the Marquez graph reads its nodes' details at once)."""


@dataclass(frozen=True, slots=True)
class ExpandRequest:
    """What a :class:`LineageWalk` needs fetched next (one store query covering all keys).

    ``downstream``: keys whose outgoing ``traversal.hop_types`` relationships are wanted;
    ``upstream``: keys whose incoming ones are wanted; ``aliases``: keys whose
    ``traversal.alias_types`` relationships are wanted (in either direction; the walk keeps
    the ones it may cross). Any of them may be empty. ``probe``: the walk only wants to know
    whether anything lies beyond its depth (its answer adds nothing to the result): the store
    leaves out relationships to the nodes in ``exclude`` and answers at most
    :data:`PROBE_LIMIT` of them.

    Hints for a store that fetches ahead (they never change what the answer must hold):
    ``ahead`` — how many more levels past this one the walk may still expand; ``room`` — how
    many more nodes the walk may still add before its node cap.
    """

    downstream: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    traversal: Traversal = DATASET_LINEAGE
    probe: bool = False
    exclude: frozenset[str] = frozenset()
    ahead: int = 0
    room: int = 0


@dataclass(frozen=True, slots=True)
class ExpandResponse:
    """The store's answer to an :class:`ExpandRequest`.

    ``edges``: every matching relationship (public props, e.g. from :func:`edge_view`);
    ``nodes``: :func:`node_view` of the relationships' endpoints (extra entries are ignored).
    """

    edges: Sequence[EdgeView]
    nodes: Mapping[str, NodeView]


class LineageWalk:
    """Breadth-first lineage traversal, independent of the store (sans-I/O).

    Semantics (see ``olgraph.store.base``): the walk explores states (node, step) so that
    ``both`` is exactly the union of the upstream and the downstream walk, each node at its
    smallest distance. Aliases join nodes at the same distance. Deleted nodes are neither
    returned nor crossed unless ``include_deleted``; the start nodes always are. With
    ``as_of``, nodes and relationships first seen after it do not exist, and a node counts
    as deleted only if its deletion happened by then.

    Limits: a level that would exceed ``max_nodes`` is cut to its first nodes by id and the
    walk stops, truncated by ``"nodes"``; when the walk stops at ``depth`` it asks once more
    whether any node lies beyond, and is truncated by ``"depth"`` if one does. Result edges
    are the relationships discovered whose two ends are both returned.

    Example::

        walk = LineageWalk(start_view, "downstream", depth=3, max_nodes=100)
        result = walk_sync(walk, fetch)   # fetch: ExpandRequest -> ExpandResponse
    """

    def __init__(
        self,
        start: NodeView | Sequence[NodeView],
        direction: Direction,
        depth: int,
        max_nodes: int,
        include_deleted: bool = False,
        *,
        as_of: str | None = None,
        traversal: Traversal = DATASET_LINEAGE,
    ) -> None:
        starts = [start] if isinstance(start, NodeView) else list(start)
        if not starts:
            raise ValueError("a walk needs at least one start node")
        self.as_of = as_of
        self.traversal = traversal
        self.starts = {s.id for s in starts}
        self.start = self._at_time(starts[0])
        self.depth = max(depth, 0)
        self.max_nodes = max(max_nodes, 1)
        self.include_deleted = include_deleted
        self.truncated_by: set[str] = set()
        self.distances: dict[str, int] = {s.id: 0 for s in starts}
        self.views: dict[str, NodeView] = {s.id: self._at_time(s) for s in starts}
        steps: tuple[Step, ...] = ("downstream", "upstream") if direction == "both" else (direction,)
        if traversal.undirected:
            steps = ("downstream",)  # one kind of state: every step goes both ways
        self._seen: set[tuple[str, Step]] = {(s.id, step) for s in starts for step in steps}
        self._level: set[tuple[str, Step]] = set(self._seen)
        self._level_new: set[str] = set(self.starts)
        self._distance = 0
        self._aliases: dict[str, list[EdgeView]] = {}
        self._edges: dict[tuple[str, str, str], EdgeView] = {}
        self._done = False
        self._awaiting: Literal["hop", "probe", "aliases"] | None = None
        self._alias_request: set[str] = set()

    @property
    def truncated(self) -> bool:
        """Whether a limit (depth or node cap) cut the answer."""
        return bool(self.truncated_by)

    # -- driving

    def next_request(self) -> ExpandRequest | None:
        """The next fetch the walk needs, or None when it is finished."""
        if self._done:
            return None
        missing = self._close_aliases()
        if missing:
            self._alias_request = missing
            self._awaiting = "aliases"
            return ExpandRequest(aliases=tuple(sorted(missing)), traversal=self.traversal)
        probe = self._finish_level()
        if self._done:
            return None
        down = sorted({k for k, s in self._level if s == "downstream" and self._crossable(k)})
        up = sorted({k for k, s in self._level if s == "upstream" and self._crossable(k)})
        if self.traversal.undirected:
            up = down
        if not down and not up:
            self._done = True
            return None
        self._awaiting = "probe" if probe else "hop"
        exclude = frozenset(self.distances) if probe else frozenset()
        return ExpandRequest(
            downstream=tuple(down),
            upstream=tuple(up),
            traversal=self.traversal,
            probe=probe,
            exclude=exclude,
            ahead=max(self.depth - self._distance - 1, 0),
            room=max(self.max_nodes - len(self.distances), 0),
        )

    def feed(self, response: ExpandResponse) -> None:
        """Give the walk the answer to the request :meth:`next_request` returned last."""
        awaiting, self._awaiting = self._awaiting, None
        if awaiting == "hop":
            self._feed_hop(response)
        elif awaiting == "probe":
            self._feed_probe(response)
        else:
            self._feed_aliases(response)

    def result(self) -> LineageResult:
        """The traversal's result: nodes by (distance, id) with the first start first, edges sorted."""
        order = sorted(self.distances, key=lambda k: (self.distances[k], k != self.start.id, k))
        edges = [e for e in self._edges.values() if e.source in self.distances and e.target in self.distances]
        edges.sort(key=lambda e: (e.source, e.target, e.type))
        return LineageResult(
            nodes=[self.views[k] for k in order],
            edges=edges,
            truncated=self.truncated,
            truncated_by=self.truncation(),
            distances={k: self.distances[k] for k in order},
        )

    def truncation(self) -> tuple[Truncation, ...]:
        """The limits that cut the answer, in a fixed order."""
        order: tuple[Truncation, ...] = ("depth", "nodes")
        return tuple(t for t in order if t in self.truncated_by)

    # -- internals

    def _at_time(self, view: NodeView) -> NodeView:
        """``view`` as it was at ``as_of``: not deleted if its deletion came later."""
        if self.as_of is None or not view.deleted or deleted_at(view, self.as_of):
            return view
        return replace(view, deleted=False)

    def _crossable(self, key: str) -> bool:
        return key in self.starts or self.include_deleted or not self.views[key].deleted

    def _visible(self, view: NodeView) -> bool:
        if view.id in self.starts:
            return True
        if self.as_of is not None and not exists_at(view, self.as_of):
            return False
        return self.include_deleted or not view.deleted

    def _edge_visible(self, edge: EdgeView) -> bool:
        return self.as_of is None or edge_exists_at(edge, self.as_of)

    def _reach(self, key: str, step: Step, view: NodeView) -> bool:
        """Record state (key, step) at the current level; True if it is new."""
        if (key, step) in self._seen:
            return False
        self._seen.add((key, step))
        self._level.add((key, step))
        if key not in self.distances:
            self.distances[key] = self._distance
            self.views[key] = view
            self._level_new.add(key)
        return True

    def _close_aliases(self) -> set[str]:
        """Spread the level's states over known alias edges; return keys whose aliases are unknown."""
        if not self.traversal.alias_types:
            return set()
        missing: set[str] = set()
        work = list(self._level)
        while work:
            key, step = work.pop()
            if not self._crossable(key):
                continue
            if key not in self._aliases:
                missing.add(key)
                continue
            for edge in self._aliases[key]:
                other = edge.target if edge.source == key else edge.source
                self._edges[(edge.type, edge.source, edge.target)] = edge
                if self._reach(other, step, self.views[other]):
                    work.append((other, step))
        return missing

    def _feed_aliases(self, response: ExpandResponse) -> None:
        wanted = self._alias_request
        for key in wanted:
            self._aliases[key] = []
        directed = self.traversal.alias_directed
        for edge in response.edges:
            if edge.type not in self.traversal.alias_types or not self._edge_visible(edge):
                continue
            ends = (
                ((edge.source, edge.target),)
                if directed
                else ((edge.source, edge.target), (edge.target, edge.source))
            )
            for key, other in ends:
                view = response.nodes.get(other) or self.views.get(other)
                if key not in wanted or view is None:
                    continue
                view = self.views.get(other) or self._at_time(view)
                if self._visible(view):
                    self.views.setdefault(other, view)
                    self._aliases[key].append(edge)

    def _finish_level(self) -> bool:
        """Apply the node cap to the level just closed, then decide whether to go on.

        Returns True when the next request is the probe past ``depth``.
        """
        room = self.max_nodes - (len(self.distances) - len(self._level_new))
        if len(self._level_new) > room:
            dropped = sorted(self._level_new, key=lambda k: (k not in self.starts, k))[room:]
            for key in dropped:
                del self.distances[key]
            self._level = {(k, s) for k, s in self._level if k in self.distances}
            self.truncated_by.add("nodes")
            self._done = True
            return False
        return self._distance >= self.depth

    def _crossings(
        self, response: ExpandResponse, frontier: set[tuple[str, Step]]
    ) -> Iterable[tuple[EdgeView, str, Step, NodeView]]:
        """Every (edge, far key, step, far view) of a hop answer the walk may take."""
        for edge in response.edges:
            if edge.type not in self.traversal.hop_types or not self._edge_visible(edge):
                continue
            back: Step = "downstream" if self.traversal.undirected else "upstream"
            ends: tuple[tuple[str, str, Step], ...] = (
                (edge.source, edge.target, "downstream"),
                (edge.target, edge.source, back),
            )
            for near, far, step in ends:
                if (near, step) not in frontier:
                    continue
                view = self.views.get(far) or response.nodes.get(far)
                if view is None:
                    continue
                view = view if far in self.views else self._at_time(view)
                if self._visible(view):
                    yield edge, far, step, view

    def _feed_probe(self, response: ExpandResponse) -> None:
        self._done = True
        beyond = any(far not in self.distances for _, far, _, _ in self._crossings(response, self._level))
        if beyond or len(response.edges) >= PROBE_LIMIT:
            self.truncated_by.add("depth")

    def _feed_hop(self, response: ExpandResponse) -> None:
        frontier = self._level
        self._distance += 1
        self._level = set()
        self._level_new = set()
        for edge, far, step, view in self._crossings(response, frontier):
            self._edges[(edge.type, edge.source, edge.target)] = edge
            self._reach(far, step, view)
        if not self._level:
            self._done = True


@dataclass(frozen=True, slots=True)
class WalkSpec:
    """Everything about a walk but its start: what the stores pass to their walking code."""

    direction: Direction
    depth: int
    max_nodes: int
    include_deleted: bool = False
    as_of: str | None = None
    traversal: Traversal = DATASET_LINEAGE

    def walk(self, start: NodeView | Sequence[NodeView]) -> LineageWalk:
        """A fresh :class:`LineageWalk` from ``start`` (one node or several)."""
        return LineageWalk(
            start,
            self.direction,
            self.depth,
            self.max_nodes,
            self.include_deleted,
            as_of=self.as_of,
            traversal=self.traversal,
        )


def walk_sync(walk: LineageWalk, fetch: Callable[[ExpandRequest], ExpandResponse]) -> LineageResult:
    """Run ``walk`` to the end with a synchronous ``fetch``; return its result."""
    while (request := walk.next_request()) is not None:
        walk.feed(fetch(request))
    return walk.result()


async def walk_async(
    walk: LineageWalk, fetch: Callable[[ExpandRequest], Awaitable[ExpandResponse]]
) -> LineageResult:
    """Run ``walk`` to the end with an asynchronous ``fetch``; return its result."""
    while (request := walk.next_request()) is not None:
        walk.feed(await fetch(request))
    return walk.result()


# ---------------------------------------------------------------- impact


def pick_last_run(runs: Iterable[tuple[str, str | None, str | None]]) -> tuple[str | None, str | None]:
    """``(updatedAt, state)`` of the most recent run among ``(run key, updatedAt, state)``.

    Most recent = greatest ``updatedAt``, ties → greatest run key; runs without ``updatedAt`` lose.

    >>> pick_last_run([("run:a", "2024-01", "COMPLETE"), ("run:b", "2024-02", "FAIL")])
    ('2024-02', 'FAIL')
    """
    best: tuple[str, str, str | None] | None = None
    for key, updated, state in runs:
        candidate = (updated or "", key, state)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        return None, None
    return (best[0] or None), best[2]


def impact_keys(walk: LineageWalk) -> list[str]:
    """The nodes an impact answer lists: live, at distance >= 1, by (distance, id).

    The root and its aliases (distance 0) are the thing being deleted, not its dependents.
    """
    keys_ = [k for k, d in walk.distances.items() if d > 0 and not walk.views[k].deleted]
    return sorted(keys_, key=lambda k: (walk.distances[k], k))


def build_impact(
    walk: LineageWalk,
    owners: Mapping[str, Sequence[str]],
    last_runs: Mapping[str, tuple[str | None, str | None]],
) -> ImpactResult:
    """Assemble an :class:`ImpactResult` from a finished downstream walk.

    ``owners``: node key → owner names; ``last_runs``: node key → :func:`pick_last_run` output.
    """
    items = []
    for key in impact_keys(walk):
        view = walk.views[key]
        at, state = last_runs.get(key, (None, None))
        items.append(
            ImpactItem(
                id=key,
                type=view.type,
                namespace=view.namespace,
                name=view.name,
                distance=walk.distances[key],
                owners=sorted(set(owners.get(key, ()))),
                last_run_at=at,
                last_run_state=state,
            )
        )
    return ImpactResult(
        root=walk.start, affected=items, truncated=walk.truncated, truncated_by=walk.truncation()
    )
