"""The GraphStore contract: the same events must give the same answers in every store."""

from __future__ import annotations

import itertools

import pytest
from contract_events import (
    WAREHOUSE,
    Event,
    apply_events,
    at,
    dataset,
    documentation,
    owners,
    run_event,
    run_id,
    schema,
    stored_time,
    version,
    warehouse_events,
)
from contract_stores import StoreFactory

from olgraph import keys
from olgraph.errors import NotFound
from olgraph.store.base import GraphStore, VersionRef

WH = WAREHOUSE


def ds_key(name: str, ns: str = WH) -> str:
    return keys.dataset_key(ns, name)


def job_key(n: int) -> str:
    return keys.job_key("etl", f"step{n}")


def version_key(dataset_name: str, run: int) -> str:
    return keys.dataset_version_key(ds_key(dataset_name), f"run:{run_id(run)}")


@pytest.fixture
async def warehouse(store: GraphStore) -> GraphStore:
    await apply_events(store, warehouse_events())
    return store


def _ids(nodes: list[object]) -> list[str]:
    return [n.id for n in nodes]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- writes


async def test_applying_twice_changes_nothing(store: GraphStore) -> None:
    await apply_events(store, warehouse_events())
    first = await store.dump()
    await apply_events(store, warehouse_events())
    await apply_events(store, reversed(warehouse_events()), one_batch=True)
    assert await store.dump() == first
    assert first.nodes[ds_key("tmp.scratch")][1]["deleted"] is True


async def test_batching_does_not_change_the_graph(make_store: StoreFactory) -> None:
    async with make_store() as one:
        await apply_events(one, warehouse_events(), one_batch=True)
        batched = await one.dump()
    async with make_store() as other:
        await apply_events(other, warehouse_events())
        assert await other.dump() == batched


async def test_times_merge_and_facets_are_last_writer_wins(store: GraphStore) -> None:
    old = run_event("RUNNING", 1, 1, job_facets={"documentation": documentation("old")})
    new = run_event("RUNNING", 1, 2, job_facets={"documentation": documentation("new")})
    await apply_events(store, [new, old])
    job = await store.get_node(keys.job_key("etl", "load_orders"))
    assert job is not None
    assert job.props["description"] == "new"
    assert (job.props["firstSeenAt"], job.props["lastSeenAt"]) == (stored_time(1), stored_time(2))
    gone = run_event("RUNNING", 1, 3, job_facets={"documentation": {"_deleted": True}})
    await apply_events(store, [gone, old])
    job = await store.get_node(keys.job_key("etl", "load_orders"))
    assert job is not None
    assert "description" not in job.props


async def test_run_state_follows_event_time_and_terminal_states_win(store: GraphStore) -> None:
    events = [run_event("COMPLETE", 1, 5), run_event("START", 1, 1), run_event("RUNNING", 1, 3)]
    await apply_events(store, events)
    run = await store.get_run(run_id(1))
    assert run is not None
    assert (run.state, run.started_at, run.ended_at, run.updated_at) == (
        "COMPLETE",
        stored_time(1),
        stored_time(5),
        stored_time(5),
    )
    assert run.job == keys.job_key("etl", "load_orders")


async def test_owners_are_replaced_last_writer_wins(store: GraphStore) -> None:
    def owned(minute: int, *names: str) -> Event:
        return run_event("RUNNING", 1, minute, outputs=[dataset(WH, "t", ownership=owners(*names))])

    await apply_events(store, [owned(2, "team:a", "team:c"), owned(1, "team:b")])
    view = await store.get_dataset(ds_key("t"))
    assert view is not None
    assert view.owners == ["team:a", "team:c"]
    await apply_events(store, [owned(3)])
    view = await store.get_dataset(ds_key("t"))
    assert view is not None
    assert view.owners == []


async def test_owner_sets_do_not_depend_on_arrival_order(make_store: StoreFactory) -> None:
    events = [
        run_event("RUNNING", 1, m, outputs=[dataset(WH, "t", ownership=owners(*names))])
        for m, names in ((1, ["team:b"]), (2, ["team:a"]), (2, ["team:z"]), (3, ["team:y", "team:x"]))
    ]
    dumps = []
    for order in (events, events[::-1], [events[2], events[0], events[3], events[1]]):
        async with make_store() as fresh:
            await apply_events(fresh, order)
            dumps.append(await fresh.dump())
            view = await fresh.get_dataset(ds_key("t"))
            assert view is not None
            assert view.owners == ["team:x", "team:y"]
    assert dumps[0] == dumps[1] == dumps[2]


