"""What MLflow loads through olgraph's plugin entry points (``pyproject.toml``).

MLflow registers its built-in builders per URI scheme and then the entry points, so ours
replace the built-ins for ``file``, ``http(s)``, ``sqlite``, ``s3``, ``models``, ``runs``, ….
Each of our builders builds what MLflow would have built — with the builder that was
registered for the scheme just before ours — and hands it to
:func:`olgraph.integrations.mlflow.plugin.observe`, which returns it unchanged when the plugin
is off, or with a few of its methods observed.

MLflow imports this module while MLflow itself is being imported, and calls
``EntryPoint.load()`` inside ``register_entrypoints``. So this module imports neither MLflow
nor the rest of the plugin at import time, and nothing here raises: MLflow would warn on
every import, or worse, fail to build a store.

    >>> from olgraph.integrations.mlflow import entrypoints
    >>> entrypoints.tracking_store.__name__  # loaded outside MLflow: no original captured
    'build'
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

_KINDS = {
    "tracking_store": "tracking",
    "model_registry_store": "registry",
    "artifact_repository": "artifacts",
}
_FRAMES_TO_SEARCH = 8  # __getattr__ ← EntryPoint.load ← register_entrypoints, with room to spare
_ORIGINAL = "_olgraph_original"


def __getattr__(name: str) -> Any:
    """``tracking_store``, ``model_registry_store``, ``artifact_repository`` (PEP 562).

    Computed on each access, because each ``entrypoint.load()`` is for one scheme of one
    registry, and the builder must remember what that registry had for the scheme.
    """
    kind = _KINDS.get(name)
    if kind is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    scheme, original = _being_registered()
    return _builder(kind, scheme, original)


def _being_registered() -> tuple[str | None, Any]:
    """The scheme MLflow is registering and the builder it had for it until now.

    Read from the frame of MLflow's ``register_entrypoints`` (its locals ``self``, the
    registry, and ``entrypoint``), which is on the stack while MLflow loads our entry point.
    ``(None, None)`` when we are loaded some other way.
    """
    try:
        frame: FrameType | None = sys._getframe(1)
        for _ in range(_FRAMES_TO_SEARCH):
            if frame is None:
                break
            if frame.f_code.co_name == "register_entrypoints":
                scheme = getattr(frame.f_locals.get("entrypoint"), "name", None)
                table = getattr(frame.f_locals.get("self"), "_registry", None)
                if isinstance(scheme, str) and isinstance(table, dict):
                    original = table.get(scheme)
                    # registered twice on one registry: keep MLflow's, never wrap ourselves
                    return scheme, getattr(original, _ORIGINAL, original)
                break
            frame = frame.f_back
    except Exception:  # noqa: S110 - introspection is best effort; the fallback builders remain
        pass
    return None, None


def _builder(kind: str, scheme: str | None, original: Any) -> Callable[..., Any]:
    """A builder with the original's name, module and signature that builds and observes.

    MLflow reads these: the model-registry registry inspects the builder's signature to
    decide whether to pass ``tracking_uri``; dataset sources are named after the artifact
    repository's ``__name__``; telemetry reports a scheme whose builder lives outside
    ``mlflow`` as ``custom_scheme``. Copying them keeps MLflow's behaviour as it was.
    """

    def build(*args: Any, **kwargs: Any) -> Any:
        made = (original or _fallback(kind, scheme, args, kwargs))(*args, **kwargs)
        try:
            from olgraph.integrations.mlflow.plugin import observe  # noqa: PLC0415 - lazy by design
        except Exception:  # a broken plugin install must not break MLflow
            return made
        return observe(kind, made, args, kwargs)

    if original is not None:
        functools.update_wrapper(
            build, original, assigned=("__module__", "__name__", "__qualname__", "__doc__"), updated=()
        )
    setattr(build, _ORIGINAL, original)
    return build


def _fallback(kind: str, scheme: str | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """MLflow's own builder for a scheme, when it could not be captured at registration."""
    uri = kwargs.get("store_uri") or kwargs.get("artifact_uri") or (args[0] if args else "")
    scheme = scheme or urlsplit(str(uri)).scheme
    if kind == "artifacts":
        return _artifact_repository_class(scheme)
    if kind == "tracking":
        from mlflow.tracking._tracking_service import utils as tracking  # noqa: PLC0415

        module: Any = tracking
    else:
        from mlflow.tracking._model_registry import utils as registry  # noqa: PLC0415

        module = registry
    if scheme == "file":
        return module._get_file_store
    if scheme in {"http", "https"}:
        return module._get_rest_store
    return module._get_sqlalchemy_store


def _artifact_repository_class(scheme: str) -> Any:
    from mlflow.store.artifact import artifact_repository_registry as repos  # noqa: PLC0415

    classes = {
        "models": "ModelsArtifactRepository",
        "runs": "RunsArtifactRepository",
        "file": "LocalArtifactRepository",
        "mlflow-artifacts": "MlflowArtifactsRepository",
        "http": "HttpArtifactRepository",
        "https": "HttpArtifactRepository",
        "s3": "S3ArtifactRepository",
        "gs": "GCSArtifactRepository",
    }
    return getattr(repos, classes.get(scheme, "LocalArtifactRepository"))


class OlgraphRunContextProvider:
    """MLflow run context provider: contributes no tags.

    The plugin observes MLflow through its stores and artifact repositories; it does not
    tag the user's runs (the OpenLineage run id is derived from the MLflow run id, so there
    is nothing to record). MLflow only needs ``in_context`` and ``tags``.
    """

    def in_context(self) -> bool:
        """Never: MLflow then does not ask for tags."""
        return False

    def tags(self) -> dict[str, str]:
        """No tags."""
        return {}
