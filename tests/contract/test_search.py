"""Search: the same ranked, paged answers on both stores."""

from __future__ import annotations

import pytest
from contract_events import apply_events, dataset, dataset_event, dataset_type, lifecycle, run_event, schema

from olgraph.store.base import GraphStore
from olgraph.store.search import SearchQuery


@pytest.fixture
async def catalog(store: GraphStore) -> GraphStore:
    raw = dataset("s", "raw.orders", schema=schema("order_id", "amount"))
    events = [
        run_event(
            "COMPLETE", 1, 1, ("s", "load_orders"), [raw], [dataset("s", "orders", schema=schema("id"))]
        ),
        run_event(
            "COMPLETE",
            2,
            2,
            ("ml", "train"),
            [],
            [dataset("ml", "orders_model", datasetType=dataset_type("MODEL"))],
        ),
        dataset_event(3, dataset("s", "orders_archive")),
        dataset_event(3, dataset("s", "Customer_Orders")),
        dataset_event(3, dataset("s", "ord")),
        dataset_event(3, dataset("orders-ns", "x")),
        dataset_event(3, dataset("s", "orders_old")),
        dataset_event(4, dataset("s", "orders_old", lifecycleStateChange=lifecycle("DROP"))),
    ]
    await apply_events(store, events)
    return store


def _ranked(page: object) -> list[tuple[str, str, str]]:
    return [(h.tier, h.type, h.key) for h in page.hits]  # type: ignore[attr-defined]


async def test_ranked_exact_then_prefix_then_substring(catalog: GraphStore) -> None:
    page = await catalog.search(SearchQuery("orders", limit=20))
    assert _ranked(page) == [
        ("exact", "dataset", "dataset:s:orders"),
        ("prefix", "namespace", "namespace:orders-ns"),
        ("prefix", "dataset", "dataset:s:orders_archive"),
        ("prefix", "model", "dataset:ml:orders_model"),
        ("substring", "dataset", "dataset:s:Customer_Orders"),
        ("substring", "job", "job:s:load_orders"),
        ("substring", "dataset", "dataset:s:raw.orders"),
    ]
    assert (page.total, page.next) == (7, None)
    customer = page.hits[4]
    assert (customer.name, customer.namespace, customer.deleted) == ("Customer_Orders", "s", False)
    assert customer.last_seen_at is not None


async def test_case_does_not_matter(catalog: GraphStore) -> None:
    assert _ranked(await catalog.search(SearchQuery("orders"))) == _ranked(
        await catalog.search(SearchQuery("orders".upper().lower()))
    )
    upper = await catalog.search(SearchQuery("customer_orders"))
    assert [h.key for h in upper.hits] == ["dataset:s:Customer_Orders"]


async def test_filters_by_type_and_namespace(catalog: GraphStore) -> None:
    jobs = await catalog.search(SearchQuery("orders", types=("job",)))
    assert [h.key for h in jobs.hits] == ["job:s:load_orders"]
    columns = await catalog.search(SearchQuery("order", types=("column",)))
    assert [(h.key, h.name, h.namespace, h.dataset) for h in columns.hits] == [
        ("field:s:raw.orders#order_id", "order_id", "s", "dataset:s:raw.orders")
    ]
    in_ml = await catalog.search(SearchQuery("orders", namespace="ml"))
    assert [h.key for h in in_ml.hits] == ["dataset:ml:orders_model"]
    models_and_namespaces = await catalog.search(SearchQuery("orders", types=("model", "namespace")))
    assert [h.key for h in models_and_namespaces.hits] == ["namespace:orders-ns", "dataset:ml:orders_model"]


async def test_deleted_nodes_only_when_asked_for(catalog: GraphStore) -> None:
    everything = await catalog.search(SearchQuery("orders_o", include_deleted=True))
    assert [(h.key, h.deleted) for h in everything.hits] == [("dataset:s:orders_old", True)]
    assert (await catalog.search(SearchQuery("orders_o"))).hits == []


async def test_short_queries_match_prefixes_only(catalog: GraphStore) -> None:
    page = await catalog.search(SearchQuery("or", limit=50))
    assert [h.key for h in page.hits] == [
        "dataset:s:ord",
        "field:s:raw.orders#order_id",
        "dataset:s:orders",
        "namespace:orders-ns",
        "dataset:s:orders_archive",
        "dataset:ml:orders_model",
    ]
    assert {h.tier for h in page.hits} == {"prefix"}
    assert page.total == 6


async def test_pages_follow_each_other_without_gaps_or_repeats(catalog: GraphStore) -> None:
    whole = await catalog.search(SearchQuery("order", limit=50))
    seen, after, pages = [], None, 0
    while True:
        page = await catalog.search(SearchQuery("order", limit=2, after=after))
        seen += [h.key for h in page.hits]
        pages += 1
        assert page.total == whole.total
        if page.next is None:
            break
        after = page.next
    assert seen == [h.key for h in whole.hits]
    assert pages == 4  # 8 hits, 2 per page


