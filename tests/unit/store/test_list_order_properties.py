"""Sorted listings on the embedded store, for any names, times and page sizes (Hypothesis): the
order is the one the docs state, and pages by keyset or by offset add up to it."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from olgraph.keys import dataset_key
from olgraph.normalize.mutations import Label, Merge, Prop, UpsertNode
from olgraph.query.catalog import SORTS, node_positions
from olgraph.store.embedded import EmbeddedStore
from olgraph.store.listing import ListOrder, NodeFilter, Window

TIMES = st.one_of(st.none(), st.sampled_from([f"2024-05-0{d}T12:00:00.000000000Z" for d in range(1, 4)]))
NODES = st.lists(
    st.tuples(st.sampled_from(["ns", "other"]), st.text("abAB._é", min_size=1, max_size=4), TIMES),
    min_size=0,
    max_size=20,
    unique_by=lambda n: (n[0], n[1]),
)


def _node(namespace: str, name: str, seen: str | None) -> UpsertNode:
    props = [Prop("namespace", namespace, Merge.LWW), Prop("name", name, Merge.LWW)]
    if seen is not None:
        props.append(Prop("lastSeenAt", seen, Merge.MAX))
    return UpsertNode(dataset_key(namespace, name), Label.DATASET, tuple(props))


def _expected(nodes: list[tuple[str, str, str | None]], order: ListOrder) -> list[str]:
    """Sorted by (value, key), all reversed for a descending order; nodes without a value last."""
    rows = [(name if order.prop == "name" else seen, dataset_key(ns, name)) for ns, name, seen in nodes]
    valued = sorted(((v, k) for v, k in rows if v is not None), reverse=order.descending)
    missing = sorted((k for v, k in rows if v is None), reverse=order.descending)
    return [k for _, k in valued] + missing


async def _pages(
    nodes: list[tuple[str, str, str | None]], order: ListOrder, size: int
) -> tuple[list[str], list[str], list[str], int]:
    with tempfile.TemporaryDirectory() as folder:
        store = EmbeddedStore(Path(folder) / "graph.db")
        await store.open()
        try:
            await store.apply([_node(*n) for n in nodes])
            flt = NodeFilter("dataset")
            whole = await store.list_nodes(flt, Window(100, order=order))
            by_keyset: list[str] = []
            after = None
            while True:
                page = await store.list_nodes(flt, Window(size, after=after, order=order))
                by_keyset += [n.id for n in page.items]
                if len(page.items) < size:
                    break
                after = node_positions(page.items, order)[-1]
            by_offset: list[str] = []
            for start in range(0, max(whole.total, 1), size):
                by_offset += [
                    n.id for n in (await store.list_nodes(flt, Window(size, start, order=order))).items
                ]
            return [n.id for n in whole.items], by_keyset, by_offset, whole.total
        finally:
            await store.close()


@settings(max_examples=60, deadline=None)
@given(nodes=NODES, sort=st.sampled_from(list(SORTS)), size=st.integers(1, 6))
def test_pages_add_up_to_the_sorted_whole(
    nodes: list[tuple[str, str, str | None]], sort: str, size: int
) -> None:
    order = SORTS[sort]
    whole, by_keyset, by_offset, total = asyncio.run(_pages(nodes, order, size))
    assert whole == _expected(nodes, order)
    assert total == len(nodes)
    assert by_keyset == whole
    assert by_offset == whole
