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
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from olgraph.errors import OlgraphError
from olgraph.integrations import _common as c
from olgraph.integrations.mlflow import events as ev
from olgraph.integrations.mlflow import naming

P = naming.PLUGIN
JsonDict = dict[str, Any]
Emit = Callable[[JsonDict], None]
GraphLookup = Callable[[str, str], Mapping[str, Any] | None]

DOCUMENTATION_JOB_FACET = f"{c.FACETS_URL}/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet"
LIFECYCLE_FACET = (
    f"{c.FACETS_URL}/1-0-1/LifecycleStateChangeDatasetFacet.json#/$defs/LifecycleStateChangeDatasetFacet"
)
PARENT_TAG = "mlflow.parentRunId"
NOTE_TAG = "mlflow.note.content"
LOGGED_MODELS_TAG = "mlflow.log-model.history"
MAX_PAGE_SIZE = 1000  # the registry's search limit, the smallest of MLflow's
PROBE_TIMEOUT = 10.0  # seconds to wait for a tracking server's /health before giving up
_CONTEXT_CACHE = 10_000  # runs remembered for linking model versions


class SyncError(OlgraphError):
    """A sync that cannot go on; the message says why, for the user."""


class MlflowUnavailable(SyncError):
    """MLflow could not be read: server down, bad URI, refused request."""


class DeletionRefused(SyncError):
    """The fail-safe: too large a share of what was synced before would be marked deleted."""

    def __init__(self, plan: DeletionPlan, max_fraction: float) -> None:
        self.plan = plan
        super().__init__(
            f"{len(plan.vanished)} of the {plan.previous} models synced before are no longer in MLflow "
            f"({plan.fraction:.0%} > --max-delete-fraction {max_fraction:g}); nothing was marked deleted. "
            "Check --tracking-uri/--registry-uri, then re-run with --force to delete them anyway."
        )


@dataclass(frozen=True)
class Source:
    """The MLflow tracking server (and model registry) to read, and the page size of its searches."""

    tracking_uri: str
    registry_uri: str | None = None
    page_size: int = 500

    @property
    def tracking_namespace(self) -> str:
        """Namespace of experiments, runs and logged models."""
        return naming.mlflow_namespace(self.tracking_uri)

    @property
    def registry_namespace(self) -> str:
        """Namespace of registered models (the registry URI's, which defaults to the tracking URI)."""
        return naming.mlflow_namespace(self.registry_uri or self.tracking_uri)


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


# --------------------------------------------------------------------------- sync-only builders


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
    moment = _parse_time(text)
    return c.from_millis(fallback_millis if moment is None else moment.timestamp() * 1000)


def _parse_time(text: Any) -> datetime | None:
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


# --------------------------------------------------------------------------- reading MLflow


