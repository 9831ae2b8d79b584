"""Search, shared by both graph stores: the question, the ranking and the paging (pure).

A search matches the lower-cased ``q`` against the lower-cased names (``searchName``) of
datasets, models, jobs, columns (by path) and namespaces, in three tiers: **exact**
(``name == q``), **prefix** (starts with ``q``) and **substring** (contains ``q``; only for
``q`` of three characters or more, which is what the trigram indexes can answer). Results
are ordered by (tier, name, key), so paging is keyset paging on that triple: a store is
asked for one tier at a time, after a position, and never scans.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

SearchType = Literal["dataset", "model", "job", "column", "namespace"]
SEARCH_TYPES: tuple[SearchType, ...] = ("dataset", "model", "job", "column", "namespace")
Tier = Literal["exact", "prefix", "substring"]
TIERS: tuple[Tier, ...] = ("exact", "prefix", "substring")
SUBSTRING_MIN = 3
"""Shortest ``q`` matched as a substring (a trigram index needs three characters)."""
PREFIX_END = "\U0010ffff"
"""Appended to ``q``: the upper bound of the names starting with ``q``."""


@dataclass(frozen=True, slots=True)
class SearchPosition:
    """Where a page ends: its last hit's tier, name and key (the next page starts after it)."""

    tier: Tier
    term: str
    key: str


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One search. ``text`` is lower-cased; ``types`` never empty."""

    text: str
    types: tuple[SearchType, ...] = SEARCH_TYPES
    namespace: str | None = None
    include_deleted: bool = False
    limit: int = 20
    after: SearchPosition | None = None

    def tiers(self) -> tuple[Tier, ...]:
        """The tiers this query can match, in rank order."""
        return TIERS if len(self.text) >= SUBSTRING_MIN else TIERS[:2]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One node found. ``dataset``: a column's dataset; ``name``: as stored (not lower-cased)."""

    key: str
    type: SearchType
    namespace: str | None
    name: str
    term: str
    tier: Tier
    dataset: str | None = None
    deleted: bool = False
    last_seen_at: str | None = None


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A page of hits, the number of all matches, and where the next page starts (None: last)."""

    hits: list[SearchHit]
    total: int
    next: SearchPosition | None


TierFetch = Callable[[Tier, SearchPosition | None, int], Sequence[SearchHit]]
"""A store's answer for one tier: up to ``limit`` hits after the position (same tier), in order."""

AsyncTierFetch = Callable[[Tier, SearchPosition | None, int], Awaitable[Sequence[SearchHit]]]


def _tiers_from(query: SearchQuery) -> list[tuple[Tier, SearchPosition | None]]:
    """The tiers still to read, from the query's position on (each with the position inside it)."""
    tiers = query.tiers()
    if query.after is None:
        return [(tier, None) for tier in tiers]
    if query.after.tier not in tiers:
        return []
    start = tiers.index(query.after.tier)
    return [(tier, query.after if i == start else None) for i, tier in enumerate(tiers) if i >= start]


def _page(query: SearchQuery, hits: list[SearchHit], total: int) -> SearchPage:
    """The page of ``hits`` (one more than the page holds means another page follows)."""
    page = hits[: query.limit]
    last = page[-1] if page and len(hits) > query.limit else None
    position = SearchPosition(last.tier, last.term, last.key) if last is not None else None
    return SearchPage(hits=page, total=total, next=position)


def collect_page(query: SearchQuery, fetch: TierFetch, total: int) -> SearchPage:
    """Walk the tiers from the query's position, asking ``fetch`` for one more hit than the page
    holds, so the page knows whether another follows."""
    hits: list[SearchHit] = []
    for tier, after in _tiers_from(query):
        hits.extend(fetch(tier, after, query.limit + 1 - len(hits)))
        if len(hits) > query.limit:
            break
    return _page(query, hits, total)


async def collect_page_async(query: SearchQuery, fetch: AsyncTierFetch, total: int) -> SearchPage:
    """:func:`collect_page` with an asynchronous ``fetch``."""
    hits: list[SearchHit] = []
    for tier, after in _tiers_from(query):
        hits.extend(await fetch(tier, after, query.limit + 1 - len(hits)))
        if len(hits) > query.limit:
            break
    return _page(query, hits, total)


def after_bound(after: SearchPosition | None) -> tuple[str, str]:
    """(term, key) to seek past: the position's, or the smallest pair (start of the tier)."""
    return (after.term, after.key) if after is not None else ("", "")
