"""Observing MLflow's tracking and model-registry stores: runs, inputs, models, versions.

The stores stay MLflow's own objects (same class, so MLflow's ``isinstance`` checks hold);
a few of their methods are replaced *on the instance* by a wrapper that calls the original
first and then, under the plugin's guard, reports what happened. The original's result and
exceptions reach MLflow untouched.

Tracking store → events of the experiment's job (docs/decisions/0008-mlflow-naming.md):
``create_run`` START · ``update_run_info`` to a terminal state COMPLETE/FAIL/ABORT ·
``log_inputs`` RUNNING with the datasets (and models) read · ``finalize_logged_model``
(READY) RUNNING with the logged model written · ``log_outputs`` RUNNING with models logged
by another run.

Registry store → ``create_model_version``: an event (no eventType) of the producing run, writing version
N of ``models/{name}``; stage transitions, alias changes and version deletions a DatasetEvent
with the model's complete aliases/stages; ``delete_registered_model`` a DROP.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from olgraph.integrations import _common as c
from olgraph.integrations.mlflow import events, naming
from olgraph.integrations.mlflow.plugin import Plugin

P = naming.PLUGIN
OBSERVER = "_olgraph_observer"
_TERMINAL = {"FINISHED", "FAILED", "KILLED"}
_MAX_VERSION_PAGES = 100
_VERSIONS_PER_PAGE = 1000

After = Callable[[Any, dict[str, Any]], None]


def after_call(plugin: Plugin, obj: Any, method: str, after: After) -> None:
    """Replace ``obj.method`` by a wrapper that calls it, then ``after(result, arguments)``.

    ``arguments`` maps every parameter name to its value (defaults filled in). ``after``
    runs under the guard: its errors are logged and swallowed unless the user asked for
    them. Missing methods (an older MLflow) are left alone.
    """
    original = getattr(obj, method, None)
    if original is None or getattr(original, OBSERVER, False):
        return
    signature = inspect.signature(original)

    @functools.wraps(original)
    def observed(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        with plugin.guard(f"reporting {method}"):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            after(result, bound.arguments)
        return result

    setattr(observed, OBSERVER, True)
    setattr(obj, method, observed)


def observe_tracking_store(plugin: Plugin, store: Any, store_uri: str) -> None:
    """Observe a tracking store built for ``store_uri``."""
    observer = TrackingObserver(plugin, store, store_uri)
    setattr(store, OBSERVER, observer)
    after_call(plugin, store, "create_run", observer.run_created)
    after_call(plugin, store, "update_run_info", observer.run_updated)
    after_call(plugin, store, "log_inputs", observer.inputs_logged)
    after_call(plugin, store, "create_logged_model", observer.logged_model_created)
    after_call(plugin, store, "finalize_logged_model", observer.logged_model_finalized)
    after_call(plugin, store, "log_outputs", observer.outputs_logged)


def observe_registry_store(plugin: Plugin, store: Any, store_uri: str, tracking_uri: str | None) -> None:
    """Observe a model-registry store built for ``store_uri``."""
    observer = RegistryObserver(plugin, store, store_uri, tracking_uri)
    setattr(store, OBSERVER, observer)
    after_call(plugin, store, "create_model_version", observer.version_created)
    for method in (
        "transition_model_version_stage",
        "set_registered_model_alias",
        "delete_registered_model_alias",
        "delete_model_version",
    ):
        after_call(plugin, store, method, observer.state_changed)
    after_call(plugin, store, "delete_registered_model", observer.model_deleted)


def tracking_observer(plugin: Plugin, tracking_uri: str | None = None) -> TrackingObserver:
    """The observer of the tracking store for ``tracking_uri`` (default: the current one).

    Built through MLflow (so through our entry point, and cached by MLflow); a store of a
    scheme we do not hook gets an observer used only to look runs up.
    """
    from mlflow.tracking._tracking_service import utils  # noqa: PLC0415 - MLflow is loaded by now

    build_store: Any = utils._get_store
    store = build_store(tracking_uri)
    observer = getattr(store, OBSERVER, None)
    if isinstance(observer, TrackingObserver):
        return observer
    return TrackingObserver(plugin, store, tracking_uri or utils.get_tracking_uri())


class TrackingObserver:
    """Reports what happens in one tracking store (one tracking server)."""

    def __init__(self, plugin: Plugin, store: Any, uri: str) -> None:
        self.plugin = plugin
        self.store = store
        self.uri = uri
        self.namespace = naming.mlflow_namespace(uri)
        # logged models whose READY event names their source run: log_outputs adds nothing
        self._logged: set[tuple[str, str]] = set()
        self._model_inputs: set[tuple[str, str]] = set()

    def context(self, run_id: str, run: Any = None) -> events.RunContext:
        """What every event of the run needs; looked up through the store once per run."""
        known = self.plugin.contexts.get(self.namespace, run_id)
        if known is not None:
            return known
        run = run if run is not None else self.store.get_run(run_id)
        experiment_id = str(run.info.experiment_id)
        experiment = self.plugin.contexts.experiment_name(
            self.namespace, experiment_id, lambda: str(self.store.get_experiment(experiment_id).name)
        )
        ctx = events.RunContext(
            namespace=self.namespace,
            experiment_id=experiment_id,
            experiment_name=experiment,
            run_facets={c.WORKLOAD_FACET: self.workload(run_id, experiment_id, experiment).facet(P)},
            parent_run_id=(run.data.tags or {}).get("mlflow.parentRunId") or None,
        )
        return self.plugin.contexts.put(self.namespace, run_id, ctx)

    def workload(
        self, run_id: str | None, experiment_id: str | None = None, experiment: str | None = None
    ) -> c.Workload:
        """The ``olgraph_workload`` facet's content for a run of this tracking server."""
        extra = {
            "mlflowVersion": mlflow_version(),
            "trackingUri": naming.public_uri(self.uri),
            "experimentId": experiment_id,
            "experimentName": experiment,
        }
        return c.Workload("mlflow", run_id, extra)

    def run_created(self, run: Any, _: dict[str, Any]) -> None:
        """``create_run``: START at the run's start time."""
        self.plugin.emit(events.run_started(run, self.context(run.info.run_id, run)))

    def run_updated(self, info: Any, call: dict[str, Any]) -> None:
        """``update_run_info``: the terminal event when the run ended."""
        if str(getattr(info, "status", "")) not in _TERMINAL:
            return
        run = self.store.get_run(call["run_id"])
        self.plugin.emit(events.run_state(run, self.context(run.info.run_id, run)))

    def inputs_logged(self, _: Any, call: dict[str, Any]) -> None:
        """``log_inputs``: the datasets (identity by source, version by digest) and models read."""
        run_id, datasets, models = call["run_id"], call.get("datasets"), call.get("models")
        if datasets:
            self.plugin.emit(events.inputs_logged(run_id, self.context(run_id), datasets, c.now()))
        new = [m.model_id for m in models or [] if (run_id, m.model_id) not in self._model_inputs]
        if new:
            # MLflow logs a model input with every metric logged for a model: once is enough
            self._model_inputs.update((run_id, model_id) for model_id in new)
            inputs = [events.logged_model_input(model_id, self.namespace) for model_id in dict.fromkeys(new)]
            self.plugin.emit(events.run_io(run_id, self.context(run_id), c.now(), inputs=inputs))

    def logged_model_created(self, model: Any, _: dict[str, Any]) -> None:
        """``create_logged_model``: remember the model's run (its READY event will name it)."""
        if getattr(model, "source_run_id", None):
            self._logged.add((model.source_run_id, model.model_id))

    def logged_model_finalized(self, model: Any, _: dict[str, Any]) -> None:
        """``finalize_logged_model``: a READY model is written by its source run."""
        if str(getattr(model, "status", "")) != "READY" or not getattr(model, "source_run_id", None):
            return
        self.plugin.emit(events.model_logged(model, self.context(model.source_run_id)))

    def outputs_logged(self, _: Any, call: dict[str, Any]) -> None:
        """``log_outputs``: models logged as outputs of a run other than the one that made them."""
        run_id = call["run_id"]
        other = [m.model_id for m in call.get("models") or [] if (run_id, m.model_id) not in self._logged]
        if not other:
            return
        models = [self.store.get_logged_model(model_id) for model_id in dict.fromkeys(other)]
        self.plugin.emit(events.logged_models_written(run_id, self.context(run_id), models, c.now()))


