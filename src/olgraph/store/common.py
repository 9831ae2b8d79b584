"""Pure pieces both graph stores share, so their answers cannot drift apart.

Nothing here does I/O. The embedded and the Neo4j store fetch rows their own way and
hand them to these functions to build views, pick dataset versions, walk lineage and
order results. Rules decided here (and nowhere else):

* which stored properties are public (:func:`public_props`, :func:`public_edge_props`);
* what :meth:`GraphStore.dump` shows (:func:`dump_props`): stored props, plus
  ``_versions`` only when the version map is non-empty;
* run/version ordering.

Lineage traversal and impact assembly live beside it in :mod:`olgraph.store.walk`; what a
mutation batch writes (merging, link replacement, implicit reads) in :mod:`olgraph.store.plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from olgraph.normalize.mutations import MODEL_LABEL, TIMELINE_PREFIX, Label, PropValue, RelType
from olgraph.store.base import (
    EdgeView,
    NodeType,
    NodeView,
    RunView,
    StartSource,
    VersionRef,
    VersionView,
)
from olgraph.store.merge import VERSIONS_PROP, canonical, decode_versions

FACET_PREFIXES = ("facet.", "inputFacet.", "outputFacet.")
"""Property name prefixes of facet JSON, never part of a view's ``props``."""

NODE_FIELD_PROPS = frozenset(
    {"key", "namespace", "name", "deleted", "searchName", "searchTie", VERSIONS_PROP}
)
"""Stored node properties that :class:`NodeView` carries as fields (or hides), not in ``props``."""

LINEAGE_TYPES = (RelType.CONSUMED_BY.value, RelType.PRODUCES.value, RelType.FEEDS.value)
"""Relationship types that cost one step of lineage distance."""

ALIAS_TYPE = RelType.ALIAS_OF.value
"""The symlink relationship: zero distance, crossed both ways."""


# ---------------------------------------------------------------- views of nodes and edges


def node_type(labels: Iterable[str]) -> NodeType | None:
    """The view type of a node with these labels: ``model``, ``dataset``, ``job``, ``run``,
    ``column`` or None.

    Stores answer ``get_node``/``lineage`` only for nodes whose type is not None.

    >>> node_type(["Dataset", "Model"])
    'model'
    """
    names = set(labels)
    if Label.DATASET.value in names:
        return "model" if MODEL_LABEL in names else "dataset"
    if Label.JOB.value in names:
        return "job"
    if Label.RUN.value in names:
        return "run"
    if Label.FIELD.value in names:
        return "column"
    return None


HIDDEN_PREFIXES = (*FACET_PREFIXES, TIMELINE_PREFIX)
"""Property name prefixes views never show as plain properties (facets; the run timeline)."""


def public_props(props: Mapping[str, PropValue]) -> dict[str, PropValue]:
    """A node's typed properties as views show them: no facet JSON, no bookkeeping, no field duplicates.

    >>> public_props({"name": "t", "facet.schema": "{}", "description": "d", "_versions": "{}"})
    {'description': 'd'}
    """
    hidden = HIDDEN_PREFIXES
    return {
        k: v
        for k, v in props.items()
        if v is not None and k not in NODE_FIELD_PROPS and not k.startswith(hidden)
    }


def public_edge_props(props: Mapping[str, PropValue]) -> dict[str, PropValue]:
    """A relationship's properties as views show them: no facet JSON, no ``_versions``."""
    hidden = HIDDEN_PREFIXES
    return {
        k: v for k, v in props.items() if v is not None and k != VERSIONS_PROP and not k.startswith(hidden)
    }


def node_view(key: str, labels: Iterable[str], props: Mapping[str, PropValue]) -> NodeView:
    """Build the :class:`NodeView` of a Job, Dataset (Model) or Run node.

    Runs have no namespace: ``namespace`` is ``""`` and ``name`` the runId. A column's
    ``name`` is its path and ``props`` hold its ``dataset`` (key), ``type`` and ``description``.
    Raises ``ValueError`` for other labels (check :func:`node_type` first).

    >>> node_view("job:ns:j", ["Job"], {"namespace": "ns", "name": "j"}).type
    'job'
    """
    kind = node_type(labels)
    if kind is None:
        raise ValueError(f"{key} is not a job, dataset or run")
    if kind == "run":
        namespace, name = "", str(props.get("runId") or key.removeprefix("run:"))
    else:
        namespace, name = str(props.get("namespace", "")), str(props.get("name", ""))
    return NodeView(
        id=key,
        type=kind,
        namespace=namespace,
        name=name,
        deleted=props.get("deleted") is True,
        props=public_props(props),
    )


def edge_view(rel_type: str, source: str, target: str, props: Mapping[str, PropValue]) -> EdgeView:
    """Build the :class:`EdgeView` of a lineage relationship (public props only)."""
    return EdgeView(source=source, target=target, type=rel_type, props=public_edge_props(props))


