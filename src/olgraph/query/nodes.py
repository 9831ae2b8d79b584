"""Resolving what a query names (a ``nodeId``, or type + namespace + name) to a graph key.

A node id *is* the node's key (docs/decisions/0005-node-ids-are-keys.md): namespaces such as
``gs://bucket`` and names such as ``db:table`` contain ``:``, so an id is never split. It is
only checked for shape here and then looked up exactly.

>>> resolve_node_key(node_id="dataset:gs://bucket:path/to:x")
'dataset:gs://bucket:path/to:x'
>>> resolve_node_key(node_type="job", namespace="airflow", name="etl.load")
'job:airflow:etl.load'
"""

from __future__ import annotations

from olgraph.errors import InvalidQuery, NotFound
from olgraph.keys import dataset_key, field_key, job_key
from olgraph.store.base import GraphStore, NodeView

NODE_PREFIXES = ("dataset:", "job:")
"""Prefixes of the node ids the dataset-level query API answers about."""

COLUMN_PREFIX = "field:"
"""Prefix of column ids (``field:{namespace}:{name}#{column}``)."""

# A model is a dataset with an extra label: its key is a dataset key.
_KEY_BUILDERS = {"dataset": dataset_key, "model": dataset_key, "job": job_key}

_EXPECTED = {
    "dataset:": "'dataset:{namespace}:{name}'",
    "job:": "'job:{namespace}:{name}'",
    COLUMN_PREFIX: "'field:{namespace}:{name}#{column}'",
}


def check_node_id(node_id: str, param: str = "nodeId", prefixes: tuple[str, ...] = NODE_PREFIXES) -> str:
    """Return ``node_id`` when it is shaped like an id of one of ``prefixes``, else raise InvalidQuery.

    The part after the prefix must split into a non-empty namespace and a non-empty name at
    *some* ``:`` (which one is deliberately not decided: both may contain ``:``); a column
    id also needs a ``#`` before its (non-empty) column.
    """
    prefix = next((p for p in prefixes if node_id.startswith(p)), None)
    if prefix is None:
        expected = " or ".join(_EXPECTED[p] for p in prefixes)
        raise InvalidQuery(f"{node_id!r} is not a node id; expected {expected}", field=param)
    rest = node_id[len(prefix) :]
    if prefix == COLUMN_PREFIX:
        rest, hash_, column = rest.rpartition("#")
        if not hash_ or not column:
            raise InvalidQuery(f"{node_id!r} names no column; expected {_EXPECTED[prefix]}", field=param)
    if ":" not in rest[1:-1]:
        raise InvalidQuery(
            f"{node_id!r} has an empty namespace or name; expected {_EXPECTED[prefix]}", field=param
        )
    return node_id


def resolve_node_key(
    node_id: str | None = None,
    node_type: str | None = None,
    namespace: str | None = None,
    name: str | None = None,
    *,
    column: str | None = None,
    prefixes: tuple[str, ...] = NODE_PREFIXES,
) -> str:
    """The key a query names: ``node_id`` itself, or one built from type, namespace and name
    (and ``column`` for ``type=column``, when ``prefixes`` allows columns).

    Exactly one of the two forms must be given; every failure names the parameter at fault.
    """
    parts = {"type": node_type, "namespace": namespace, "name": name}
    given = [k for k, v in parts.items() if v is not None]
    if node_id is not None:
        if given or column is not None:
            raise InvalidQuery(
                f"give either nodeId or type/namespace/name, not both (got {given or ['column']})",
                field="nodeId",
            )
        return check_node_id(node_id, prefixes=prefixes)
    if not given:
        raise InvalidQuery("required (or give type, namespace and name)", field="nodeId")
    for key, value in parts.items():
        if not value:
            raise InvalidQuery("required and non-empty when nodeId is not given", field=key)
    if node_type == "column" and COLUMN_PREFIX in prefixes:
        if not column:
            raise InvalidQuery("required and non-empty with type=column", field="column")
        return field_key(dataset_key(str(namespace), str(name)), column)
    builder = _KEY_BUILDERS.get(str(node_type))
    if builder is None:
        allowed = ["dataset", "model", "job", *(["column"] if COLUMN_PREFIX in prefixes else [])]
        raise InvalidQuery(f"{node_type!r} is not one of {', '.join(map(repr, allowed))}", field="type")
    if column is not None:
        raise InvalidQuery("only with type=column", field="column")
    return builder(str(namespace), str(name))


def resolve_dataset_key(node_id: str | None, namespace: str | None, name: str | None) -> str:
    """Like :func:`resolve_node_key`, for routes that only answer about datasets."""
    if node_id is None and (namespace is not None or name is not None):
        return resolve_node_key(node_type="dataset", namespace=namespace, name=name)
    key = resolve_node_key(node_id=node_id)
    if not key.startswith("dataset:"):
        raise InvalidQuery(f"{key!r} is not a dataset id ('dataset:{{namespace}}:{{name}}')", field="nodeId")
    return key


def resolve_job_key(node_id: str | None, namespace: str | None, name: str | None) -> str:
    """Like :func:`resolve_node_key`, for routes that only answer about jobs."""
    if node_id is None and (namespace is not None or name is not None):
        return resolve_node_key(node_type="job", namespace=namespace, name=name)
    key = resolve_node_key(node_id=node_id)
    if not key.startswith("job:"):
        raise InvalidQuery(f"{key!r} is not a job id ('job:{{namespace}}:{{name}}')", field="nodeId")
    return key


async def get_node_or_404(store: GraphStore, key: str) -> NodeView:
    """The node with ``key``, or :class:`~olgraph.query.UnknownReference` (a NotFound) naming it."""
    node = await store.get_node(key)
    if node is None:
        raise NotFound(f"node {key!r} was not found", field="nodeId")
    return node
