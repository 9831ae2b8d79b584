"""Events only the sync builds from what it reads of MLflow (those shared with the plugin: ``events``).

Event times are MLflow's own timestamps and the volatile ``olgraph_workload`` facet is left
out, so the same MLflow state always gives byte-identical events.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from olgraph.integrations import _common as c
from olgraph.integrations.mlflow import events as ev
from olgraph.integrations.mlflow import naming

P = naming.PLUGIN
JsonDict = dict[str, Any]
Emit = Callable[[JsonDict], None]

DOCUMENTATION_JOB_FACET = f"{c.FACETS_URL}/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet"
LIFECYCLE_FACET = (
    f"{c.FACETS_URL}/1-0-1/LifecycleStateChangeDatasetFacet.json#/$defs/LifecycleStateChangeDatasetFacet"
)
PARENT_TAG = "mlflow.parentRunId"
NOTE_TAG = "mlflow.note.content"
LOGGED_MODELS_TAG = "mlflow.log-model.history"


def experiment_declared(experiment: Any, namespace: str, not_before: int = 0) -> JsonDict:
    """JobEvent declaring an experiment's job (and its description), at its last update.

    ``not_before`` (epoch ms) dates it later when the graph must take a new description
    that MLflow did not timestamp (setting a tag does not move an experiment's times).
    """
    facets = ev.RunContext(namespace, experiment.experiment_id, experiment.name).job_facets()
    note = description_of(experiment)
    if note is not None:
        facets["documentation"] = c.facet(
            P, DOCUMENTATION_JOB_FACET, description=note, contentType="text/markdown"
        )
    stamp = max(experiment.last_update_time or experiment.creation_time or 0, not_before)
    return {
        "eventTime": c.from_millis(stamp),
        "producer": c.producer(P),
        "schemaURL": f"{c.SPEC_URL}#/$defs/JobEvent",
        "job": {"namespace": namespace, "name": naming.experiment_job(experiment.name), "facets": facets},
        "inputs": [],
        "outputs": [],
    }


def description_of(experiment: Any) -> str | None:
    """An experiment's description (the note MLflow's UI edits), if it has one."""
    note = (experiment.tags or {}).get(NOTE_TAG)
    return str(note) if note else None


def logged_model_declared(model: Any, namespace: str) -> JsonDict:
    """DatasetEvent for a logged model whose run is gone (it cannot be written by a run any more)."""
    entry = ev.logged_model_output(model, namespace)
    return c.dataset_event(P, entry, event_time=c.from_millis(model.creation_timestamp))


def dataset_dropped(namespace: str, name: str, event_time: str) -> JsonDict:
    """DatasetEvent marking any model dataset deleted (``models/`` ones use :func:`ev.model_dropped`)."""
    facets = {"lifecycleStateChange": c.facet(P, LIFECYCLE_FACET, lifecycleStateChange="DROP")}
    return c.dataset_event(P, c.dataset(namespace, name, facets), event_time=event_time)


def artifact_models(run: Any) -> list[tuple[str, str]]:
    """``(artifact path, eventTime)`` of models a run logged as artifacts (``mlflow.log-model.history``).

    MLflow 2 (and MLflow 3's Spark flavor) record each such model in that tag, with its UTC
    creation time; models without a time are dated at the run's start.
    """
    try:
        entries = json.loads((run.data.tags or {}).get(LOGGED_MODELS_TAG) or "[]")
    except ValueError:
        return []
    found: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        path = entry.get("artifact_path") if isinstance(entry, dict) else None
        if isinstance(path, str) and path.strip("/"):
            found.setdefault(path.strip("/"), _utc_time(entry.get("utc_time_created"), run.info.start_time))
    return sorted(found.items())


def _utc_time(text: Any, fallback_millis: int) -> str:
    moment = parse_time(text)
    return c.from_millis(fallback_millis if moment is None else moment.timestamp() * 1000)


def parse_time(text: Any) -> datetime | None:
    """An ISO time (naive ones are UTC, as MLflow writes them), or ``None``."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def run_context(run: Any, experiment_name: str, namespace: str) -> ev.RunContext:
    """The context of a run's events: no extra run facets (nothing volatile), its parent if nested."""
    return ev.RunContext(
        namespace=namespace,
        experiment_id=str(run.info.experiment_id),
        experiment_name=experiment_name,
        run_facets={},
        parent_run_id=(run.data.tags or {}).get(PARENT_TAG) or None,
    )


def run_events(run: Any, ctx: ev.RunContext) -> list[JsonDict]:
    """Every event the sync sends for one run, in time order."""
    start = c.from_millis(run.info.start_time)
    events = [ev.run_started(run, ctx)]
    inputs = sorted(
        getattr(run.inputs, "dataset_inputs", None) or [],
        key=lambda di: (str(di.dataset.name), str(di.dataset.digest), str(di.dataset.source)),
    )
    if inputs:
        events.append(ev.inputs_logged(run.info.run_id, ctx, inputs, start))
    for path, at in artifact_models(run):
        events.append(ev.artifact_model_logged(run.info.run_id, path, ctx, at))
    terminal = ev.run_state(run, ctx)
    if terminal is not None:
        events.append(terminal)
    return events


def millis_after(time_text: str | None) -> int:
    """Epoch milliseconds 1 ms after ``time_text`` (0 if it is not a time)."""
    moment = parse_time(time_text)
    return 0 if moment is None else int(moment.timestamp() * 1000) + 1
