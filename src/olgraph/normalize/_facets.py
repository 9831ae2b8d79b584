"""Facets → properties and link sets: verbatim facet JSON, promoted typed properties, owners, tags.

Every facet is kept as ``facet.{name}`` (canonical JSON, last writer wins by eventTime); a
``{"_deleted": true}`` job or dataset facet writes a tombstone for it *and* for the typed
properties promoted from it, so a deleted description does not linger. The accessors here
never raise: a malformed optional facet that reached the normalizer is stored as JSON and
otherwise ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from olgraph.ingest.facets import is_deleted
from olgraph.ingest.times import normalize_time
from olgraph.keys import owner_key, tag_key
from olgraph.normalize._graph import GraphBuilder, canonical, fixed, link, lww, seen
from olgraph.normalize.mutations import Label, Link, Prop, PropValue, RelType, ReplaceLinks

STREAMING_TYPES = frozenset({"STREAMING", "SERVICE"})
MODEL_TYPE = "MODEL"


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """``value`` if it is a non-empty string, else ``None``."""
    return value if isinstance(value, str) and value else None


def as_int(value: Any) -> int | None:
    """``value`` as an int if it is a JSON integer (``5.0`` included), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_time(value: Any) -> str | None:
    """``value`` as a normalized time if it is a parseable date-time string, else ``None``."""
    try:
        return normalize_time(value) if isinstance(value, str) else None
    except ValueError:
        return None


def facet_json_props(prefix: str, facets: Mapping[str, Any], at: str, *, deletable: bool) -> list[Prop]:
    """``{prefix}.{name}`` = facet JSON for every facet (tombstones for deleted ones)."""
    props = []
    for name, facet in facets.items():
        if facet is None:
            continue
        value = None if deletable and is_deleted(facet) else canonical(facet)
        props.append(lww(f"{prefix}.{name}", value, at))
    return props


Promotion = tuple[tuple[str, ...], Callable[[dict[str, Any]], dict[str, PropValue]]]
"""The typed properties a facet sets (all of them, for tombstoning) and how to read them."""


def _job_type(facet: dict[str, Any]) -> dict[str, PropValue]:
    processing = as_str(facet.get("processingType"))
    return {
        "processingType": processing,
        "integration": as_str(facet.get("integration")),
        "jobType": as_str(facet.get("jobType")),
        "streaming": None if processing is None else processing.upper() in STREAMING_TYPES,
    }


def _lifecycle(facet: dict[str, Any]) -> dict[str, PropValue]:
    state = as_str(facet.get("lifecycleStateChange"))
    return {"lifecycleState": state.upper() if state else None}


JOB_PROMOTIONS: Mapping[str, Promotion] = {
    "documentation": (("description",), lambda f: {"description": as_str(f.get("description"))}),
    "jobType": (("processingType", "integration", "jobType", "streaming"), _job_type),
    "sql": (("sql",), lambda f: {"sql": as_str(f.get("query"))}),
    "sourceCodeLocation": (("sourceCodeUrl",), lambda f: {"sourceCodeUrl": as_str(f.get("url"))}),
}

DATASET_PROMOTIONS: Mapping[str, Promotion] = {
    "documentation": (("description",), lambda f: {"description": as_str(f.get("description"))}),
    "datasetType": (("datasetType",), lambda f: {"datasetType": as_str(f.get("datasetType"))}),
    "lifecycleStateChange": (("lifecycleState",), _lifecycle),
}

RUN_PROMOTIONS: Mapping[str, Promotion] = {
    "nominalTime": (
        ("nominalStartTime", "nominalEndTime"),
        lambda f: {
            "nominalStartTime": as_time(f.get("nominalStartTime")),
            "nominalEndTime": as_time(f.get("nominalEndTime")),
        },
    ),
    "errorMessage": (("errorMessage",), lambda f: {"errorMessage": as_str(f.get("message"))}),
}


def promoted_props(
    promotions: Mapping[str, Promotion], facets: Mapping[str, Any], at: str, *, deletable: bool
) -> list[Prop]:
    """Typed properties from the facets in ``promotions`` (tombstones for deleted facets).

    Values a facet does not give (or gives with the wrong type) are not written.
    """
    props: list[Prop] = []
    for facet_name, (names, read) in promotions.items():
        facet = facets.get(facet_name)
        if not isinstance(facet, dict):
            continue
        if deletable and is_deleted(facet):
            props.extend(lww(name, None, at) for name in names)
            continue
        props.extend(lww(name, value, at) for name, value in read(facet).items() if value is not None)
    return props


def is_model(facets: Mapping[str, Any]) -> bool:
    """Whether the ``datasetType`` facet says this dataset is an ML model."""
    facet = as_dict(facets.get("datasetType"))
    dataset_type = as_str(facet.get("datasetType"))
    return not is_deleted(facet) and dataset_type is not None and dataset_type.upper() == MODEL_TYPE


def owner_links(g: GraphBuilder, node: str, facets: Mapping[str, Any], at: str) -> None:
    """``ownership`` facet → the node's OWNS set (replaced as a whole, by eventTime)."""
    facet = facets.get("ownership")
    if not isinstance(facet, dict):
        return
    links: dict[str, Link] = {}
    owners = [] if is_deleted(facet) else as_list(facet.get("owners"))
    for owner in map(as_dict, owners):
        name = as_str(owner.get("name"))
        if name is None:
            continue
        key = g.node(owner_key(name), Label.OWNER, fixed("name", name))
        links.setdefault(key, link(key, type=as_str(owner.get("type"))))
    g.replace_links(
        ReplaceLinks(node, RelType.OWNS, _sorted(links), incoming=True, version=at, slot="owners")
    )


def tag_links(g: GraphBuilder, node: str, facets: Mapping[str, Any], at: str) -> None:
    """``tags`` facet → the node's TAGGED set (replaced as a whole, by eventTime).

    One relationship per tag: when a tag is listed twice (e.g. for two fields), the first
    listing's ``source``/``field`` are kept.
    """
    facet = facets.get("tags")
    if not isinstance(facet, dict):
        return
    links: dict[str, Link] = {}
    tags = [] if is_deleted(facet) else as_list(facet.get("tags"))
    for tag in map(as_dict, tags):
        key_, value = tag.get("key"), tag.get("value")
        if not isinstance(key_, str) or not isinstance(value, str):
            continue
        key = g.node(tag_key(key_, value), Label.TAG, fixed("name", key_), fixed("value", value))
        links.setdefault(key, link(key, source=as_str(tag.get("source")), field=as_str(tag.get("field"))))
    g.replace_links(
        ReplaceLinks(node, RelType.TAGGED, _sorted(links), incoming=False, version=at, slot="tags")
    )


def _sorted(links: dict[str, Link]) -> tuple[Link, ...]:
    return tuple(links[key] for key in sorted(links))


def symlink_edges(g: GraphBuilder, dataset: str, facets: Mapping[str, Any], at: str) -> None:
    """``symlinks`` facet → ``(dataset)-[:ALIAS_OF {type}]->(alias)`` for each identifier."""
    facet = as_dict(facets.get("symlinks"))
    if is_deleted(facet):
        return
    for ident in map(as_dict, as_list(facet.get("identifiers"))):
        namespace, name = as_str(ident.get("namespace")), as_str(ident.get("name"))
        if namespace is None or name is None:
            continue
        alias = g.dataset(namespace, name)
        if alias != dataset:
            kind = as_str(ident.get("type"))
            g.edge(RelType.ALIAS_OF, dataset, alias, *seen(at), *([lww("type", kind, at)] if kind else []))