def facets_from_props(props: Mapping[str, PropValue], prefix: str = "facet.") -> dict[str, Any]:
    """Facets stored as ``{prefix}{name}`` JSON strings → ``{name: parsed JSON}``.

    Non-string values (should not happen) are returned as they are.

    >>> facets_from_props({"facet.sql": '{"query": "select 1"}', "name": "x"})
    {'sql': {'query': 'select 1'}}
    """
    out: dict[str, Any] = {}
    for name, value in sorted(props.items()):
        if name.startswith(prefix) and value is not None:
            out[name[len(prefix) :]] = orjson.loads(value) if isinstance(value, str) else value
    return out


def dump_props(
    props: Mapping[str, PropValue], versions: Mapping[str, str] | str | None
) -> dict[str, PropValue]:
    """The canonical property map :class:`GraphDump` shows for a node or relationship.

    Stored props without ``None`` values and without ``key``, plus ``_versions`` (canonical JSON)
    only when the version map is non-empty. ``versions`` may be the map or its stored JSON.

    >>> dump_props({"key": "k", "n": 1}, "{}")
    {'n': 1}
    """
    out: dict[str, PropValue] = {
        k: v for k, v in props.items() if v is not None and k not in ("key", VERSIONS_PROP)
    }
    vmap = decode_versions(versions) if isinstance(versions, str | None) else dict(versions)
    if vmap:
        out[VERSIONS_PROP] = canonical(vmap)
    return out


def schema_columns(schema: Any) -> list[dict[str, Any]]:
    """The columns of a ``schema`` facet, nested ones as dotted paths, in the facet's order.

    Each is ``{name, type, description}`` (missing values ``None``); a deleted or malformed
    facet has none.

    >>> [c["name"] for c in schema_columns({"fields": [{"name": "a", "fields": [{"name": "b"}]}]})]
    ['a', 'a.b']
    """
    if not isinstance(schema, dict) or schema.get("_deleted") is True:
        return []
    out: list[dict[str, Any]] = []
    stack: list[tuple[str, Any]] = [("", f) for f in reversed(_as_list(schema.get("fields")))]
    while stack:
        prefix, spec = stack.pop()
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
            continue
        path = f"{prefix}{spec['name']}"
        out.append(
            {"name": path, "type": _text(spec.get("type")), "description": _text(spec.get("description"))}
        )
        stack.extend((f"{path}.", f) for f in reversed(_as_list(spec.get("fields"))))
    return out


def current_fields(schema: Iterable[str] | None, field_names: Iterable[str]) -> list[str]:
    """A dataset's current columns: those of its latest ``schema`` facet (``schema``: their
    names, None when it has no such facet), sorted.

    A column dropped from the schema is gone from here (its Field node stays, for lineage and
    history). Without any schema facet, the columns known from column lineage are listed.

    >>> current_fields(None, ["b", "a"]), current_fields(["x"], ["b", "a"])
    (['a', 'b'], ['x'])
    """
    return sorted(set(field_names if schema is None else schema))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def owner_name(key: str, props: Mapping[str, PropValue]) -> str:
    """The name of an Owner node (``name`` prop, else from its key)."""
    return str(props.get("name") or key.removeprefix("owner:"))


def tag_name(key: str) -> str:
    """The ``key=value`` text of a Tag node, from its key."""
    return key.removeprefix("tag:")


# ---------------------------------------------------------------- time travel


def exists_at(view: NodeView, as_of: str) -> bool:
    """Whether the node existed at ``as_of``: first seen then or before (nodes never seen: yes).

    >>> exists_at(NodeView("d", "dataset", "n", "d", props={"firstSeenAt": "2024-02"}), "2024-01")
    False
    """
    first = view.props.get("firstSeenAt")
    return first is None or str(first) <= as_of


def edge_exists_at(edge: EdgeView, as_of: str) -> bool:
    """Whether the relationship existed at ``as_of`` (one without ``firstSeenAt``: yes)."""
    first = edge.props.get("firstSeenAt")
    return first is None or str(first) <= as_of


def deletion_time(view: NodeView) -> str | None:
    """When a deleted node became deleted: its admin soft delete or its DROP (the earlier
    of those that hold now); None when it is not deleted."""
    if not view.deleted:
        return None
    props = view.props
    times = []
    deleted_at_, seen = props.get("deletedAt"), props.get("lastSeenAt")
    if deleted_at_ is not None and (seen is None or str(seen) <= str(deleted_at_)):
        times.append(str(deleted_at_))
    dropped, modified = props.get("droppedAt"), props.get("lastModifiedAt")
    if dropped is not None and (modified is None or str(dropped) >= str(modified)):
        times.append(str(dropped))
    return min(times) if times else ""


def deleted_at(view: NodeView, as_of: str) -> bool:
    """Whether the node was deleted at ``as_of``: it is deleted now, and was by then.

    The store keeps the latest deletion only: a node dropped, re-created and dropped again
    counts as deleted from its latest drop on.
    """
    when = deletion_time(view)
    return when is not None and when <= as_of


