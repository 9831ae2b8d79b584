"""MLflow entities → OpenLineage event dicts, shared by the plugin and ``olgraph sync mlflow``.

Every function takes MLflow entity objects (``mlflow.entities.Run``, ``DatasetInput``,
``LoggedModel``, ``ModelVersion``, ``RegisteredModel``) but reads them only through their
public attributes, so this module does not import MLflow. Names follow
:mod:`olgraph.integrations.mlflow.naming`; event times are MLflow's own timestamps wherever
MLflow has one, so the plugin and the sync describe one fact with one event.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from olgraph.integrations import _common as c
from olgraph.integrations.mlflow import naming

P = naming.PLUGIN
JsonDict = dict[str, Any]

# MLflow run status → OpenLineage event type (anything else is still running).
_TERMINAL = {"FINISHED": "COMPLETE", "FAILED": "FAIL", "KILLED": "ABORT"}
# Dataset sources whose JSON has a location URI.
_URI_SOURCES = {"s3", "gs", "gcs", "local", "http", "https", "hdfs", "dbfs", "abfss", "wasbs", "uc_volume"}


@dataclass(frozen=True)
class RunContext:
    """Where a run lives: the tracking namespace, its experiment, and extra run facets.

    ``run_facets`` holds what the caller adds to every event of the run (the plugin adds
    the ``olgraph_workload`` facet; the sync adds nothing volatile, so a re-sync is a no-op).
    """

    namespace: str
    experiment_id: str
    experiment_name: str
    run_facets: Mapping[str, Any] = field(default_factory=dict)
    parent_run_id: str | None = None

    def job_facets(self) -> JsonDict:
        """The experiment job's facets."""
        return {"jobType": c.job_type_facet(P, "MLFLOW", "EXPERIMENT")}


def _run_event(
    ctx: RunContext,
    event_type: str | None,
    run_id: str,
    event_time: str,
    *,
    run_facets: Mapping[str, Any] | None = None,
    inputs: list[JsonDict] | None = None,
    outputs: list[JsonDict] | None = None,
) -> JsonDict:
    facets: JsonDict = dict(ctx.run_facets)
    if ctx.parent_run_id:
        facets["parent"] = c.parent_facet(
            P,
            run_id=naming.run_uuid(ctx.parent_run_id, ctx.namespace),
            job_namespace=ctx.namespace,
            job_name=naming.experiment_job(ctx.experiment_name),
        )
    facets.update(run_facets or {})
    return c.run_event(
        P,
        event_type,
        run_id=naming.run_uuid(run_id, ctx.namespace),
        job_namespace=ctx.namespace,
        job_name=naming.experiment_job(ctx.experiment_name),
        event_time=event_time,
        run_facets=facets,
        job_facets=ctx.job_facets(),
        inputs=inputs,
        outputs=outputs,
    )


def mlflow_run_facet(run: Any, ctx: RunContext) -> JsonDict:
    """The ``mlflow_run`` facet: ids, name, status, user, params, latest metrics, user tags."""
    info, data = run.info, run.data
    tags = {k: v for k, v in (data.tags or {}).items() if not k.startswith("mlflow.")}
    return c.own_facet(
        P,
        "MlflowRunFacet",
        runId=info.run_id,
        runName=getattr(info, "run_name", None),
        experimentId=ctx.experiment_id,
        experimentName=ctx.experiment_name,
        status=str(info.status),
        userId=getattr(info, "user_id", None) or None,
        artifactUri=naming.public_uri(info.artifact_uri) if getattr(info, "artifact_uri", None) else None,
        params=dict(data.params or {}),
        metrics={k: _finite(v) for k, v in (data.metrics or {}).items()},
        tags=tags,
    )


def run_started(run: Any, ctx: RunContext) -> JsonDict:
    """START of an MLflow run, at its start time."""
    return _run_event(
        ctx,
        "START",
        run.info.run_id,
        c.from_millis(run.info.start_time),
        run_facets={"processing_engine": _engine(), "mlflow_run": mlflow_run_facet(run, ctx)},
    )


def run_state(run: Any, ctx: RunContext) -> JsonDict | None:
    """The terminal event of an ended run (COMPLETE/FAIL/ABORT at its end time), else ``None``."""
    event_type = _TERMINAL.get(str(run.info.status))
    if event_type is None or not run.info.end_time:
        return None
    facets: JsonDict = {"processing_engine": _engine(), "mlflow_run": mlflow_run_facet(run, ctx)}
    if event_type == "FAIL":
        facets["errorMessage"] = c.facet(
            P,
            f"{c.FACETS_URL}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
            message=f"MLflow run {run.info.run_id} ended with status FAILED",
            programmingLanguage="python",
        )
    return _run_event(ctx, event_type, run.info.run_id, c.from_millis(run.info.end_time), run_facets=facets)


