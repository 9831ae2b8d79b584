"""One OpenLineage run per Ray Data execution that reads or writes data.

**Job identity** (see ``docs/integrations-ray.md``):

- namespace: ``OPENLINEAGE_NAMESPACE``, else ``ray``;
- name: ``<workload>.<operation>.<target>``, where ``<workload>`` is ``OLGRAPH_RAY_JOB_NAME``
  or the script's name (the job of the workload's process run, which is each execution's
  ``parent``); ``<operation>`` is ``write_<format>`` for an execution that writes (its target
  is what it writes) and ``read_<format>`` for one that only reads (its target is what it
  reads); a target is the last two path parts of each dataset name joined by ``_``, sorted,
  joined by ``+`` (at most three, then ``+<n>_more``). Re-running a script gives the same
  jobs: ``etl.write_parquet.warehouse_customers``, ``etl.read_csv.raw_events_csv``.

Each execution is one run: START before it starts, COMPLETE or FAIL (with the standard
``errorMessage`` facet) when it ends, ABORT at interpreter exit for an execution that
never ended. An execution that neither reads nor writes external data (``range(…).take()``,
``from_items(…)``, iterating a materialized dataset) emits nothing.

A write of a materialized dataset (``ds = read_parquet(…).materialize(); ds.write_csv(…)``)
executes only the write; its inputs are recalled from the execution that materialized it.
"""

from __future__ import annotations

import atexit
import contextlib
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from olgraph.integrations._common import (
    FACETS_URL,
    WORKLOAD_FACET,
    Emitter,
    Guard,
    JsonDict,
    PluginSettings,
    ProcessRun,
    Workload,
    dataset,
    facet,
    job_type_facet,
    new_run_id,
    plugin_logger,
    processing_engine_facet,
    run_event,
    schema_facet,
)
from olgraph.integrations.ray.plan import (
    DataRef,
    Output,
    PlanLineage,
    merge_refs,
    observed_schemas,
    read_plan,
    with_schemas,
    written_schema,
)

PLUGIN = "ray"
DEFAULT_NAMESPACE = "ray"
JOB_TYPE = "DATA_EXECUTION"
MAX_ERROR_MESSAGE = 4000
REMEMBERED_DATASETS = 512  # materialized datasets whose sources are kept for a later write
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class ExecutionRun:
    """The OpenLineage run of one execution in progress."""

    run_id: str
    job_name: str
    inputs: tuple[DataRef, ...]
    outputs: tuple[Output, ...]


