"""``olgraph sync mlflow``: what an MLflow tracking server holds, as OpenLineage events.

One pass reads the server through :class:`mlflow.MlflowClient`, page by page, and hands each
event to a callback as soon as it is built (nothing unbounded is held):

- every active experiment → a JobEvent declaring its job (so experiments without runs exist);
- every active run → START, a RUNNING event with its logged datasets, a RUNNING event per
  model logged as plain artifacts, and its terminal event;
- every logged model (MLflow 3) → a RUNNING event of the run that logged it (a DatasetEvent
  when that run is gone);
- every registered model → an event per version (in the run that produced it, no eventType) and a
  DatasetEvent with its stages and aliases.

Names and shapes come from :mod:`olgraph.integrations.mlflow.events`, shared with the plugin;
event times are MLflow's own timestamps and the volatile ``olgraph_workload`` facet is left
out, so the same MLflow state always gives byte-identical events.

What vanished since the last sync is found by comparing MLflow with the graph itself
(:class:`Previous`, built from the query API's listings): :class:`DeletionPlan` says which
model datasets to mark dropped and refuses, past a share of them, unless forced.

One concern a module: :mod:`.source` (the server to read), :mod:`.reader` (MLflow's API, the
only module that imports MLflow), :mod:`.builders` (the sync's own events), :mod:`.graph` (what
the graph holds), :mod:`.deletions` (the deletion plan and its fail-safe), :mod:`.scan` (the
pass itself) and :mod:`.errors`. Everything is importable from here, as before the split.
"""

from __future__ import annotations

from olgraph.integrations.mlflow.sync.builders import (
    artifact_models,
    dataset_dropped,
    description_of,
    experiment_declared,
    logged_model_declared,
    run_context,
    run_events,
)
from olgraph.integrations.mlflow.sync.deletions import DeletionPlan, Present, plan_deletions
from olgraph.integrations.mlflow.sync.errors import DeletionRefused, MlflowUnavailable, SyncError
from olgraph.integrations.mlflow.sync.graph import GraphLookup, GraphNode, Previous, state_differs
from olgraph.integrations.mlflow.sync.reader import MlflowReader, version_filter
from olgraph.integrations.mlflow.sync.scan import NoProgress, Progress, Scan, Tally, state_millis, sync
from olgraph.integrations.mlflow.sync.source import Source

__all__ = [
    "DeletionPlan",
    "DeletionRefused",
    "GraphLookup",
    "GraphNode",
    "MlflowReader",
    "MlflowUnavailable",
    "NoProgress",
    "Present",
    "Previous",
    "Progress",
    "Scan",
    "Source",
    "SyncError",
    "Tally",
    "artifact_models",
    "dataset_dropped",
    "description_of",
    "experiment_declared",
    "logged_model_declared",
    "plan_deletions",
    "run_context",
    "run_events",
    "state_differs",
    "state_millis",
    "sync",
    "version_filter",
]
