"""Pure pieces both graph stores share, so their answers cannot drift apart.

Nothing here does I/O. The embedded and the Neo4j store fetch rows their own way and
hand them to these functions to build views, pick dataset versions, walk lineage and
order results. Rules decided here (and nowhere else):

* which stored properties are public (:func:`public_props`, :func:`public_edge_props`);
* what :meth:`GraphStore.dump` shows (:func:`dump_props`): stored props, plus
  ``_versions`` only when the version map is non-empty;
* which version an implicit read links to (:func:`pick_version`, :func:`resolve_reads`);
* lineage traversal: :class:`LineageWalk` (sans-I/O; drive it with :func:`walk_sync`
  or :func:`walk_async`);
* impact items, last runs, run/version ordering.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from olgraph import keys
from olgraph.normalize.mutations import MODEL_LABEL, Label, Link, PropValue, RelType
from olgraph.store.base import (
    Direction,
    EdgeView,
    ImpactItem,
    ImpactResult,
    LineageResult,
    NodeType,
    NodeView,
    RunView,
    VersionRef,
    VersionView,
)
from olgraph.store.merge import VERSIONS_PROP, canonical, decode_versions

FACET_PREFIXES = ("facet.", "inputFacet.", "outputFacet.")
"""Property name prefixes of facet JSON, never part of a view's ``props``."""

NODE_FIELD_PROPS = frozenset({"key", "namespace", "name", "deleted", VERSIONS_PROP})
"""Stored node properties that :class:`NodeView` carries as fields (or hides), not in ``props``."""

LINEAGE_TYPES = (RelType.CONSUMED_BY.value, RelType.PRODUCES.value)
"""Relationship types that cost one step of lineage distance."""

ALIAS_TYPE = RelType.ALIAS_OF.value
"""The symlink relationship: zero distance, crossed both ways."""

TRAVERSED_LABELS = (Label.JOB.value, Label.DATASET.value)
"""Labels of the nodes lineage traversal can reach."""


# ---------------------------------------------------------------- views of nodes and edges


def node_type(labels: Iterable[str]) -> NodeType | None:
    """The view type of a node with these labels: ``model``, ``dataset``, ``job``, ``run`` or None.

    Stores answer ``get_node``/``lineage`` only for nodes whose type is not None.

    >>> node_type(["Dataset", "Model"])
    'model'
    """
    names = set(labels)
    if Label.DATASET.value in names:
        return "model" if MODEL_LABEL in names else "dataset"
    if Label.JOB.value in names:
        return "job"
    if Label.RUN.value in names:
        return "run"
    return None


def _is_public(name: str) -> bool:
    return not name.startswith(FACET_PREFIXES) and name != VERSIONS_PROP


def public_props(props: Mapping[str, PropValue]) -> dict[str, PropValue]:
    """A node's typed properties as views show them: no facet JSON, no bookkeeping, no field duplicates.

    >>> public_props({"name": "t", "facet.schema": "{}", "description": "d", "_versions": "{}"})
    {'description': 'd'}
    """
    return {k: v for k, v in props.items() if _is_public(k) and k not in NODE_FIELD_PROPS and v is not None}


def public_edge_props(props: Mapping[str, PropValue]) -> dict[str, PropValue]:
    """A relationship's properties as views show them: no facet JSON, no ``_versions``."""
    return {k: v for k, v in props.items() if _is_public(k) and v is not None}


def node_view(key: str, labels: Iterable[str], props: Mapping[str, PropValue]) -> NodeView:
    """Build the :class:`NodeView` of a Job, Dataset (Model) or Run node.

    Runs have no namespace: ``namespace`` is ``""`` and ``name`` the runId.
    Raises ``ValueError`` for other labels (check :func:`node_type` first).

    >>> node_view("job:ns:j", ["Job"], {"namespace": "ns", "name": "j"}).type
    'job'
    """
    kind = node_type(labels)
    if kind is None:
        raise ValueError(f"{key} is not a job, dataset or run")
    if kind == "run":
        namespace, name = "", str(props.get("runId") or key.removeprefix("run:"))
    else:
        namespace, name = str(props.get("namespace", "")), str(props.get("name", ""))
    return NodeView(
        id=key,
        type=kind,
        namespace=namespace,
        name=name,
        deleted=props.get("deleted") is True,
        props=public_props(props),
    )