# ---------------------------------------------------------------- implicit reads and versions


def _reads_and_writes() -> list[Event]:
    table = dataset(WH, "t")
    return [
        run_event("START", 10, 10, ("etl", "writer"), [], [table]),
        run_event("COMPLETE", 10, 11, ("etl", "writer"), [], [table]),
        run_event("START", 11, 12, ("etl", "late_reader"), [table], []),
        run_event("START", 12, 5, ("etl", "early_reader"), [table], []),
    ]


async def test_implicit_reads_resolve_the_same_in_any_order(make_store: StoreFactory) -> None:
    events = _reads_and_writes()
    dumps = []
    for order in itertools.permutations(events):
        async with make_store() as fresh:
            await apply_events(fresh, order)
            dumps.append(await fresh.dump())
    assert all(d == dumps[0] for d in dumps)
    async with make_store() as fresh:
        await apply_events(fresh, events)
        late, early = await fresh.get_run(run_id(11)), await fresh.get_run(run_id(12))
        assert late is not None
        assert early is not None
        initial = keys.dataset_version_key(ds_key("t"), keys.INITIAL_VERSION)
        assert late.inputs == [VersionRef(ds_key("t"), f"run:{run_id(10)}", version_key("t", 10))]
        assert early.inputs == [VersionRef(ds_key("t"), "initial", initial)]


async def test_the_initial_version_goes_when_no_read_needs_it(store: GraphStore) -> None:
    table = dataset(WH, "t")
    await apply_events(store, [run_event("START", 11, 12, ("etl", "reader"), [table], [])])
    initial = keys.dataset_version_key(ds_key("t"), keys.INITIAL_VERSION)
    assert initial in (await store.dump()).nodes
    await apply_events(store, [run_event("COMPLETE", 10, 10, ("etl", "writer"), [], [table])])
    graph = await store.dump()
    assert initial not in graph.nodes
    assert graph.edges[("READ_BY", version_key("t", 10), keys.run_key(run_id(11)))] == {
        "at": stored_time(12),
        "implicit": True,
    }


async def test_repeated_reads_keep_the_earliest_time(store: GraphStore) -> None:
    table = dataset(WH, "t")
    await apply_events(store, [run_event("COMPLETE", 10, 10, ("etl", "writer"), [], [table])])
    await apply_events(store, [run_event("COMPLETE", 11, 15, ("etl", "reader"), [table], [])])
    await apply_events(store, [run_event("START", 11, 9, ("etl", "reader"), [table], [])])
    graph = await store.dump()
    initial = keys.dataset_version_key(ds_key("t"), keys.INITIAL_VERSION)
    assert graph.edges[("READ_BY", initial, keys.run_key(run_id(11)))] == {
        "at": stored_time(9),
        "implicit": True,
    }
    assert ("READ_BY", version_key("t", 10), keys.run_key(run_id(11))) not in graph.edges


async def test_a_run_reading_and_writing_one_table_reads_the_version_before(store: GraphStore) -> None:
    """An append or MERGE INTO: the run's read links to the previous version, not its own write."""
    table = dataset(WH, "t")
    await apply_events(store, [run_event("COMPLETE", 10, 10, ("etl", "writer"), [], [table])])
    await apply_events(store, [run_event("COMPLETE", 11, 20, ("etl", "append"), [table], [table])])
    run = await store.get_run(run_id(11))
    assert run is not None
    assert run.inputs == [VersionRef(ds_key("t"), f"run:{run_id(10)}", version_key("t", 10))]
    assert run.outputs == [VersionRef(ds_key("t"), f"run:{run_id(11)}", version_key("t", 11))]


async def test_named_versions_are_read_explicitly(store: GraphStore) -> None:
    named = dataset(WH, "t", version=version("v7"))
    await apply_events(store, [run_event("COMPLETE", 10, 10, ("etl", "writer"), [], [named])])
    await apply_events(store, [run_event("COMPLETE", 11, 5, ("etl", "reader"), [named], [])])
    run = await store.get_run(run_id(11))
    assert run is not None
    assert run.inputs == [VersionRef(ds_key("t"), "v7", keys.dataset_version_key(ds_key("t"), "v7"))]


# ---------------------------------------------------------------- lineage


