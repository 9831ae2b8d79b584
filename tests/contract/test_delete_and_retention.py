"""Soft delete, revival, purge and retention: the same outcome on both stores."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from contract_events import (
    WAREHOUSE,
    apply_events,
    dataset,
    run_event,
    run_events,
    run_id,
    stored_time,
    warehouse_events,
)

from olgraph import keys
from olgraph.errors import Conflict, NotFound
from olgraph.query.admin import delete_namespace, delete_node, run_retention
from olgraph.query.lineage import QueryLimits
from olgraph.store.base import GraphStore
from olgraph.store.listing import NodeFilter, Window
from olgraph.store.search import SearchQuery

LIMITS = QueryLimits()
WH = WAREHOUSE
REPORT_FINAL, REVENUE = keys.dataset_key(WH, "report.final"), keys.dataset_key(WH, "mart.revenue")
NOW = stored_time(100)


def ds(name: str) -> str:
    return keys.dataset_key(WH, name)


@pytest.fixture
async def warehouse(store: GraphStore) -> GraphStore:
    await apply_events(store, warehouse_events())
    return store


async def test_a_node_with_live_dependents_is_not_deleted_unless_forced(
    warehouse: GraphStore, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(Conflict) as refused:
        await delete_node(warehouse, REVENUE, force=False, purge=False, by="ops", limits=LIMITS, at=NOW)
    assert refused.value.details["total"] == 3  # step3, step5 and the churn model (scratch is dropped)
    assert [d["id"] for d in refused.value.details["dependents"]] == [
        keys.job_key("etl", "step3"),
        keys.job_key("etl", "step5"),
        keys.dataset_key("ml", "churn"),
    ]
    with caplog.at_level(logging.WARNING, logger="olgraph.audit"):
        outcome = await delete_node(
            warehouse, REVENUE, force=True, purge=False, by="ops", limits=LIMITS, at=NOW
        )
    assert (outcome.deleted, outcome.forced_over, outcome.by) == ([REVENUE], 3, "ops")
    assert "soft-deleted: dataset:warehouse:mart.revenue by ops" in caplog.text


async def test_a_soft_deleted_dataset_is_hidden_everywhere_and_revived_by_a_later_event(
    warehouse: GraphStore,
) -> None:
    outcome = await delete_node(
        warehouse, REPORT_FINAL, force=False, purge=False, by="ops", limits=LIMITS, at=NOW
    )
    assert outcome.at == NOW
    node = await warehouse.get_node(REPORT_FINAL)
    assert node is not None
    assert (node.deleted, node.props["deletedAt"], node.props["deletedBy"]) == (True, NOW, "ops")
    upstream = await warehouse.lineage(keys.job_key("etl", "step6"), "downstream", 5, 100)
    assert [n.id for n in upstream.nodes] == [keys.job_key("etl", "step6")]
    listed = await warehouse.list_nodes(NodeFilter("dataset", WH), Window(100))
    assert REPORT_FINAL not in [n.id for n in listed.items]
    assert (await warehouse.search(SearchQuery("report.final"))).hits == []
    assert [
        h.key for h in (await warehouse.search(SearchQuery("report.final", include_deleted=True))).hits
    ] == [REPORT_FINAL]
    older = run_event("COMPLETE", 90, 50, ("etl", "step6"), [], [dataset(WH, "report.final")])
    await apply_events(warehouse, [older])  # an event from before the delete does not revive it
    assert (await warehouse.get_node(REPORT_FINAL)).deleted  # type: ignore[union-attr]
    newer = run_event("COMPLETE", 91, 101, ("etl", "step6"), [], [dataset(WH, "report.final")])
    await apply_events(warehouse, [newer])
    revived = await warehouse.get_node(REPORT_FINAL)
    assert revived is not None
    assert not revived.deleted


async def test_time_travel_sees_a_deletion_only_after_it(warehouse: GraphStore) -> None:
    await delete_node(warehouse, REPORT_FINAL, force=False, purge=False, by="ops", limits=LIMITS, at=NOW)
    before = await warehouse.lineage(
        keys.job_key("etl", "step6"), "downstream", 5, 100, as_of=stored_time(99)
    )
    assert [n.id for n in before.nodes] == [keys.job_key("etl", "step6"), REPORT_FINAL]
    assert not before.nodes[1].deleted
    after = await warehouse.lineage(keys.job_key("etl", "step6"), "downstream", 5, 100, as_of=NOW)
    assert [n.id for n in after.nodes] == [keys.job_key("etl", "step6")]
    # tmp.scratch (dropped at minute 12) still bridges mart.revenue to report.final before its drop
    then = await warehouse.impact(REVENUE, 10, 100, as_of=stored_time(11))
    assert keys.dataset_key(WH, "tmp.scratch") in [i.id for i in then.affected]
    assert REPORT_FINAL in [i.id for i in then.affected]
    early = await warehouse.lineage(ds("raw.orders"), "downstream", 10, 100, as_of=stored_time(0))
    assert [n.id for n in early.nodes] == [
        ds("raw.orders"),
        keys.job_key("etl", "step1"),
        ds("staging.orders"),
    ]
    with_alias = await warehouse.lineage(ds("raw.orders"), "downstream", 10, 100, as_of=stored_time(1))
    assert keys.dataset_key("hive", "db.staging_orders") in [
        n.id for n in with_alias.nodes
    ]  # symlink seen at 1


async def test_purge_removes_a_dataset_with_its_versions_and_columns(warehouse: GraphStore) -> None:
    before = await warehouse.dump()
    outcome = await delete_node(warehouse, REVENUE, force=True, purge=True, by="ops", limits=LIMITS, at=NOW)
    after = await warehouse.dump()
    gone = set(before.nodes) - set(after.nodes)
    assert gone == {
        REVENUE,
        keys.dataset_version_key(REVENUE, f"run:{run_id(3)}"),
        keys.field_key(REVENUE, "amount"),
        keys.field_key(REVENUE, "day"),
    }
    assert outcome.removed == 4
    assert not any(REVENUE in (s, t) for _, s, t in after.edges)
    assert await warehouse.get_node(REVENUE) is None
    with pytest.raises(NotFound):
        await delete_node(warehouse, REVENUE, force=True, purge=True, by="ops", limits=LIMITS)


async def test_a_namespace_is_deleted_with_its_datasets_and_jobs(warehouse: GraphStore) -> None:
    with pytest.raises(Conflict) as refused:
        await delete_namespace(warehouse, WH, force=False, purge=False, by="ops", at=NOW)
    assert refused.value.details["total"] == 5
    assert refused.value.details["dependents"][0] == {
        "id": keys.job_key("etl", "step1"),
        "type": "job",
        "namespace": "etl",
        "name": "step1",
    }
    # hive holds only an alias of staging.orders: nothing outside depends on it directly
    assert (
        await delete_namespace(warehouse, "hive", force=False, purge=False, by="ops", at=NOW)
    ).deleted == [
        keys.namespace_key("hive"),
        keys.dataset_key("hive", "db.staging_orders"),
    ]
    outcome = await delete_namespace(warehouse, "ml", force=False, purge=False, by="ops", at=NOW)
    assert outcome.deleted == [keys.namespace_key("ml"), keys.dataset_key("ml", "churn")]
    assert (await warehouse.list_namespaces(10, 0)).items == ["etl", WH]
    assert (await warehouse.list_namespaces(10, 0, include_deleted=True)).items == ["etl", "hive", "ml", WH]
    hidden = await warehouse.get_namespaces(["ml", "etl"])
    assert (hidden["ml"]["deleted"], hidden["etl"]["deleted"]) == (True, False)
    purged = await delete_namespace(warehouse, "ml", force=False, purge=True, by="ops", at=NOW)
    assert purged.removed == 3  # the namespace, the model and its version
    with pytest.raises(NotFound):
        await delete_namespace(warehouse, "ml", force=False, purge=True, by="ops")


async def test_retention_removes_old_runs_and_versions_but_keeps_latest_versions_and_lineage(
    store: GraphStore,
) -> None:
    table = dataset(WH, "t")
    events = [
        run_event("COMPLETE", 60, 0, ("etl", "writer"), [], [table]),
        run_event("COMPLETE", 61, 10, ("etl", "writer"), [], [table]),
        run_event("COMPLETE", 62, 20, ("etl", "reader"), [table], []),
        run_event("COMPLETE", 63, 1000, ("etl", "reader"), [table], []),
    ]
    await apply_events(store, [*events, *run_events()])
    now = datetime(2024, 5, 2, 12, 30, tzinfo=UTC)  # one day after minute 30 of the events
    dry = await run_retention(store, None, days=1, batch_size=2, dry_run=True, now=now)
    lineage_before = await store.lineage(ds("t"), "both", 5, 100)
    report = await run_retention(store, None, days=1, batch_size=2, now=now)
    assert report.cutoff == stored_time(30)
    # gone: the old writer 60 and reader 62, and run 3 (read clean.orders, wrote nothing);
    # kept: 61 wrote t's latest version, 63 is newer than the cutoff, 1 and 2 wrote latest versions
    assert (dry.counts.runs, report.counts.runs) == (3, 3)
    graph = await store.dump()
    assert sorted(k for k in graph.nodes if k.startswith("run:")) == sorted(
        keys.run_key(run_id(n)) for n in (1, 2, 61, 63)
    )
    # gone: t's version by run 60 (no run left reads it), clean.orders' initial version (run 3 read it)
    assert report.counts.versions == 2
    versions = sorted(k for k in graph.nodes if k.startswith("datasetVersion:"))
    assert keys.dataset_version_key(ds("t"), f"run:{run_id(61)}") in versions
    assert keys.dataset_version_key(ds("t"), f"run:{run_id(60)}") not in versions
    assert keys.dataset_version_key(ds("clean.orders"), keys.INITIAL_VERSION) not in versions
    assert (await store.lineage(ds("t"), "both", 5, 100)).edges == lineage_before.edges
    again = await run_retention(store, None, days=1, batch_size=2, now=now)
    assert (again.counts.runs, again.counts.versions) == (0, 0)
