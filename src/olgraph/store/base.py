"""The ``GraphStore`` seam and the shapes it answers with.

Two implementations must give identical answers to every method here: the embedded
SQLite store (``olgraph.store.embedded``) and Neo4j (``olgraph.store.neo4j``).
``tests/contract/`` holds the one suite that checks both.

Lineage semantics shared by both stores:

* Lineage edges are job-level: ``(Dataset)-[:CONSUMED_BY]->(Job)-[:PRODUCES]->(Dataset)``.
  Downstream follows them forward, upstream backward; ``distance`` counts these edges, so
  a job reading dataset D is at distance 1 from D and the datasets it writes at 2.
* ``ALIAS_OF`` (symlinks) joins datasets into one: crossing it costs no distance, in either
  direction, and alias nodes and edges are part of the result.
* Deleted nodes (``deleted = true``, e.g. after a DROP) are neither returned nor crossed
  unless ``include_deleted`` is set; the start node is always returned.
* Traversal starts at the start node and stops at ``depth`` or after ``max_nodes`` nodes
  (then ``truncated`` is true); results are ordered by (distance, id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from olgraph.normalize.mutations import Mutation, PropValue
from olgraph.store.search import SearchPage, SearchQuery

if TYPE_CHECKING:
    from olgraph.store.detail_views import DatasetDetail, JobView, NodeDetails, RunDetail, VersionDetail
    from olgraph.store.listing import NodeFilter, Window

Direction = Literal["upstream", "downstream", "both"]
NodeType = Literal["dataset", "model", "job", "run", "column"]
Truncation = Literal["depth", "nodes"]
"""A limit that cut a traversal: the depth asked for, or the node cap."""


@dataclass(frozen=True, slots=True)
class NodeView:
    """A job or dataset as queries return it.

    ``type`` is ``model`` for datasets with the ``Model`` label. ``props`` holds the typed
    properties (``description``, ``datasetType``, ``processingType``, ``firstSeenAt``,
    ``lastSeenAt``…) but neither facet JSON nor internal bookkeeping.
    """

    id: str
    type: NodeType
    namespace: str
    name: str
    deleted: bool = False
    props: dict[str, PropValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EdgeView:
    """A lineage relationship: ``CONSUMED_BY``, ``PRODUCES`` or ``ALIAS_OF``."""

    source: str
    target: str
    type: str
    props: dict[str, PropValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LineageResult:
    """The lineage subgraph around a start node. ``nodes[0]`` is the start node.

    ``truncated_by`` names the limits that cut it (``truncated`` is true when any did);
    ``distances`` maps every returned node to its distance from the start.
    """

    nodes: list[NodeView]
    edges: list[EdgeView]
    truncated: bool
    truncated_by: tuple[Truncation, ...] = ()
    distances: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ColumnLineageResult:
    """Column lineage: ``lineage`` holds columns (and the datasets columns influence as a
    whole), its edges ``DERIVES``/``INFLUENCES``; ``datasets`` are the views of every dataset
    a returned column belongs to."""

    lineage: LineageResult
    datasets: dict[str, NodeView]


@dataclass(frozen=True, slots=True)
class ColumnEdges:
    """The column lineage among a set of datasets: their columns that take part, and the edges."""

    columns: list[NodeView]
    edges: list[EdgeView]


@dataclass(frozen=True, slots=True)
class ImpactItem:
    """One live node downstream of the impact root.

    ``last_run_at``/``last_run_state``: for a job, its most recent run (by the run's last
    event time); for a dataset or model, the most recent run that wrote it; for a column,
    that of its dataset. ``dataset``: a column's dataset (None for other nodes).
    """

    id: str
    type: NodeType
    namespace: str
    name: str
    distance: int
    owners: list[str]
    last_run_at: str | None
    last_run_state: str | None
    dataset: str | None = None


@dataclass(frozen=True, slots=True)
class ImpactResult:
    """Everything live downstream of ``root`` (not including it), ordered by (distance, id)."""

    root: NodeView
    affected: list[ImpactItem]
    truncated: bool
    truncated_by: tuple[Truncation, ...] = ()


@dataclass(frozen=True, slots=True)
class VersionRef:
    """A dataset version a run read or wrote."""

    dataset: str
    version: str
    version_id: str


StartSource = Literal["START", "firstEvent"]
"""Where a run's ``started_at`` comes from: its earliest START, or (no START) its earliest event."""


