"""Reading MLflow: paged searches of one tracking server and its registry, its errors mapped to ours.

The only module of the sync that imports MLflow: the seam to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from olgraph.integrations.mlflow import events as ev
from olgraph.integrations.mlflow import naming
from olgraph.integrations.mlflow.sync.builders import run_context
from olgraph.integrations.mlflow.sync.errors import MlflowUnavailable
from olgraph.integrations.mlflow.sync.source import Source

MAX_PAGE_SIZE = 1000  # the registry's search limit, the smallest of MLflow's
PROBE_TIMEOUT = 10.0  # seconds to wait for a tracking server's /health before giving up
_CONTEXT_CACHE = 10_000  # runs remembered for linking model versions


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
