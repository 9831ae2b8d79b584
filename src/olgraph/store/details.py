"""Detail answers (job, run, dataset, dataset version), assembled from raw neighbourhoods (pure).

A store answers a detail question by fetching one node and, per :class:`NeighbourSpec`, its
neighbours over one relationship type and direction (ordered and limited as the spec says,
with the total count) — one statement on Neo4j, one query per spec on SQLite, all in one read
transaction. Everything else — which facts come from where, which run is latest, what the
current schema and statistics are — is decided here, once, for both stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from olgraph.normalize.mutations import PropValue, RelType
from olgraph.store import common
from olgraph.store.base import NodeView, VersionRef
from olgraph.store.detail_views import (
    DatasetDetail,
    JobView,
    LinkView,
    Quality,
    ReaderView,
    RunDetail,
    RunStats,
    RunSummary,
    SchemaColumn,
    Statistics,
    TagView,
    VersionDetail,
    VersionIO,
)
from olgraph.store.merge import VERSIONS_PROP

RUN_START = ("startedAt", "firstSeenAt", "updatedAt")
"""Properties whose first present value orders runs (newest first), as ``list_runs`` does."""

DETAIL_LIST_LIMIT = 100
"""Most neighbours of one kind a detail lists (children, readers); the count is always exact."""

VERSIONS_IN_DETAIL = 20
"""Versions a dataset's detail lists (newest first); all of them are paged separately."""


@dataclass(frozen=True, slots=True)
class NeighbourSpec:
    """Which neighbours to fetch: over ``rel`` (incoming or outgoing), newest first by the first
    present of the ``order`` properties (ties by key), at most ``limit``.

    ``facets``: whether the neighbours' facet JSON properties are needed. No view shows a
    neighbour's facets except a version's schema, and they are most of a node's bytes (a
    dataset's schema and column lineage, a job's SQL), so a store may leave them out otherwise.
    """

    name: str
    rel: str
    incoming: bool
    order: tuple[str, ...] = ()
    limit: int | None = None
    facets: bool = False


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One neighbour as stored: its key, labels and props, and the relationship's props."""

    key: str
    labels: frozenset[str]
    props: dict[str, PropValue]
    edge: dict[str, PropValue]


