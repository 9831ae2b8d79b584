"""Marquez's JSON shapes built from olgraph's views (pure functions, no I/O).

Field names, enum values, time formats and ``null``s are Marquez 0.50.0's, since its clients
parse them. Where Marquez answers with an internal UUID that olgraph has no counterpart for
(job versions, a parent job's row id), a UUID derived from the olgraph key stands in: stable,
and the same on every call. Dataset versions keep olgraph's version strings, which round-trip
through the version routes. docs/migrating-from-marquez.md lists each difference.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from olgraph.store.base import ColumnLineageResult, NodeView, RunView, VersionView
from olgraph.store.detail_views import DatasetDetail, JobView, LinkView, SchemaColumn, VersionIO

Json = dict[str, Any]
DEFAULT_SOURCE = "default"
"""The source Marquez gives a dataset whose events carry no ``dataSource`` facet."""

RUN_STATES = {
    "START": "RUNNING",
    "RUNNING": "RUNNING",
    "COMPLETE": "COMPLETED",
    "FAIL": "FAILED",
    "ABORT": "ABORTED",
    "OTHER": "RUNNING",
}
"""OpenLineage event types → Marquez run states (Marquez takes anything else as RUNNING)."""

MARQUEZ_RUN_STATES = ("NEW", "RUNNING", "COMPLETED", "FAILED", "ABORTED")
_UUID_NAMESPACE = uuid.UUID("6f6c6772-6170-682d-6d61-7271757a0000")


def event_time(value: str) -> str:
    """A normalized event time as Marquez prints the ``eventTime`` of a stored event: UTC, as
    many fraction digits as the producer sent (trailing zeros dropped).

    >>> event_time("2024-06-18T06:52:21.640000000Z"), event_time("2024-01-01T00:00:00.000000000Z")
    ('2024-06-18T06:52:21.64Z', '2024-01-01T00:00:00Z')
    """
    base, _, fraction = value.rstrip("Z").partition(".")
    fraction = fraction.rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def stand_in_uuid(key: str) -> str:
    """A UUID standing in for a Marquez row id, derived from an olgraph key (stable).

    >>> stand_in_uuid("job:ns:a") == stand_in_uuid("job:ns:a")
    True
    """
    return str(uuid.uuid5(_UUID_NAMESPACE, key))


def instant(value: object) -> str | None:
    """An olgraph time as Java's ``Instant`` prints one read from PostgreSQL: microseconds at
    most, and as few fraction digits as show them (none, 3 or 6).

    >>> instant("2020-12-28T09:52:00.001000000Z"), instant("2024-01-01T00:00:00.000000000Z")
    ('2020-12-28T09:52:00.001Z', '2024-01-01T00:00:00Z')
    >>> instant("2021-11-03T10:53:52.427343500Z")
    '2021-11-03T10:53:52.427344Z'
    """
    if not isinstance(value, str) or not value:
        return None
    base, _, fraction = value.rstrip("Z").partition(".")
    nanos = int((fraction + "000000000")[:9])
    micros = (nanos + 500) // 1000
    if micros >= 1_000_000:  # rounding reached the next second: rare enough to do it the slow way
        return instant(_next_second(base) + ".000000000Z")
    if micros == 0:
        return f"{base}Z"
    if micros % 1000 == 0:
        return f"{base}.{micros // 1000:03d}Z"
    return f"{base}.{micros:06d}Z"


def _next_second(base: str) -> str:
    from datetime import datetime, timedelta  # noqa: PLC0415  (only on this rare path)

    moment = datetime.fromisoformat(base) + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def dataset_id(namespace: str, name: str) -> Json:
    """``{namespace, name}``: Marquez's DatasetId (and JobId)."""
    return {"namespace": namespace, "name": name}


def _text(props: Mapping[str, Any], name: str) -> str | None:
    value = props.get(name)
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------- namespaces


def namespace_out(name: str, props: Mapping[str, Any]) -> Json:
    """A Namespace: olgraph records no owner or description for namespaces."""
    return {
        "name": name,
        "createdAt": instant(props.get("firstSeenAt")),
        "updatedAt": instant(props.get("lastSeenAt")),
        "ownerName": "anonymous",
        "description": None,
        "isHidden": bool(props.get("deleted")),
    }


# ---------------------------------------------------------------- datasets


