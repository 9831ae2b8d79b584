"""Search, shared by both graph stores: the question, the ranking and the paging (pure).

A search matches the lower-cased ``q`` against the lower-cased names (``searchName``) of
datasets, models, jobs, columns (by path) and namespaces, in three tiers: **exact**
(``name == q``), **prefix** (starts with ``q``) and **substring** (contains ``q``; only for
``q`` of three characters or more, which is what the trigram indexes can answer). Results
are ordered by (tier, name, key), so paging is keyset paging on that triple: a store reads
the tiers from a position on, from its indexes, and never scans a table or a label.

The total is counted up to ``SearchQuery.count_cap`` matches (``SearchPage.total_exact`` says
whether it is complete): a type-ahead box needs "1,000+", and counting every name that holds
``"ord"`` among a million would cost more than the page itself. The capped count also picks the
substring tier's path: a *sparse* query (at most the cap of matches) reads its few matches from
the trigram index and sorts them; a *dense* one walks the name-ordered index and keeps the names
that contain ``q``, which finds a page after reading about ``limit * names / matches`` entries
when the matches are spread over the names (more when they cluster late in name order: the one
case where neither path is cheap). Both paths give the same order, so pages of one query may
mix them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

SearchType = Literal["dataset", "model", "job", "column", "namespace"]
SEARCH_TYPES: tuple[SearchType, ...] = ("dataset", "model", "job", "column", "namespace")
Tier = Literal["exact", "prefix", "substring"]
TIERS: tuple[Tier, ...] = ("exact", "prefix", "substring")
SUBSTRING_MIN = 3
"""Shortest ``q`` matched as a substring (a trigram index needs three characters)."""
COUNT_CAP = 1000
"""Matches counted at most (see the module docstring)."""
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
    count_cap: int = COUNT_CAP

    def dense(self, counted: int) -> bool:
        """Whether ``counted`` (matches counted up to ``count_cap + 1``) makes the substring
        tier dense (see above)."""
        return counted > self.count_cap

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
    """A page of hits, the number of all matches (up to the query's ``count_cap``;
    ``total_exact`` false when the cap stopped the count), and where the next page starts
    (None: the last page)."""

    hits: list[SearchHit]
    total: int
    next: SearchPosition | None
    total_exact: bool = True


TierFetch = Callable[[Tier, SearchPosition | None, int], Sequence[SearchHit]]
"""A store's answer for one tier: up to ``limit`` hits after the position (same tier), in order."""


def tiers_from(query: SearchQuery) -> list[tuple[Tier, SearchPosition | None]]:
    """The tiers still to read, from the query's position on (each with the position inside it)."""
    tiers = query.tiers()
    if query.after is None:
        return [(tier, None) for tier in tiers]
    if query.after.tier not in tiers:
        return []
    start = tiers.index(query.after.tier)
    return [(tier, query.after if i == start else None) for i, tier in enumerate(tiers) if i >= start]


def page_of(query: SearchQuery, hits: Sequence[SearchHit], counted: int) -> SearchPage:
    """The page of ``hits`` (one more than the page holds means another page follows);
    ``counted``: the matches counted, up to the query's ``count_cap + 1`` (one more than the cap
    means the count stopped)."""
    page = list(hits[: query.limit])
    last = page[-1] if page and len(hits) > query.limit else None
    position = SearchPosition(last.tier, last.term, last.key) if last is not None else None
    capped = counted > query.count_cap
    return SearchPage(hits=page, total=min(counted, query.count_cap), next=position, total_exact=not capped)


def collect_page(query: SearchQuery, fetch: TierFetch, counted: int) -> SearchPage:
    """Walk the tiers from the query's position, asking ``fetch`` for one more hit than the page
    holds, so the page knows whether another follows."""
    hits: list[SearchHit] = []
    for tier, after in tiers_from(query):
        hits.extend(fetch(tier, after, query.limit + 1 - len(hits)))
        if len(hits) > query.limit:
            break
    return page_of(query, hits, counted)


def after_bound(after: SearchPosition | None) -> tuple[str, str]:
    """(term, key) to seek past: the position's, or the smallest pair (start of the tier)."""
    return (after.term, after.key) if after is not None else ("", "")