@dataclass(slots=True)
class Neighbourhood:
    """A node as stored, and its neighbours and their counts by spec name."""

    key: str
    labels: frozenset[str]
    props: dict[str, PropValue]
    found: dict[str, list[Neighbour]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def of(self, name: str) -> list[Neighbour]:
        """The neighbours fetched for spec ``name``."""
        return self.found.get(name, [])


def clean(props: Mapping[str, Any]) -> dict[str, PropValue]:
    """Stored props without bookkeeping and nulls."""
    return {k: v for k, v in props.items() if k != VERSIONS_PROP and v is not None}


R = RelType
JOB_SPECS = (
    NeighbourSpec("owners", R.OWNS.value, incoming=True),
    NeighbourSpec("tags", R.TAGGED.value, incoming=False),
    NeighbourSpec("parent", R.CHILD_OF.value, incoming=False, limit=1),
    NeighbourSpec(
        "children", R.CHILD_OF.value, incoming=True, order=("lastSeenAt",), limit=DETAIL_LIST_LIMIT
    ),
    NeighbourSpec("inputs", R.CONSUMED_BY.value, incoming=True),
    NeighbourSpec("outputs", R.PRODUCES.value, incoming=False),
    NeighbourSpec("fed_by", R.FEEDS.value, incoming=True),
    NeighbourSpec("feeds", R.FEEDS.value, incoming=False),
    NeighbourSpec("latest_run", R.RUN_OF.value, incoming=True, order=RUN_START, limit=1),
)
DATASET_SPECS = (
    NeighbourSpec("fields", R.HAS_FIELD.value, incoming=False),
    NeighbourSpec("owners", R.OWNS.value, incoming=True),
    NeighbourSpec("tags", R.TAGGED.value, incoming=False),
    NeighbourSpec("alias_out", R.ALIAS_OF.value, incoming=False),
    NeighbourSpec("alias_in", R.ALIAS_OF.value, incoming=True),
    NeighbourSpec("producers", R.PRODUCES.value, incoming=True),
    NeighbourSpec("consumers", R.CONSUMED_BY.value, incoming=False),
    NeighbourSpec(
        "versions",
        R.VERSION_OF.value,
        incoming=True,
        order=("createdAt",),
        limit=VERSIONS_IN_DETAIL,
        facets=True,  # a version's schema
    ),
)
RUN_SPECS = (
    NeighbourSpec("job", R.RUN_OF.value, incoming=False, limit=1),
    NeighbourSpec("inputs", R.READ_BY.value, incoming=True),
    NeighbourSpec("outputs", R.WROTE.value, incoming=False),
    NeighbourSpec("parent", R.CHILD_OF.value, incoming=False, limit=1),
    NeighbourSpec("children", R.CHILD_OF.value, incoming=True, limit=0),
    NeighbourSpec("tags", R.TAGGED.value, incoming=False),
)
VERSION_SPECS = (
    NeighbourSpec("dataset", R.VERSION_OF.value, incoming=False, limit=1),
    NeighbourSpec("writers", R.WROTE.value, incoming=True, order=RUN_START),
    NeighbourSpec("readers", R.READ_BY.value, incoming=False, order=RUN_START, limit=DETAIL_LIST_LIMIT),
)
WRITER_INPUT_SPECS = (NeighbourSpec("inputs", R.READ_BY.value, incoming=True),)
GRAPH_JOB_SPECS = tuple(spec for spec in JOB_SPECS if spec.name in ("parent", "inputs", "outputs"))
"""What a job node of a lineage graph shows besides its own props: its parent (its name depends
on it), and its inputs and outputs. A :class:`JobView` built from these alone has no owners,
tags, children, job-to-job links, latest run or run statistics."""
GRAPH_DATASET_SPECS = tuple(spec for spec in DATASET_SPECS if spec.name == "tags")
"""What a dataset node of a lineage graph shows besides its own props (facets, schema): its
tags. A :class:`DatasetDetail` built from these alone has no columns, owners, aliases, links or
versions."""


# ---------------------------------------------------------------- small pieces


def _view(n: Neighbour) -> NodeView | None:
    return common.node_view(n.key, n.labels, n.props) if common.node_type(n.labels) is not None else None


def _views(neighbours: Iterable[Neighbour]) -> list[NodeView]:
    return sorted((v for n in neighbours if (v := _view(n)) is not None), key=lambda v: v.id)


def run_summary(key: str, props: Mapping[str, PropValue]) -> RunSummary:
    """The summary of a Run node."""
    started, _ = common.run_start(props)
    ended = _text(props.get("endedAt"))
    return RunSummary(
        run_id=str(props.get("runId") or key.removeprefix("run:")),
        job=_text(props.get("job")),
        state=_text(props.get("state")),
        started_at=started,
        ended_at=ended,
        duration_ms=common.duration_ms(started, ended),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _owners(hood: Neighbourhood) -> list[str]:
    return sorted({common.owner_name(n.key, n.props) for n in hood.of("owners")})


def tags_of(hood: Neighbourhood) -> list[TagView]:
    """A node's tags (from its TAGGED links), and the field-level ones of its tags facet."""
    tags = {
        (
            str(n.props.get("name", "")),
            str(n.props.get("value", "")),
            _text(n.edge.get("field")),
            _text(n.edge.get("source")),
        )
        for n in hood.of("tags")
    }
    facet = common.facets_from_props(hood.props).get("tags")
    for entry in (
        facet.get("tags", []) if isinstance(facet, dict) and isinstance(facet.get("tags"), list) else []
    ):
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("key"), str)
            and isinstance(entry.get("value"), str)
        ):
            tags.add((entry["key"], entry["value"], _text(entry.get("field")), _text(entry.get("source"))))
    unique: dict[tuple[str, str, str | None], TagView] = {}
    for key, value, field_name, source in sorted(tags, key=lambda t: (t[0], t[1], t[2] or "", t[3] or "")):
        unique.setdefault((key, value, field_name), TagView(key, value, field_name, source))
    return list(unique.values())


def _link(n: Neighbour, prefix: str) -> LinkView | None:
    view = _view(n)
    if view is None:
        return None
    return LinkView(
        node=view,
        declared=n.edge.get("static") is True,
        observed=n.edge.get("runtime") is True,
        first_seen_at=_text(n.edge.get("firstSeenAt")),
        last_seen_at=_text(n.edge.get("lastSeenAt")),
        facets=common.facets_from_props(n.edge, prefix),
    )


