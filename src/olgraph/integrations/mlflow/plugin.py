"""The MLflow plugin's state: settings, when it stays off, the emitter, the run cache.

One :class:`Plugin` per process (:func:`current`), created from the environment the first
time MLflow builds a store or an artifact repository through our entry points
(:mod:`olgraph.integrations.mlflow.entrypoints`). :func:`observe` is what those builders
call: it returns MLflow's object unchanged when the plugin is off, else with a few of its
methods observed (:mod:`._stores`, :mod:`._artifacts`).

The plugin is off, and every store is MLflow's own, when

- ``OLGRAPH_MLFLOW_DISABLED=true`` (or ``OPENLINEAGE_DISABLED=true``);
- OpenLineage is not configured (no ``OPENLINEAGE_URL``, ``OPENLINEAGE__TRANSPORT__*``,
  ``OPENLINEAGE_CONFIG`` or ``openlineage.yml``);
- the process is an ``mlflow server`` (or ``mlflow ui``) or one of its workers: the
  server's stores serve every client, and the clients report what they do themselves;
- the process is MLflow's requirement-inference helper, which loads a model being logged
  only to see what it imports.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from olgraph.integrations import _common as c
from olgraph.integrations.mlflow import events, naming

P = naming.PLUGIN
JsonDict = dict[str, Any]

# Set by `mlflow server` for its web-server workers (mlflow/server/__init__.py, constants.py).
_SERVER_ENV = (
    "_MLFLOW_SERVER_FILE_STORE",
    "_MLFLOW_SERVER_REGISTRY_STORE",
    "_MLFLOW_SERVER_ARTIFACT_ROOT",
    "_MLFLOW_SERVER_ARTIFACT_DESTINATION",
    "_MLFLOW_SERVER_SERVE_ARTIFACTS",
    "_MLFLOW_SERVER_ARTIFACTS_ONLY",
    "_MLFLOW_SERVER_BOOT_ID",
    "_MLFLOW_SGI_NAME",
)
_SERVER_COMMANDS = {"server", "ui"}
# Set by MLflow for the subprocess that loads a model being logged to infer its requirements.
_CAPTURE_ENV = "_MLFLOW_IN_CAPTURE_MODULE_PROCESS"


def in_mlflow_server(environ: Mapping[str, str], argv: Sequence[str]) -> bool:
    """Whether this process is an MLflow tracking server (its CLI, or one of its workers).

    >>> in_mlflow_server({}, ["/venv/bin/mlflow", "server", "--port", "5000"])
    True
    >>> in_mlflow_server({"_MLFLOW_SERVER_FILE_STORE": "sqlite:///mlflow.db"}, ["uvicorn"])
    True
    >>> in_mlflow_server({}, ["train.py"])
    False
    """
    if any(environ.get(name) for name in _SERVER_ENV):
        return True
    if len(argv) >= 2 and argv[1] in _SERVER_COMMANDS:
        program = Path(argv[0])
        if program.name == "mlflow" or (program.name == "__main__.py" and program.parent.name == "mlflow"):
            return True
    return any(arg.startswith(("mlflow.server:", "mlflow.server.")) for arg in argv[1:])


def off_reason(settings: c.PluginSettings, environ: Mapping[str, str], argv: Sequence[str]) -> str | None:
    """Why the plugin stays off in this process, or ``None`` when it observes MLflow."""
    if settings.disabled:
        return f"{settings.env_prefix}DISABLED or OPENLINEAGE_DISABLED is set"
    if in_mlflow_server(environ, argv):
        return "this process is an MLflow tracking server"
    if environ.get(_CAPTURE_ENV, "").lower() == "true":
        return "this process is MLflow's requirement-inference helper"
    if not c.openlineage_configured(environ):
        return "OpenLineage is not configured (set OPENLINEAGE_URL or OPENLINEAGE__TRANSPORT__*)"
    return None


class RunContexts:
    """In-process cache of what events need about MLflow runs: experiment, parent, facets.

    Keys include the tracking namespace, so two tracking servers used by one process do not
    mix. Filled when this process creates a run; otherwise looked up once per run.
    """

    def __init__(self) -> None:
        self._runs: dict[tuple[str, str], events.RunContext] = {}
        self._experiments: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get(self, namespace: str, run_id: str) -> events.RunContext | None:
        """The cached context of a run, if known."""
        with self._lock:
            return self._runs.get((namespace, run_id))

    def put(self, namespace: str, run_id: str, ctx: events.RunContext) -> events.RunContext:
        """Remember a run's context."""
        with self._lock:
            self._runs[(namespace, run_id)] = ctx
        return ctx

    def experiment_name(self, namespace: str, experiment_id: str, lookup: Callable[[], str]) -> str:
        """An experiment's name, from the cache or ``lookup()`` (called once per experiment)."""
        with self._lock:
            known = self._experiments.get((namespace, experiment_id))
        if known is not None:
            return known
        name = lookup()
        with self._lock:
            self._experiments[(namespace, experiment_id)] = name
        return name


