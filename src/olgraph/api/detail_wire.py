"""The wire shapes of the detail answers: a job, a run, a dataset, a version, a schema diff, tags."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from olgraph.api.wire import NodeOut, RunOut, VersionRefOut, WireModel, extras, node_out, ref_out, run_out
from olgraph.store.base import VersionView
from olgraph.store.detail_views import (
    DatasetDetail,
    JobView,
    LinkView,
    Quality,
    RunDetail,
    RunStats,
    RunSummary,
    SchemaColumn,
    Statistics,
    TagCount,
    TagView,
    VersionDetail,
    VersionIO,
)


class RunSummaryOut(WireModel):
    """A run in a list or a reference."""

    run_id: str
    job: str | None
    state: str | None
    started_at: str | None
    ended_at: str | None
    duration_ms: int | None


class LinkOut(NodeOut):
    """A job or dataset linked by lineage: ``declared`` (design-time) and/or ``observed`` (in a run);
    ``facets``: the link's input or output facets (latest event wins)."""

    declared: bool
    observed: bool
    first_seen_at: str | None
    last_seen_at: str | None
    facets: dict[str, Any]


class RunStatsOut(WireModel):
    """Every run of a job summed up; ``failureRate`` = FAIL / runs in a terminal state."""

    total: int
    by_state: dict[str, int]
    failure_rate: float | None
    last_run_at: str | None
    last_success_at: str | None
    last_failure_at: str | None


class TagOut(WireModel):
    """A tag; ``field`` names the column of a field-level tag."""

    key: str
    value: str
    field: str | None
    source: str | None


class JobOut(NodeOut):
    """One job: facets, owners, tags, parent and children, declared and observed lineage, runs."""

    facets: dict[str, Any]
    owners: list[str]
    tags: list[TagOut]
    parent: NodeOut | None
    children: list[NodeOut] = Field(description="Jobs whose runs name this job as their parent (first 100)")
    children_total: int
    latest_run: RunSummaryOut | None
    inputs: list[LinkOut] = Field(description="Datasets it reads, and jobs that feed it (FEEDS)")
    outputs: list[LinkOut] = Field(description="Datasets it writes, and jobs it feeds (FEEDS)")
    run_stats: RunStatsOut


class VersionIOOut(VersionRefOut):
    """A dataset version a run read or wrote, with that read's or write's facets."""

    facets: dict[str, Any]


class RunDetailOut(RunOut):
    """One run in full: parent and root, child count, tags, and the facets of each read and write
    (data-quality metrics and assertions, statistics)."""

    inputs: list[VersionIOOut]  # type: ignore[assignment]
    outputs: list[VersionIOOut]  # type: ignore[assignment]
    parent: RunSummaryOut | None
    root: RunSummaryOut | None
    child_count: int
    tags: list[TagOut]


class SchemaColumnOut(WireModel):
    """A column of a schema (nested columns dotted) and its field-level tags."""

    name: str
    type: str | None
    description: str | None
    tags: list[str]


class VersionOut(WireModel):
    """One dataset version; its statistics (``rowCount``…) appear as extra fields; ``schema``: the
    columns it was written with (empty when the producer sent no schema with it)."""

    model_config = ConfigDict(extra="allow")
    id: str
    version: str
    created_at: str | None
    run_id: str | None
    implicit: bool
    fields: list[str]
    schema_: list[SchemaColumnOut] = Field(alias="schema")


class StatisticsOut(WireModel):
    """The newest version's output statistics."""

    version: str
    at: str | None
    row_count: int | None
    size: int | None
    file_count: int | None


class QualityOut(WireModel):
    """The newest data-quality facets a run gave for the dataset (``job``: whose), or its own."""

    at: str | None
    job: str | None
    metrics: dict[str, Any] | None
    assertions: list[Any] | None