def _links(neighbours: Iterable[Neighbour], prefix: str) -> list[LinkView]:
    links = [link for n in neighbours if (link := _link(n, prefix)) is not None]
    return sorted(links, key=lambda link: link.node.id)


# ---------------------------------------------------------------- jobs


def run_stats(rows: Iterable[tuple[str | None, int, str | None, str | None]]) -> RunStats:
    """Sum up ``(state, runs, latest endedAt, latest start)`` rows, one per state."""
    by_state: dict[str, int] = {}
    ended: dict[str, str] = {}
    starts: list[str] = []
    for state, count, last_end, last_start in rows:
        name = state or "UNKNOWN"
        by_state[name] = by_state.get(name, 0) + count
        if last_end is not None:
            ended[name] = max(last_end, ended.get(name, last_end))
        if last_start is not None:
            starts.append(last_start)
    terminal = sum(by_state.get(s, 0) for s in ("COMPLETE", "FAIL", "ABORT"))
    failed = by_state.get("FAIL", 0)
    return RunStats(
        total=sum(by_state.values()),
        by_state=dict(sorted(by_state.items())),
        failure_rate=round(failed / terminal, 4) if terminal else None,
        last_run_at=max(starts) if starts else None,
        last_success_at=ended.get("COMPLETE"),
        last_failure_at=ended.get("FAIL"),
    )


def job_view(hood: Neighbourhood, stats: RunStats) -> JobView:
    """The :class:`JobView` of a job's neighbourhood (``JOB_SPECS``) and run statistics."""
    parents = _views(hood.of("parent"))
    latest = hood.of("latest_run")
    jobs_in = [link for link in _links(hood.of("fed_by"), "inputFacet.") if link.node.type == "job"]
    jobs_out = [link for link in _links(hood.of("feeds"), "outputFacet.") if link.node.type == "job"]
    return JobView(
        node=common.node_view(hood.key, hood.labels, hood.props),
        facets=common.facets_from_props(hood.props),
        owners=_owners(hood),
        tags=tags_of(hood),
        parent=parents[0] if parents else None,
        children=_views(hood.of("children")),
        children_total=hood.counts.get("children", 0),
        latest_run=run_summary(latest[0].key, latest[0].props) if latest else None,
        inputs=sorted([*_links(hood.of("inputs"), "inputFacet."), *jobs_in], key=lambda link: link.node.id),
        outputs=sorted(
            [*_links(hood.of("outputs"), "outputFacet."), *jobs_out], key=lambda link: link.node.id
        ),
        run_stats=stats,
    )


# ---------------------------------------------------------------- runs


def _version_io(neighbours: Iterable[Neighbour], prefix: str) -> list[VersionIO]:
    ios = [
        VersionIO(common.version_ref(n.key, n.props), common.facets_from_props(n.edge, prefix))
        for n in neighbours
    ]
    return sorted(ios, key=lambda io: (io.ref.dataset, io.ref.version_id))


def run_detail(hood: Neighbourhood, root: tuple[str, Mapping[str, PropValue]] | None) -> RunDetail:
    """The :class:`RunDetail` of a run's neighbourhood (``RUN_SPECS``); ``root``: its root run node."""
    jobs = hood.of("job")
    inputs = _version_io(hood.of("inputs"), "inputFacet.")
    outputs = _version_io(hood.of("outputs"), "outputFacet.")
    run = common.run_view(
        hood.props, jobs[0].key if jobs else None, [i.ref for i in inputs], [o.ref for o in outputs]
    )
    parents = hood.of("parent")
    return RunDetail(
        run=run,
        inputs=inputs,
        outputs=outputs,
        parent=run_summary(parents[0].key, parents[0].props) if parents else None,
        root=run_summary(*root) if root is not None else None,
        child_count=hood.counts.get("children", 0),
        tags=tags_of(hood),
    )


# ---------------------------------------------------------------- datasets


def schema_of(facets: Mapping[str, Any], tags: Sequence[TagView] = ()) -> list[SchemaColumn]:
    """The columns of a ``schema`` facet, with the field-level tags of each."""
    by_field: dict[str, list[str]] = {}
    for tag in tags:
        if tag.field is not None:
            by_field.setdefault(tag.field, []).append(f"{tag.key}={tag.value}")
    return [
        SchemaColumn(c["name"], c["type"], c["description"], sorted(by_field.get(c["name"], [])))
        for c in common.schema_columns(facets.get("schema"))
    ]


