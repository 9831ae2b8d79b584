"""Search requests: what may be asked (text, types, namespace, page) and the cursors of its pages."""

from __future__ import annotations

from olgraph.errors import InvalidQuery
from olgraph.query.paging import decode_cursor, encode_cursor, fingerprint
from olgraph.store.base import GraphStore
from olgraph.store.search import SEARCH_TYPES, TIERS, SearchPage, SearchPosition, SearchQuery, SearchType

MAX_TEXT = 200
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def check_types(value: str | None) -> tuple[SearchType, ...]:
    """Comma-separated types (default: all), each one of :data:`SEARCH_TYPES`."""
    if value is None or not value.strip():
        return SEARCH_TYPES
    names = [t.strip() for t in value.split(",") if t.strip()]
    unknown = [t for t in names if t not in SEARCH_TYPES]
    if unknown:
        raise InvalidQuery(f"{unknown[0]!r} is not one of {', '.join(SEARCH_TYPES)}", field="type")
    return tuple(t for t in SEARCH_TYPES if t in names)


def search_query(
    text: str,
    *,
    types: str | None,
    namespace: str | None,
    include_deleted: bool,
    limit: int | None,
    cursor: str | None,
) -> SearchQuery:
    """A checked :class:`SearchQuery`; ``InvalidQuery`` naming the parameter at fault."""
    wanted = text.strip().lower()
    if not wanted:
        raise InvalidQuery("must not be empty", field="q")
    if len(wanted) > MAX_TEXT:
        raise InvalidQuery(f"must be at most {MAX_TEXT} characters, got {len(wanted)}", field="q")
    size = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise InvalidQuery(f"must be between 1 and {MAX_LIMIT}, got {size}", field="limit")
    query = SearchQuery(wanted, check_types(types), namespace, include_deleted, size)
    if cursor is None:
        return query
    position = decode_cursor(cursor, "search", _filters(query))
    if len(position) != 3 or position[0] not in TIERS or not all(isinstance(p, str) for p in position):
        raise InvalidQuery("not a cursor this server made", field="cursor")
    tier, term, key = position
    return SearchQuery(wanted, query.types, namespace, include_deleted, size, SearchPosition(tier, term, key))


def _filters(query: SearchQuery) -> str:
    return fingerprint(query.text, ",".join(query.types), query.namespace, query.include_deleted)


def next_cursor(query: SearchQuery, page: SearchPage) -> str | None:
    """The cursor of the page after ``page`` (None on the last page)."""
    if page.next is None:
        return None
    return encode_cursor("search", _filters(query), [page.next.tier, page.next.term, page.next.key])


async def run_search(store: GraphStore, query: SearchQuery) -> SearchPage:
    """Ask the store (after the checks above)."""
    return await store.search(query)