def inputs_logged(run_id: str, ctx: RunContext, dataset_inputs: Iterable[Any], event_time: str) -> JsonDict:
    """RUNNING event naming the datasets a run logged as inputs (``mlflow.log_input``)."""
    inputs = [training_input(di, ctx.namespace) for di in dataset_inputs]
    return _run_event(ctx, "RUNNING", run_id, event_time, inputs=inputs)


def training_input(dataset_input: Any, tracking_namespace: str) -> JsonDict:
    """One logged MLflow dataset as an OpenLineage input: identity by source, version by digest."""
    ds = dataset_input.dataset
    namespace, name = dataset_identity(ds, tracking_namespace)
    tags = {t.key: t.value for t in (getattr(dataset_input, "tags", None) or [])}
    facets: JsonDict = {"version": c.version_facet(P, ds.digest)}
    fields = schema_fields(getattr(ds, "schema", None))
    if fields:
        facets["schema"] = c.schema_facet(P, fields)
    input_facets = {
        "mlflow_dataset": c.own_facet(
            P,
            "MlflowDatasetFacet",
            name=ds.name,
            digest=ds.digest,
            sourceType=ds.source_type,
            context=tags.get("mlflow.data.context"),
            profile=_json_or_none(getattr(ds, "profile", None)),
        )
    }
    return c.dataset(namespace, name, facets, input_facets=input_facets)


def dataset_identity(ds: Any, tracking_namespace: str) -> tuple[str, str]:
    """Where an MLflow dataset's data lives, by the OpenLineage naming conventions.

    Sources with a location (``s3``, ``gs``, ``local``, ``http``, …) are named by it; Hugging
    Face datasets by their hub path; anything else (in-memory DataFrames, code) is
    ``datasets/{name}`` in the tracking server's namespace.
    """
    source = _json_or_none(ds.source) or {}
    source_type = str(ds.source_type or "").lower()
    uri = source.get("uri") or source.get("url") or source.get("path")
    if source_type in _URI_SOURCES and isinstance(uri, str) and uri:
        return c.dataset_identity(uri)
    if source_type == "hugging_face" and isinstance(source.get("path"), str):
        return "huggingface", str(source["path"])
    if isinstance(source.get("table_name"), str):
        return tracking_namespace, f"tables/{source['table_name']}"
    if source_type in {"delta_table", "spark"} and isinstance(uri, str) and uri:
        return c.dataset_identity(uri)
    return tracking_namespace, f"datasets/{ds.name}"


def schema_fields(schema: str | None) -> list[JsonDict]:
    """OpenLineage schema fields from an MLflow dataset schema (column or tensor specs)."""
    parsed = _json_or_none(schema)
    if not isinstance(parsed, dict):
        return []
    fields: list[JsonDict] = []
    for spec in parsed.get("mlflow_colspec") or []:
        if isinstance(spec, dict) and spec.get("name"):
            fields.append({"name": str(spec["name"]), "type": str(spec.get("type", ""))})
    for spec in parsed.get("mlflow_tensorspec") or []:
        if isinstance(spec, dict) and spec.get("name"):
            fields.append({"name": str(spec["name"]), "type": f"tensor<{spec.get('type', '')}>"})
    return fields


def model_facets(kind: str, **details: Any) -> JsonDict:
    """The dataset facets of a model: ``datasetType`` MODEL and the ``mlflow_model`` facet."""
    return {
        "datasetType": c.dataset_type_facet(P, "MODEL", kind),
        "mlflow_model": c.own_facet(P, "MlflowModelDatasetFacet", kind=kind, **details),
    }


def logged_model_output(model: Any, tracking_namespace: str) -> JsonDict:
    """An MLflow 3 logged model (``m-…``) as an output dataset."""
    facets = model_facets(
        "LOGGED_MODEL",
        modelId=model.model_id,
        name=model.name,
        modelType=getattr(model, "model_type", None),
        sourceRunId=getattr(model, "source_run_id", None),
        artifactLocation=naming.public_uri(model.artifact_location),
    )
    return c.dataset(tracking_namespace, naming.logged_model(model.model_id), facets)