class StrictEmitter(c.Emitter):
    """Sends each event at once, on the caller's thread, so that errors raise there.

    What ``OLGRAPH_MLFLOW_IGNORE_ERRORS=false`` asks for: a misconfigured transport fails
    the MLflow call that produced the event instead of a warning in the log.
    """

    def __init__(
        self, settings: c.PluginSettings, logger: logging.Logger, *, sender: Callable[[], c.SendFn]
    ) -> None:
        super().__init__(settings, logger, sender=sender)
        self._build_sender = sender
        self._send: c.SendFn | None = None

    def emit(self, event: JsonDict) -> None:
        """Send ``event`` now; errors propagate."""
        if self._send is None:
            self._send = self._build_sender()
        self._send(event)
        self.sent += 1


class Plugin:
    """The plugin in one process: settings, logger, guard, emitter and caches.

    ``sender`` builds the function that sends one event (default: openlineage-python's
    client, configured the standard way); tests pass one that records events.
    With ``OLGRAPH_MLFLOW_IGNORE_ERRORS=false`` events are sent synchronously on the
    workload's thread, so a broken transport raises where it can be seen.
    """

    def __init__(
        self,
        settings: c.PluginSettings,
        *,
        environ: Mapping[str, str],
        argv: Sequence[str] = (),
        sender: Callable[[], c.SendFn] | None = None,
    ) -> None:
        self.settings = settings
        self.environ = dict(environ)
        self.logger = c.plugin_logger(settings)
        self.guard = c.Guard(settings, self.logger)
        self.off_reason = off_reason(settings, environ, argv)
        self.contexts = RunContexts()
        self._make_sender = sender or (lambda: c.default_sender(self.logger))
        self._emitter: c.Emitter | None = None
        self._process_run: c.ProcessRun | None = None
        self._reads: set[tuple[str, str, str, str]] = set()
        self._model_clock: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._exit_deadline: float | None = None
        self._exit_hook = False

    @classmethod
    def from_env(cls) -> Plugin:
        """The plugin as the process environment configures it."""
        return cls(c.PluginSettings.from_env(P), environ=os.environ, argv=sys.argv)

    @property
    def active(self) -> bool:
        """Whether MLflow's stores are observed in this process."""
        return self.off_reason is None

    @property
    def emitter(self) -> c.Emitter:
        """The one emitter of this plugin (created with the first event)."""
        with self._lock:
            if self._emitter is None:
                kind = c.Emitter if self.settings.ignore_errors else StrictEmitter
                self._emitter = kind(self.settings, self.logger, sender=self._make_sender)
            return self._emitter

    def emit(self, event: JsonDict | None) -> None:
        """Send one event (``None``, what a builder returns when there is nothing to say, is skipped)."""
        if event is None:
            return
        self.emitter.emit(event)
        if self._exit_deadline is not None:
            # MLflow ends runs left open in its own exit hook, after the emitter's flush ran
            self.emitter.flush(max(0.0, self._exit_deadline - time.monotonic()))

    def started(self) -> None:
        """Note that the plugin observes something (arms the exit bookkeeping once)."""
        with self._lock:
            if self._exit_hook:
                return
            self._exit_hook = True
        atexit.register(self._at_exit)

    def _at_exit(self) -> None:
        self._exit_deadline = time.monotonic() + self.settings.flush_timeout

    def process_run(self, namespace: str, workload: c.Workload) -> c.ProcessRun:
        """The run of this process (loads outside any MLflow run belong to it), started."""
        emitter = self.emitter
        with self._lock:
            if self._process_run is None:
                self._process_run = c.ProcessRun(
                    P, emitter, workload, default_namespace=namespace, environ=self.environ
                )
            run = self._process_run
        run.ensure_started()
        return run

    def first_read(self, run_id: str, entry: JsonDict) -> bool:
        """Whether ``run_id`` reads this dataset (and version) for the first time in this process.

        Loading one model makes MLflow download it, then read its ``MLmodel`` file again
        and again; one input per run and model version is what the graph needs.
        """
        version = ((entry.get("facets") or {}).get("version") or {}).get("datasetVersion", "")
        key = (run_id, entry["namespace"], entry["name"], str(version))
        with self._lock:
            if key in self._reads:
                return False
            self._reads.add(key)
        return True

    def observed_millis(self, namespace: str, model_name: str) -> int:
        """Now in epoch milliseconds, strictly after the last time given for this model."""
        key = (namespace, model_name)
        with self._lock:
            millis = max(int(time.time() * 1000), self._model_clock.get(key, 0) + 1)
            self._model_clock[key] = millis
        return millis


