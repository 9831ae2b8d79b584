"""Lineage and listing queries: parameter checks and caps in front of the store.

The store does the traversal (one query per question, anchored at the start node); this
module decides what may be asked: depth within the configured cap, a known direction, a
node that exists, page sizes within bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, cast, get_args

from olgraph.errors import InvalidQuery
from olgraph.query.nodes import get_node_or_404
from olgraph.store.base import Direction, GraphStore, LineageResult


class QueryLimitsLike(Protocol):
    """The query settings this layer reads (``Settings.query`` satisfies it)."""

    default_depth: int
    max_depth: int
    max_nodes: int
    default_page: int
    max_page: int


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """Caps on what one query may ask for."""

    default_depth: int = 5
    max_depth: int = 20
    max_nodes: int = 10_000
    default_page: int = 100
    max_page: int = 1000

    @classmethod
    def of(cls, source: QueryLimitsLike) -> QueryLimits:
        """Copy the caps from a settings group."""
        return cls(
            default_depth=source.default_depth,
            max_depth=source.max_depth,
            max_nodes=source.max_nodes,
            default_page=source.default_page,
            max_page=source.max_page,
        )


DIRECTIONS: tuple[str, ...] = get_args(Direction)

MAX_OFFSET = 10**15
"""Largest listing offset: far beyond any real listing, well inside the stores' 64-bit integers."""


def check_depth(depth: int | None, limits: QueryLimits) -> int:
    """The depth to traverse: ``depth`` or the default, refused (naming ``depth``) outside 0..max."""
    if depth is None:
        return min(limits.default_depth, limits.max_depth)
    if depth < 0:
        raise InvalidQuery(f"must be >= 0, got {depth}", field="depth")
    if depth > limits.max_depth:
        raise InvalidQuery(
            f"must be <= {limits.max_depth} (the server's max_depth), got {depth}", field="depth"
        )
    return depth


def check_max_nodes(max_nodes: int | None, limits: QueryLimits) -> QueryLimits:
    """``limits`` with the node cap a request asked for (default: the server's), refused
    (naming ``maxNodes``) outside 1..the server's ``max_nodes``; a request may only lower it."""
    if max_nodes is None:
        return limits
    if max_nodes < 1 or max_nodes > limits.max_nodes:
        raise InvalidQuery(
            f"must be between 1 and {limits.max_nodes} (the server's max_nodes), got {max_nodes}",
            field="maxNodes",
        )
    return replace(limits, max_nodes=max_nodes)


def check_direction(direction: str | None) -> Direction:
    """``direction`` (default ``both``) when it is upstream, downstream or both."""
    if direction is None:
        return "both"
    if direction not in DIRECTIONS:
        raise InvalidQuery(f"must be one of {', '.join(DIRECTIONS)}, got {direction!r}", field="direction")
    return cast(Direction, direction)


def check_page(limit: int | None, offset: int | None, limits: QueryLimits) -> tuple[int, int]:
    """``(limit, offset)`` of a listing, defaulted and checked against ``max_page``."""
    size = min(limits.default_page, limits.max_page) if limit is None else limit
    start = 0 if offset is None else offset
    if size < 1 or size > limits.max_page:
        raise InvalidQuery(f"must be between 1 and {limits.max_page}, got {size}", field="limit")
    if start < 0 or start > MAX_OFFSET:
        raise InvalidQuery(f"must be between 0 and {MAX_OFFSET}, got {start}", field="offset")
    return size, start


async def read_lineage(
    store: GraphStore,
    key: str,
    *,
    direction: str | None,
    depth: int | None,
    limits: QueryLimits,
    include_deleted: bool = False,
    as_of: str | None = None,
) -> LineageResult:
    """The lineage subgraph around ``key`` (as it stood at ``as_of``), within the configured caps.

    Raises :class:`~olgraph.query.InvalidParameter` for a bad direction or depth and
    :class:`~olgraph.errors.NotFound` when ``key`` is not a known node.
    """
    checked_direction = check_direction(direction)
    checked_depth = check_depth(depth, limits)
    await get_node_or_404(store, key)
    return await store.lineage(
        key, checked_direction, checked_depth, limits.max_nodes, include_deleted=include_deleted, as_of=as_of
    )
