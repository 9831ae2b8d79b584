"""The shapes of the detail answers: a job, a run, a dataset and one of its versions.

Stores build them with :mod:`olgraph.store.details` from the same raw neighbourhoods, so
both answer alike. Facets are ``{name: parsed JSON}``; times are stored time strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from olgraph.normalize.mutations import PropValue
from olgraph.store.base import NodeView, RunView, VersionRef, VersionView


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run in a list or a reference: who, state, when, how long."""

    run_id: str
    job: str | None
    state: str | None
    started_at: str | None
    ended_at: str | None
    duration_ms: int | None


@dataclass(frozen=True, slots=True)
class LinkView:
    """A job or dataset linked by lineage, with what the link says.

    ``declared``: design-time lineage (a JobEvent, a ``lineage`` facet); ``observed``: seen in
    a run. ``facets``: the link's input or output facets (latest event wins).
    """

    node: NodeView
    declared: bool
    observed: bool
    first_seen_at: str | None
    last_seen_at: str | None
    facets: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunStats:
    """Every run of a job, summed up. ``failure_rate`` = FAIL / runs in a terminal state."""

    total: int
    by_state: dict[str, int]
    failure_rate: float | None
    last_run_at: str | None
    last_success_at: str | None
    last_failure_at: str | None


@dataclass(frozen=True, slots=True)
class TagView:
    """A tag on a node (``field``: the column it is on, for a field-level tag)."""

    key: str
    value: str
    field: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class JobView:
    """One job: its typed properties and facets, people, hierarchy, lineage and runs."""

    node: NodeView
    facets: dict[str, Any]
    owners: list[str]
    tags: list[TagView]
    parent: NodeView | None
    children: list[NodeView]
    children_total: int
    latest_run: RunSummary | None
    inputs: list[LinkView]
    outputs: list[LinkView]
    run_stats: RunStats


@dataclass(frozen=True, slots=True)
class VersionIO:
    """A dataset version a run read or wrote, with that read's or write's facets."""

    ref: VersionRef
    facets: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RunDetail:
    """One run in full: :class:`RunView` plus its hierarchy and the facets of each read and write."""

    run: RunView
    inputs: list[VersionIO]
    outputs: list[VersionIO]
    parent: RunSummary | None
    root: RunSummary | None
    child_count: int
    tags: list[TagView]


@dataclass(frozen=True, slots=True)
class SchemaColumn:
    """One column of a schema (nested columns as dotted paths)."""

    name: str
    type: str | None
    description: str | None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Statistics:
    """A dataset's latest ``outputStatistics``: those of its newest version."""

    version: str
    at: str | None
    row_count: int | None
    size: int | None
    file_count: int | None


@dataclass(frozen=True, slots=True)
class Quality:
    """The newest data-quality facets a run gave for a dataset (as an input), or its own."""

    at: str | None
    job: str | None
    metrics: dict[str, Any] | None
    assertions: list[Any] | None


@dataclass(frozen=True, slots=True)
class DatasetDetail:
    """One dataset or model in full."""

    node: NodeView
    facets: dict[str, Any]
    fields: list[str]
    schema: list[SchemaColumn]
    owners: list[str]
    tags: list[TagView]
    aliases: list[str]
    producers: list[LinkView]
    consumers: list[LinkView]
    statistics: Statistics | None
    quality: Quality | None
    versions: list[VersionView]
    version_count: int


@dataclass(frozen=True, slots=True)
class ReaderView:
    """A run that read a dataset version: when, and that read's input facets."""

    run: RunSummary
    at: str | None
    facets: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VersionDetail:
    """One dataset version and its provenance: the run that wrote it (with the versions that
    run read) and the runs that read it."""

    version: VersionView
    dataset: NodeView
    schema: list[SchemaColumn]
    writer: RunSummary | None
    writer_facets: dict[str, Any]
    writer_inputs: list[VersionRef]
    readers: list[ReaderView]
    readers_total: int


@dataclass(frozen=True, slots=True)
class TagCount:
    """A tag and how many datasets and jobs carry it."""

    key: str
    value: str
    datasets: int
    jobs: int


PropMap = dict[str, PropValue]


@dataclass(frozen=True, slots=True)
class NodeDetails:
    """Many jobs and datasets as lineage graph nodes, read together
    (:meth:`~olgraph.store.base.GraphStore.get_details`).

    ``jobs``/``datasets``: those of the asked keys that exist (deleted or not), with only the
    neighbours a graph node shows (``GRAPH_JOB_SPECS``, ``GRAPH_DATASET_SPECS`` of
    :mod:`olgraph.store.details`); ``latest_runs``:
    each found job's newest runs in full, newest first; ``nodes``: the datasets those runs read
    or wrote (so their names need no further read).
    """

    jobs: dict[str, JobView]
    datasets: dict[str, DatasetDetail]
    latest_runs: dict[str, list[RunDetail]]
    nodes: dict[str, NodeView]