_current: Plugin | None = None
_current_lock = threading.Lock()


def current() -> Plugin:
    """The process's plugin, created from the environment on first use."""
    global _current  # noqa: PLW0603 - one plugin per process, created lazily
    with _current_lock:
        if _current is None:
            _current = Plugin.from_env()
            if _current.active:
                _current.logger.debug("olgraph mlflow plugin: observing MLflow")
            else:
                _current.logger.debug("olgraph mlflow plugin: off (%s)", _current.off_reason)
        return _current


@contextlib.contextmanager
def use(plugin: Plugin) -> Iterator[Plugin]:
    """Make ``plugin`` the process's plugin inside the block (tests, benchmarks)."""
    global _current  # noqa: PLW0603
    with _current_lock:
        previous, _current = _current, plugin
    try:
        yield plugin
    finally:
        with _current_lock:
            _current = previous


def observe(kind: str, made: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What the entry-point builders return: ``made`` itself, observed when the plugin is on.

    ``kind`` is ``tracking``, ``registry`` or ``artifacts``; ``args``/``kwargs`` are what
    MLflow passed to the builder (the store or artifact URI, and the tracking/registry URIs).
    """
    plugin = current()
    if not plugin.active:
        return made
    with plugin.guard(f"observing an MLflow {kind} object"):
        from olgraph.integrations.mlflow import _artifacts, _stores  # noqa: PLC0415 - only when on

        plugin.started()
        if kind == "tracking":
            _stores.observe_tracking_store(plugin, made, _uri(args, kwargs, "store_uri"))
        elif kind == "registry":
            _stores.observe_registry_store(
                plugin, made, _uri(args, kwargs, "store_uri"), kwargs.get("tracking_uri")
            )
        else:
            _artifacts.observe_repository(
                plugin, made, _uri(args, kwargs, "artifact_uri"), kwargs.get("tracking_uri")
            )
    return made


def _uri(args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> str:
    value = kwargs.get(name, args[0] if args else "")
    return str(value or "")