async def test_lineage_downstream_joins_aliases_and_skips_deleted(warehouse: GraphStore) -> None:
    result = await warehouse.lineage(ds_key("raw.orders"), "downstream", depth=10, max_nodes=100)
    assert _ids(result.nodes) == [
        ds_key("raw.orders"),
        job_key(1),
        ds_key("db.staging_orders", "hive"),
        ds_key("staging.orders"),
        job_key(2),
        ds_key("mart.revenue"),
        job_key(3),
        job_key(5),
        keys.dataset_key("ml", "churn"),
    ]
    assert not result.truncated
    types = {n.id: n.type for n in result.nodes}
    assert types[keys.dataset_key("ml", "churn")] == "model"
    assert types[job_key(1)] == "job"
    edges = {(e.source, e.target, e.type) for e in result.edges}
    assert (ds_key("staging.orders"), ds_key("db.staging_orders", "hive"), "ALIAS_OF") in edges
    assert (job_key(5), ds_key("tmp.scratch"), "PRODUCES") not in edges
    assert len(edges) == 8


async def test_lineage_can_include_deleted_nodes(warehouse: GraphStore) -> None:
    result = await warehouse.lineage(ds_key("mart.revenue"), "downstream", 10, 100, include_deleted=True)
    assert _ids(result.nodes) == [
        ds_key("mart.revenue"),
        job_key(3),
        job_key(5),
        keys.dataset_key("ml", "churn"),
        ds_key("tmp.scratch"),
        job_key(6),
        ds_key("report.final"),
    ]
    scratch = next(n for n in result.nodes if n.id == ds_key("tmp.scratch"))
    assert scratch.deleted


async def test_a_deleted_start_node_is_returned_and_crossed(warehouse: GraphStore) -> None:
    result = await warehouse.lineage(ds_key("tmp.scratch"), "both", 2, 100)
    assert _ids(result.nodes) == [
        ds_key("tmp.scratch"),
        job_key(5),
        job_key(6),
        ds_key("mart.revenue"),
        ds_key("report.final"),
    ]
    assert result.nodes[0].deleted


async def test_lineage_upstream_from_a_model(warehouse: GraphStore) -> None:
    result = await warehouse.lineage(keys.dataset_key("ml", "churn"), "upstream", depth=10, max_nodes=100)
    assert _ids(result.nodes) == [
        keys.dataset_key("ml", "churn"),
        job_key(3),
        ds_key("mart.revenue"),
        job_key(2),
        ds_key("db.staging_orders", "hive"),
        ds_key("staging.customers"),
        ds_key("staging.orders"),
        job_key(1),
        job_key(4),
        ds_key("raw.customers"),
        ds_key("raw.orders"),
    ]


async def test_lineage_both_ways_with_a_depth_cap(warehouse: GraphStore) -> None:
    result = await warehouse.lineage(ds_key("mart.revenue"), "both", depth=2, max_nodes=100)
    assert _ids(result.nodes) == [
        ds_key("mart.revenue"),
        job_key(2),
        job_key(3),
        job_key(5),
        ds_key("db.staging_orders", "hive"),
        keys.dataset_key("ml", "churn"),
        ds_key("staging.customers"),
        ds_key("staging.orders"),
    ]
    assert (result.truncated, result.truncated_by) == (True, ("depth",))  # step1 and step4 lie beyond
    one = await warehouse.lineage(ds_key("mart.revenue"), "upstream", depth=1, max_nodes=100)
    assert _ids(one.nodes) == [ds_key("mart.revenue"), job_key(2)]
    assert one.truncated_by == ("depth",)
    zero = await warehouse.lineage(ds_key("staging.orders"), "downstream", depth=0, max_nodes=100)
    assert _ids(zero.nodes) == [ds_key("staging.orders"), ds_key("db.staging_orders", "hive")]
    assert zero.truncated_by == ("depth",)
    exact = await warehouse.lineage(ds_key("mart.revenue"), "downstream", depth=2, max_nodes=100)
    assert _ids(exact.nodes)[-1] == keys.dataset_key("ml", "churn")
    assert not exact.truncated  # tmp.scratch beyond step5 is deleted: nothing more to show


async def test_lineage_node_cap_truncates(warehouse: GraphStore) -> None:
    result = await warehouse.lineage(ds_key("raw.orders"), "downstream", depth=10, max_nodes=3)
    assert _ids(result.nodes) == [ds_key("raw.orders"), job_key(1), ds_key("db.staging_orders", "hive")]
    assert (result.truncated, result.truncated_by) == (True, ("nodes",))
    assert {(e.source, e.target) for e in result.edges} == {(ds_key("raw.orders"), job_key(1))}


