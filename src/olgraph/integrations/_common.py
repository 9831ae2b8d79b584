"""What the client-side plugins share: settings, the never-break guard, the emitter, facets, naming.

Everything here runs inside the user's workload, so three rules hold throughout:

- importing this module is cheap and has no side effect (openlineage-python is imported
  on the emitter's own thread, when the first event is sent);
- nothing raises into the workload unless the user asked for it
  (``OLGRAPH_<PLUGIN>_IGNORE_ERRORS=false``);
- events are handed to a bounded queue and sent by one background thread, so a slow or
  unreachable collector costs the workload nothing but a queue put. The queue is flushed
  at interpreter exit for at most ``OLGRAPH_<PLUGIN>_FLUSH_TIMEOUT`` seconds.

Events are built as plain JSON-ready dicts in the OpenLineage 2-0-2 shape and turned into
openlineage-python objects only when sent, so the transport (HTTP, Kafka, file, …), its
API key, compression and Kafka message keys are whatever the user configured for the
standard client (``OPENLINEAGE_URL``, ``OPENLINEAGE__TRANSPORT__*``, ``openlineage.yml``).
"""

from __future__ import annotations

import atexit
import contextlib
import getpass
import logging
import os
import platform
import queue
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from olgraph import __version__

SPEC_VERSION = "2-0-2"
SPEC_URL = f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json"
FACETS_URL = "https://openlineage.io/spec/facets"
OLGRAPH_SCHEMAS_URL = "https://github.com/olgraph/olgraph/blob/main/schemas/facets"
WORKLOAD_FACET = "olgraph_workload"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

JsonDict = dict[str, Any]


def producer(plugin: str) -> str:
    """The ``producer`` URI of events from one plugin (names the plugin and olgraph's version)."""
    return f"https://github.com/olgraph/olgraph/tree/v{__version__}/src/olgraph/integrations/{plugin}"


# --------------------------------------------------------------------------- settings


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return default


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    try:
        value = float(environ.get(name, default))
    except ValueError:
        return default
    return value if value >= 0 else default


@dataclass(frozen=True)
class PluginSettings:
    """One plugin's settings, read from ``OLGRAPH_<PLUGIN>_*`` environment variables.

    - ``OLGRAPH_<PLUGIN>_DISABLED=true`` switches the plugin off (so does the standard
      ``OPENLINEAGE_DISABLED=true``);
    - ``OLGRAPH_<PLUGIN>_DEBUG=true`` logs what the plugin does, at debug level, to stderr;
    - ``OLGRAPH_<PLUGIN>_IGNORE_ERRORS=false`` raises errors inside the plugin instead of
      logging and swallowing them (for debugging the plugin, never for production);
    - ``OLGRAPH_<PLUGIN>_FLUSH_TIMEOUT`` (seconds, default 5) bounds the wait for unsent
      events at interpreter exit.
    """

    plugin: str
    disabled: bool = False
    debug: bool = False
    ignore_errors: bool = True
    flush_timeout: float = 5.0

    @classmethod
    def from_env(cls, plugin: str, environ: Mapping[str, str] | None = None) -> PluginSettings:
        """Read the settings of ``plugin`` (``"mlflow"`` or ``"ray"``) from the environment."""
        env = os.environ if environ is None else environ
        prefix = f"OLGRAPH_{plugin.upper()}_"
        return cls(
            plugin=plugin,
            disabled=_flag(env, prefix + "DISABLED", False) or _flag(env, "OPENLINEAGE_DISABLED", False),
            debug=_flag(env, prefix + "DEBUG", False),
            ignore_errors=_flag(env, prefix + "IGNORE_ERRORS", True),
            flush_timeout=_seconds(env, prefix + "FLUSH_TIMEOUT", 5.0),
        )

    @property
    def env_prefix(self) -> str:
        """``OLGRAPH_<PLUGIN>_``, for messages that name a setting."""
        return f"OLGRAPH_{self.plugin.upper()}_"