class RayLineage:
    """The plugin's state in one process: emitter, process run, runs of open executions."""

    def __init__(self, settings: PluginSettings, emitter: Emitter | None = None) -> None:
        self.settings = settings
        self.logger = plugin_logger(settings)
        self.guard = Guard(settings, self.logger)
        self.emitter = emitter or Emitter(settings, self.logger)
        self.ray_version = _ray_version()
        self.workload = ray_workload(self.ray_version)
        self.process = ProcessRun(PLUGIN, self.emitter, self.workload, default_namespace=DEFAULT_NAMESPACE)
        self._run_facets = {
            WORKLOAD_FACET: self.workload.facet(PLUGIN),
            "processing_engine": processing_engine_facet(PLUGIN, "ray", self.ray_version),
        }
        self._open: dict[int, ExecutionRun] = {}
        self._materialized: OrderedDict[str, tuple[DataRef, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self._exit_hook = False

    def started(self, executor: Any) -> ExecutionRun | None:
        """Send START for the execution ``executor`` is starting, if it reads or writes data."""
        key = id(executor)
        with self._lock:
            if key in self._open:  # registered twice (the variable and Ray's class list): once is enough
                return None
        plan = read_plan(executor)
        if plan.unreadable:
            self.logger.debug("%s: cannot name the data of %s", plan.dataset_id, ", ".join(plan.unreadable))
        inputs = self._inputs(plan)
        if not inputs and not plan.outputs:
            self.logger.debug("%s reads and writes no external data: nothing sent", plan.dataset_id)
            return None
        run = ExecutionRun(
            new_run_id(), job_name(self.process.job_name, inputs, plan.outputs), inputs, plan.outputs
        )
        with self._lock:
            self._open[key] = run
            if not self._exit_hook:
                self._exit_hook = True
                self.process.ensure_started()
                atexit.register(self._abort_open)  # before the process run's end and the flush (LIFO)
        self.logger.debug("%s is run %s of job %s", plan.dataset_id, run.run_id, run.job_name)
        self.emitter.emit(self._event("START", run))
        return run

    def finished(self, executor: Any, error: BaseException | None) -> None:
        """Send COMPLETE (or FAIL with ``error``) for an execution that was started."""
        with self._lock:
            run = self._open.pop(id(executor), None)
        if run is None:
            return
        if error is not None:
            self.emitter.emit(self._event("FAIL", run, errorMessage=error_facet(error)))
            return
        with self.guard("reading the schemas Ray saw"):
            run = self._with_observed_schemas(executor, run)
        self.emitter.emit(self._event("COMPLETE", run))

    def _with_observed_schemas(self, executor: Any, run: ExecutionRun) -> ExecutionRun:
        if all(ref.fields for ref in run.inputs) and all(o.ref.fields for o in run.outputs):
            return run
        seen = observed_schemas(executor)
        outputs = tuple(written_schema(replace(o, ref=with_schemas([o.ref], seen)[0])) for o in run.outputs)
        return replace(run, inputs=with_schemas(run.inputs, seen), outputs=outputs)

    def _inputs(self, plan: PlanLineage) -> tuple[DataRef, ...]:
        inputs = list(plan.inputs)
        with self._lock:
            if plan.materialized_input and plan.written_dataset_uuid:
                inputs.extend(self._materialized.get(plan.written_dataset_uuid, ()))
            merged = tuple(merge_refs(inputs))
            if plan.dataset_uuid and merged:
                self._materialized[plan.dataset_uuid] = merged
                self._materialized.move_to_end(plan.dataset_uuid)
                while len(self._materialized) > REMEMBERED_DATASETS:
                    self._materialized.popitem(last=False)
        return merged

    def _event(self, event_type: str, run: ExecutionRun, **facets: Any) -> JsonDict:
        run_facets = {**self._run_facets, "parent": self.process.parent(), **facets}
        return run_event(
            PLUGIN,
            event_type,
            run_id=run.run_id,
            job_namespace=self.process.namespace,
            job_name=run.job_name,
            run_facets=run_facets,
            job_facets={"jobType": job_type_facet(PLUGIN, "RAY", JOB_TYPE)},
            inputs=[dataset_entry(ref) for ref in run.inputs],
            outputs=[dataset_entry(output.ref) for output in run.outputs],
        )

    def _abort_open(self) -> None:
        with self._lock:
            runs = list(self._open.values())
            self._open.clear()
        for run in runs:
            self.emitter.emit(self._event("ABORT", run))


def dataset_entry(ref: DataRef) -> JsonDict:
    """An input or output entry, with the ``schema`` facet when the schema is known."""
    facets = {}
    if ref.fields:
        facets["schema"] = schema_facet(PLUGIN, [{"name": n, "type": t} for n, t in ref.fields])
    return dataset(ref.namespace, ref.name, facets)


def job_name(workload: str, inputs: Sequence[DataRef], outputs: Sequence[Output]) -> str:
    """``<workload>.<write|read>_<format>.<target>`` (the module docstring explains it).

    >>> job_name("etl", [DataRef("s3://lake", "raw/events", "json")], [])
    'etl.read_json.raw_events'
    """
    refs = [o.ref for o in outputs] if outputs else list(inputs)
    verb = "write" if outputs else "read"
    formats = {ref.format for ref in refs}
    fmt = formats.pop() if len(formats) == 1 else None
    operation = f"{verb}_{fmt}" if fmt else verb
    labels = sorted({dataset_label(ref.name) for ref in refs})
    target = "+".join(labels[:3]) + (f"+{len(labels) - 3}_more" if len(labels) > 3 else "")
    return f"{workload}.{operation}.{target}"


def dataset_label(name: str) -> str:
    """The last two path parts of a dataset name, as one word.

    >>> dataset_label("/data/raw/events.csv")
    'raw_events_csv'
    """
    parts = [p for p in name.split("/") if p][-2:]
    label = _UNSAFE.sub("_", "_".join(parts)).strip("_")
    return label or "root"


def error_facet(error: BaseException) -> JsonDict:
    """The standard ``errorMessage`` run facet (Ray's colour codes removed, length bounded)."""
    message = _ANSI.sub("", f"{type(error).__name__}: {error}")
    if len(message) > MAX_ERROR_MESSAGE:
        message = message[: MAX_ERROR_MESSAGE - 1] + "…"
    return facet(
        PLUGIN,
        f"{FACETS_URL}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
        message=message,
        programmingLanguage="python",
    )


def ray_workload(ray_version: str | None) -> Workload:
    """The ``olgraph_workload`` facet's content: the Ray job id is the workload id."""
    job_id = namespace = address = None
    with contextlib.suppress(Exception):  # a Ray without one of these: the facet says less
        import ray  # noqa: PLC0415 - loaded already: an execution is running

        if ray.is_initialized():
            context = ray.get_runtime_context()
            job_id = context.get_job_id()
            namespace = context.namespace
            address = context.gcs_address
    extra = {"rayVersion": ray_version, "rayJobId": job_id, "rayNamespace": namespace, "rayAddress": address}
    return Workload("ray", workload_id=job_id, extra={k: _str(v) for k, v in extra.items()})


def _ray_version() -> str | None:
    try:
        import ray  # noqa: PLC0415

        return str(ray.__version__)
    except Exception:
        return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