async def test_lineage_from_a_symlink_reaches_the_same_graph(warehouse: GraphStore) -> None:
    via_alias = await warehouse.lineage(ds_key("db.staging_orders", "hive"), "downstream", 2, 100)
    assert _ids(via_alias.nodes) == [
        ds_key("db.staging_orders", "hive"),
        ds_key("staging.orders"),
        job_key(2),
        ds_key("mart.revenue"),
    ]


async def test_lineage_of_an_unknown_node_is_not_found(warehouse: GraphStore) -> None:
    with pytest.raises(NotFound):
        await warehouse.lineage(ds_key("nope"), "both", 3, 100)
    with pytest.raises(NotFound):
        await warehouse.impact(ds_key("nope"), 3, 100)


# ---------------------------------------------------------------- impact


async def test_impact_lists_live_dependents_with_owners_and_last_runs(warehouse: GraphStore) -> None:
    result = await warehouse.impact(ds_key("raw.orders"), depth=10, max_nodes=100)
    assert result.root.id == ds_key("raw.orders")
    rows = [(i.id, i.type, i.distance, i.owners, i.last_run_at, i.last_run_state) for i in result.affected]
    assert rows == [
        (job_key(1), "job", 1, [], stored_time(20), "START"),
        (ds_key("db.staging_orders", "hive"), "dataset", 2, [], None, None),
        (ds_key("staging.orders"), "dataset", 2, [], stored_time(1), "COMPLETE"),
        (job_key(2), "job", 3, [], stored_time(5), "COMPLETE"),
        (ds_key("mart.revenue"), "dataset", 4, ["team:finance"], stored_time(5), "COMPLETE"),
        (job_key(3), "job", 5, ["team:ml"], stored_time(7), "COMPLETE"),
        (job_key(5), "job", 5, [], stored_time(9), "COMPLETE"),
        (keys.dataset_key("ml", "churn"), "model", 6, [], stored_time(7), "COMPLETE"),
    ]
    assert not result.truncated
    assert (result.affected[0].namespace, result.affected[0].name) == ("etl", "step1")


async def test_impact_caps_and_leaf_nodes(warehouse: GraphStore) -> None:
    capped = await warehouse.impact(ds_key("raw.orders"), depth=10, max_nodes=4)
    assert [i.id for i in capped.affected] == [
        job_key(1),
        ds_key("db.staging_orders", "hive"),
        ds_key("staging.orders"),
    ]
    assert capped.truncated
    leaf = await warehouse.impact(keys.dataset_key("ml", "churn"), depth=10, max_nodes=100)
    assert leaf.affected == []
    assert leaf.root.type == "model"


# ---------------------------------------------------------------- listings and views


async def test_listings_paginate_with_totals(warehouse: GraphStore) -> None:
    namespaces = await warehouse.list_namespaces(limit=10, offset=0)
    assert (namespaces.items, namespaces.total) == (["etl", "hive", "ml", WH], 4)
    assert (await warehouse.list_namespaces(limit=2, offset=3)).items == [WH]
    datasets = await warehouse.list_datasets(WH, limit=3, offset=2)
    assert datasets.total == 6  # tmp.scratch was dropped: listed only with include_deleted
    assert [d.name for d in datasets.items] == ["raw.orders", "report.final", "staging.customers"]
    jobs = await warehouse.list_jobs("etl", limit=2, offset=0)
    assert (jobs.total, [j.id for j in jobs.items]) == (6, [job_key(1), job_key(2)])
    assert (await warehouse.list_jobs("nope", 10, 0)).total == 0
    models = await warehouse.list_datasets("ml", 10, 0)
    assert [(m.type, m.name) for m in models.items] == [("model", "churn")]


async def test_runs_of_a_job_newest_first(warehouse: GraphStore) -> None:
    runs = await warehouse.list_runs(job_key(1), limit=10, offset=0)
    assert runs.total == 2
    assert [(r.run_id, r.state) for r in runs.items] == [(run_id(7), "START"), (run_id(1), "COMPLETE")]
    second = await warehouse.list_runs(job_key(1), limit=1, offset=1)
    assert [r.run_id for r in second.items] == [run_id(1)]
    assert second.items[0].outputs == [
        VersionRef(ds_key("staging.orders"), f"run:{run_id(1)}", version_key("staging.orders", 1))
    ]


