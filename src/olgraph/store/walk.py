"""Lineage traversal and impact assembly, shared by both graph stores (pure, no I/O).

:class:`LineageWalk` is a sans-I/O breadth-first walk: it asks for one frontier at a time
(:class:`ExpandRequest`) and the store answers with one query for the whole frontier
(:class:`ExpandResponse`), so a store never makes one round trip per node. Drive it with
:func:`walk_sync` (the embedded store) or :func:`walk_async` (Neo4j). The caps, ordering,
alias and deleted-node rules documented in :mod:`olgraph.store.base` are decided here once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from olgraph.store.base import Direction, EdgeView, ImpactItem, ImpactResult, LineageResult, NodeView
from olgraph.store.common import ALIAS_TYPE, LINEAGE_TYPES

Step = Literal["downstream", "upstream"]


@dataclass(frozen=True, slots=True)
class ExpandRequest:
    """What a :class:`LineageWalk` needs fetched next (one store query covering all keys).

    ``downstream``: keys whose outgoing CONSUMED_BY/PRODUCES relationships are wanted;
    ``upstream``: keys whose incoming ones are wanted; ``aliases``: keys whose ALIAS_OF
    relationships, in either direction, are wanted. Any of them may be empty.
    """

    downstream: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


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
    smallest distance. ALIAS_OF joins datasets at the same distance. Deleted nodes are
    neither returned nor crossed unless ``include_deleted``; the start node always is.
    A level that would exceed ``max_nodes`` is cut to its first nodes by id and the walk
    stops with ``truncated = True`` (reaching ``depth`` does not set it). Result edges are
    the relationships discovered whose two ends are both returned.

    Example::

        walk = LineageWalk(start_view, "downstream", depth=3, max_nodes=100)
        result = walk_sync(walk, fetch)   # fetch: ExpandRequest -> ExpandResponse
    """

    def __init__(
        self, start: NodeView, direction: Direction, depth: int, max_nodes: int, include_deleted: bool = False
    ) -> None:
        self.start = start
        self.depth = max(depth, 0)
        self.max_nodes = max(max_nodes, 1)
        self.include_deleted = include_deleted
        self.truncated = False
        self.distances: dict[str, int] = {start.id: 0}
        self.views: dict[str, NodeView] = {start.id: start}
        steps: tuple[Step, ...] = ("downstream", "upstream") if direction == "both" else (direction,)
        self._seen: set[tuple[str, Step]] = {(start.id, s) for s in steps}
        self._level: set[tuple[str, Step]] = set(self._seen)
        self._level_new: set[str] = {start.id}
        self._distance = 0
        self._aliases: dict[str, list[EdgeView]] = {}
        self._edges: dict[tuple[str, str, str], EdgeView] = {}
        self._done = False
        self._awaiting_hop = False
        self._alias_request: set[str] = set()

    # -- driving

    def next_request(self) -> ExpandRequest | None:
        """The next fetch the walk needs, or None when it is finished."""
        if self._done:
            return None
        missing = self._close_aliases()
        if missing:
            self._alias_request = missing
            return ExpandRequest(aliases=tuple(sorted(missing)))
        self._finish_level()
        if self._done:
            return None
        down = sorted({k for k, s in self._level if s == "downstream" and self._crossable(k)})
        up = sorted({k for k, s in self._level if s == "upstream" and self._crossable(k)})
        if not down and not up:
            self._done = True
            return None
        self._awaiting_hop = True
        return ExpandRequest(downstream=tuple(down), upstream=tuple(up))

    def feed(self, response: ExpandResponse) -> None:
        """Give the walk the answer to the request :meth:`next_request` returned last."""
        if self._awaiting_hop:
            self._awaiting_hop = False
            self._feed_hop(response)
        else:
            self._feed_aliases(response)

    def result(self) -> LineageResult:
        """The traversal's result: nodes by (distance, id) with the start first, edges sorted."""
        order = sorted(self.distances, key=lambda k: (self.distances[k], k != self.start.id, k))
        edges = [e for e in self._edges.values() if e.source in self.distances and e.target in self.distances]
        edges.sort(key=lambda e: (e.source, e.target, e.type))
        return LineageResult(nodes=[self.views[k] for k in order], edges=edges, truncated=self.truncated)

    # -- internals

    def _crossable(self, key: str) -> bool:
        return key == self.start.id or self.include_deleted or not self.views[key].deleted

    def _visible(self, view: NodeView) -> bool:
        return view.id == self.start.id or self.include_deleted or not view.deleted

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
        """Spread the level's states over known ALIAS_OF edges; return keys whose aliases are unknown."""
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
        for edge in response.edges:
            if edge.type != ALIAS_TYPE:
                continue
            for key, other in ((edge.source, edge.target), (edge.target, edge.source)):
                view = response.nodes.get(other) or self.views.get(other)
                if key in wanted and view is not None and self._visible(view):
                    self.views.setdefault(other, view)
                    self._aliases[key].append(edge)

    def _finish_level(self) -> None:
        """Apply the node cap to the level just closed, then decide whether to go on."""
        room = self.max_nodes - (len(self.distances) - len(self._level_new))
        if len(self._level_new) > room:
            dropped = sorted(self._level_new, key=lambda k: (k != self.start.id, k))[room:]
            for key in dropped:
                del self.distances[key]
            self._level = {(k, s) for k, s in self._level if k in self.distances}
            self.truncated = True
            self._done = True
        elif self._distance >= self.depth:
            self._done = True

    def _feed_hop(self, response: ExpandResponse) -> None:
        frontier = self._level
        self._distance += 1
        self._level = set()
        self._level_new = set()
        for edge in response.edges:
            if edge.type not in LINEAGE_TYPES:
                continue
            ends: tuple[tuple[str, str, Step], ...] = (
                (edge.source, edge.target, "downstream"),
                (edge.target, edge.source, "upstream"),
            )
            for near, far, step in ends:
                view = response.nodes.get(far) or self.views.get(far)
                if (near, step) not in frontier or view is None or not self._visible(view):
                    continue
                self._edges[(edge.type, edge.source, edge.target)] = edge
                self._reach(far, step, view)
        if not self._level:
            self._done = True


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
    return ImpactResult(root=walk.start, affected=items, truncated=walk.truncated)
