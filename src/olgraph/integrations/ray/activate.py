"""Turning the callback on from code.

Ray has no plugin entry points for execution callbacks: it instantiates the classes named in
``RAY_DATA_EXECUTION_CALLBACKS``, read again at each execution. :func:`install` names ours
there for the running process. (A ``.pth`` file doing this at every interpreter start was
considered and not shipped: the variable would reach child processes without olgraph, where
Ray refuses to run Data executions.)

Only the standard library is imported here, so importing the plugin stays cheap.
"""

from __future__ import annotations

import os

CALLBACK_PATH = "olgraph.integrations.ray.OpenLineageExecutionCallback"
CALLBACKS_VARIABLE = "RAY_DATA_EXECUTION_CALLBACKS"


def install() -> bool:
    """Name the callback in this process's ``RAY_DATA_EXECUTION_CALLBACKS``; ``True`` if added.

    Ray reads the variable each time a dataset executes, so every execution from then on is
    reported, also of datasets created before. Only this process's environment changes (and
    that of processes it starts later, as with any variable). The other way Ray offers, its
    ``DataContext.custom_execution_callback_classes`` list, is not used: that list travels to
    Ray's workers inside the context, and a worker without olgraph could not unpickle it.
    """
    named = os.environ.get(CALLBACKS_VARIABLE, "")
    if CALLBACK_PATH in {part.strip() for part in named.split(",")}:
        return False
    kept = named.strip().rstrip(",")
    os.environ[CALLBACKS_VARIABLE] = f"{kept},{CALLBACK_PATH}" if kept else CALLBACK_PATH
    return True