async def test_get_run_with_versions_and_facets(warehouse: GraphStore) -> None:
    run = await warehouse.get_run(run_id(3).upper())
    assert run is not None
    assert (run.run_id, run.job, run.state, run.started_at, run.ended_at) == (
        run_id(3),
        job_key(2),
        "COMPLETE",
        stored_time(4),
        stored_time(5),
    )
    assert run.inputs == [
        VersionRef(ds_key("staging.customers"), f"run:{run_id(2)}", version_key("staging.customers", 2)),
        VersionRef(ds_key("staging.orders"), f"run:{run_id(1)}", version_key("staging.orders", 1)),
    ]
    assert run.outputs == [
        VersionRef(ds_key("mart.revenue"), f"run:{run_id(3)}", version_key("mart.revenue", 3))
    ]
    assert run.facets["spark_properties"]["properties"] == {"spark.master": "local"}
    assert await warehouse.get_run("00000000-0000-4000-8000-000000000000") is None


async def test_get_dataset_with_fields_owners_and_versions(warehouse: GraphStore) -> None:
    view = await warehouse.get_dataset(ds_key("mart.revenue"))
    assert view is not None
    assert (view.node.id, view.node.type, view.node.deleted) == (ds_key("mart.revenue"), "dataset", False)
    assert view.fields == ["amount", "day"]
    assert view.owners == ["team:finance"]
    assert view.tags == []
    assert set(view.facets) == {"ownership", "schema"}
    assert [(v.version, v.created_at, v.run_id, v.implicit) for v in view.versions] == [
        (f"run:{run_id(3)}", stored_time(4), run_id(3), False)
    ]
    raw = await warehouse.get_dataset(ds_key("raw.orders"))
    assert raw is not None
    assert [(v.version, v.implicit) for v in raw.versions] == [("initial", True)]
    assert await warehouse.get_dataset(job_key(1)) is None
    assert await warehouse.get_dataset(ds_key("nope")) is None


async def test_get_node_of_each_kind(warehouse: GraphStore) -> None:
    scratch = await warehouse.get_node(ds_key("tmp.scratch"))
    assert scratch is not None
    assert (scratch.type, scratch.namespace, scratch.name, scratch.deleted) == (
        "dataset",
        WH,
        "tmp.scratch",
        True,
    )
    assert not any(k.startswith(("facet.", "_")) for k in scratch.props)
    job = await warehouse.get_node(job_key(3))
    assert job is not None
    assert job.type == "job"
    assert await warehouse.get_node("owner:team:ml") is None
    assert await warehouse.get_node(ds_key("nope")) is None


async def test_event_times_are_stored_normalized(store: GraphStore) -> None:
    event = run_event("START", 1, 0)
    assert event["eventTime"] == at(0)
    await apply_events(store, [event])
    run = await store.get_run(run_id(1))
    assert run is not None
    assert run.started_at == stored_time(0)


# ---------------------------------------------------------------- limits say when they cut (regressions)


def _chain_events(hops: int) -> list[Event]:
    """``chain:t0 -job0-> chain:t1 -job1-> … -> chain:t{hops}``: one COMPLETE per job."""
    return [
        run_event(
            "COMPLETE",
            1000 + i,
            i,
            ("chain", f"job{i}"),
            [dataset("chain", f"t{i}")],
            [dataset("chain", f"t{i + 1}")],
        )
        for i in range(hops)
    ]


async def test_impact_on_a_60_hop_chain_lists_every_dependent(store: GraphStore) -> None:
    """Impact used to stop at depth 5 and say nothing: a CI gate must never under-report."""
    await apply_events(store, _chain_events(60), one_batch=True)
    root = keys.dataset_key("chain", "t0")
    everything = await store.impact(root, depth=10_000, max_nodes=10_000)
    assert len(everything.affected) == 120
    assert everything.affected[-1].id == keys.dataset_key("chain", "t60")
    assert everything.affected[-1].distance == 120
    assert (everything.truncated, everything.truncated_by) == (False, ())
    five = await store.impact(root, depth=5, max_nodes=10_000)
    assert [i.id for i in five.affected] == [
        keys.job_key("chain", "job0"),
        keys.dataset_key("chain", "t1"),
        keys.job_key("chain", "job1"),
        keys.dataset_key("chain", "t2"),
        keys.job_key("chain", "job2"),
    ]
    assert (five.truncated, five.truncated_by) == (True, ("depth",))
    lineage = await store.lineage(root, "downstream", depth=119, max_nodes=10_000)
    assert lineage.truncated_by == ("depth",)
    assert not (await store.lineage(root, "downstream", depth=120, max_nodes=10_000)).truncated