class RegistryObserver:
    """Reports what happens in one model registry."""

    def __init__(self, plugin: Plugin, store: Any, uri: str, tracking_uri: str | None) -> None:
        self.plugin = plugin
        self.store = store
        self.namespace = naming.mlflow_namespace(uri)
        self.tracking_uri = tracking_uri

    def version_created(self, version: Any, _: dict[str, Any]) -> None:
        """``create_model_version``: version N of ``models/{name}``, written by its run."""
        run_id = getattr(version, "run_id", None)
        if not run_id:
            return  # registered from a path, not a run: no producing run to name
        ctx = tracking_observer(self.plugin, self.tracking_uri).context(run_id)
        self.plugin.emit(events.model_version_created(version, ctx, self.namespace))

    def state_changed(self, _: Any, call: dict[str, Any]) -> None:
        """A stage, an alias or a version changed: the model's complete aliases and stages."""
        name = call["name"]
        model = self.store.get_registered_model(name)
        observed = self.plugin.observed_millis(self.namespace, name)
        event = events.registered_model_state_observed(model, self.versions(name), self.namespace, observed)
        self.plugin.emit(event)

    def model_deleted(self, _: Any, call: dict[str, Any]) -> None:
        """``delete_registered_model``: the model is dropped (kept in history)."""
        name = call["name"]
        at = c.from_millis(self.plugin.observed_millis(self.namespace, name))
        self.plugin.emit(events.model_dropped(name, self.namespace, at))

    def versions(self, name: str) -> list[Any]:
        """Every version of a registered model (all pages)."""
        quote = '"' if "'" in name else "'"
        found: list[Any] = []
        token = None
        for _ in range(_MAX_VERSION_PAGES):
            page = self.store.search_model_versions(
                filter_string=f"name = {quote}{name}{quote}", max_results=_VERSIONS_PER_PAGE, page_token=token
            )
            found.extend(page)
            token = getattr(page, "token", None)
            if not token:
                break
        return found


@functools.cache
def mlflow_version() -> str | None:
    """MLflow's version (MLflow is imported by the time a store is observed)."""
    from mlflow.version import VERSION  # noqa: PLC0415

    return str(VERSION)
