"""Stable identity keys for graph nodes.

A key is an opaque string that identifies one node in every store. Job and dataset keys
are exactly Marquez's node ids (``job:{namespace}:{name}``, ``dataset:{namespace}:{name}``),
so a key doubles as the ``nodeId`` of the query API. Namespaces (``gs://bucket``,
``postgres://host:5432``) and names may contain ``:`` themselves, so keys are never split
to recover their parts: nodes carry ``namespace`` and ``name`` as properties instead.

>>> dataset_key("s3://bucket", "raw/orders")
'dataset:s3://bucket:raw/orders'
"""

from __future__ import annotations

import re

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def normalize_run_id(run_id: str) -> str:
    """The canonical form of an OpenLineage ``runId``: a UUID lower-cased, anything else as it is.

    The spec's ``format: uuid`` is an annotation the official schema does not enforce, and
    producers send ids such as ``manual__2024-01-01``; those are kept byte for byte.

    >>> normalize_run_id(" 0176A8C2-FE01-7439-87E6-56A1A1B4029F ")
    '0176a8c2-fe01-7439-87e6-56a1a1b4029f'
    >>> normalize_run_id("Manual__2024-01-01")
    'Manual__2024-01-01'
    """
    stripped = run_id.strip()
    return stripped.lower() if _UUID.fullmatch(stripped) else run_id


def job_key(namespace: str, name: str) -> str:
    """Key of the job ``(namespace, name)``."""
    return f"job:{namespace}:{name}"


def dataset_key(namespace: str, name: str) -> str:
    """Key of the dataset ``(namespace, name)``."""
    return f"dataset:{namespace}:{name}"


def run_key(run_id: str) -> str:
    """Key of the run with OpenLineage ``runId`` (as :func:`normalize_run_id` gives it)."""
    return f"run:{run_id}"


def dataset_version_key(dataset: str, version: str) -> str:
    """Key of version ``version`` of the dataset whose key is ``dataset``."""
    return f"datasetVersion:{dataset.removeprefix('dataset:')}@{version}"


def field_key(dataset: str, path: str) -> str:
    """Key of the field (column) at ``path`` (dotted for nested fields) of ``dataset``."""
    return f"field:{dataset.removeprefix('dataset:')}#{path}"


def namespace_key(namespace: str) -> str:
    """Key of a namespace node."""
    return f"namespace:{namespace}"


def owner_key(name: str) -> str:
    """Key of an owner, by the owner name the ownership facet gives (e.g. ``team:data``)."""
    return f"owner:{name}"


def tag_key(key: str, value: str) -> str:
    """Key of the tag ``key=value``."""
    return f"tag:{key}={value}"


# The implicit "before any known write" version a read links to when no version of the
# dataset is known at the read's time (see docs/decisions/0002-dataset-versions.md).
INITIAL_VERSION = "initial"
