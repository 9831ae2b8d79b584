"""The property merge rules every store applies (pure; shared so the stores cannot drift).

A node or relationship stores its properties plus a ``_versions`` map (property name →
LWW version) so that last-writer-wins is decided the same way in every store and in any
arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from olgraph.normalize.mutations import Merge, Prop, PropValue

VERSIONS_PROP = "_versions"
"""Name of the property holding the JSON map of LWW versions (a JSON string in both stores)."""


def canonical(value: Any) -> str:
    """Canonical JSON of ``value``: sorted keys, no whitespace (used to break LWW ties)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _lww_wins(new_version: str, new_value: Any, old_version: str | None, old_value: Any) -> bool:
    if old_version is None:
        return True
    if new_version != old_version:
        return new_version > old_version
    if type(new_value) is type(old_value) and not isinstance(new_value, list) and new_value == old_value:
        return False  # the same scalar: equal canonical forms (most ties: identity props rewritten)
    return canonical(new_value) > canonical(old_value)


def _merge_one(old: PropValue, prop: Prop) -> PropValue:
    new = prop.value
    if prop.merge is Merge.UNION:
        # sorted set in every case, so the stored list never depends on write order
        return sorted({*(old or ()), *(new or ())})  # type: ignore[misc]
    if old is None:
        return new
    if new is None:
        return old
    if prop.merge is Merge.MIN:
        return new if new < old else old  # type: ignore[operator]
    if prop.merge is Merge.MAX:
        return new if new > old else old  # type: ignore[operator]
    if prop.merge is Merge.OR:
        return bool(old) or bool(new)
    raise ValueError(f"unknown merge rule {prop.merge!r}")


def merge_props(
    stored: Mapping[str, PropValue], versions: Mapping[str, str], writes: Iterable[Prop]
) -> tuple[dict[str, PropValue], dict[str, str]]:
    """Merge ``writes`` into ``stored`` props; return the new props and the new version map.

    ``stored`` must not contain :data:`VERSIONS_PROP`. Properties whose merged value is
    ``None`` (LWW tombstones) are left out of the returned props but keep their version.

    >>> merge_props({"n": 1}, {}, [Prop("n", 3, Merge.MAX)])
    ({'n': 3}, {})
    """
    props: dict[str, PropValue] = dict(stored)
    vers: dict[str, str] = dict(versions)
    for prop in writes:
        name, value, merge, version = prop
        if merge is Merge.LWW:
            if _lww_wins(version, value, vers.get(name), props.get(name)):
                vers[name] = version
                props[name] = value
        else:
            props[name] = _merge_one(props.get(name), prop)
    return {k: v for k, v in props.items() if v is not None}, vers


def links_win(new_version: str, new_links: Any, old_version: str | None, old_links: Any) -> bool:
    """Whether a :class:`~olgraph.normalize.mutations.ReplaceLinks` write replaces the stored set."""
    return _lww_wins(new_version, new_links, old_version, old_links)


def encode_versions(versions: Mapping[str, str]) -> str:
    """Serialize a version map for storage."""
    return canonical(dict(versions))


def stored_form(
    key: str | None, props: Mapping[str, PropValue], versions: Mapping[str, str]
) -> dict[str, Any]:
    """The full property map a node or relationship holds: props without ``None`` values, its
    ``key`` (nodes) and ``_versions`` (encoded) when the version map is non-empty.

    >>> stored_form(None, {"a": 1, "b": None}, {"a": "2"})
    {'a': 1, '_versions': '{"a":"2"}'}
    """
    out: dict[str, Any] = {k: v for k, v in props.items() if v is not None}
    if key is not None:
        out["key"] = key
    if versions:
        out[VERSIONS_PROP] = encode_versions(versions)
    return out


def decode_versions(raw: str | None) -> dict[str, str]:
    """Parse a stored version map (``None`` → empty)."""
    if not raw:
        return {}
    data: dict[str, str] = orjson.loads(raw)
    return data


SEARCHABLE_LABELS = frozenset({"Dataset", "Job", "Field", "Namespace"})
"""Labels whose nodes are found by search (by their ``searchName``)."""

DELETABLE_LABELS = frozenset({"Dataset", "Job", "Namespace"})
"""Labels an admin may soft-delete (``deletedAt``)."""


def derive_props(label: str, props: Mapping[str, PropValue]) -> dict[str, PropValue]:
    """Properties computed from others after a merge (both stores call this on every write).

    * ``deleted``: a Dataset dropped (``droppedAt``) and not written since
      (``lastModifiedAt``), or a Dataset, Job or Namespace soft-deleted by an admin
      (``deletedAt``) and not mentioned by an event since (``lastSeenAt``). Jobs and
      namespaces never deleted do not carry it.
    * ``searchName``: the lower-cased ``name`` of a Dataset, Job, Field or Namespace, which
      the search indexes hold (Python's ``str.lower``, identical in both stores).
    """
    out = dict(props)
    soft = _soft_deleted(props) if label in DELETABLE_LABELS else None
    if label == "Dataset":
        dropped, modified = props.get("droppedAt"), props.get("lastModifiedAt")
        out["deleted"] = bool(soft) or (
            dropped is not None and (modified is None or str(dropped) >= str(modified))
        )
    elif soft is not None:
        out["deleted"] = soft
    name = props.get("name")
    if label in SEARCHABLE_LABELS and isinstance(name, str):
        out["searchName"] = name.lower()
    return out


def _soft_deleted(props: Mapping[str, PropValue]) -> bool | None:
    """Whether an admin's soft delete holds (None: never soft-deleted)."""
    deleted_at = props.get("deletedAt")
    if deleted_at is None:
        return None
    seen = props.get("lastSeenAt")
    return seen is None or str(seen) <= str(deleted_at)