def model_logged(model: Any, ctx: RunContext) -> JsonDict | None:
    """RUNNING event of the run that logged an MLflow 3 model (``None`` outside a run)."""
    if not getattr(model, "source_run_id", None):
        return None
    output = logged_model_output(model, ctx.namespace)
    return _run_event(
        ctx, "RUNNING", model.source_run_id, c.from_millis(model.creation_timestamp), outputs=[output]
    )


def artifact_model_logged(run_id: str, artifact_path: str, ctx: RunContext, event_time: str) -> JsonDict:
    """RUNNING event of a run that logged a model as plain artifacts (a directory with ``MLmodel``)."""
    facets = model_facets("RUN_ARTIFACT", runId=run_id, artifactPath=artifact_path)
    output = c.dataset(ctx.namespace, naming.run_artifact(run_id, artifact_path), facets)
    return _run_event(ctx, "RUNNING", run_id, event_time, outputs=[output])


def model_version_output(version: Any, registry_namespace: str) -> JsonDict:
    """A registered model version as an output: dataset ``models/{name}``, version ``N``.

    What the version is made of goes in the output facet ``mlflow_model_version`` (it lands
    on the run's WROTE relationship to that version), not in a dataset facet: the dataset's
    ``mlflow_model`` facet describes the registered model as a whole and must not be
    replaced by one version's details.
    """
    facets = {
        "datasetType": c.dataset_type_facet(P, "MODEL", "REGISTERED_MODEL"),
        "version": c.version_facet(P, str(version.version)),
    }
    details = c.own_facet(
        P,
        "MlflowModelVersionOutputDatasetFacet",
        name=version.name,
        version=str(version.version),
        source=naming.public_uri(str(version.source)) if version.source else None,
        runId=getattr(version, "run_id", None) or None,
        modelId=_model_id(version),
        stage=_stage(getattr(version, "current_stage", None)),
        status=str(getattr(version, "status", "") or "") or None,
    )
    return c.dataset(
        registry_namespace,
        naming.registered_model(version.name),
        facets,
        output_facets={"mlflow_model_version": details},
    )


def model_version_created(version: Any, ctx: RunContext, registry_namespace: str) -> JsonDict | None:
    """Event of the run that produced a registered model version (``None`` without a run).

    It has no ``eventType``: registering a version is a fact about the run's output, not a
    change of its state, so a running run stays RUNNING and an ended one keeps its end. The
    version links to the run, and through it to the exact dataset versions the run read.
    """
    run_id = getattr(version, "run_id", None)
    if not run_id:
        return None
    output = model_version_output(version, registry_namespace)
    return _run_event(ctx, None, run_id, c.from_millis(version.creation_timestamp), outputs=[output])


def registered_model_state(model: Any, versions: Iterable[Any], registry_namespace: str) -> JsonDict:
    """DatasetEvent with a registered model's aliases and stages as its complete ``tags`` facet."""
    entry, last_updated = _registered_model_entry(model, list(versions), registry_namespace)
    return c.dataset_event(P, entry, event_time=c.from_millis(last_updated))


def _registered_model_entry(model: Any, versions: list[Any], registry_namespace: str) -> tuple[JsonDict, int]:
    """The model's dataset entry (aliases, stages, versions) and its latest MLflow timestamp."""
    aliases = {str(k): str(v) for k, v in (getattr(model, "aliases", None) or {}).items()}
    tags = [(f"alias.{alias}", version) for alias, version in sorted(aliases.items())]
    stages = sorted({(f"stage.{s}", str(v.version)) for v in versions if (s := _stage(v.current_stage))})
    tags.extend(stages)
    facets = model_facets(
        "REGISTERED_MODEL",
        name=model.name,
        description=getattr(model, "description", None) or None,
        aliases=aliases,
        versions=sorted((str(v.version) for v in versions), key=_version_order),
        tags=dict(getattr(model, "tags", None) or {}),
    )
    facets["tags"] = c.tags_facet(P, tags, source="MLFLOW")
    stamps = [model.last_updated_timestamp or 0, *(v.last_updated_timestamp or 0 for v in versions)]
    entry = c.dataset(registry_namespace, naming.registered_model(model.name), facets)
    return entry, max(stamps)


def registered_model_state_observed(
    model: Any, versions: Iterable[Any], registry_namespace: str, observed_millis: int
) -> JsonDict:
    """:func:`registered_model_state` at the later of MLflow's timestamps and ``observed_millis``.

    Setting or deleting an alias does not move any MLflow timestamp (SQL stores), so the
    state after an alias change would carry the same ``eventTime`` as the state before it,
    and the graph's last-writer-wins merge could keep either ``tags`` facet. The plugin sees
    the change happen and passes the time it saw it (strictly increasing per model).
    """
    entry, last_updated = _registered_model_entry(model, list(versions), registry_namespace)
    return c.dataset_event(P, entry, event_time=c.from_millis(max(last_updated, observed_millis)))


