"""Building events: plain JSON-ready dicts in the OpenLineage 2-0-2 shape, facets, run ids."""

from __future__ import annotations

import getpass
import os
import platform
import secrets
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from olgraph import __version__
from olgraph.integrations._common.spec import FACETS_URL, OLGRAPH_SCHEMAS_URL, SPEC_URL, JsonDict, producer


def now() -> str:
    """The current time as an OpenLineage ``eventTime`` (UTC, microseconds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def from_millis(millis: int | float) -> str:
    """An epoch-milliseconds timestamp (MLflow's unit) as an ``eventTime``."""
    moment = datetime.fromtimestamp(millis / 1000.0, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(at: float | None = None) -> str:
    """A fresh UUIDv7 (time-ordered, as OpenLineage recommends for run ids)."""
    millis = int((time.time() if at is None else at) * 1000)
    rand = int.from_bytes(secrets.token_bytes(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def facet(plugin: str, schema_url: str, /, **fields: Any) -> JsonDict:
    """A facet dict with ``_producer`` and ``_schemaURL``; ``None`` fields are left out."""
    body = {k: v for k, v in fields.items() if v is not None}
    return {"_producer": producer(plugin), "_schemaURL": schema_url, **body}


def own_facet(plugin: str, facet_name: str, /, **fields: Any) -> JsonDict:
    """One of olgraph's own facets, described by ``schemas/facets/<name>.json``."""
    return facet(plugin, f"{OLGRAPH_SCHEMAS_URL}/{facet_name}.json#/$defs/{facet_name}", **fields)


def dataset(
    namespace: str,
    name: str,
    facets: Mapping[str, Any] | None = None,
    *,
    input_facets: Mapping[str, Any] | None = None,
    output_facets: Mapping[str, Any] | None = None,
) -> JsonDict:
    """An input, output or static dataset entry."""
    entry: JsonDict = {"namespace": namespace, "name": name}
    if facets:
        entry["facets"] = dict(facets)
    if input_facets:
        entry["inputFacets"] = dict(input_facets)
    if output_facets:
        entry["outputFacets"] = dict(output_facets)
    return entry


def run_event(
    plugin: str,
    event_type: str | None,
    *,
    run_id: str,
    job_namespace: str,
    job_name: str,
    event_time: str | None = None,
    run_facets: Mapping[str, Any] | None = None,
    job_facets: Mapping[str, Any] | None = None,
    inputs: list[JsonDict] | None = None,
    outputs: list[JsonDict] | None = None,
) -> JsonDict:
    """A RunEvent dict in the OpenLineage 2-0-2 shape.

    ``event_type=None`` leaves ``eventType`` out: a fact about the run (e.g. a model version it
    produced, registered later) that must not change the run's state.
    """
    event: JsonDict = {
        "eventType": event_type,
        "eventTime": event_time or now(),
        "producer": producer(plugin),
        "schemaURL": f"{SPEC_URL}#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": dict(run_facets or {})},
        "job": {"namespace": job_namespace, "name": job_name, "facets": dict(job_facets or {})},
        "inputs": list(inputs or []),
        "outputs": list(outputs or []),
    }
    if event_type is None:
        del event["eventType"]
    return event


def dataset_event(plugin: str, entry: JsonDict, *, event_time: str | None = None) -> JsonDict:
    """A DatasetEvent dict (design-time facts about one dataset, e.g. a model's aliases)."""
    return {
        "eventTime": event_time or now(),
        "producer": producer(plugin),
        "schemaURL": f"{SPEC_URL}#/$defs/DatasetEvent",
        "dataset": entry,
    }


def job_type_facet(plugin: str, integration: str, job_type: str, processing_type: str = "BATCH") -> JsonDict:
    """The standard ``jobType`` job facet."""
    return facet(
        plugin,
        f"{FACETS_URL}/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
        processingType=processing_type,
        integration=integration,
        jobType=job_type,
    )


def processing_engine_facet(plugin: str, engine: str, engine_version: str | None) -> JsonDict:
    """The standard ``processing_engine`` run facet (engine and olgraph's adapter version)."""
    return facet(
        plugin,
        f"{FACETS_URL}/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet",
        name=engine,
        version=engine_version or "unknown",
        openlineageAdapterVersion=__version__,
    )


def parent_facet(plugin: str, *, run_id: str, job_namespace: str, job_name: str) -> JsonDict:
    """The standard ``parent`` run facet."""
    return facet(
        plugin,
        f"{FACETS_URL}/1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet",
        run={"runId": run_id},
        job={"namespace": job_namespace, "name": job_name},
    )


def schema_facet(plugin: str, fields: list[JsonDict]) -> JsonDict:
    """The standard ``schema`` dataset facet from ``[{"name", "type"}, …]``."""
    return facet(
        plugin, f"{FACETS_URL}/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet", fields=fields
    )


def dataset_type_facet(plugin: str, dataset_type: str, sub_type: str | None = None) -> JsonDict:
    """The standard ``datasetType`` dataset facet (``MODEL`` marks a model)."""
    return facet(
        plugin,
        f"{FACETS_URL}/1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet",
        datasetType=dataset_type,
        subType=sub_type,
    )


def version_facet(plugin: str, version: str) -> JsonDict:
    """The standard ``version`` dataset facet."""
    return facet(
        plugin,
        f"{FACETS_URL}/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
        datasetVersion=version,
    )


def tags_facet(plugin: str, tags: list[tuple[str, str]], source: str) -> JsonDict:
    """The standard ``tags`` dataset facet from ``(key, value)`` pairs."""
    return facet(
        plugin,
        f"{FACETS_URL}/1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet",
        tags=[{"key": k, "value": v, "source": source} for k, v in tags],
    )


@dataclass(frozen=True)
class Workload:
    """What the ``olgraph_workload`` run facet says about the process that emitted an event."""

    workload_type: str
    workload_id: str | None = None
    extra: Mapping[str, str | None] = field(default_factory=dict)

    def facet(self, plugin: str) -> JsonDict:
        """The ``olgraph_workload`` run facet (schema: ``schemas/facets/WorkloadRunFacet.json``)."""
        return own_facet(
            plugin,
            "WorkloadRunFacet",
            workloadType=self.workload_type,
            workloadId=self.workload_id,
            user=_user(),
            host=platform.node() or None,
            pid=os.getpid(),
            pythonVersion=platform.python_version(),
            os=f"{platform.system()} {platform.release()}".strip(),
            olgraphVersion=__version__,
            **{k: v for k, v in self.extra.items() if v is not None},
        )


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER") or None


def script_name() -> str:
    """The running program's name, for naming a workload's job (``train`` for ``train.py``)."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if not argv0 or argv0 == "-c":
        return "python"
    stem = Path(argv0).name
    for suffix in (".py", ".pyw"):
        stem = stem.removesuffix(suffix)
    return stem or "python"