def source_name(node: NodeView, facets: Mapping[str, Any]) -> str:
    """The dataset's source: its ``dataSource`` facet's name, else ``default`` (as Marquez)."""
    del node  # Marquez does not fall back on the namespace
    source = facets.get("dataSource")
    if isinstance(source, dict) and isinstance(source.get("name"), str) and source["name"]:
        return str(source["name"])
    return DEFAULT_SOURCE


def fields_out(columns: Iterable[SchemaColumn]) -> list[Json]:
    """Marquez's fields: ``{name, type, tags, description}``."""
    return [
        {"name": c.name, "type": c.type, "tags": list(c.tags), "description": c.description} for c in columns
    ]


def version_fields_out(schema: Iterable[Mapping[str, Any]]) -> list[Json]:
    """The fields of one version's schema (``name``, ``type``, ``description`` each)."""
    return [
        {"name": c.get("name"), "type": c.get("type"), "tags": [], "description": c.get("description")}
        for c in schema
    ]


def lifecycle_state(props: Mapping[str, Any]) -> str:
    """The last lifecycle state change; Marquez answers an empty string when there was none."""
    return _text(props, "lifecycleState") or ""


def dataset_tags(view: DatasetDetail) -> list[str]:
    """Dataset-level tags, as Marquez's tag names (``key`` or ``key=value``)."""
    return sorted({tag_name(t.key, t.value) for t in view.tags if t.field is None})


def tag_name(key: str, value: str) -> str:
    """An OpenLineage tag (key, value) as one Marquez tag name: the key alone when the value
    says nothing more (empty or ``true``)."""
    return key if value in ("", "true") else f"{key}={value}"


def dataset_data(view: DatasetDetail) -> Json:
    """Marquez's DatasetData: what a lineage graph's dataset node carries."""
    node = view.node
    return {
        "id": dataset_id(node.namespace, node.name),
        "type": "DB_TABLE",
        "name": node.name,
        "physicalName": node.name,
        "createdAt": instant(node.props.get("firstSeenAt")),
        "updatedAt": instant(node.props.get("lastSeenAt")),
        "namespace": node.namespace,
        "sourceName": source_name(node, view.facets),
        "fields": fields_out(view.schema),
        "tags": dataset_tags(view),
        "lastModifiedAt": instant(node.props.get("lastModifiedAt")),
        "description": _text(node.props, "description"),
        "lastLifecycleState": lifecycle_state(node.props),
    }


LEGACY_TYPES = {("DIRECT", "IDENTITY", False): "IDENTITY", ("DIRECT", "TRANSFORMATION", True): "MASKED"}
"""olgraph's record of the deprecated per-column transformation types, back to Marquez's names."""


def legacy_transformation(details: Any) -> tuple[str | None, str | None]:
    """(transformationType, transformationDescription) as Marquez keeps them: the deprecated
    per-column values, which olgraph recorded as ``DIRECT/IDENTITY`` or masked ``DIRECT/TRANSFORMATION``
    (one JSON text per transformation in the edge's ``transformationDetails``).

    >>> legacy_transformation(['{"type":"DIRECT","subtype":"IDENTITY","masking":false,"description":"id"}'])
    ('IDENTITY', 'id')
    """
    if not isinstance(details, list) or len(details) != 1:
        return None, None
    only = details[0]
    if isinstance(only, str):
        try:
            only = json.loads(only)
        except ValueError:
            return None, None
    if not isinstance(only, dict):
        return None, None
    legacy = LEGACY_TYPES.get((str(only.get("type")), str(only.get("subtype")), bool(only.get("masking"))))
    description = only.get("description")
    return legacy, description if legacy and isinstance(description, str) else None


def column_lineage_out(dataset: str, found: ColumnLineageResult) -> list[Json] | None:
    """Marquez's ``columnLineage`` of ``dataset``: each of its columns that other columns flow
    into, with those input columns (None when there are none). ``found``: the store's column
    lineage one step upstream of the dataset."""
    columns = {n.id: n for n in found.lineage.nodes if n.type == "column"}
    inputs: dict[str, list[Json]] = {}
    kinds: dict[str, tuple[str | None, str | None]] = {}
    for edge in sorted(found.lineage.edges, key=lambda e: (e.target, e.source)):
        target, source = columns.get(edge.target), columns.get(edge.source)
        if target is None or source is None or target.props.get("dataset") != dataset:
            continue
        source_dataset = found.datasets.get(str(source.props.get("dataset")))
        if source_dataset is None:
            continue
        kind, description = legacy_transformation(edge.props.get("transformationDetails"))
        kinds.setdefault(target.name, (kind, description))
        inputs.setdefault(target.name, []).append(
            {
                "namespace": source_dataset.namespace,
                "dataset": source_dataset.name,
                "field": source.name,
                "transformationDescription": description,
                "transformationType": kind,
            }
        )
    if not inputs:
        return None
    return [
        {
            "name": column,
            "inputFields": sorted(refs, key=lambda r: (r["namespace"], r["dataset"], r["field"])),
            "transformationDescription": kinds[column][1],
            "transformationType": kinds[column][0],
        }
        for column, refs in sorted(inputs.items())
    ]