class MlflowReader:
    """Paged reads of one tracking server and its registry, with MLflow's errors mapped to ours."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.page_size = max(1, min(source.page_size, MAX_PAGE_SIZE))
        try:
            self.client = MlflowClient(tracking_uri=source.tracking_uri, registry_uri=source.registry_uri)
        except Exception as exc:  # MLflow checks the URIs' schemes when the client is built
            detail = exc.message if isinstance(exc, MlflowException) else str(exc)
            where = naming.public_uri(source.tracking_uri)
            raise MlflowUnavailable(f"MLflow cannot use --tracking-uri {where!r}: {detail.strip()}") from exc
        self.logged_models_supported = True
        self._experiment_names: dict[str, str | None] = {}
        self._contexts: dict[str, ev.RunContext | None] = {}

    def check(self) -> None:
        """Fail fast (and clearly) when the tracking server cannot be reached or the URI is wrong.

        MLflow's own HTTP client retries a refused connection for minutes, so an HTTP server is
        first asked for ``/health`` directly (without credentials; any answer will do).
        """
        uri = naming.public_uri(self.source.tracking_uri).rstrip("/")
        if uri.startswith(("http://", "https://")):
            try:
                httpx.get(f"{uri}/health", timeout=PROBE_TIMEOUT, verify=False)  # noqa: S501 - a reachability probe, no data
            except httpx.TransportError as exc:
                raise MlflowUnavailable(f"cannot reach the MLflow tracking server at {uri}: {exc}") from exc
        self._call("listing experiments", self.client.search_experiments, max_results=1)

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MlflowException as exc:
            raise MlflowUnavailable(f"MLflow failed {what}: {exc.message} ({exc.error_code})") from exc
        except Exception as exc:  # requests, SQLAlchemy, a bad URI…: the adapter maps them all, once
            raise MlflowUnavailable(f"MLflow failed {what}: {type(exc).__name__}: {exc}") from exc

    def _pages(self, what: str, fetch: Callable[[str | None], Any]) -> Iterator[Any]:
        token: str | None = None
        while True:
            page = self._call(what, fetch, token)
            yield from page
            token = page.token
            if not token:
                return

    def experiments(self) -> Iterator[Any]:
        """Active experiments."""
        return self._pages(
            "listing experiments",
            lambda token: self.client.search_experiments(
                view_type=ViewType.ACTIVE_ONLY, max_results=self.page_size, page_token=token
            ),
        )

    def runs(self, experiment_id: str) -> Iterator[Any]:
        """Active runs of one experiment, oldest first."""
        return self._pages(
            f"listing the runs of experiment {experiment_id}",
            lambda token: self.client.search_runs(
                [experiment_id],
                run_view_type=ViewType.ACTIVE_ONLY,
                max_results=self.page_size,
                order_by=["attributes.start_time ASC"],
                page_token=token,
            ),
        )

    def logged_models(self, experiment_id: str) -> Iterator[Any]:
        """MLflow 3 logged models of one experiment (none from servers that do not have them)."""
        if not self.logged_models_supported:
            return
        try:
            yield from self._pages(
                f"listing the logged models of experiment {experiment_id}",
                lambda token: self.client.search_logged_models(
                    [experiment_id], max_results=self.page_size, page_token=token
                ),
            )
        except MlflowUnavailable as exc:
            if not _unsupported(exc.__cause__):
                raise
            self.logged_models_supported = False

    def registered_models(self) -> Iterator[Any]:
        """Registered models of the registry."""
        return self._pages(
            "listing registered models",
            lambda token: self.client.search_registered_models(max_results=self.page_size, page_token=token),
        )

    def versions(self, name: str) -> list[Any]:
        """Every version of one registered model (paged; one model's versions fit in memory)."""
        pages = self._pages(
            f"listing the versions of model {name!r}",
            lambda token: self.client.search_model_versions(
                filter_string=version_filter(name), max_results=self.page_size, page_token=token
            ),
        )
        return [v for v in pages if v.name == name]

    def context_of(self, run_id: str) -> ev.RunContext | None:
        """The context of an active run in an active experiment (``None`` when it is gone)."""
        if run_id not in self._contexts:
            if len(self._contexts) >= _CONTEXT_CACHE:
                self._contexts.clear()
            self._contexts[run_id] = self._load_context(run_id)
        return self._contexts[run_id]

    def _load_context(self, run_id: str) -> ev.RunContext | None:
        try:
            run = self.client.get_run(run_id)
        except MlflowException as exc:
            if exc.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
                return None
            raise MlflowUnavailable(f"MLflow failed reading run {run_id}: {exc.message}") from exc
        if run.info.lifecycle_stage != "active":
            return None
        name = self._experiment_name(str(run.info.experiment_id))
        return None if name is None else run_context(run, name, self.source.tracking_namespace)

    def _experiment_name(self, experiment_id: str) -> str | None:
        if experiment_id not in self._experiment_names:
            experiment = self._call(
                f"reading experiment {experiment_id}", self.client.get_experiment, experiment_id
            )
            active = experiment is not None and experiment.lifecycle_stage == "active"
            self._experiment_names[experiment_id] = experiment.name if active else None
        return self._experiment_names[experiment_id]


def _unsupported(exc: BaseException | None) -> bool:
    """Whether MLflow says it has no logged models (an MLflow 2 server, a store without them)."""
    if isinstance(exc, NotImplementedError):
        return True
    return isinstance(exc, MlflowException) and exc.error_code in {"ENDPOINT_NOT_FOUND", "NOT_IMPLEMENTED"}


def version_filter(name: str) -> str:
    """A ``search_model_versions`` filter for one model name, whatever quotes the name holds.

    MLflow's filter strings have no escapes: a name with ``'`` is quoted with ``"``; a name
    with both is matched with ``LIKE`` (quotes as ``_``), and :meth:`MlflowReader.versions`
    keeps only exact matches.
    """
    if "'" not in name:
        return f"name = '{name}'"
    if '"' not in name:
        return f'name = "{name}"'
    return "name LIKE '" + name.replace("'", "_").replace('"', "_") + "'"


# --------------------------------------------------------------------------- what the graph holds


@dataclass(frozen=True)
class GraphNode:
    """A live model dataset or experiment job the graph holds for this MLflow server."""

    namespace: str
    name: str
    last_seen: str | None = None
    description: str | None = None

    @property
    def run_id(self) -> str | None:
        """The run of a run-artifact model (``runs/{run_id}/{path}``)."""
        if not self.name.startswith(naming.RUN_ARTIFACTS):
            return None
        return self.name.removeprefix(naming.RUN_ARTIFACTS).split("/", 1)[0]


@dataclass(frozen=True)
class Previous:
    """What an earlier sync (or the plugin) put in the graph: live models and experiment jobs."""

    models: tuple[GraphNode, ...] = ()
    experiments: Mapping[str, GraphNode] = field(default_factory=dict)

    @classmethod
    def from_listings(
        cls, source: Source, datasets: Iterable[Mapping[str, Any]], jobs: Iterable[Mapping[str, Any]]
    ) -> Previous:
        """Keep, from the query API's dataset and job listings, what this server's sync owns."""
        owned = {(source.registry_namespace, naming.REGISTERED_MODELS)}
        owned |= {(source.tracking_namespace, p) for p in (naming.LOGGED_MODELS, naming.RUN_ARTIFACTS)}
        models = tuple(
            _node(d)
            for d in datasets
            if d.get("type") == "model"
            and not d.get("deleted")
            and any(d.get("namespace") == ns and str(d.get("name", "")).startswith(p) for ns, p in owned)
        )
        experiments = {
            str(j["name"]): _node(j)
            for j in jobs
            if j.get("namespace") == source.tracking_namespace
            and j.get("integration") == "MLFLOW"
            and j.get("jobType") == "EXPERIMENT"
        }
        return cls(models, experiments)


def _node(item: Mapping[str, Any]) -> GraphNode:
    return GraphNode(
        str(item["namespace"]), str(item["name"]), item.get("lastSeenAt"), item.get("description")
    )


@dataclass
class Tally:
    """How many MLflow entities a sync read."""

    experiments: int = 0
    runs: int = 0
    logged_models: int = 0
    registered_models: int = 0
    versions: int = 0


@dataclass
class Present:
    """What the sync found in MLflow, as far as deletions need it."""

    models: set[tuple[str, str]] = field(default_factory=set)
    runs: set[str] = field(default_factory=set)  # only the runs of previously known artifact models
    experiments: set[str] = field(default_factory=set)
    logged_models_listed: bool = True


@dataclass(frozen=True)
class DeletionPlan:
    """Which previously synced models vanished from MLflow, and the DROP events that say so."""

    previous: int
    vanished: tuple[GraphNode, ...]
    vanished_experiments: tuple[str, ...] = ()

    @property
    def fraction(self) -> float:
        """Share of the previously synced models that would be deleted."""
        return len(self.vanished) / self.previous if self.previous else 0.0

    def check(self, max_fraction: float, force: bool) -> None:
        """Raise :class:`DeletionRefused` past ``max_fraction``, unless ``force``."""
        if self.vanished and self.fraction > max_fraction and not force:
            raise DeletionRefused(self, max_fraction)

    def events(self, registry_namespace: str) -> list[JsonDict]:
        """One DROP per vanished model, dated just after the graph last saw it (deterministic)."""
        out = []
        for model in self.vanished:
            at = _just_after(model.last_seen)
            if model.namespace == registry_namespace and model.name.startswith(naming.REGISTERED_MODELS):
                out.append(
                    ev.model_dropped(model.name.removeprefix(naming.REGISTERED_MODELS), model.namespace, at)
                )
            else:
                out.append(dataset_dropped(model.namespace, model.name, at))
        return out


def _just_after(time_text: str | None) -> str:
    """1 ms after ``time_text``: later than every write the graph saw, so the DROP wins."""
    return c.from_millis(_millis_after(time_text)) if _parse_time(time_text) else c.now()


def _millis_after(time_text: str | None) -> int:
    """Epoch milliseconds 1 ms after ``time_text`` (0 if it is not a time)."""
    moment = _parse_time(time_text)
    return 0 if moment is None else int(moment.timestamp() * 1000) + 1


def plan_deletions(previous: Previous, present: Present) -> DeletionPlan:
    """Compare the graph with MLflow: what the graph holds as live and MLflow no longer has."""
    vanished = []
    for model in previous.models:
        if model.run_id is not None:
            gone = model.run_id not in present.runs
        elif model.name.startswith(naming.LOGGED_MODELS) and not present.logged_models_listed:
            gone = False  # the server cannot list logged models: never guess they are gone
        else:
            gone = (model.namespace, model.name) not in present.models
        if gone:
            vanished.append(model)
    experiments = tuple(sorted(set(previous.experiments) - present.experiments))
    return DeletionPlan(len(previous.models), tuple(vanished), experiments)


# --------------------------------------------------------------------------- the pass over MLflow


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
        later = _millis_after(job.last_seen) if job and note and job.description != note else 0
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
        later = _millis_after(self.last_seen[key])
        return ev.registered_model_state_observed(model, versions, namespace, max(stamp, later))


def state_millis(model: Any, versions: Iterable[Any]) -> int:
    """When MLflow last changed a registered model, and later than every version's creation."""
    stamps = [int(model.last_updated_timestamp or 0)]
    for version in versions:
        stamps += [int(version.last_updated_timestamp or 0), int(version.creation_timestamp or 0) + 1]
    return max(stamps)


def state_differs(event: Mapping[str, Any], graph_facets: Mapping[str, Any]) -> bool:
    """Whether the graph's ``tags`` or ``mlflow_model`` facet says something else than ``event``."""
    facets = event["dataset"]["facets"]
    return any(
        _payload(facets.get(name)) != _payload(graph_facets.get(name)) for name in ("tags", "mlflow_model")
    )


def _payload(facet: Any) -> Any:
    if not isinstance(facet, Mapping):
        return None
    return {k: v for k, v in facet.items() if k not in {"_producer", "_schemaURL"}}


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