async def test_impact_on_a_10k_fan_out_is_cut_only_by_the_node_cap(store: GraphStore) -> None:
    outputs = [dataset("fan", f"out{i:05}") for i in range(10_000)]
    await apply_events(
        store, [run_event("COMPLETE", 2000, 1, ("fan", "spread"), [dataset("fan", "src")], outputs)]
    )
    root = keys.dataset_key("fan", "src")
    capped = await store.impact(root, depth=10_000, max_nodes=10_000)
    assert len(capped.affected) == 9_999  # the root is one of the 10,000 nodes
    assert (capped.truncated, capped.truncated_by) == (True, ("nodes",))
    assert capped.affected[-1].id == keys.dataset_key("fan", "out09997")
    whole = await store.impact(root, depth=10_000, max_nodes=20_000)
    assert len(whole.affected) == 10_001
    assert not whole.truncated


async def test_input_facets_of_an_implicit_read_move_with_it(make_store: StoreFactory) -> None:
    """A run's input facets (data-quality metrics) stay on its read whatever version it links to."""
    quality = {"dataQualityMetrics": {"rowCount": 7, "columnMetrics": {"id": {"nullCount": 0}}}}
    table = dataset(WH, "t")
    events = [
        run_event("COMPLETE", 10, 10, ("etl", "writer"), [], [table]),
        run_event("START", 11, 12, ("etl", "checker"), [{**table, "inputFacets": quality}], []),
        run_event("COMPLETE", 11, 13, ("etl", "checker"), [table], []),
    ]
    dumps = []
    for order in itertools.permutations(events):
        async with make_store() as fresh:
            await apply_events(fresh, order)
            graph = await fresh.dump()
            dumps.append(graph)
            read = graph.edges[("READ_BY", version_key("t", 10), keys.run_key(run_id(11)))]
            assert (
                read["inputFacet.dataQualityMetrics"]
                == '{"columnMetrics":{"id":{"nullCount":0}},"rowCount":7}'
            )
            assert (read["at"], read["implicit"]) == (stored_time(12), True)
    assert all(d == dumps[0] for d in dumps)


async def test_a_column_dropped_from_the_schema_leaves_the_current_fields(store: GraphStore) -> None:
    """After a schema facet without ``email`` the dataset no longer lists it (regression)."""
    await apply_events(
        store,
        [
            run_event(
                "COMPLETE", 30, 1, ("etl", "users"), [], [dataset(WH, "users", schema=schema("id", "email"))]
            ),
            run_event("COMPLETE", 31, 2, ("etl", "users"), [], [dataset(WH, "users", schema=schema("id"))]),
        ],
    )
    view = await store.get_dataset(ds_key("users"))
    assert view is not None
    assert view.fields == ["id"]
    graph = await store.dump()
    assert keys.field_key(ds_key("users"), "email") in graph.nodes  # kept for lineage and history


async def test_a_run_with_only_complete_starts_at_its_first_event_and_has_a_duration(
    store: GraphStore,
) -> None:
    await apply_events(store, [run_event("RUNNING", 40, 3), run_event("COMPLETE", 40, 5)])
    run = await store.get_run(run_id(40))
    assert run is not None
    assert (run.started_at, run.started_at_source, run.ended_at) == (
        stored_time(3),
        "firstEvent",
        stored_time(5),
    )
    assert run.duration_ms == 120_000
    assert run.timeline == [("RUNNING", stored_time(3)), ("COMPLETE", stored_time(5))]
    await apply_events(store, [run_event("START", 40, 4)])
    run = await store.get_run(run_id(40))
    assert run is not None
    assert (run.started_at, run.started_at_source, run.duration_ms) == (stored_time(4), "START", 60_000)
    running = await store.get_run(run_id(40).replace("40", "41"))
    assert running is None


async def test_a_run_id_that_is_not_a_uuid_round_trips(store: GraphStore) -> None:
    event = run_event("COMPLETE", 1, 1)
    event["run"]["runId"] = "manual__2024-01-01T00:00:00+00:00"
    await apply_events(store, [event])
    run = await store.get_run("manual__2024-01-01T00:00:00+00:00")
    assert run is not None
    assert (run.run_id, run.state) == ("manual__2024-01-01T00:00:00+00:00", "COMPLETE")
    assert await store.get_run("MANUAL__2024-01-01T00:00:00+00:00") is None
    runs = await store.list_runs(keys.job_key("etl", "load_orders"), 10, 0)
    assert [r.run_id for r in runs.items] == ["manual__2024-01-01T00:00:00+00:00"]
