"""Listings and details: filters, cursors and the checks in front of the store.

Listings are ordered by (name, key), or by another ``sort`` (:data:`SORTS`), and page by
``offset`` or by ``cursor`` (keyset: stable while the graph changes; a cursor holds the last
item's sort value and key, and is refused with another sort or other filters). Details answer
404 naming the parameter when the node is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from olgraph.errors import InvalidQuery, NotFound
from olgraph.query.lineage import QueryLimits, check_page
from olgraph.query.paging import decode_cursor, encode_cursor, fingerprint
from olgraph.store.base import GraphStore, NodeView, Page, VersionView
from olgraph.store.detail_views import VersionDetail
from olgraph.store.listing import BY_NAME, ListKind, ListOrder, NodeFilter, Window

RUN_STATES = ("START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER")
DATASET_TYPES = ("dataset", "model")

SORTS: dict[str, ListOrder] = {
    "name": BY_NAME,
    "-name": ListOrder("name", descending=True),
    "lastSeen": ListOrder("lastSeenAt"),
    "-lastSeen": ListOrder("lastSeenAt", descending=True),
}
"""The ``sort`` values of dataset and job listings: a property, ``-`` for descending."""


def list_order(sort: str | None) -> ListOrder:
    """The order ``sort`` names (default: by name); a 400 naming ``sort`` lists the allowed ones."""
    if sort is None:
        return BY_NAME
    order = SORTS.get(sort)
    if order is None:
        raise InvalidQuery(f"{sort!r} is not a sort; use one of {', '.join(SORTS)}", field="sort")
    return order


def node_filter(
    kind: ListKind,
    *,
    namespace: str | None,
    node_type: str | None = None,
    owner: str | None = None,
    tag: str | None = None,
    include_deleted: bool = False,
    job_type: str | None = None,
) -> NodeFilter:
    """A checked :class:`NodeFilter`: ``node_type`` ``dataset``/``model`` (datasets only), ``tag``
    ``key=value`` or ``key``, ``job_type`` (jobs only) as the ``jobType`` facet names it."""
    models = None
    if node_type is not None:
        if kind != "dataset" or node_type not in DATASET_TYPES:
            allowed = ", ".join(DATASET_TYPES) if kind == "dataset" else "none for jobs"
            raise InvalidQuery(f"{node_type!r} is not a type to list here ({allowed})", field="type")
        models = node_type == "model"
    tag_filter = None
    if tag is not None:
        key, eq, value = tag.partition("=")
        if not key:
            raise InvalidQuery("expected 'key=value' or 'key'", field="tag")
        tag_filter = (key, value if eq else None)
    if owner is not None and not owner:
        raise InvalidQuery("must not be empty", field="owner")
    if job_type is not None and (kind != "job" or not job_type):
        raise InvalidQuery("a non-empty jobType (e.g. WORKLOAD), for jobs only", field="jobType")
    return NodeFilter(kind, namespace, models, owner or None, tag_filter, include_deleted, job_type)


@dataclass(frozen=True, slots=True)
class Listing:
    """A checked listing request: its window and what its next cursor encodes."""

    kind: str
    filters: str
    window: Window

    @property
    def name_after(self) -> tuple[str, str] | None:
        """The keyset position of a listing by name (whose value is never missing)."""
        after = self.window.after
        return None if after is None or after[0] is None else (after[0], after[1])


def listing(
    kind: str,
    filters: object,
    *,
    limit: int | None,
    offset: int | None,
    cursor: str | None,
    limits: QueryLimits,
    order: ListOrder = BY_NAME,
) -> Listing:
    """The window of a listing page; ``cursor`` and ``offset`` are exclusive. A cursor made for
    another ``order`` (or other filters) is refused (the order is part of its fingerprint)."""
    size, start = check_page(limit, offset, limits)
    # The default order leaves the fingerprint as it was before listings had other orders.
    digest = fingerprint(kind, filters) if order == BY_NAME else fingerprint(kind, filters, order)
    if cursor is None:
        return Listing(kind, digest, Window(size, start, order=order))
    if offset:
        raise InvalidQuery("give either offset or cursor, not both", field="cursor")
    position = decode_cursor(cursor, kind, digest)
    if not _is_position(position, nullable=order.nullable):
        raise InvalidQuery("not a cursor this server made", field="cursor")
    return Listing(kind, digest, Window(size, 0, (position[0], position[1]), order))


def _is_position(position: list[object], *, nullable: bool) -> bool:
    """A keyset position: ``[value, key]``, the value a string (or null where values may lack)."""
    if len(position) != 2 or not isinstance(position[1], str):
        return False
    return isinstance(position[0], str) or (nullable and position[0] is None)


def next_cursor(request: Listing, page: Page, names: list[tuple[str | None, str]]) -> str | None:
    """The cursor after this page's last item (``names``: the items' (sort value, key)), None when last."""
    seen_before = request.window.offset
    if not names or len(names) < request.window.limit:
        return None
    if request.window.after is None and seen_before + len(names) >= page.total:
        return None
    return encode_cursor(request.kind, request.filters, list(names[-1]))


def node_positions(items: list[NodeView], order: ListOrder = BY_NAME) -> list[tuple[str | None, str]]:
    """(sort value, key) of listed nodes: their keyset positions."""
    if order.prop == "name":
        return [(n.name, n.id) for n in items]
    return [(_text(n.props.get(order.prop)), n.id) for n in items]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def check_state(state: str | None) -> str | None:
    """A run state to filter on (upper-cased), or None."""
    if state is None:
        return None
    upper = state.strip().upper()
    if upper not in RUN_STATES:
        raise InvalidQuery(f"must be one of {', '.join(RUN_STATES)}, got {state!r}", field="state")
    return upper


async def version_or_404(store: GraphStore, dataset: str, version: str) -> VersionDetail:
    """One version of a dataset, or :class:`NotFound` naming ``version``."""
    found = await store.get_version(dataset, version)
    if found is None:
        raise NotFound(f"dataset {dataset!r} has no version {version!r}", field="version")
    return found


@dataclass(frozen=True, slots=True)
class SchemaDiff:
    """How the columns changed between two versions: ``(name, type)`` added and removed,
    ``(name, old type, new type)`` changed."""

    source: str
    target: str
    added: list[tuple[str, str | None]]
    removed: list[tuple[str, str | None]]
    changed: list[tuple[str, str | None, str | None]]


def schema_diff(source: VersionView, target: VersionView) -> SchemaDiff:
    """The diff from ``source``'s schema to ``target``'s (by column path, types compared as text)."""
    before = {c["name"]: c["type"] for c in source.schema}
    after = {c["name"]: c["type"] for c in target.schema}
    return SchemaDiff(
        source=source.version,
        target=target.version,
        added=[(name, after[name]) for name in sorted(after.keys() - before.keys())],
        removed=[(name, before[name]) for name in sorted(before.keys() - after.keys())],
        changed=[
            (name, before[name], after[name])
            for name in sorted(before.keys() & after.keys())
            if before[name] != after[name]
        ],
    )


DIFF_VERSIONS_SCANNED = 1000
"""How many of the newest versions a diff without ``from`` looks through for the one before ``to``."""


async def diff_versions(
    store: GraphStore, dataset: str, source: str | None, target: str | None
) -> SchemaDiff:
    """The schema diff of two versions of ``dataset``: by default the newest (``to``) and the one
    created before it (``from``). :class:`NotFound` names the parameter that has no version."""
    if source is None or target is None:
        page = await store.list_versions(dataset, DIFF_VERSIONS_SCANNED, 0)
        order = [v.version for v in page.items if not v.implicit]
        if target is None:
            if not order:
                raise NotFound(f"dataset {dataset!r} has no version", field="nodeId")
            target = order[0]
        if source is None:
            later = order.index(target) if target in order else len(order)
            if later + 1 >= len(order):
                raise NotFound(f"version {target!r} of {dataset!r} has no earlier version", field="from")
            source = order[later + 1]
    to_detail = await store.get_version(dataset, target)
    if to_detail is None:
        raise NotFound(f"dataset {dataset!r} has no version {target!r}", field="to")
    from_detail = await store.get_version(dataset, source)
    if from_detail is None:
        raise NotFound(f"dataset {dataset!r} has no version {source!r}", field="from")
    return schema_diff(from_detail.version, to_detail.version)
