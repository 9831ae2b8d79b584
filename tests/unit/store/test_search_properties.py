"""Search on the embedded store, for any names and any query (Hypothesis): every match found, in rank
order, and pages that add up to the whole answer."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from olgraph.keys import dataset_key, job_key
from olgraph.normalize.mutations import Label, Merge, Prop, UpsertNode
from olgraph.store.embedded import EmbeddedStore
from olgraph.store.search import TIERS, SearchQuery

ALPHABET = st.sampled_from(list("abcAB._-é"))
NAMES = st.lists(st.text(ALPHABET, min_size=1, max_size=8), min_size=1, max_size=25, unique=True)


def _node(kind: str, name: str) -> UpsertNode:
    key = dataset_key("ns", name) if kind == "dataset" else job_key("ns", name)
    props = (Prop("namespace", "ns", Merge.LWW), Prop("name", name, Merge.LWW))
    return UpsertNode(key, Label.DATASET if kind == "dataset" else Label.JOB, props)


def _expected_tier(name: str, text: str) -> str | None:
    lowered = name.lower()
    if lowered == text:
        return "exact"
    if lowered.startswith(text):
        return "prefix"
    if len(text) >= 3 and text in lowered:
        return "substring"
    return None


async def _search_all(
    names: list[str], text: str, page_size: int, cap: int
) -> tuple[list[tuple[str, str]], list[str], tuple[int, bool]]:
    with tempfile.TemporaryDirectory() as folder:
        store = EmbeddedStore(Path(folder) / "graph.db")
        await store.open()
        try:
            await store.apply([_node(kind, n) for n in names for kind in ("dataset", "job")])
            whole = await store.search(SearchQuery(text, limit=100, count_cap=cap))
            paged: list[str] = []
            after = None
            while True:
                page = await store.search(SearchQuery(text, limit=page_size, after=after, count_cap=cap))
                paged += [h.key for h in page.hits]
                if page.next is None:
                    break
                after = page.next
            return [(h.tier, h.key) for h in whole.hits], paged, (whole.total, whole.total_exact)
        finally:
            await store.close()


@settings(max_examples=60, deadline=None)
@given(
    names=NAMES,
    text=st.text(ALPHABET, min_size=1, max_size=4),
    page_size=st.integers(1, 5),
    cap=st.sampled_from([1, 2, 5, 1000]),
)
def test_every_match_is_found_ranked_and_paged(names: list[str], text: str, page_size: int, cap: int) -> None:
    """Whatever the count cap (and so whichever way the substring tier is read)."""
    wanted = text.lower()
    ranked, paged, total = asyncio.run(_search_all(names, wanted, page_size, cap))
    expected = {
        (tier, dataset_key("ns", n) if kind == "dataset" else job_key("ns", n))
        for n in names
        for kind in ("dataset", "job")
        if (tier := _expected_tier(n, wanted)) is not None
    }
    assert set(ranked) == expected
    assert total == (min(len(expected), cap), len(expected) <= cap)
    order = [TIERS.index(tier) for tier, _ in ranked]
    assert order == sorted(order)
    assert paged == [key for _, key in ranked]