def edge_view(rel_type: str, source: str, target: str, props: Mapping[str, PropValue]) -> EdgeView:
    """Build the :class:`EdgeView` of a lineage relationship (public props only)."""
    return EdgeView(source=source, target=target, type=rel_type, props=public_edge_props(props))


def facets_from_props(props: Mapping[str, PropValue], prefix: str = "facet.") -> dict[str, Any]:
    """Facets stored as ``{prefix}{name}`` JSON strings → ``{name: parsed JSON}``.

    Non-string values (should not happen) are returned as they are.

    >>> facets_from_props({"facet.sql": '{"query": "select 1"}', "name": "x"})
    {'sql': {'query': 'select 1'}}
    """
    out: dict[str, Any] = {}
    for name, value in sorted(props.items()):
        if name.startswith(prefix) and value is not None:
            out[name[len(prefix) :]] = orjson.loads(value) if isinstance(value, str) else value
    return out


def dump_props(
    props: Mapping[str, PropValue], versions: Mapping[str, str] | str | None
) -> dict[str, PropValue]:
    """The canonical property map :class:`GraphDump` shows for a node or relationship.

    Stored props without ``None`` values and without ``key``, plus ``_versions`` (canonical JSON)
    only when the version map is non-empty. ``versions`` may be the map or its stored JSON.

    >>> dump_props({"key": "k", "n": 1}, "{}")
    {'n': 1}
    """
    out: dict[str, PropValue] = {
        k: v for k, v in props.items() if v is not None and k not in ("key", VERSIONS_PROP)
    }
    vmap = decode_versions(versions) if isinstance(versions, str | None) else dict(versions)
    if vmap:
        out[VERSIONS_PROP] = canonical(vmap)
    return out


def owner_name(key: str, props: Mapping[str, PropValue]) -> str:
    """The name of an Owner node (``name`` prop, else from its key)."""
    return str(props.get("name") or key.removeprefix("owner:"))


def tag_name(key: str) -> str:
    """The ``key=value`` text of a Tag node, from its key."""
    return key.removeprefix("tag:")


# ---------------------------------------------------------------- ReplaceLinks


def links_slot(slot: str) -> str:
    """Name under which a node's version map keeps the version of a ReplaceLinks ``slot``."""
    return f"links:{slot}"


def link_props(link: Link) -> dict[str, PropValue]:
    """The properties a :class:`Link` puts on its relationship (``None`` values dropped)."""
    return {k: v for k, v in link.props if v is not None}


def canonical_links(links: Iterable[tuple[str, Mapping[str, PropValue]]]) -> list[list[Any]]:
    """Canonical form of a link set, compared by :func:`olgraph.store.merge.links_win`.

    ``links`` are ``(other node key, relationship props)``; stored relationships must be
    passed without ``_versions``. Both the new ``others`` and the stored links go through this.

    >>> canonical_links([("owner:b", {}), ("owner:a", {"type": "x"})])
    [['owner:a', {'type': 'x'}], ['owner:b', {}]]
    """
    items = [
        [key, {k: v for k, v in props.items() if v is not None and k != VERSIONS_PROP}]
        for key, props in links
    ]
    return sorted(items, key=canonical)


# ---------------------------------------------------------------- dataset versions and implicit reads


def initial_version_key(dataset: str) -> str:
    """Key of the implicit ``initial`` version of ``dataset``."""
    return keys.dataset_version_key(dataset, keys.INITIAL_VERSION)