@dataclass(frozen=True, slots=True)
class RunView:
    """One run: state, times, hierarchy, what it read and wrote, and its facets (name → JSON).

    ``started_at`` is the earliest START eventTime, else the earliest eventTime of any of the
    run's events (``started_at_source`` says which); ``duration_ms`` is ``ended_at -
    started_at`` once the run ended. ``timeline``: (state, first time it was reported), by time.
    """

    run_id: str
    job: str | None
    state: str | None
    started_at: str | None
    ended_at: str | None
    updated_at: str | None
    parent_run_id: str | None
    inputs: list[VersionRef]
    outputs: list[VersionRef]
    facets: dict[str, Any]
    started_at_source: StartSource | None = None
    duration_ms: int | None = None
    root_run_id: str | None = None
    nominal_start_time: str | None = None
    nominal_end_time: str | None = None
    error_message: str | None = None
    timeline: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class VersionView:
    """One version of a dataset. ``schema``: the columns it was written with (``name``,
    ``type``, ``description`` each), empty when the producer sent no schema with it."""

    id: str
    version: str
    created_at: str | None
    run_id: str | None
    implicit: bool
    props: dict[str, PropValue] = field(default_factory=dict)
    schema: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing; ``total`` counts every match, not just this page."""

    items: list[Any]
    total: int


@dataclass(frozen=True, slots=True)
class GraphDump:
    """The whole graph in canonical form, for tests that compare stores or arrival orders.

    ``nodes`` maps key → (sorted labels, every stored property including ``_versions``);
    ``edges`` maps (type, source key, target key) → properties.
    """

    nodes: dict[str, tuple[tuple[str, ...], dict[str, PropValue]]]
    edges: dict[tuple[str, str, str], dict[str, PropValue]]


@runtime_checkable
class GraphStore(Protocol):
    """Where the graph lives. Every method is safe to call concurrently.

    Example::

        store = EmbeddedStore(path)
        await store.open()
        await store.apply(normalize(event))
        result = await store.lineage("dataset:db:orders", "downstream", depth=5, max_nodes=1000)
    """

    async def open(self) -> None:
        """Connect and apply constraints/indexes idempotently (``schemas/``)."""

    async def close(self) -> None:
        """Release connections."""

    async def ping(self) -> None:
        """Raise :class:`~olgraph.errors.StoreUnavailable` when the store cannot be reached."""

    async def apply(self, mutations: Sequence[Mutation]) -> None:
        """Apply one batch atomically: all of it or none. Idempotent and order independent."""

    async def get_node(self, key: str) -> NodeView | None:
        """The job or dataset with this key, deleted or not."""

    async def lineage(
        self,
        key: str,
        direction: Direction,
        depth: int,
        max_nodes: int,
        include_deleted: bool = False,
        *,
        as_of: str | None = None,
    ) -> LineageResult:
        """The lineage subgraph around ``key`` (which must exist), as it stood at ``as_of`` if given."""

    async def impact(self, key: str, depth: int, max_nodes: int, *, as_of: str | None = None) -> ImpactResult:
        """Every live dataset, model and job downstream of ``key`` (which must exist)."""

    async def connected(self, key: str, depth: int, max_nodes: int) -> LineageResult:
        """Live jobs and datasets linked to ``key`` (which must exist) through jobs' inputs and
        outputs, each ``CONSUMED_BY``/``PRODUCES`` followed in either direction, at most
        ``depth`` of them away: jobs sharing a dataset are two apart whichever way data flows
        (Marquez's notion of lineage). No symlinks, no ``FEEDS``."""

    async def column_lineage(
        self,
        key: str,
        direction: Direction,
        depth: int,
        max_nodes: int,
        include_deleted: bool = False,
        *,
        as_of: str | None = None,
    ) -> ColumnLineageResult:
        """Column lineage around a column, or around every column of a dataset (``key``, which must exist)."""

    async def column_impact(
        self, key: str, depth: int, max_nodes: int, *, as_of: str | None = None
    ) -> ImpactResult:
        """Every live column, dataset and job downstream of the column ``key`` (which must exist)."""

    async def column_edges(self, datasets: Sequence[str]) -> ColumnEdges:
        """The ``DERIVES``/``INFLUENCES`` edges between columns of ``datasets`` (and into them)."""

    async def search(self, query: SearchQuery) -> SearchPage:
        """Datasets, models, jobs, columns and namespaces whose name contains ``query.text``,
        ranked exact, prefix, substring (see :mod:`olgraph.store.search`)."""

    async def list_namespaces(
        self, limit: int, offset: int, *, include_deleted: bool = False, after: tuple[str, str] | None = None
    ) -> Page:
        """Namespace names (``Page.items``: ``str``), sorted; ``after``: (name, key) keyset position."""

    async def get_namespaces(self, names: Sequence[str]) -> dict[str, dict[str, PropValue]]:
        """The namespaces among ``names`` that exist (deleted or not): name → their properties
        (``firstSeenAt``, ``lastSeenAt``, ``deleted``…)."""

    async def list_datasets(self, namespace: str, limit: int, offset: int) -> Page:
        """Live datasets and models of a namespace (``NodeView``), sorted by name."""

    async def list_jobs(self, namespace: str, limit: int, offset: int) -> Page:
        """Live jobs of a namespace (``NodeView``), sorted by name."""

    async def list_nodes(self, flt: NodeFilter, window: Window) -> Page:
        """Datasets, models or jobs (``NodeView``) matching ``flt``, in ``window.order`` (by
        default (name, key)); nodes without the sort value last, in both directions."""

    async def list_tags(self, limit: int, offset: int) -> Page:
        """Tags (``TagCount``) by key, with how many datasets and jobs carry each."""

    async def list_runs(self, job_key: str, limit: int, offset: int, state: str | None = None) -> Page:
        """Runs of a job (``RunView``), newest first by their start, then run id; ``state`` filters."""

    async def get_run(self, run_id: str) -> RunView | None:
        """One run by its OpenLineage runId."""

    async def get_run_detail(self, run_id: str) -> RunDetail | None:
        """One run in full: facets of each read and write, parent, root, children count, tags."""

    async def list_child_runs(self, run_id: str, limit: int, offset: int) -> Page:
        """Runs whose parent is ``run_id`` (``RunSummary``), newest first."""

    async def get_job(self, key: str) -> JobView | None:
        """One job in full: facets, owners, tags, parent and children, lineage, latest run, run stats."""

    async def get_dataset(self, key: str) -> DatasetDetail | None:
        """One dataset or model in full, with its newest versions."""

    async def get_details(self, jobs: Sequence[str], datasets: Sequence[str], runs: int) -> NodeDetails:
        """Many jobs and datasets as a lineage graph's nodes show them, in one read, with each
        job's ``runs`` newest runs in full and the datasets those runs touched.

        Jobs and datasets are read as :meth:`get_job`/:meth:`get_dataset` would, but only with
        the neighbours :data:`~olgraph.store.details.GRAPH_JOB_SPECS` and
        :data:`~olgraph.store.details.GRAPH_DATASET_SPECS` name (a graph of hundreds of nodes
        would otherwise read every column, version and link of each)."""

    async def list_versions(self, key: str, limit: int, offset: int) -> Page:
        """Versions of a dataset (``VersionView``), newest first."""

    async def get_version(self, dataset: str, version: str) -> VersionDetail | None:
        """One version of a dataset with its provenance (writer, the versions it read, readers)."""

    async def external_dependents(self, namespace: str, limit: int) -> list[NodeView]:
        """Live nodes outside ``namespace`` that a live dataset or job of it feeds directly
        (what a namespace delete would break), by key, at most ``limit``."""

    async def purge(self, keys: Sequence[str]) -> int:
        """Remove datasets, jobs and namespaces for good, with a dataset's versions and columns and
        a job's runs, in one transaction; return how many nodes went."""

    async def expire_runs(
        self, cutoff: str, after: str, limit: int, dry_run: bool = False
    ) -> tuple[int, str | None]:
        """Retention, one batch: of the ``limit`` runs after key ``after``, remove those
        :mod:`olgraph.store.retention` says; ``(removed, last key looked at or None at the end)``."""

    async def expire_versions(
        self, cutoff: str, after: str, limit: int, dry_run: bool = False
    ) -> tuple[int, str | None]:
        """Retention, one batch of dataset versions (as :meth:`expire_runs`)."""

    async def dump(self) -> GraphDump:
        """The whole graph, canonical (tests only; do not call on large graphs)."""