def model_dropped(name: str, registry_namespace: str, event_time: str) -> JsonDict:
    """DatasetEvent marking a registered model deleted (kept in history, out of live lineage)."""
    facets = {
        "lifecycleStateChange": c.facet(
            P,
            f"{c.FACETS_URL}/1-0-1/LifecycleStateChangeDatasetFacet.json#/$defs/LifecycleStateChangeDatasetFacet",
            lifecycleStateChange="DROP",
        )
    }
    entry = c.dataset(registry_namespace, naming.registered_model(name), facets)
    return c.dataset_event(P, entry, event_time=event_time)


def _model_id(version: Any) -> str | None:
    """The logged model behind a version (``model_id``, or ``models:/m-…`` as its source)."""
    model_id = getattr(version, "model_id", None)
    if model_id:
        return str(model_id)
    source = str(getattr(version, "source", "") or "")
    if source.startswith("models:/m-"):
        return source.removeprefix("models:/").split("/", 1)[0]
    return None


def _finite(value: Any) -> float | None:
    """A metric as JSON allows it: NaN and infinities (a diverged loss) become ``null``."""
    number = float(value)
    return number if math.isfinite(number) else None


def _stage(stage: Any) -> str | None:
    text = str(stage or "")
    return None if text in {"", "None"} else text


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdecimal() else (1 << 62, version)


def _engine() -> JsonDict:
    return c.processing_engine_facet(P, "mlflow", _mlflow_version())


@functools.cache
def _mlflow_version() -> str | None:
    """MLflow's version without importing it (the distribution's metadata, read once: ~1 ms a read)."""
    from importlib import metadata  # noqa: PLC0415 - rarely needed, keep module import cheap

    for dist in ("mlflow-skinny", "mlflow"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def _json_or_none(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------- reads and writes seen live


def run_io(
    run_id: str,
    ctx: RunContext,
    event_time: str,
    *,
    inputs: list[JsonDict] | None = None,
    outputs: list[JsonDict] | None = None,
) -> JsonDict:
    """RUNNING event of an MLflow run that read ``inputs`` or wrote ``outputs`` (a load, a model input)."""
    return _run_event(ctx, "RUNNING", run_id, event_time, inputs=inputs, outputs=outputs)


def logged_models_written(run_id: str, ctx: RunContext, models: Iterable[Any], event_time: str) -> JsonDict:
    """RUNNING event of a run that logged MLflow 3 models as its outputs (``log_outputs``)."""
    outputs = [logged_model_output(m, ctx.namespace) for m in models]
    return run_io(run_id, ctx, event_time, outputs=outputs)


def registered_model_input(name: str, version: str | None, registry_namespace: str) -> JsonDict:
    """A registered model read (``models:/churn/7``, an alias or a stage resolved to ``7``).

    Only the facets that identify what was read: a load must not replace the richer
    ``mlflow_model`` facet the registry events keep up to date.

    >>> entry = registered_model_input("churn", "7", "mlflow://tracking:5000")
    >>> entry["name"], entry["facets"]["version"]["datasetVersion"]
    ('models/churn', '7')
    """
    facets: JsonDict = {"datasetType": c.dataset_type_facet(P, "MODEL", "REGISTERED_MODEL")}
    if version:
        facets["version"] = c.version_facet(P, str(version))
    return c.dataset(registry_namespace, naming.registered_model(name), facets)


def logged_model_input(model_id: str, tracking_namespace: str) -> JsonDict:
    """An MLflow 3 logged model read (``models:/m-…``, or a run's input model)."""
    facets = {"datasetType": c.dataset_type_facet(P, "MODEL", "LOGGED_MODEL")}
    return c.dataset(tracking_namespace, naming.logged_model(model_id), facets)


def run_artifact_input(run_id: str, path: str, tracking_namespace: str, *, is_model: bool) -> JsonDict:
    """Run artifacts read (``runs:/id/path``); a directory with an ``MLmodel`` file is a model."""
    name = naming.run_artifact(run_id, path).rstrip("/")
    facets = {"datasetType": c.dataset_type_facet(P, "MODEL", "RUN_ARTIFACT")} if is_model else None
    return c.dataset(tracking_namespace, name, facets)