class DatasetOut(NodeOut):
    """One dataset or model: current schema, owners, tags, producers and consumers, statistics,
    quality, and its newest versions (all of them: ``/api/v1/datasets/versions``)."""

    facets: dict[str, Any]
    fields: list[str]
    schema_: list[SchemaColumnOut] = Field(alias="schema")
    owners: list[str]
    tags: list[str]
    field_tags: dict[str, list[str]]
    aliases: list[str]
    producers: list[LinkOut]
    consumers: list[LinkOut]
    statistics: StatisticsOut | None
    quality: QualityOut | None
    version_count: int
    versions: list[VersionOut]


class WriterOut(RunSummaryOut):
    """The run that wrote a version, with that write's output facets."""

    facets: dict[str, Any]


class ReaderOut(RunSummaryOut):
    """A run that read a version: when, and that read's input facets."""

    at: str | None
    facets: dict[str, Any]


class VersionDetailOut(VersionOut):
    """One version and its provenance: the run that wrote it, the versions that run read, the
    runs that read it (first 100; ``readersTotal`` counts all)."""

    dataset: str
    writer: WriterOut | None
    writer_inputs: list[VersionRefOut]
    readers: list[ReaderOut]
    readers_total: int


class ColumnTypeOut(WireModel):
    """A column and its type, in a schema diff."""

    name: str
    type: str | None


class ChangedColumnOut(WireModel):
    """A column whose type changed between two versions."""

    name: str
    from_type: str | None
    to_type: str | None


class DiffOut(WireModel):
    """How the schema changed from version ``from`` to version ``to``."""

    dataset: str
    from_: str = Field(alias="from")
    to: str
    added: list[ColumnTypeOut]
    removed: list[ColumnTypeOut]
    changed: list[ChangedColumnOut]


class TagCountOut(WireModel):
    """A tag and how many datasets and jobs carry it."""

    tag: str
    key: str
    value: str
    datasets: int
    jobs: int


# ---------------------------------------------------------------- builders


def summary_out(run: RunSummary) -> RunSummaryOut:
    """The wire shape of a run summary."""
    return RunSummaryOut(
        run_id=run.run_id,
        job=run.job,
        state=run.state,
        started_at=run.started_at,
        ended_at=run.ended_at,
        duration_ms=run.duration_ms,
    )


def _link_out(link: LinkView) -> LinkOut:
    base = node_out(link.node).model_dump(by_alias=False)
    return LinkOut(
        **base,
        declared=link.declared,
        observed=link.observed,
        first_seen_at=link.first_seen_at,
        last_seen_at=link.last_seen_at,
        facets=link.facets,
    )


def _tag_out(tag: TagView) -> TagOut:
    return TagOut(key=tag.key, value=tag.value, field=tag.field, source=tag.source)


def _stats_out(stats: RunStats) -> RunStatsOut:
    return RunStatsOut(
        total=stats.total,
        by_state=stats.by_state,
        failure_rate=stats.failure_rate,
        last_run_at=stats.last_run_at,
        last_success_at=stats.last_success_at,
        last_failure_at=stats.last_failure_at,
    )


def job_out(view: JobView) -> JobOut:
    """The wire shape of a job's detail."""
    node = view.node
    return JobOut(
        id=node.id,
        type=node.type,
        namespace=node.namespace,
        name=node.name,
        deleted=node.deleted,
        facets=view.facets,
        owners=view.owners,
        tags=[_tag_out(t) for t in view.tags],
        parent=node_out(view.parent) if view.parent is not None else None,
        children=[node_out(c) for c in view.children],
        children_total=view.children_total,
        latest_run=summary_out(view.latest_run) if view.latest_run is not None else None,
        inputs=[_link_out(link) for link in view.inputs],
        outputs=[_link_out(link) for link in view.outputs],
        run_stats=_stats_out(view.run_stats),
        **extras(node.props, JobOut),
    )


def _io_out(io: VersionIO) -> VersionIOOut:
    return VersionIOOut(
        dataset=io.ref.dataset, version=io.ref.version, version_id=io.ref.version_id, facets=io.facets
    )