def plugin_logger(settings: PluginSettings) -> logging.Logger:
    """The plugin's logger; with the debug setting on, it logs at debug level to stderr."""
    logger = logging.getLogger(f"olgraph.integrations.{settings.plugin}")
    if settings.debug:
        logger.setLevel(logging.DEBUG)
        if not any(getattr(h, "_olgraph", False) for h in logger.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
            handler._olgraph = True  # type: ignore[attr-defined]
            logger.addHandler(handler)
    return logger


def openlineage_configured(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> bool:
    """Whether the standard OpenLineage client configuration names a transport.

    Checked without importing openlineage-python: ``OPENLINEAGE_URL``, any
    ``OPENLINEAGE__TRANSPORT__*`` variable, ``OPENLINEAGE_CONFIG``, or an ``openlineage.yml``
    in the working directory or ``~/.openlineage``. Without one, the client would print
    events to the console; the plugins stay quiet instead.
    """
    env = os.environ if environ is None else environ
    if env.get("OPENLINEAGE_URL") or env.get("OPENLINEAGE_CONFIG"):
        return True
    if any(name.startswith("OPENLINEAGE__TRANSPORT") for name in env):
        return True
    here = Path.cwd() if cwd is None else cwd
    home = Path(env.get("HOME", str(Path.home())))
    return (here / "openlineage.yml").is_file() or (home / ".openlineage" / "openlineage.yml").is_file()


# --------------------------------------------------------------------------- the guard


class Guard:
    """Runs plugin code so that its errors never reach the user's workload.

    An error is logged as a warning once per kind of work (then at debug level, so a broken
    collector does not flood the job's log) and swallowed, unless the settings ask for
    errors to be raised.
    """

    def __init__(self, settings: PluginSettings, logger: logging.Logger) -> None:
        self.settings = settings
        self.logger = logger
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        """``with guard("log_inputs"): …`` — swallow and log what fails inside."""
        try:
            yield
        except Exception as exc:
            if not self.settings.ignore_errors:
                raise
            self.report(what, exc)

    def report(self, what: str, exc: BaseException) -> None:
        """Log a swallowed error: a warning the first time per ``what``, debug afterwards."""
        with self._lock:
            first = what not in self._warned
            self._warned.add(what)
        message = "olgraph %s plugin: %s failed (%s: %s); the workload goes on"
        if first:
            hint = f" Set {self.settings.env_prefix}DEBUG=true for details."
            self.logger.warning(message + "." + hint, self.settings.plugin, what, type(exc).__name__, exc)
        self.logger.debug(message, self.settings.plugin, what, type(exc).__name__, exc, exc_info=exc)


# --------------------------------------------------------------------------- the emitter


SendFn = Callable[[JsonDict], None]


def default_sender(logger: logging.Logger) -> SendFn:
    """Build the sender on openlineage-python's client, configured the standard way."""
    from openlineage.client import OpenLineageClient  # noqa: PLC0415 - on the emitter thread, never at import

    client = OpenLineageClient()
    logger.debug("OpenLineage transport: %s", getattr(client.transport, "kind", type(client.transport)))

    def send(event: JsonDict) -> None:
        client.emit(to_openlineage(event))

    return send


class Emitter:
    """A bounded queue of events and the one daemon thread that sends them, in order.

    ``emit`` never blocks and never raises: when the queue is full the event is dropped and
    counted. ``flush`` waits (bounded) until everything queued so far was sent or failed.
    """

    def __init__(
        self,
        settings: PluginSettings,
        logger: logging.Logger,
        *,
        sender: Callable[[], SendFn] | None = None,
        capacity: int = 10_000,
    ) -> None:
        self.settings = settings
        self.logger = logger
        self.guard = Guard(settings, logger)
        self._make_sender = sender or (lambda: default_sender(logger))
        self._queue: queue.Queue[JsonDict | None] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._exit_hook_registered = False
        if hasattr(os, "register_at_fork"):  # a forked child has no sending thread: start afresh
            os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue = queue.Queue(maxsize=self._queue.maxsize)
        self._pending = 0
        self._thread = None

    def emit(self, event: JsonDict) -> None:
        """Queue one event (a JSON-ready OpenLineage event dict) for sending."""
        self._start()
        with self._lock:
            self._pending += 1
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            with self._lock:
                self._pending -= 1
                self.dropped += 1
                self._idle.notify_all()
            self.guard.report("queueing an event", RuntimeError("the event queue is full; event dropped"))
            return
        self.logger.debug("queued %s event of %s", event.get("eventType", "static"), _describe(event))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event was sent or failed; ``False`` if ``timeout`` passed first."""
        limit = self.settings.flush_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(
                target=self._run, name=f"olgraph-{self.settings.plugin}-emitter", daemon=True
            )
            thread.start()
            self._thread = thread
            if not self._exit_hook_registered:
                atexit.register(self._at_exit)
                self._exit_hook_registered = True

    def _at_exit(self) -> None:
        if not self.flush():
            self.logger.warning(
                "olgraph %s plugin: %d event(s) not sent within %.1f s at exit (%s)",
                self.settings.plugin,
                self._pending,
                self.settings.flush_timeout,
                f"raise {self.settings.env_prefix}FLUSH_TIMEOUT to wait longer",
            )

    def _run(self) -> None:
        send: SendFn | None = None
        while True:
            event = self._queue.get()
            if event is None:  # pragma: no cover - only used by tests that stop the thread
                return
            ok = False
            try:
                if send is None:
                    send = self._make_sender()
                send(event)
                ok = True
            except Exception as exc:
                self.guard.report("sending an event", exc)
            finally:
                with self._lock:
                    self._pending -= 1
                    if ok:
                        self.sent += 1
                    else:
                        self.failed += 1
                    self._idle.notify_all()


def _describe(event: Mapping[str, Any]) -> str:
    job = event.get("job") or {}
    dataset = event.get("dataset") or {}
    if job:
        return f"job {job.get('namespace')}/{job.get('name')}"
    return f"dataset {dataset.get('namespace')}/{dataset.get('name')}"


def to_openlineage(event: Mapping[str, Any]) -> Any:
    """Turn one of our event dicts into the matching openlineage-python ``event_v2`` object.

    Facets stay plain dicts (the client serializes them as they are), so custom facets need
    no attrs classes.
    """
    from openlineage.client import event_v2 as ev  # noqa: PLC0415 - only when sending

    def inputs(items: list[JsonDict]) -> list[Any]:
        return [
            ev.InputDataset(
                namespace=d["namespace"],
                name=d["name"],
                facets=d.get("facets") or {},
                inputFacets=d.get("inputFacets") or {},
            )
            for d in items
        ]

    def outputs(items: list[JsonDict]) -> list[Any]:
        return [
            ev.OutputDataset(
                namespace=d["namespace"],
                name=d["name"],
                facets=d.get("facets") or {},
                outputFacets=d.get("outputFacets") or {},
            )
            for d in items
        ]

    # schemaURL is derived by the client from its own spec version, not passed in
    common = {"eventTime": event["eventTime"], "producer": event["producer"]}
    if "run" in event:
        job = event["job"]
        return ev.RunEvent(
            eventType=ev.RunState(event["eventType"]) if event.get("eventType") else None,
            run=ev.Run(runId=event["run"]["runId"], facets=event["run"].get("facets") or {}),
            job=ev.Job(namespace=job["namespace"], name=job["name"], facets=job.get("facets") or {}),
            inputs=inputs(event.get("inputs") or []),
            outputs=outputs(event.get("outputs") or []),
            **common,
        )
    if "dataset" in event:
        d = event["dataset"]
        return ev.DatasetEvent(
            dataset=ev.StaticDataset(namespace=d["namespace"], name=d["name"], facets=d.get("facets") or {}),
            **common,
        )
    job = event["job"]
    return ev.JobEvent(
        job=ev.Job(namespace=job["namespace"], name=job["name"], facets=job.get("facets") or {}),
        inputs=inputs(event.get("inputs") or []),
        outputs=outputs(event.get("outputs") or []),
        **common,
    )


# --------------------------------------------------------------------------- building events


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


# --------------------------------------------------------------------------- naming


_AZURE = {"abfss", "abfs", "wasbs", "wasb"}
_OBJECT_STORES = {"s3": "s3", "s3a": "s3", "s3n": "s3", "gs": "gs", "gcs": "gs", "oss": "oss", "r2": "r2"}


def dataset_identity(uri: str, *, base: Path | None = None) -> tuple[str, str]:
    """``(namespace, name)`` of the data at ``uri``, by the OpenLineage naming conventions.

    - object stores: ``s3://bucket/key`` → (``s3://bucket``, ``key``); ``s3a``/``s3n`` → ``s3``;
      ``gs://bucket/path`` → (``gs://bucket``, ``path``);
    - Azure: ``abfss://container@account.dfs.core.windows.net/path`` → (everything up to
      the host, ``path``), the same for ``wasbs``/``abfs``/``wasb``;
    - user info elsewhere (``s3://anonymous@bucket``, ``hdfs://user@nn``) is not part of the
      identity and is dropped;
    - HDFS and other ``scheme://authority/path`` URIs → (``scheme://authority``, ``/path``);
    - local files: a path, ``file:/path`` or ``file:///path`` → (``file``, absolute path),
      relative paths made absolute against ``base`` (default: the working directory);
    - ``dbfs:/path`` → (``dbfs``, ``/path``).

    Trailing slashes are dropped, so a directory and its URI with a slash name one dataset.
    """
    text = uri.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if len(scheme) == 1 or not scheme:  # "C:\\data" is a Windows drive, not a scheme
        return "file", _local_path(text, base)
    if scheme == "file":
        return "file", _local_path(unquote(parts.path) or "/", base)
    path = unquote(parts.path)
    netloc = parts.netloc
    if scheme not in _AZURE:  # user info is a credential (or Ray's "anonymous@"), not identity
        netloc = netloc.rsplit("@", 1)[-1]
    if scheme in _OBJECT_STORES:
        return f"{_OBJECT_STORES[scheme]}://{netloc}", path.strip("/") or "/"
    if scheme == "dbfs" and not parts.netloc:
        return "dbfs", path.rstrip("/") or "/"
    if netloc:
        name = path.rstrip("/") or "/"
        if scheme in _AZURE:  # container@account is the identity; the name is relative to it
            name = name.lstrip("/") or "/"
        return f"{scheme}://{netloc}", name
    return scheme, path.rstrip("/") or text


def _local_path(path: str, base: Path | None) -> str:
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = (base or Path.cwd()) / candidate
    text = os.path.normpath(str(candidate))
    return text if text == "/" else text.rstrip("/")


# --------------------------------------------------------------------------- the process run


class ProcessRun:
    """The run of the workload process itself, started lazily, ended at interpreter exit.

    It is the parent of each Ray Data execution and the run of model loads made outside an
    MLflow run. Its job is ``OPENLINEAGE_NAMESPACE`` (or the plugin's default namespace) /
    ``OLGRAPH_<PLUGIN>_JOB_NAME`` (or the script's name). It sends START on first use and
    COMPLETE, or FAIL after an uncaught exception, when the interpreter exits.
    """

    def __init__(
        self,
        plugin: str,
        emitter: Emitter,
        workload: Workload,
        *,
        default_namespace: str,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.plugin = plugin
        self.emitter = emitter
        self.workload = workload
        self.namespace = env.get("OPENLINEAGE_NAMESPACE") or default_namespace
        self.job_name = env.get(f"OLGRAPH_{plugin.upper()}_JOB_NAME") or script_name()
        self.run_id = new_run_id()
        self._started = False
        self._failed: BaseException | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        """Send START the first time (and arrange for the terminal event at exit)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        self.emitter.emit(self.event("START"))
        previous = sys.excepthook

        def record(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
            self._failed = exc
            previous(kind, exc, tb)

        sys.excepthook = record
        atexit.register(self._at_exit)  # runs before the emitter's flush (atexit is LIFO)

    def parent(self) -> JsonDict:
        """The ``parent`` run facet naming this process run (starting it if needed)."""
        self.ensure_started()
        return parent_facet(
            self.plugin, run_id=self.run_id, job_namespace=self.namespace, job_name=self.job_name
        )

    def event(
        self,
        event_type: str,
        *,
        inputs: list[JsonDict] | None = None,
        outputs: list[JsonDict] | None = None,
        **extra_facets: Any,
    ) -> JsonDict:
        """An event of this process run (e.g. RUNNING with a model it loaded as input)."""
        facets = {WORKLOAD_FACET: self.workload.facet(self.plugin), **extra_facets}
        return run_event(
            self.plugin,
            event_type,
            run_id=self.run_id,
            job_namespace=self.namespace,
            job_name=self.job_name,
            run_facets=facets,
            job_facets={"jobType": job_type_facet(self.plugin, self.plugin.upper(), "WORKLOAD")},
            inputs=inputs,
            outputs=outputs,
        )

    def _at_exit(self) -> None:
        if self._failed is None:
            self.emitter.emit(self.event("COMPLETE"))
            return
        error = facet(
            self.plugin,
            f"{FACETS_URL}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
            message=f"{type(self._failed).__name__}: {self._failed}",
            programmingLanguage="python",
        )
        self.emitter.emit(self.event("FAIL", errorMessage=error))
