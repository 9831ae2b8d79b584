"""Column lineage and column impact: the same answers, exactly, on both stores."""

from __future__ import annotations

import pytest
from contract_events import apply_events, column_events, stored_time

from olgraph import keys
from olgraph.errors import NotFound
from olgraph.store.base import GraphStore


def ds(name: str) -> str:
    return keys.dataset_key("shop", name)


def col(dataset: str, name: str) -> str:
    return keys.field_key(ds(dataset), name)


def job(name: str) -> str:
    return keys.job_key("shop", name)


@pytest.fixture
async def shop(store: GraphStore) -> GraphStore:
    await apply_events(store, column_events())
    return store


async def test_upstream_of_a_column_with_transformations(shop: GraphStore) -> None:
    answer = await shop.column_lineage(col("mart.revenue", "total"), "upstream", depth=10, max_nodes=100)
    result = answer.lineage
    assert [(n.id, result.distances[n.id]) for n in result.nodes] == [
        (col("mart.revenue", "total"), 0),
        (col("clean.orders", "amount"), 1),
        (col("raw.orders", "amount"), 2),
    ]
    total = result.nodes[0]
    assert (total.type, total.namespace, total.name) == ("column", "shop", "total")
    assert (total.props["dataset"], total.props["type"]) == (ds("mart.revenue"), "decimal")
    edges = {(e.source, e.target): e.props for e in result.edges}
    aggregation = edges[(col("clean.orders", "amount"), col("mart.revenue", "total"))]
    assert aggregation["transformations"] == ["DIRECT/AGGREGATION"]
    assert aggregation["transformationDetails"] == [
        '{"description":"sum(amount)","masking":false,"subtype":"AGGREGATION","type":"DIRECT"}'
    ]
    assert (aggregation["jobs"], aggregation["masking"]) == ([job("mart.revenue")], False)
    assert aggregation["firstSeenAt"] == stored_time(5)
    assert sorted(answer.datasets) == [ds("clean.orders"), ds("mart.revenue"), ds("raw.orders")]
    assert answer.datasets[ds("raw.orders")].name == "raw.orders"
    assert not result.truncated


async def test_downstream_of_every_column_of_a_dataset(shop: GraphStore) -> None:
    answer = await shop.column_lineage(ds("raw.orders"), "downstream", depth=1, max_nodes=100)
    result = answer.lineage
    assert [(n.id, result.distances[n.id]) for n in result.nodes] == [
        (ds("raw.orders"), 0),
        (col("raw.orders", "amount"), 0),
        (col("raw.orders", "email"), 0),
        (col("raw.orders", "id"), 0),
        (col("raw.orders", "status"), 0),
        (ds("clean.orders"), 1),
        (col("clean.orders", "amount"), 1),
        (col("clean.orders", "email_hash"), 1),
        (col("clean.orders", "id"), 1),
    ]
    masked = next(e for e in result.edges if e.target == col("clean.orders", "email_hash"))
    assert (masked.type, masked.props["masking"], masked.props["transformations"]) == (
        "DERIVES",
        True,
        ["DIRECT/TRANSFORMATION"],
    )
    whole = next(e for e in result.edges if e.type == "INFLUENCES")
    assert (whole.source, whole.target, whole.props["transformations"]) == (
        col("raw.orders", "status"),
        ds("clean.orders"),
        ["INDIRECT/FILTER"],
    )
    assert result.truncated_by == ("depth",)


async def test_column_impact_follows_a_dataset_wide_dependency_through_every_column(shop: GraphStore) -> None:
    result = await shop.column_impact(col("raw.orders", "status"), depth=100, max_nodes=1000)
    assert [(i.id, i.type, i.distance, i.dataset) for i in result.affected] == [
        (ds("clean.orders"), "dataset", 1, None),
        (col("clean.orders", "amount"), "column", 1, ds("clean.orders")),
        (col("clean.orders", "email_hash"), "column", 1, ds("clean.orders")),
        (col("clean.orders", "id"), "column", 1, ds("clean.orders")),
        (job("etl.clean"), "job", 1, None),
        (ds("mart.revenue"), "dataset", 2, None),
        (col("mart.revenue", "customer"), "column", 2, ds("mart.revenue")),
        (col("mart.revenue", "total"), "column", 2, ds("mart.revenue")),
        (job("mart.revenue"), "job", 2, None),
    ]
    clean = result.affected[0]
    assert (clean.last_run_at, clean.last_run_state) == (stored_time(1), "COMPLETE")
    assert result.affected[1].last_run_at == stored_time(1)  # a column: its dataset's last write
    assert not result.truncated


async def test_column_impact_of_a_masked_column_stops_where_its_lineage_does(shop: GraphStore) -> None:
    result = await shop.column_impact(col("raw.orders", "email"), depth=100, max_nodes=1000)
    assert [(i.id, i.distance) for i in result.affected] == [
        (ds("clean.orders"), 1),
        (col("clean.orders", "email_hash"), 1),
        (job("etl.clean"), 1),
    ]
    depth_one = await shop.column_impact(col("raw.orders", "amount"), depth=1, max_nodes=1000)
    assert [i.id for i in depth_one.affected] == [
        ds("clean.orders"),
        col("clean.orders", "amount"),
        job("etl.clean"),
    ]
    assert depth_one.truncated_by == ("depth",)


async def test_column_edges_between_datasets(shop: GraphStore) -> None:
    found = await shop.column_edges([ds("raw.orders"), ds("clean.orders")])
    assert [(e.type, e.source, e.target) for e in found.edges] == [
        ("DERIVES", col("raw.orders", "amount"), col("clean.orders", "amount")),
        ("DERIVES", col("raw.orders", "email"), col("clean.orders", "email_hash")),
        ("DERIVES", col("raw.orders", "id"), col("clean.orders", "id")),
        ("INFLUENCES", col("raw.orders", "status"), ds("clean.orders")),
    ]
    assert [c.id for c in found.columns] == [
        col("clean.orders", "amount"),
        col("clean.orders", "email_hash"),
        col("clean.orders", "id"),
        col("raw.orders", "amount"),
        col("raw.orders", "email"),
        col("raw.orders", "id"),
        col("raw.orders", "status"),
    ]
    assert (await shop.column_edges([ds("mart.revenue")])).edges == []


async def test_column_lineage_as_of_before_the_second_job(shop: GraphStore) -> None:
    before = await shop.column_lineage(
        col("clean.orders", "amount"), "downstream", 10, 100, as_of=stored_time(3)
    )
    assert [n.id for n in before.lineage.nodes] == [col("clean.orders", "amount")]
    after = await shop.column_lineage(
        col("clean.orders", "amount"), "downstream", 10, 100, as_of=stored_time(5)
    )
    assert [n.id for n in after.lineage.nodes] == [
        col("clean.orders", "amount"),
        col("mart.revenue", "total"),
    ]


async def test_unknown_columns_are_not_found(shop: GraphStore) -> None:
    with pytest.raises(NotFound):
        await shop.column_lineage(col("raw.orders", "nope"), "both", 3, 100)
    with pytest.raises(NotFound):
        await shop.column_impact(ds("raw.orders"), 3, 100)
    with pytest.raises(NotFound):
        await shop.column_lineage(job("etl.clean"), "both", 3, 100)