def run_detail_out(detail: RunDetail) -> RunDetailOut:
    """The wire shape of a run's detail."""
    base = run_out(detail.run).model_dump(by_alias=False, exclude={"inputs", "outputs"})
    return RunDetailOut(
        **base,
        inputs=[_io_out(i) for i in detail.inputs],
        outputs=[_io_out(o) for o in detail.outputs],
        parent=summary_out(detail.parent) if detail.parent is not None else None,
        root=summary_out(detail.root) if detail.root is not None else None,
        child_count=detail.child_count,
        tags=[_tag_out(t) for t in detail.tags],
    )


def _column_out(column: SchemaColumn) -> SchemaColumnOut:
    return SchemaColumnOut(
        name=column.name, type=column.type, description=column.description, tags=column.tags
    )


def _schema_columns(schema: list[dict[str, Any]]) -> list[SchemaColumnOut]:
    return [
        SchemaColumnOut(name=c["name"], type=c["type"], description=c["description"], tags=[]) for c in schema
    ]


def version_out(version: VersionView) -> VersionOut:
    """The wire shape of a dataset version."""
    return VersionOut(
        id=version.id,
        version=version.version,
        created_at=version.created_at,
        run_id=version.run_id,
        implicit=version.implicit,
        fields=sorted({c["name"] for c in version.schema}),
        schema=_schema_columns(version.schema),
        **extras(version.props, VersionOut),
    )


def _statistics_out(stats: Statistics | None) -> StatisticsOut | None:
    if stats is None:
        return None
    return StatisticsOut(
        version=stats.version,
        at=stats.at,
        row_count=stats.row_count,
        size=stats.size,
        file_count=stats.file_count,
    )


def _quality_out(quality: Quality | None) -> QualityOut | None:
    if quality is None:
        return None
    return QualityOut(at=quality.at, job=quality.job, metrics=quality.metrics, assertions=quality.assertions)


def dataset_out(view: DatasetDetail) -> DatasetOut:
    """The wire shape of a dataset's detail."""
    node = view.node
    field_tags: dict[str, list[str]] = {}
    for tag in view.tags:
        if tag.field is not None:
            field_tags.setdefault(tag.field, []).append(f"{tag.key}={tag.value}")
    return DatasetOut(
        id=node.id,
        type=node.type,
        namespace=node.namespace,
        name=node.name,
        deleted=node.deleted,
        facets=view.facets,
        fields=view.fields,
        schema=[_column_out(c) for c in view.schema],
        owners=view.owners,
        tags=sorted({f"{t.key}={t.value}" for t in view.tags if t.field is None}),
        field_tags={k: sorted(set(v)) for k, v in sorted(field_tags.items())},
        aliases=view.aliases,
        producers=[_link_out(link) for link in view.producers],
        consumers=[_link_out(link) for link in view.consumers],
        statistics=_statistics_out(view.statistics),
        quality=_quality_out(view.quality),
        version_count=view.version_count,
        versions=[version_out(v) for v in view.versions],
        **extras(node.props, DatasetOut),
    )


def version_detail_out(detail: VersionDetail) -> VersionDetailOut:
    """The wire shape of a version's detail."""
    base = version_out(detail.version).model_dump(by_alias=True)
    writer = None
    if detail.writer is not None:
        writer = WriterOut(
            **summary_out(detail.writer).model_dump(by_alias=False), facets=detail.writer_facets
        )
    return VersionDetailOut(
        **base,
        dataset=detail.dataset.id,
        writer=writer,
        writer_inputs=[ref_out(r) for r in detail.writer_inputs],
        readers=[
            ReaderOut(**summary_out(r.run).model_dump(by_alias=False), at=r.at, facets=r.facets)
            for r in detail.readers
        ],
        readers_total=detail.readers_total,
    )


def tag_count_out(tag: TagCount) -> TagCountOut:
    """The wire shape of a tag with its counts."""
    return TagCountOut(
        tag=f"{tag.key}={tag.value}", key=tag.key, value=tag.value, datasets=tag.datasets, jobs=tag.jobs
    )
