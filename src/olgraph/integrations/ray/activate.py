"""Turning the callback on from code, or with no configuration at all.

Ray has no plugin entry points for execution callbacks: it instantiates the classes named in
``RAY_DATA_EXECUTION_CALLBACKS``, read again at each execution. :func:`install` names ours
there for the running process; :func:`install_import_hook` does it as soon as ``ray.data``
is imported, which is what a ``.pth`` line (:func:`autoload`) can arrange at start-up.

Only the standard library is imported here, so that a ``.pth`` line costs next to nothing
in the many processes that never use Ray.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~10 ms at start-up

if TYPE_CHECKING:  # annotations only: importing typing and logging is not free at start-up
    import logging
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

CALLBACK_PATH = "olgraph.integrations.ray.OpenLineageExecutionCallback"
CALLBACKS_VARIABLE = "RAY_DATA_EXECUTION_CALLBACKS"
_WATCHED = "ray.data"
_TRUE = {"1", "true", "yes", "on"}
_OFF_SWITCHES = ("OLGRAPH_RAY_DISABLED", "OPENLINEAGE_DISABLED")


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


def install_import_hook() -> None:
    """Call :func:`install` once ``ray.data`` is imported (now, if it already is)."""
    if _WATCHED in sys.modules:
        _install_quietly()
        return
    if not any(isinstance(finder, _RayDataFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RayDataFinder())


def autoload() -> None:
    """What a ``.pth`` line runs: the import hook, unless the plugin is switched off."""
    if not any(os.environ.get(name, "").strip().lower() in _TRUE for name in _OFF_SWITCHES):
        install_import_hook()


def _logger() -> logging.Logger:
    import logging  # noqa: PLC0415 - see the imports

    return logging.getLogger("olgraph.integrations.ray")


def _install_quietly() -> None:
    try:
        install()
    except Exception as exc:  # never break the import of ray.data
        _logger().debug("olgraph ray plugin: install() failed: %s: %s", type(exc).__name__, exc)


class _RayDataFinder:
    """A one-shot ``sys.meta_path`` entry that runs :func:`install` after ``ray.data`` loads."""

    def find_spec(
        self,
        fullname: str,
        path: Any = None,  # noqa: ARG002 - the meta path protocol
        target: ModuleType | None = None,  # noqa: ARG002
    ) -> ModuleSpec | None:
        """Find ``ray.data`` with the other finders and wrap its loader; ignore anything else."""
        if fullname != _WATCHED:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        import importlib.util  # noqa: PLC0415 - see the imports

        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _InstallingLoader(spec.loader)  # type: ignore[assignment] # a Loader by duck typing
        return spec


class _InstallingLoader:
    """Delegates to the real loader, then installs the callback."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        """The real loader's module."""
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Run ``ray.data``'s code, put the real loader back, then register the callback."""
        self._loader.exec_module(module)
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        _install_quietly()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)