# ---------------------------------------------------------------- runs and versions

VERSION_FIELD_PROPS = frozenset({"dataset", "version", "createdAt", "runId", "implicit"})


def version_ref(key: str, props: Mapping[str, PropValue]) -> VersionRef:
    """The :class:`VersionRef` of a DatasetVersion node."""
    return VersionRef(
        dataset=str(props.get("dataset", "")), version=str(props.get("version", "")), version_id=key
    )


def sort_version_refs(refs: Iterable[VersionRef]) -> list[VersionRef]:
    """Run inputs/outputs order: by dataset, then version id."""
    return sorted(refs, key=lambda r: (r.dataset, r.version_id))


def version_view(key: str, props: Mapping[str, PropValue]) -> VersionView:
    """The :class:`VersionView` of a DatasetVersion node (other public props in ``props``)."""
    created, run = props.get("createdAt"), props.get("runId")
    return VersionView(
        id=key,
        version=str(props.get("version", "")),
        created_at=None if created is None else str(created),
        run_id=None if run is None else str(run),
        implicit=props.get("implicit") is True,
        props={k: v for k, v in public_props(props).items() if k not in VERSION_FIELD_PROPS},
        schema=schema_columns(facets_from_props(props).get("schema")),
    )


def sort_versions(versions: Iterable[VersionView]) -> list[VersionView]:
    """Newest first by ``created_at`` (versions without it last), ties by id ascending."""
    versions = list(versions)  # iterated twice below; a generator would lose the undated ones
    dated = sorted((v for v in versions if v.created_at is not None), key=lambda v: v.id)
    dated.sort(key=lambda v: v.created_at or "", reverse=True)
    undated = sorted((v for v in versions if v.created_at is None), key=lambda v: v.id)
    return dated + undated


def opt_str(value: object) -> str | None:
    """``value`` as a string, None staying None."""
    return None if value is None else str(value)


def run_start(props: Mapping[str, PropValue]) -> tuple[str | None, StartSource | None]:
    """A run's start and where it comes from: the earliest START, else its earliest event."""
    if props.get("startedAt") is not None:
        return str(props["startedAt"]), "START"
    if props.get("firstSeenAt") is not None:
        return str(props["firstSeenAt"]), "firstEvent"
    return None, None


def time_ns(value: str) -> int:
    """Nanoseconds since the epoch of a stored time (``YYYY-MM-DDTHH:MM:SS.fffffffffZ``).

    >>> time_ns("1970-01-01T00:00:01.000000002Z")
    1000000002
    """
    if len(value) < 19 or value[10] != "T":  # fromisoformat would take other separators too
        raise ValueError(f"not a stored time: {value!r}")
    seconds = datetime.fromisoformat(value[:19]).replace(tzinfo=UTC).timestamp()
    fraction = value[20:-1] if len(value) > 20 and value[19] == "." else ""
    return int(seconds) * 1_000_000_000 + int(fraction[:9].ljust(9, "0") or 0)


def duration_ms(start: str | None, end: str | None) -> int | None:
    """Whole milliseconds from ``start`` to ``end`` (None unless both are given and in order)."""
    if start is None or end is None or end < start:
        return None
    return (time_ns(end) - time_ns(start)) // 1_000_000


def run_timeline(props: Mapping[str, PropValue]) -> list[tuple[str, str]]:
    """(state, first time reported) of every state the run's events reported, by time then state."""
    pairs = [
        (name.removeprefix(TIMELINE_PREFIX), str(value))
        for name, value in props.items()
        if name.startswith(TIMELINE_PREFIX) and value is not None
    ]
    return sorted(pairs, key=lambda pair: (pair[1], pair[0]))


def run_view(
    props: Mapping[str, PropValue],
    job: str | None,
    inputs: Iterable[VersionRef],
    outputs: Iterable[VersionRef],
) -> RunView:
    """The :class:`RunView` of a Run node. ``job``: the RUN_OF target (falls back to the ``job`` prop)."""
    started, source = run_start(props)
    ended = opt_str(props.get("endedAt"))
    return RunView(
        run_id=str(props.get("runId", "")),
        job=job if job is not None else opt_str(props.get("job")),
        state=opt_str(props.get("state")),
        started_at=started,
        ended_at=ended,
        updated_at=opt_str(props.get("updatedAt")),
        parent_run_id=opt_str(props.get("parentRunId")),
        inputs=sort_version_refs(inputs),
        outputs=sort_version_refs(outputs),
        facets=facets_from_props(props),
        started_at_source=source,
        duration_ms=duration_ms(started, ended),
        root_run_id=opt_str(props.get("rootRunId")),
        nominal_start_time=opt_str(props.get("nominalStartTime")),
        nominal_end_time=opt_str(props.get("nominalEndTime")),
        error_message=opt_str(props.get("errorMessage")),
        timeline=run_timeline(props),
    )
