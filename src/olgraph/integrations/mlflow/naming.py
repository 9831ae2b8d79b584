"""How MLflow entities are named in OpenLineage events (docs/decisions/0008-mlflow-naming.md).

The plugin (inside the workload) and ``olgraph sync mlflow`` (reading a tracking server)
both name things here, so the same experiment, run or model is one node in the graph
whichever of them reported it.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

PLUGIN = "mlflow"
REGISTERED_MODELS = "models/"
LOGGED_MODELS = "logged_models/"
RUN_ARTIFACTS = "runs/"


def mlflow_namespace(uri: str) -> str:
    """The namespace of everything a tracking server (or registry) at ``uri`` holds.

    ``http(s)://host:port/path`` → ``mlflow://host:port/path``; any other URI (a file store,
    a database) → ``mlflow+`` and the URI. Credentials, query and fragment are dropped and
    a trailing slash is removed, so the plugin and the sync command agree on it.
    """
    text = uri.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host = _host(parts.hostname or "")
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    if scheme in {"http", "https"}:
        return f"mlflow://{host}{path}"
    if not scheme or len(scheme) == 1:  # a bare path (or a Windows drive) is a file store
        return f"mlflow+file://{path or text}"
    if scheme == "file":
        return f"mlflow+file://{path}"
    return f"mlflow+{scheme}://{host}{path}"


def public_uri(uri: str) -> str:
    """``uri`` without user name, password, query or fragment (safe to put in an event)."""
    parts = urlsplit(uri.strip())
    host = _host(parts.hostname or "")
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if not parts.scheme:
        return uri.strip()
    if not uri.strip()[len(parts.scheme) + 1 :].startswith("//"):  # models:/name/1, runs:/id/path
        return f"{parts.scheme}:{parts.path}"
    return f"{parts.scheme}://{host}{parts.path}"


def run_uuid(run_id: str, namespace: str) -> str:
    """The OpenLineage runId of an MLflow run: its 32 hex digits as a UUID.

    MLflow run ids are UUID4 hex strings; any other form gets a UUID5 derived from the
    namespace and the id, so it is still stable.
    """
    try:
        return str(uuid.UUID(hex=run_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/runs/{run_id}"))


def experiment_job(experiment_name: str) -> str:
    """The job name of an experiment: its runs are runs of this job."""
    return experiment_name


def registered_model(name: str) -> str:
    """Dataset name of a registered model (its versions are the dataset's versions)."""
    return REGISTERED_MODELS + name


def logged_model(model_id: str) -> str:
    """Dataset name of an MLflow 3 logged model (``m-…``)."""
    return LOGGED_MODELS + model_id


def run_artifact(run_id: str, path: str) -> str:
    """Dataset name of a model logged as run artifacts (the pre-MLflow-3 path)."""
    inner = path.strip("/")
    return f"{RUN_ARTIFACTS}{run_id}/{inner}" if inner else f"{RUN_ARTIFACTS}{run_id}"


def _host(hostname: str) -> str:
    """A host as written in a URI: IPv6 literals keep their brackets."""
    return f"[{hostname}]" if ":" in hostname else hostname
