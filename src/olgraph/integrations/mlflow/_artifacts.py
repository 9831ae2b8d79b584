"""Observing MLflow's artifact repositories: model loads, downloads, and artifact models.

``download_artifacts`` is how every load reaches storage (``mlflow.pyfunc.load_model``,
``mlflow.<flavor>.load_model``, ``mlflow.artifacts.download_artifacts``, the client's
``download_artifacts``). The process that downloads is the consumer: the active MLflow run
if there is one, else the process's own run (:class:`~olgraph.integrations._common.ProcessRun`).
What was read is named as the plugin names what was written:

- ``models:/churn/7``, ``models:/churn@champion``, ``models:/churn/Production`` → version
  7 of ``models/churn`` (MLflow resolved the alias or stage when it built the repository);
- ``models:/m-…`` → ``logged_models/m-…``;
- ``runs:/{id}/{path}`` → ``runs/{id}/{path}``, or the logged model MLflow 3 resolves it to;
- a run's or a logged model's artifact root (any storage) → ``runs/{id}/{path}`` /
  ``logged_models/m-…``; any other remote location → its OpenLineage dataset identity.

Not reported: downloads nested in another one (``models:/`` and ``runs:/`` repositories
download again through the repository they resolve to), reads of a model's ``MLmodel``
file alone (MLflow's metadata reads), and copies between local paths outside MLflow's
stores (MLflow reads the local copy of a model again and again while loading it).

``log_artifacts`` of a directory holding an ``MLmodel`` file into a run's artifacts is the
pre-MLflow-3 way to log a model: the run writes ``runs/{id}/{path}``.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from olgraph.integrations import _common as c
from olgraph.integrations.mlflow import events, naming
from olgraph.integrations.mlflow._stores import OBSERVER, TrackingObserver, after_call, tracking_observer
from olgraph.integrations.mlflow.plugin import Plugin

P = naming.PLUGIN
MLMODEL = "MLmodel"
_RUN_ROOT = re.compile(r"/(?P<run>[0-9a-f]{32})/artifacts(?:/(?P<rest>.*))?$")
_MODEL_ROOT = re.compile(r"/models/(?P<model>m-[0-9a-f]{32})/artifacts(?:/(?P<rest>.*))?$")
_LOCAL = {"", "file"}


@dataclass
class _Download:
    """One download in progress; a nested one may tell it which logged model it really read."""

    logged_model: str | None = None


class _Downloads(threading.local):
    """The downloads in progress on this thread, outermost first."""

    def __init__(self) -> None:
        self.stack: list[_Download] = []


_downloads = _Downloads()


def observe_repository(plugin: Plugin, repo: Any, artifact_uri: str, tracking_uri: str | None) -> None:
    """Observe an artifact repository built for ``artifact_uri``."""
    observer = RepositoryObserver(plugin, repo, artifact_uri, tracking_uri)
    setattr(repo, OBSERVER, observer)
    original = getattr(repo, "download_artifacts", None)
    if original is not None and not getattr(original, OBSERVER, False):
        repo.download_artifacts = _observed_download(observer, original)
    after_call(plugin, repo, "log_artifacts", observer.artifacts_logged)


def _observed_download(observer: RepositoryObserver, original: Any) -> Any:
    @functools.wraps(original)
    def download_artifacts(*args: Any, **kwargs: Any) -> Any:
        stack = _downloads.stack
        this = _Download()
        stack.append(this)
        try:
            local_path = original(*args, **kwargs)
        finally:
            stack.pop()
        with observer.plugin.guard("reporting a model or artifact load"):
            artifact_path = kwargs.get("artifact_path", args[0] if args else "")
            observer.downloaded(str(artifact_path or ""), local_path, this, stack[-1] if stack else None)
        return local_path

    setattr(download_artifacts, OBSERVER, True)
    return download_artifacts


class RepositoryObserver:
    """Reports loads from, and artifact models logged to, one artifact repository."""

    def __init__(self, plugin: Plugin, repo: Any, artifact_uri: str, tracking_uri: str | None) -> None:
        self.plugin = plugin
        self.repo = repo
        self.uri = artifact_uri.rstrip("/")
        self.scheme = urlsplit(self.uri).scheme
        self.tracking_uri = tracking_uri

    def downloaded(
        self, artifact_path: str, local_path: Any, this: _Download, outer: _Download | None
    ) -> None:
        """Report a finished download, unless it is part of another one or a metadata read."""
        path = artifact_path.strip("/")
        if outer is not None:
            model_id = self._logged_model_root()
            if model_id and outer.logged_model is None:
                outer.logged_model = model_id  # what a runs:/ URI really pointed to
            return
        if posixpath.basename(path or self.uri) == MLMODEL:
            return
        entry = self.read_entry(path, str(local_path or ""), this.logged_model)
        if entry is not None:
            self._report(entry)

    def read_entry(self, path: str, local_path: str, resolved_model: str | None = None) -> c.JsonDict | None:
        """The input dataset for reading ``path`` from this repository (``None``: not reported)."""
        location = urlsplit(self.uri).path
        model_root, run_root = _MODEL_ROOT.search(location), _RUN_ROOT.search(location)
        if self.scheme in _LOCAL and not (model_root or run_root):
            return None  # a local copy, not a read from MLflow's stores
        namespace = self._tracking().namespace
        if self.scheme == "models":
            return self._model_entry(namespace)
        if self.scheme == "runs":
            if resolved_model:
                return events.logged_model_input(resolved_model, namespace)
            run_id, _, sub = location.strip("/").partition("/")
            return events.run_artifact_input(
                run_id, _join(sub, path), namespace, is_model=_is_model(local_path)
            )
        if model_root:
            return events.logged_model_input(model_root["model"], namespace)
        if run_root:
            full = _join(run_root["rest"] or "", path)
            return events.run_artifact_input(run_root["run"], full, namespace, is_model=_is_model(local_path))
        ds_namespace, name = c.dataset_identity(f"{self.uri}/{path}" if path else self.uri)
        facets = {"datasetType": c.dataset_type_facet(P, "MODEL")} if _is_model(local_path) else None
        return c.dataset(ds_namespace, name, facets)

    def artifacts_logged(self, _: Any, call: dict[str, Any]) -> None:
        """``log_artifacts`` into a run's artifacts: every model directory is a model written."""
        found = _RUN_ROOT.search(urlsplit(self.uri).path)
        if not found:
            return  # a logged model's own artifacts: its READY event reports it
        run_id, local_dir = found["run"], str(call["local_dir"])
        base = _join(found["rest"] or "", str(call.get("artifact_path") or ""))
        for sub in _model_dirs(local_dir):
            path = _join(base, sub)
            if path:  # a model at the very root of a run's artifacts has no name of its own
                ctx = self._tracking().context(run_id)
                self.plugin.emit(events.artifact_model_logged(run_id, path, ctx, c.now()))

    def _model_entry(self, tracking_namespace: str) -> c.JsonDict | None:
        name = getattr(self.repo, "model_name", None)
        if name:
            version = getattr(self.repo, "model_version", None)
            registry = naming.mlflow_namespace(_registry_uri(self.repo))
            return events.registered_model_input(str(name), str(version) if version else None, registry)
        model_id = urlsplit(self.uri).path.strip("/").split("/", 1)[0]
        return events.logged_model_input(model_id, tracking_namespace) if model_id.startswith("m-") else None

    def _logged_model_root(self) -> str | None:
        if self.scheme == "models":
            model_id = urlsplit(self.uri).path.strip("/").split("/", 1)[0]
            return model_id if model_id.startswith("m-") else None
        found = _MODEL_ROOT.search(urlsplit(self.uri).path)
        return found["model"] if found else None

    def _tracking(self) -> TrackingObserver:
        return tracking_observer(self.plugin, self.tracking_uri)

    def _report(self, entry: c.JsonDict) -> None:
        """One RUNNING event of the consuming run with ``entry`` as its input."""
        import mlflow  # noqa: PLC0415 - loaded: it is what called us

        tracking = self._tracking()
        active = mlflow.active_run()
        if active is not None:
            run_id = active.info.run_id
            if self.plugin.first_read(run_id, entry):
                ctx = tracking.context(run_id, active)
                self.plugin.emit(events.run_io(run_id, ctx, c.now(), inputs=[entry]))
            return
        workload = tracking.workload(None)
        process = self.plugin.process_run(tracking.namespace, workload)
        if self.plugin.first_read(process.run_id, entry):
            self.plugin.emit(process.event("RUNNING", inputs=[entry]))


def _registry_uri(repo: Any) -> str:
    uri = getattr(repo, "registry_uri", None)
    if uri:
        return str(uri)
    import mlflow  # noqa: PLC0415

    return str(mlflow.get_registry_uri())


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def _is_model(local_path: str) -> bool:
    return bool(local_path) and os.path.isfile(os.path.join(local_path, MLMODEL))


def _model_dirs(local_dir: str) -> list[str]:
    """``""`` when ``local_dir`` is a model directory, else its child directories that are."""
    if _is_model(local_dir):
        return [""]
    try:
        children = sorted(entry.name for entry in os.scandir(local_dir) if entry.is_dir())
    except OSError:
        return []
    return [name for name in children if _is_model(os.path.join(local_dir, name))]