async def test_a_query_with_a_nul_finds_the_names_that_hold_it(store: GraphStore) -> None:
    """Names may hold a NUL (they round-trip byte for byte); so may a search for them. The embedded
    store's full-text index cannot read such a query, so it compares the terms instead."""
    await apply_events(
        store,
        [dataset_event(1, dataset("s", "raw\x00orders")), dataset_event(1, dataset("s", "orders"))],
    )
    page = await store.search(SearchQuery("w\x00ord", limit=10))
    assert (_ranked(page), page.total) == ([("substring", "dataset", "dataset:s:raw\x00orders")], 1)
    page = await store.search(SearchQuery("raw\x00", limit=10))
    assert (_ranked(page), page.total) == ([("prefix", "dataset", "dataset:s:raw\x00orders")], 1)


async def test_the_count_stops_at_the_cap_and_the_answer_stays_the_same(catalog: GraphStore) -> None:
    """Over the cap the count says so (``total_exact`` false) and the substring tier walks the name
    index instead of the trigram index: the same hits in the same order, page after page."""
    whole = await catalog.search(SearchQuery("order", limit=50))
    assert (whole.total, whole.total_exact) == (8, True)
    for cap in (1, 3, 7):
        capped = await catalog.search(SearchQuery("order", limit=50, count_cap=cap))
        assert (capped.total, capped.total_exact) == (cap, False)
        assert _ranked(capped) == _ranked(whole)
        seen, after = [], None
        for _ in range(10):
            page = await catalog.search(SearchQuery("order", limit=3, after=after, count_cap=cap))
            seen += _ranked(page)
            if page.next is None:
                break
            after = page.next
        assert seen == _ranked(whole)
    exactly = await catalog.search(SearchQuery("order", limit=50, count_cap=8))
    assert (exactly.total, exactly.total_exact) == (8, True)
    short = await catalog.search(SearchQuery("or", limit=50, count_cap=2))
    assert (short.total, short.total_exact, len(short.hits)) == (2, False, 6)


@pytest.fixture
async def columns(store: GraphStore) -> GraphStore:
    """Six tables in two namespaces sharing column names, as real warehouses do."""
    names = ("id", "order_id", "Customer_Order_Id", "reorder_flag", "amount", "border")
    events = [dataset_event(1, dataset(f"ns{i % 2}", f"t{i}", schema=schema(*names))) for i in range(6)]
    await apply_events(store, events)
    return store


def _column_order(text: str, namespace: str | None = None) -> list[tuple[str, str]]:
    """The (tier, key) of every column matching ``text``, ranked as search ranks: tier, name, key."""
    names = ("id", "order_id", "Customer_Order_Id", "reorder_flag", "amount", "border")
    found = []
    for i in range(6):
        if namespace is not None and namespace != f"ns{i % 2}":
            continue
        for name in names:
            term = name.lower()
            tier = "exact" if term == text else "prefix" if term.startswith(text) else "substring"
            if text in term and (tier != "substring" or len(text) >= 3):
                found.append(
                    (("exact", "prefix", "substring").index(tier), term, f"field:ns{i % 2}:t{i}#{name}")
                )
    return [(("exact", "prefix", "substring")[rank], key) for rank, _, key in sorted(found)]


@pytest.mark.parametrize("text", ["order", "id", "order_id", "rder"])
async def test_columns_sharing_names_page_in_rank_order(columns: GraphStore, text: str) -> None:
    """Columns of one name in many tables come by key inside the name; pages add up to the whole
    answer whichever way the store reads the names (count caps force each path)."""
    expected = _column_order(text)
    for cap in (1, 2, 1000):
        whole = await columns.search(SearchQuery(text, types=("column",), limit=100, count_cap=cap))
        assert [(h.tier, h.key) for h in whole.hits] == expected
        for size in (1, 2, 5):
            seen, after = [], None
            for _ in range(len(expected) + 1):
                page = await columns.search(
                    SearchQuery(text, types=("column",), limit=size, after=after, count_cap=cap)
                )
                seen += [(h.tier, h.key) for h in page.hits]
                if page.next is None:
                    break
                after = page.next
            assert seen == expected, (cap, size)


async def test_columns_filtered_by_namespace(columns: GraphStore) -> None:
    in_ns0 = await columns.search(SearchQuery("order", types=("column",), namespace="ns0", limit=100))
    assert [(h.tier, h.key) for h in in_ns0.hits] == _column_order("order", namespace="ns0")
    assert in_ns0.total == 3 * 4
    capped = await columns.search(SearchQuery("rder", types=("column",), limit=100, count_cap=5))
    assert (capped.total, capped.total_exact, len(capped.hits)) == (5, False, 6 * 4)