def statistics_of(versions: Sequence[Any]) -> Statistics | None:
    """The newest version's output statistics (None when it has none)."""
    for version in versions:
        if version.implicit:
            continue
        counts = {k: version.props.get(k) for k in ("rowCount", "size", "fileCount")}
        if all(v is None for v in counts.values()):
            return None
        return Statistics(
            version=version.version,
            at=version.created_at,
            row_count=_int(counts["rowCount"]),
            size=_int(counts["size"]),
            file_count=_int(counts["fileCount"]),
        )
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def quality_of(hood: Neighbourhood, facets: Mapping[str, Any]) -> Quality | None:
    """The newest data-quality input facets a consuming job's run gave, else the dataset's own."""
    best: tuple[str, str, Neighbour] | None = None
    for n in hood.of("consumers"):
        if "inputFacet.dataQualityMetrics" in n.edge or "inputFacet.dataQualityAssertions" in n.edge:
            candidate = (str(n.edge.get("lastSeenAt") or ""), n.key, n)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    if best is not None:
        edge_facets = common.facets_from_props(best[2].edge, "inputFacet.")
        return Quality(
            at=best[0] or None,
            job=best[1],
            metrics=edge_facets.get("dataQualityMetrics"),
            assertions=_assertions(edge_facets.get("dataQualityAssertions")),
        )
    if "dataQualityMetrics" in facets or "dataQualityAssertions" in facets:
        return Quality(
            at=None,
            job=None,
            metrics=facets.get("dataQualityMetrics"),
            assertions=_assertions(facets.get("dataQualityAssertions")),
        )
    return None


def _assertions(facet: Any) -> list[Any] | None:
    if isinstance(facet, dict) and isinstance(facet.get("assertions"), list):
        return list(facet["assertions"])
    return None


def dataset_detail(hood: Neighbourhood) -> DatasetDetail:
    """The :class:`DatasetDetail` of a dataset's neighbourhood (``DATASET_SPECS``)."""
    facets = common.facets_from_props(hood.props)
    tags = tags_of(hood)
    versions = common.sort_versions(common.version_view(n.key, n.props) for n in hood.of("versions"))
    names = [str(n.props.get("name", n.key)) for n in hood.of("fields")]
    aliases = sorted({n.key for n in (*hood.of("alias_out"), *hood.of("alias_in"))})
    schema = schema_of(facets, tags)
    return DatasetDetail(
        node=common.node_view(hood.key, hood.labels, hood.props),
        facets=facets,
        fields=common.current_fields([c.name for c in schema] if "schema" in facets else None, names),
        schema=schema,
        owners=_owners(hood),
        tags=tags,
        aliases=aliases,
        producers=_links(hood.of("producers"), "outputFacet."),
        consumers=_links(hood.of("consumers"), "inputFacet."),
        statistics=statistics_of(versions),
        quality=quality_of(hood, facets),
        versions=versions,
        version_count=hood.counts.get("versions", len(versions)),
    )


def version_detail(hood: Neighbourhood, writer_inputs: Iterable[Neighbour]) -> VersionDetail | None:
    """The :class:`VersionDetail` of a version's neighbourhood (``VERSION_SPECS``); ``writer_inputs``:
    the ``READ_BY`` neighbours of its (latest) writer run. None when it belongs to no dataset."""
    datasets = _views(hood.of("dataset"))
    if not datasets:
        return None
    writers = hood.of("writers")
    writer = writers[0] if writers else None
    facets = common.facets_from_props(hood.props)
    readers = [
        ReaderView(
            run_summary(n.key, n.props),
            _text(n.edge.get("at")),
            common.facets_from_props(n.edge, "inputFacet."),
        )
        for n in hood.of("readers")
    ]
    refs = [common.version_ref(n.key, n.props) for n in writer_inputs]
    return VersionDetail(
        version=common.version_view(hood.key, hood.props),
        dataset=datasets[0],
        schema=schema_of(facets),
        writer=run_summary(writer.key, writer.props) if writer else None,
        writer_facets=common.facets_from_props(writer.edge, "outputFacet.") if writer else {},
        writer_inputs=common.sort_version_refs(refs),
        readers=readers,
        readers_total=hood.counts.get("readers", len(readers)),
    )


def version_refs(neighbours: Iterable[Neighbour]) -> list[VersionRef]:
    """The version refs of ``VERSION_OF``/``READ_BY`` neighbours."""
    return common.sort_version_refs(common.version_ref(n.key, n.props) for n in neighbours)
