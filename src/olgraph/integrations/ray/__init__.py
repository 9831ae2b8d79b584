"""The Ray Data plugin: executions that read or write data emit OpenLineage events.

Installed with ``pip install 'olgraph-integrations[ray]'`` (built from ``integrations/``) and
switched on for a workload with::

    RAY_DATA_EXECUTION_CALLBACKS=olgraph.integrations.ray.OpenLineageExecutionCallback

(Ray >= 2.45), or from code with :func:`install`. Events go wherever the standard OpenLineage
client is configured to send them (``OPENLINEAGE_URL``, ``OPENLINEAGE__TRANSPORT__*``,
``openlineage.yml``); without such a configuration, or with ``OLGRAPH_RAY_DISABLED=true``,
the plugin does nothing. What is emitted and how jobs are
named: :mod:`olgraph.integrations.ray.lineage` and ``docs/integrations-ray.md``.

Ray imports ``OpenLineageExecutionCallback`` by name, and a failing import would stop the
user's job, so this module imports only the standard library and builds the class on first
access (on Ray's ``ExecutionCallback``, or on ``object`` if that cannot be imported).
"""

from __future__ import annotations

from olgraph.integrations.ray.activate import CALLBACK_PATH, install

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~10 ms at start-up
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CALLBACK_PATH", "OpenLineageExecutionCallback", "install"]


def __getattr__(name: str) -> Any:
    """Build ``OpenLineageExecutionCallback`` when Ray (or anyone) first asks for it."""
    if name == "OpenLineageExecutionCallback":
        from olgraph.integrations.ray.callback import callback_class  # noqa: PLC0415 - lazily, see above

        cls = callback_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