def dataset_out(view: DatasetDetail, column_lineage: list[Json] | None = None) -> Json:
    """A Dataset as ``GET /namespaces/{ns}/datasets/{name}`` and the listing answer it: the
    lineage node's DatasetData with the current version, column lineage, facets and state."""
    return {
        **dataset_data(view),
        "currentVersion": view.versions[0].version if view.versions else None,
        "columnLineage": column_lineage,
        "facets": dict(view.facets),
        "deleted": view.node.deleted,
    }


def dataset_version_out(
    dataset: DatasetDetail, version: VersionView, created_by: Json | None, facets: Mapping[str, Any]
) -> Json:
    """A DatasetVersion: the dataset as one version wrote it, with the run that did."""
    node = dataset.node
    return {
        "id": dataset_id(node.namespace, node.name),
        "type": "DB_TABLE",
        "name": node.name,
        "physicalName": node.name,
        "createdAt": instant(version.created_at),
        "version": version.version,
        "namespace": node.namespace,
        "sourceName": source_name(node, dataset.facets),
        "fields": version_fields_out(version.schema),
        "tags": dataset_tags(dataset),
        "lifecycleState": lifecycle_state(node.props),
        "description": _text(node.props, "description"),
        "currentSchemaVersion": stand_in_uuid(f"schema:{node.id}@{version.version}")
        if version.schema
        else None,
        "createdByRun": created_by,
        "facets": dict(facets),
    }


# ---------------------------------------------------------------- runs


def run_state(state: str | None) -> str:
    """A Marquez run state for an olgraph (OpenLineage) one."""
    return RUN_STATES.get(state or "", "RUNNING")


def version_id(namespace: str, name: str, version: str) -> Json:
    """``{namespace, name, version}``: Marquez's DatasetVersionId."""
    return {"namespace": namespace, "name": name, "version": version}


def run_out(
    run: RunView,
    job: tuple[str, str] | None,
    names: Mapping[str, tuple[str, str]],
    inputs: Iterable[VersionIO] = (),
    outputs: Iterable[VersionIO] = (),
) -> Json:
    """A Run. ``job``: its job's (namespace, Marquez name) and key; ``names``: dataset key →
    (namespace, name) of every dataset it read or wrote;
    ``inputs``/``outputs``: its reads and writes with their facets (none for a list's runs)."""
    started = run.started_at if run.started_at_source == "START" else None
    duration = run.duration_ms if started is not None and run.ended_at is not None else None

    def io(item: VersionIO) -> Json:
        namespace, name = names.get(item.ref.dataset, ("", item.ref.dataset))
        return {
            "datasetVersionId": version_id(namespace, name, item.ref.version),
            "facets": dict(item.facets),
        }

    return {
        "id": run.run_id,
        "createdAt": instant(first_event_time(run)),
        "updatedAt": instant(run.updated_at),
        "nominalStartTime": instant(run.nominal_start_time),
        "nominalEndTime": instant(run.nominal_end_time),
        "state": run_state(run.state),
        "startedAt": instant(started),
        "endedAt": instant(run.ended_at),
        "durationMs": duration,
        "args": run_args(run.facets),
        "jobVersion": (
            version_id(job[0], job[1], stand_in_uuid(f"jobVersion:{job[0]}:{job[1]}")) if job else None
        ),
        "inputDatasetVersions": [io(i) for i in inputs],
        "outputDatasetVersions": [io(o) for o in outputs],
        "facets": dict(run.facets),
    }


