"""The process run: one run per workload process, parent of the runs the plugin reports."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

from olgraph.integrations._common.emitter import Emitter
from olgraph.integrations._common.events import (
    Workload,
    facet,
    job_type_facet,
    new_run_id,
    parent_facet,
    run_event,
    script_name,
)
from olgraph.integrations._common.spec import FACETS_URL, WORKLOAD_FACET, JsonDict


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
