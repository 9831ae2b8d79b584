"""The pass over MLflow: every event, in a deterministic order, and a record of what exists.

One pass reads the server page by page and hands each event to a callback as soon as it is
built (nothing unbounded is held).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from olgraph.integrations.mlflow import events as ev
from olgraph.integrations.mlflow import naming
from olgraph.integrations.mlflow.sync.builders import (
    Emit,
    JsonDict,
    description_of,
    experiment_declared,
    logged_model_declared,
    millis_after,
    run_context,
    run_events,
)
from olgraph.integrations.mlflow.sync.deletions import Present
from olgraph.integrations.mlflow.sync.graph import GraphLookup, Previous, state_differs

if TYPE_CHECKING:
    from olgraph.integrations.mlflow.sync.reader import MlflowReader


class Progress(Protocol):
    """Where a sync reports how far it got (a progress bar, or nothing)."""

    def phase(self, label: str) -> None:
        """A new stage of the sync begins (e.g. one experiment)."""

    def advance(self, entities: int = 1) -> None:
        """``entities`` more MLflow entities were read."""


class NoProgress:
    """Reports nothing."""

    def phase(self, label: str) -> None:
        """Ignore the label."""

    def advance(self, entities: int = 1) -> None:
        """Ignore the count."""


@dataclass
class Tally:
    """How many MLflow entities a sync read."""

    experiments: int = 0
    runs: int = 0
    logged_models: int = 0
    registered_models: int = 0
    versions: int = 0


class Scan:
    """One pass over MLflow: emits every event (in a deterministic order) and records what exists.

    Of the runs, only those whose artifact models the graph holds are remembered, so memory
    stays bounded by what the graph knows, not by the number of runs.
    """

    def __init__(
        self,
        reader: MlflowReader,
        emit: Emit,
        progress: Progress | None = None,
        previous: Previous | None = None,
        graph_facets: GraphLookup | None = None,
    ) -> None:
        self.reader = reader
        self.source = reader.source
        self.emit = emit
        self.progress = progress or NoProgress()
        known = previous.models if previous is not None else ()
        self.watch_runs = frozenset(m.run_id for m in known if m.run_id)
        self.last_seen = {(m.namespace, m.name): m.last_seen for m in known}
        self.jobs = previous.experiments if previous is not None else {}
        self.graph_facets = graph_facets
        self.tally = Tally()
        self.present = Present()

    def run(self) -> None:
        """Read everything: experiments with their runs and logged models, then the registry."""
        for experiment in self.reader.experiments():
            self.progress.phase(f"experiment {experiment.name}")
            self._experiment(experiment)
        self.progress.phase("registered models")
        for model in self.reader.registered_models():
            self._registered_model(model)
        self.present.logged_models_listed = self.reader.logged_models_supported

    def _experiment(self, experiment: Any) -> None:
        namespace = self.source.tracking_namespace
        self.tally.experiments += 1
        self.present.experiments.add(naming.experiment_job(experiment.name))
        job = self.jobs.get(naming.experiment_job(experiment.name))
        note = description_of(experiment)
        later = millis_after(job.last_seen) if job and note and job.description != note else 0
        self.emit(experiment_declared(experiment, namespace, later))
        self.progress.advance()
        parents: dict[str, str | None] = {}  # this experiment's runs → their parent run
        for run in self.reader.runs(str(experiment.experiment_id)):
            ctx = run_context(run, experiment.name, namespace)
            parents[run.info.run_id] = ctx.parent_run_id
            if run.info.run_id in self.watch_runs:
                self.present.runs.add(run.info.run_id)
            for event in run_events(run, ctx):
                self.emit(event)
            self.tally.runs += 1
            self.progress.advance()
        for model in self.reader.logged_models(str(experiment.experiment_id)):
            self._logged_model(model, experiment, parents)

    def _logged_model(self, model: Any, experiment: Any, parents: Mapping[str, str | None]) -> None:
        namespace = self.source.tracking_namespace
        run_id = getattr(model, "source_run_id", None)
        ctx: ev.RunContext | None = None
        if run_id and run_id in parents:
            ctx = ev.RunContext(
                namespace, str(experiment.experiment_id), experiment.name, {}, parents[run_id]
            )
        elif run_id:
            ctx = self.reader.context_of(run_id)
        event = ev.model_logged(model, ctx) if ctx is not None else None
        self.emit(event if event is not None else logged_model_declared(model, namespace))
        self.present.models.add((namespace, naming.logged_model(model.model_id)))
        self.tally.logged_models += 1
        self.progress.advance()

    def _registered_model(self, model: Any) -> None:
        namespace = self.source.registry_namespace
        versions = sorted(self.reader.versions(model.name), key=lambda v: _version_key(str(v.version)))
        for version in versions:
            ctx = self.reader.context_of(version.run_id) if getattr(version, "run_id", None) else None
            event = ev.model_version_created(version, ctx, namespace) if ctx is not None else None
            if event is not None:
                self.emit(event)
        self.emit(self._model_state(model, versions))
        self.present.models.add((namespace, naming.registered_model(model.name)))
        self.tally.registered_models += 1
        self.tally.versions += len(versions)
        self.progress.advance(1 + len(versions))

    def _model_state(self, model: Any, versions: list[Any]) -> JsonDict:
        """The model's state event, dated so that it wins where it must.

        At MLflow's latest timestamp, and after every version's creation (so it outranks the
        versions' events). Setting an alias or a tag moves no MLflow timestamp: when the graph
        holds another state than MLflow for that reason, the event is dated just after the
        graph last saw the model. Either way the date depends only on MLflow and the graph.
        """
        namespace = self.source.registry_namespace
        stamp = state_millis(model, versions)
        event = ev.registered_model_state_observed(model, versions, namespace, stamp)
        key = (namespace, naming.registered_model(model.name))
        if key not in self.last_seen or self.graph_facets is None:
            return event
        current = self.graph_facets(*key)
        if current is None or not state_differs(event, current):
            return event
        later = millis_after(self.last_seen[key])
        return ev.registered_model_state_observed(model, versions, namespace, max(stamp, later))


def state_millis(model: Any, versions: Iterable[Any]) -> int:
    """When MLflow last changed a registered model, and later than every version's creation."""
    stamps = [int(model.last_updated_timestamp or 0)]
    for version in versions:
        stamps += [int(version.last_updated_timestamp or 0), int(version.creation_timestamp or 0) + 1]
    return max(stamps)


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdecimal() else (1 << 62, version)


def sync(
    reader: MlflowReader,
    previous: Previous,
    emit: Emit,
    progress: Progress | None = None,
    graph_facets: GraphLookup | None = None,
) -> Scan:
    """Emit every event for what MLflow holds; the returned scan has the tally and what is present.

    ``graph_facets(namespace, name)`` gives the facets the graph holds for a dataset (``None``
    if none); it is asked only about registered models the graph already has. Deletions are
    left to the caller (:func:`plan_deletions` on ``scan.present``), so that it can apply the
    fail-safe before sending any DROP.
    """
    scan = Scan(reader, emit, progress, previous, graph_facets)
    scan.run()
    return scan