def run_args(facets: Mapping[str, Any]) -> dict[str, str]:
    """Marquez's run ``args``: the parent run's id, job name and namespace (``parent`` facet)
    and the nominal times (``nominalTime`` facet), as it records them from events."""
    args: dict[str, str] = {}
    parent = facets.get("parent")
    if isinstance(parent, dict):
        run, job = parent.get("run"), parent.get("job")
        if isinstance(run, dict) and isinstance(run.get("runId"), str):
            args["run_id"] = run["runId"]
        if isinstance(job, dict):
            args |= {k: str(job[k]) for k in ("name", "namespace") if isinstance(job.get(k), str)}
    nominal = facets.get("nominalTime")
    if isinstance(nominal, dict):
        for key, arg in (("nominalStartTime", "nominal_start_time"), ("nominalEndTime", "nominal_end_time")):
            if isinstance(nominal.get(key), str):
                args[arg] = nominal[key]
    return args


def first_event_time(run: RunView) -> str | None:
    """The run's earliest event time: its start (START or first event) or first reported state."""
    times = [t for t in (run.started_at, *(at for _, at in run.timeline)) if t]
    return min(times) if times else run.updated_at


# ---------------------------------------------------------------- jobs


def job_type(props: Mapping[str, Any]) -> str:
    """``STREAM`` for streaming jobs (jobType facet's processingType), else ``BATCH``."""
    return "STREAM" if _text(props, "processingType") == "STREAMING" else "BATCH"


def job_labels(props: Mapping[str, Any]) -> list[str]:
    """Marquez's job labels: the jobType facet's ``jobType`` and ``integration``."""
    return [label for label in (_text(props, "jobType"), _text(props, "integration")) if label]


def link_ids(links: Iterable[LinkView]) -> list[Json]:
    """The datasets of a job's inputs or outputs (declared or observed), as DatasetIds."""
    return [dataset_id(link.node.namespace, link.node.name) for link in links if link.node.type != "job"]


def marquez_job_name(name: str, parent: str | None) -> str:
    """The name Marquez gives a job with a parent: the parent's name, a dot, its own (unless it
    already starts so).

    >>> [marquez_job_name(n, p) for n, p in (("load", "daily"), ("daily.load", "daily"), ("x", None))]
    ['daily.load', 'daily.load', 'x']
    """
    if parent is None or name.startswith(parent + "."):
        return name
    return f"{parent}.{name}"


def job_name(view: JobView) -> str:
    """A job's name as Marquez shows it."""
    return marquez_job_name(view.node.name, view.parent.name if view.parent is not None else None)


def simple_name(view: JobView) -> str:
    """Marquez's ``simpleName``: the job's name without its parent's prefix."""
    full = job_name(view)
    parent = view.parent.name if view.parent is not None else None
    return full[len(parent) + 1 :] if parent is not None else full


def location(view: JobView) -> str | None:
    """The job's source code location: its ``sourceCodeLocation`` facet's ``url``."""
    facet = view.facets.get("sourceCodeLocation")
    url = facet.get("url") if isinstance(facet, dict) else None
    return url if isinstance(url, str) else None


def job_data(view: JobView, latest_run: Json | None) -> Json:
    """Marquez's JobData: what a lineage graph's job node carries."""
    node = view.node
    parent = view.parent
    return {
        "id": dataset_id(node.namespace, job_name(view)),
        "type": job_type(node.props),
        "name": job_name(view),
        "simpleName": simple_name(view),
        "parentJobName": parent.name if parent is not None else None,
        "parentJobUuid": stand_in_uuid(parent.id) if parent is not None else None,
        "createdAt": instant(node.props.get("firstSeenAt")),
        "updatedAt": instant(node.props.get("lastSeenAt")),
        "namespace": node.namespace,
        "inputs": link_ids(view.inputs),
        "outputs": link_ids(view.outputs),
        "location": location(view),
        "description": _text(node.props, "description"),
        "latestRun": latest_run,
    }


def job_out(view: JobView, latest_runs: list[Json] | None) -> Json:
    """A Job. ``latest_runs``: its newest runs, newest first (Marquez sends them in listings)."""
    data = job_data(view, latest_runs[0] if latest_runs else None)
    data.pop("latestRun")
    node = view.node
    return {
        **data,
        "latestRun": latest_runs[0] if latest_runs else None,
        "latestRuns": latest_runs or None,
        "facets": dict(view.facets),
        "currentVersion": stand_in_uuid(f"jobVersion:{node.namespace}:{job_name(view)}"),
        "labels": job_labels(node.props),
        "tags": sorted({tag_name(t.key, t.value) for t in view.tags}),
    }
