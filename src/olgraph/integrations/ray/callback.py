"""The Ray Data execution callback, and the guard around everything it does.

Ray instantiates the class for each execution and calls it on the executor's threads; it
must never fail: Ray's own planner would raise into the user's job. So each hook looks up
the plugin's state (created on the first execution that finds OpenLineage configured and
the plugin enabled) and runs inside the guard; with ``OLGRAPH_RAY_IGNORE_ERRORS=false``
errors propagate, for debugging the plugin.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from olgraph.integrations._common import PluginSettings, openlineage_configured
from olgraph.integrations.ray.lineage import PLUGIN, RayLineage

PUBLIC_MODULE = "olgraph.integrations.ray"
CLASS_NAME = "OpenLineageExecutionCallback"

_state: RayLineage | None = None
_state_lock = threading.Lock()


def current() -> RayLineage | None:
    """The plugin's state, or ``None`` while it is disabled or OpenLineage is not configured."""
    global _state  # noqa: PLW0603 - one state per process: Ray builds callbacks with no arguments
    settings = PluginSettings.from_env(PLUGIN)
    if settings.disabled:
        return None
    if _state is not None:
        return _state
    if not openlineage_configured():
        return None
    with _state_lock:
        if _state is None:
            _state = RayLineage(settings)
        return _state


def _guarded(what: str, action: Callable[[RayLineage], object]) -> None:
    try:
        state = current()
    except Exception as exc:  # the plugin could not even start: say so once, go on
        if not PluginSettings.from_env(PLUGIN).ignore_errors:
            raise
        logging.getLogger(f"olgraph.integrations.{PLUGIN}").warning(
            "olgraph ray plugin: could not start (%s: %s); the workload goes on", type(exc).__name__, exc
        )
        return
    if state is None:
        return
    with state.guard(what):
        action(state)


class ExecutionCallbackMethods:
    """The hooks Ray Data calls (``ray.data._internal.execution.execution_callback``)."""

    def before_execution_starts(self, executor: Any) -> None:
        """Send START when the execution reads or writes data."""
        _guarded("starting an execution", lambda state: state.started(executor))

    def on_execution_step(self, executor: Any) -> None:
        """Nothing: called at every step of the scheduling loop, it must stay free."""

    def after_execution_succeeds(self, executor: Any) -> None:
        """Send COMPLETE for a started execution."""
        _guarded("ending an execution", lambda state: state.finished(executor, None))

    def after_execution_fails(self, executor: Any, error: Exception) -> None:
        """Send FAIL, with the error, for a started execution."""
        _guarded("ending an execution", lambda state: state.finished(executor, error))


@functools.cache
def callback_class() -> type:
    """``olgraph.integrations.ray.OpenLineageExecutionCallback``, built once.

    Ray accepts only subclasses of its ``ExecutionCallback``, which lives in a private
    module; when that cannot be imported the class is built on ``object`` so that importing
    it never fails.
    """
    base = _ray_base()
    bases = (ExecutionCallbackMethods,) if base is object else (ExecutionCallbackMethods, base)
    namespace = {
        "__module__": PUBLIC_MODULE,
        "__qualname__": CLASS_NAME,
        "__doc__": "Emits an OpenLineage run for each Ray Data execution that reads or writes data.",
    }
    return type(CLASS_NAME, bases, namespace)


def _ray_base() -> type:
    try:
        from ray.data._internal.execution.execution_callback import ExecutionCallback  # noqa: PLC0415
    except Exception:
        return object
    return ExecutionCallback