def initial_version_props(dataset: str) -> dict[str, PropValue]:
    """Properties of the implicit initial version the store creates (no ``_versions``)."""
    return {"dataset": dataset, "version": keys.INITIAL_VERSION, "implicit": True}


def implicit_read_props(at: str) -> dict[str, PropValue]:
    """Properties of a ``READ_BY`` relationship written for a ReadVersion (no ``_versions``)."""
    return {"at": at, "implicit": True}


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


# ---------------------------------------------------------------- lineage traversal

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


# ---------------------------------------------------------------- runs and versions

VERSION_FIELD_PROPS = frozenset({"dataset", "version", "createdAt", "runId", "implicit"})


def version_ref(key: str, props: Mapping[str, PropValue]) -> VersionRef:
    """The :class:`VersionRef` of a DatasetVersion node."""
    return VersionRef(
        dataset=str(props.get("dataset", "")), version=str(props.get("version", "")), version_id=key
    )


def sort_version_refs(refs: Iterable[VersionRef]) -> list[VersionRef]:
    """Run inputs/outputs order: by dataset, then version id."""
    return sorted(refs, key=lambda r: (r.dataset, r.version_id))


def version_view(key: str, props: Mapping[str, PropValue]) -> VersionView:
    """The :class:`VersionView` of a DatasetVersion node (other public props in ``props``)."""
    created, run = props.get("createdAt"), props.get("runId")
    return VersionView(
        id=key,
        version=str(props.get("version", "")),
        created_at=None if created is None else str(created),
        run_id=None if run is None else str(run),
        implicit=props.get("implicit") is True,
        props={k: v for k, v in public_props(props).items() if k not in VERSION_FIELD_PROPS},
    )


def sort_versions(versions: Iterable[VersionView]) -> list[VersionView]:
    """Newest first by ``created_at`` (versions without it last), ties by id ascending."""
    versions = list(versions)  # iterated twice below; a generator would lose the undated ones
    dated = sorted((v for v in versions if v.created_at is not None), key=lambda v: v.id)
    dated.sort(key=lambda v: v.created_at or "", reverse=True)
    undated = sorted((v for v in versions if v.created_at is None), key=lambda v: v.id)
    return dated + undated


def _opt_str(value: PropValue) -> str | None:
    return None if value is None else str(value)


def run_view(
    props: Mapping[str, PropValue],
    job: str | None,
    inputs: Iterable[VersionRef],
    outputs: Iterable[VersionRef],
) -> RunView:
    """The :class:`RunView` of a Run node. ``job``: the RUN_OF target (falls back to the ``job`` prop)."""
    return RunView(
        run_id=str(props.get("runId", "")),
        job=job if job is not None else _opt_str(props.get("job")),
        state=_opt_str(props.get("state")),
        started_at=_opt_str(props.get("startedAt")),
        ended_at=_opt_str(props.get("endedAt")),
        updated_at=_opt_str(props.get("updatedAt")),
        parent_run_id=_opt_str(props.get("parentRunId")),
        inputs=sort_version_refs(inputs),
        outputs=sort_version_refs(outputs),
        facets=facets_from_props(props),
    )


def run_sort_key(props: Mapping[str, PropValue]) -> str:
    """Sort value of a run in ``list_runs``: ``startedAt``, else ``updatedAt``, else ``""``.

    ``list_runs`` orders by this value descending, then by runId ascending (in Cypher:
    ``ORDER BY coalesce(r.startedAt, r.updatedAt, "") DESC, r.runId ASC``).
    """
    return str(props.get("startedAt") or props.get("updatedAt") or "")


def order_runs(runs: Iterable[Mapping[str, PropValue]]) -> list[Mapping[str, PropValue]]:
    """Run property maps in ``list_runs`` order (see :func:`run_sort_key`)."""
    by_id = sorted(runs, key=lambda p: str(p.get("runId", "")))
    return sorted(by_id, key=run_sort_key, reverse=True)
