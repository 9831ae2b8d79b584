"""Property: any arrival order, with duplicates, of a run's events gives the in-order graph.

One event per batch, as the consumer applies them. Each Hypothesis example gets a fresh,
empty store; Neo4j examples are few because each one empties a real database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from contract_events import (
    Event,
    apply_events,
    run_events,
)
from contract_stores import StoreFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from olgraph.store.base import GraphDump


@st.composite
def arrival_orders(draw: st.DrawFn) -> list[Event]:
    """A permutation of :func:`run_events` with up to four duplicates inserted anywhere."""
    events = run_events()
    order = list(draw(st.permutations(events)))
    for duplicate in draw(st.lists(st.sampled_from(events), max_size=4)):
        order.insert(draw(st.integers(0, len(order))), duplicate)
    return order


async def _dump_after(make_store: StoreFactory, events: Sequence[Event]) -> GraphDump:
    async with make_store() as store:
        await apply_events(store, events)
        return await store.dump()


def test_any_arrival_order_gives_the_in_order_graph(make_store: StoreFactory, store_kind: str) -> None:
    expected = asyncio.run(_dump_after(make_store, run_events()))
    assert any(key.endswith("@initial") for key in expected.nodes)  # run 3 read before any write

    @settings(
        max_examples=15 if store_kind == "neo4j" else 75,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(arrival_orders())
    def check(order: list[Event]) -> None:
        assert asyncio.run(_dump_after(make_store, order)) == expected

    check()
