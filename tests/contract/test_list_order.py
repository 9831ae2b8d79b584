"""Dataset and job listings in each order (``sort``): exact orders on both stores.

Ties on the sort value are broken by key (descending in a descending order); nodes never seen
(a symlink's alias, a parent facet's job) have no ``lastSeenAt`` and come last in both
directions. Paging by keyset position or by offset gives the whole order, without gaps or repeats.
"""

from __future__ import annotations

import pytest
from contract_events import apply_events, dataset, facet, run_event, run_id, stored_time, symlink

from olgraph import keys
from olgraph.query.catalog import SORTS, node_positions
from olgraph.store.base import GraphStore
from olgraph.store.listing import NodeFilter, Window

WH = "warehouse"
USERS, ITEMS, ORDERS, EVENTS = (
    keys.dataset_key(WH, n) for n in ("a.users", "c.items", "b.orders", "d.events")
)
LAKE_ORDERS = keys.dataset_key("lake", "b.orders")
ALIAS_Y, ALIAS_Z = keys.dataset_key("hive", "y.alias2"), keys.dataset_key("hive", "z.alias1")
JOB_A, JOB_B, JOB_C, JOB_D = (keys.job_key("etl", n) for n in "abcd")
DAG_1, DAG_2 = keys.job_key("sched", "dag1"), keys.job_key("sched", "dag2")

DATASET_ORDERS = {
    "name": [USERS, LAKE_ORDERS, ORDERS, ITEMS, EVENTS, ALIAS_Y, ALIAS_Z],
    "-name": [ALIAS_Z, ALIAS_Y, EVENTS, ITEMS, ORDERS, LAKE_ORDERS, USERS],
    "lastSeen": [USERS, ITEMS, LAKE_ORDERS, ORDERS, EVENTS, ALIAS_Y, ALIAS_Z],
    "-lastSeen": [EVENTS, ORDERS, LAKE_ORDERS, ITEMS, USERS, ALIAS_Z, ALIAS_Y],
}
JOB_ORDERS = {
    "name": [JOB_A, JOB_B, JOB_C, JOB_D, DAG_1, DAG_2],
    "-name": [DAG_2, DAG_1, JOB_D, JOB_C, JOB_B, JOB_A],
    "lastSeen": [JOB_B, JOB_C, JOB_A, JOB_D, DAG_1, DAG_2],
    "-lastSeen": [JOB_D, JOB_A, JOB_C, JOB_B, DAG_2, DAG_1],
}


def _parent(n: int, dag: str) -> dict[str, object]:
    ref = facet("ParentRunFacet", run={"runId": run_id(n)}, job={"namespace": "sched", "name": dag})
    return {"parent": ref}


@pytest.fixture
async def seen(store: GraphStore) -> GraphStore:
    """Datasets and jobs last seen at minutes 2 (two of each: a tie), 5 and 9, and two of each never seen.

    ``b.orders`` exists in two namespaces (a tie on the name and on the time).
    """
    await apply_events(
        store,
        [
            run_event(
                "COMPLETE",
                1,
                2,
                ("etl", "b"),
                [],
                [dataset(WH, "a.users", symlinks=symlink("hive", "y.alias2"))],
                run_facets=_parent(11, "dag2"),
            ),
            run_event(
                "COMPLETE",
                2,
                2,
                ("etl", "c"),
                [],
                [dataset(WH, "c.items", symlinks=symlink("hive", "z.alias1"))],
                run_facets=_parent(12, "dag1"),
            ),
            run_event(
                "COMPLETE", 3, 5, ("etl", "a"), [], [dataset(WH, "b.orders"), dataset("lake", "b.orders")]
            ),
            run_event("COMPLETE", 4, 9, ("etl", "d"), [dataset(WH, "d.events")], []),
        ],
    )
    return store


async def _ids(store: GraphStore, flt: NodeFilter, window: Window) -> list[str]:
    return [n.id for n in (await store.list_nodes(flt, window)).items]


@pytest.mark.parametrize("sort", list(SORTS))
async def test_each_order_is_exact(seen: GraphStore, sort: str) -> None:
    order = SORTS[sort]
    datasets = await seen.list_nodes(NodeFilter("dataset"), Window(50, order=order))
    assert ([n.id for n in datasets.items], datasets.total) == (DATASET_ORDERS[sort], 7)
    jobs = await seen.list_nodes(NodeFilter("job"), Window(50, order=order))
    assert ([n.id for n in jobs.items], jobs.total) == (JOB_ORDERS[sort], 6)


async def test_the_times_sorted_on_are_the_last_seen_ones(seen: GraphStore) -> None:
    newest = (await seen.list_nodes(NodeFilter("dataset"), Window(50, order=SORTS["-lastSeen"]))).items
    assert [n.props.get("lastSeenAt") for n in newest] == [
        stored_time(9),
        stored_time(5),
        stored_time(5),
        stored_time(2),
        stored_time(2),
        None,
        None,
    ]


@pytest.mark.parametrize("sort", list(SORTS))
async def test_pages_by_keyset_and_by_offset_make_the_whole_order(seen: GraphStore, sort: str) -> None:
    order = SORTS[sort]
    for flt, whole in ((NodeFilter("dataset"), DATASET_ORDERS[sort]), (NodeFilter("job"), JOB_ORDERS[sort])):
        for size in range(1, len(whole) + 2):
            by_offset = []
            for start in range(0, len(whole), size):
                by_offset += await _ids(seen, flt, Window(size, start, order=order))
            assert by_offset == whole, (flt.kind, size, "offset")
            by_keyset, after = [], None
            while True:
                page = await seen.list_nodes(flt, Window(size, after=after, order=order))
                assert page.total == len(whole)
                by_keyset += [n.id for n in page.items]
                if len(page.items) < size:
                    break
                after = node_positions(page.items, order)[-1]
            assert by_keyset == whole, (flt.kind, size, "keyset")


async def test_orders_combine_with_filters(seen: GraphStore) -> None:
    newest = SORTS["-lastSeen"]
    assert await _ids(seen, NodeFilter("dataset", namespace=WH), Window(50, order=newest)) == [
        EVENTS,
        ORDERS,
        ITEMS,
        USERS,
    ]
    assert await _ids(seen, NodeFilter("dataset", namespace="hive"), Window(50, order=newest)) == [
        ALIAS_Z,
        ALIAS_Y,
    ]
    assert await _ids(seen, NodeFilter("job", namespace="sched"), Window(1, 1, order=SORTS["lastSeen"])) == [
        DAG_2,
    ]
    # After the last node with a time, a page goes on with those without one.
    after = (stored_time(2), USERS)
    assert await _ids(seen, NodeFilter("dataset"), Window(3, after=after, order=newest)) == [ALIAS_Z, ALIAS_Y]
    assert await _ids(seen, NodeFilter("dataset"), Window(3, after=(None, ALIAS_Z), order=newest)) == [
        ALIAS_Y
    ]


async def test_a_negative_limit_lists_everything_in_order(seen: GraphStore) -> None:
    """As in every listing (internal callers page with it): no limit, whatever the order."""
    for sort, whole in DATASET_ORDERS.items():
        assert await _ids(seen, NodeFilter("dataset"), Window(-1, order=SORTS[sort])) == whole, sort
