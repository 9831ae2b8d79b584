"""Job, run, dataset and version details, listings with filters and tags: exact answers on both stores."""

from __future__ import annotations

from typing import Any

import pytest
from contract_events import (
    apply_events,
    dataset,
    facet,
    owners,
    run_event,
    run_events,
    run_id,
    stored_time,
    typed_schema,
)

from olgraph import keys
from olgraph.store.base import GraphStore, VersionRef
from olgraph.store.detail_views import RunSummary, TagView
from olgraph.store.listing import NodeFilter, Window

WH = "warehouse"
CLEAN, RAW, REPORT = (keys.dataset_key(WH, n) for n in ("clean.orders", "raw.orders", "report.daily"))
TRANSFORM, REPORT_JOB, CHECK = (keys.job_key("etl", n) for n in ("transform", "report", "check"))
QUALITY = {
    "dataQualityMetrics": facet(
        "DataQualityMetricsInputDatasetFacet", rowCount=42, columnMetrics={"id": {"nullCount": 0}}
    ),
    "dataQualityAssertions": facet(
        "DataQualityAssertionsDatasetFacet",
        assertions=[{"assertion": "not_null", "success": True, "column": "id"}],
    ),
}
TAGS = facet(
    "TagsDatasetFacet",
    tags=[
        {"key": "tier", "value": "gold", "source": "catalog"},
        {"key": "pii", "value": "true", "field": "email"},
    ],
)


def _extra_events() -> list[dict[str, Any]]:
    """A quality check reading clean.orders, a second version of it with another schema, and tags."""
    check = ("etl", "check")
    return [
        run_event("START", 4, 6, check, [{**dataset(WH, "clean.orders"), "inputFacets": QUALITY}], []),
        run_event("COMPLETE", 4, 7, check, [dataset(WH, "clean.orders")], []),
        run_event(
            "COMPLETE",
            5,
            10,
            ("etl", "transform"),
            [dataset(WH, "raw.orders")],
            [
                dataset(
                    WH,
                    "clean.orders",
                    schema=typed_schema(id="bigint", total="decimal"),
                    ownership=owners("team:b"),
                )
            ],
        ),
        run_event("COMPLETE", 6, 11, ("etl", "report"), [], [dataset(WH, "report.daily", tags=TAGS)]),
    ]


@pytest.fixture
async def runs(store: GraphStore) -> GraphStore:
    await apply_events(store, [*run_events(), *_extra_events()])
    return store


def _summary(n: int, job: str, state: str, start: int | None, end: int | None) -> RunSummary:
    started = stored_time(start) if start is not None else None
    ended = stored_time(end) if end is not None else None
    duration = (end - start) * 60_000 if start is not None and end is not None else None
    return RunSummary(run_id(n), job, state, started, ended, duration)


async def test_job_detail(runs: GraphStore) -> None:
    job = await runs.get_job(TRANSFORM)
    assert job is not None
    assert (job.node.id, job.node.props["description"]) == (TRANSFORM, "daily report")
    assert set(job.facets) == {"documentation"}
    assert (job.parent, [c.id for c in job.children], job.children_total) == (None, [REPORT_JOB], 1)
    assert job.latest_run == _summary(5, TRANSFORM, "COMPLETE", 10, 10)
    assert [(link.node.id, link.observed, link.declared) for link in job.inputs] == [(RAW, True, False)]
    assert [link.node.id for link in job.outputs] == [CLEAN]
    assert job.outputs[0].facets["outputStatistics"]["rowCount"] == 42
    stats = job.run_stats
    assert (stats.total, stats.by_state, stats.failure_rate) == (2, {"COMPLETE": 2}, 0.0)
    assert (stats.last_run_at, stats.last_success_at, stats.last_failure_at) == (
        stored_time(10),
        stored_time(10),
        None,
    )
    report = await runs.get_job(REPORT_JOB)
    assert report is not None
    assert report.parent is not None
    assert report.parent.id == TRANSFORM
    assert report.latest_run == _summary(6, REPORT_JOB, "COMPLETE", 11, 11)
    assert report.run_stats.by_state == {"COMPLETE": 1, "FAIL": 1, "START": 1}
    assert report.run_stats.failure_rate == 0.5
    assert report.run_stats.last_failure_at == stored_time(4)
    assert await runs.get_job(keys.job_key("etl", "nope")) is None
    assert await runs.get_job(CLEAN) is None


async def test_run_detail_with_hierarchy_error_and_io_facets(runs: GraphStore) -> None:
    failed = await runs.get_run_detail(run_id(2))
    assert failed is not None
    assert (failed.run.state, failed.run.error_message, failed.run.duration_ms) == (
        "FAIL",
        "division by zero",
        120_000,
    )
    assert failed.run.facets["errorMessage"]["programmingLanguage"] == "python"
    assert failed.parent == _summary(1, TRANSFORM, "COMPLETE", 0, 3)
    assert (failed.root, failed.child_count) == (None, 0)
    assert [io.ref for io in failed.inputs] == [
        VersionRef(CLEAN, f"run:{run_id(1)}", keys.dataset_version_key(CLEAN, f"run:{run_id(1)}"))
    ]
    assert [io.ref.dataset for io in failed.outputs] == [REPORT]
    parent = await runs.get_run_detail(run_id(1))
    assert parent is not None
    assert parent.child_count == 1
    assert [r.run_id for r in (await runs.list_child_runs(run_id(1), 10, 0)).items] == [run_id(2)]
    assert parent.run.timeline == [
        ("START", stored_time(0)),
        ("RUNNING", stored_time(1)),
        ("COMPLETE", stored_time(3)),
    ]
    assert parent.outputs[0].facets["outputStatistics"] == {
        "_producer": QUALITY["dataQualityMetrics"]["_producer"],
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
        "rowCount": 42,
        "size": 1024,
    }
    check = await runs.get_run_detail(run_id(4))
    assert check is not None
    [read] = check.inputs
    assert read.facets["dataQualityMetrics"]["columnMetrics"] == {"id": {"nullCount": 0}}
    assert read.facets["dataQualityAssertions"]["assertions"][0]["success"] is True
    assert await runs.get_run_detail("00000000-0000-4000-8000-000000000000") is None


async def test_dataset_detail(runs: GraphStore) -> None:
    view = await runs.get_dataset(CLEAN)
    assert view is not None
    assert view.fields == ["id", "total"]
    assert [(c.name, c.type) for c in view.schema] == [("id", "bigint"), ("total", "decimal")]
    assert view.owners == ["team:b"]
    assert [link.node.id for link in view.producers] == [TRANSFORM]
    assert [link.node.id for link in view.consumers] == [CHECK, REPORT_JOB]
    assert view.statistics is None  # the newest version (run 5) sent no statistics
    assert view.quality is not None
    assert (view.quality.job, view.quality.at) == (CHECK, stored_time(7))
    assert view.quality.metrics is not None
    assert view.quality.metrics["rowCount"] == 42
    assert view.quality.assertions == [{"assertion": "not_null", "success": True, "column": "id"}]
    assert [(v.version, v.created_at) for v in view.versions] == [
        (f"run:{run_id(5)}", stored_time(10)),
        (f"run:{run_id(1)}", stored_time(0)),
        ("initial", None),
    ]
    assert view.version_count == 3
    report = await runs.get_dataset(REPORT)
    assert report is not None
    assert report.tags == [TagView("pii", "true", "email", None), TagView("tier", "gold", None, "catalog")]


async def test_versions_paged_and_one_version_with_provenance(runs: GraphStore) -> None:
    page = await runs.list_versions(CLEAN, 1, 1)
    assert (page.total, [v.version for v in page.items]) == (3, [f"run:{run_id(1)}"])
    assert [(c["name"], c["type"]) for c in page.items[0].schema] == [("id", "string"), ("amount", "string")]
    detail = await runs.get_version(CLEAN, f"run:{run_id(1)}")
    assert detail is not None
    assert detail.writer == _summary(1, TRANSFORM, "COMPLETE", 0, 3)
    assert detail.writer_facets["outputStatistics"]["size"] == 1024
    assert detail.writer_inputs == [
        VersionRef(RAW, "initial", keys.dataset_version_key(RAW, "initial")),
    ]
    assert [(r.run.run_id, r.at) for r in detail.readers] == [
        (run_id(4), stored_time(6)),
        (run_id(2), stored_time(2)),
    ]
    assert detail.readers_total == 2
    assert detail.readers[0].facets["dataQualityMetrics"]["rowCount"] == 42
    assert await runs.get_version(CLEAN, "nope") is None
    assert await runs.get_version(RAW, f"run:{run_id(1)}") is None


async def test_listings_filter_by_owner_tag_type_and_page_by_keyset(runs: GraphStore) -> None:
    by_owner = await runs.list_nodes(NodeFilter("dataset", owner="team:b"), Window(10))
    assert [n.id for n in by_owner.items] == [CLEAN]
    by_tag = await runs.list_nodes(NodeFilter("dataset", tag=("tier", "gold")), Window(10))
    assert [n.id for n in by_tag.items] == [REPORT]
    any_pii = await runs.list_nodes(NodeFilter("dataset", tag=("pii", None)), Window(10))
    assert [n.id for n in any_pii.items] == [REPORT]
    assert (await runs.list_nodes(NodeFilter("dataset", tag=("tier", "silver")), Window(10))).total == 0
    everything = await runs.list_nodes(NodeFilter("dataset"), Window(10))
    assert [n.id for n in everything.items] == [CLEAN, RAW, REPORT]
    first = await runs.list_nodes(NodeFilter("dataset"), Window(2))
    second = await runs.list_nodes(
        NodeFilter("dataset"), Window(2, after=(first.items[-1].name, first.items[-1].id))
    )
    assert ([n.id for n in first.items], [n.id for n in second.items], second.total) == (
        [CLEAN, RAW],
        [REPORT],
        3,
    )
    assert [n.id for n in (await runs.list_nodes(NodeFilter("job", namespace="etl"), Window(10))).items] == [
        CHECK,
        REPORT_JOB,
        TRANSFORM,
    ]
    assert (await runs.list_nodes(NodeFilter("dataset", models=True), Window(10))).total == 0


async def test_tags_with_counts_and_runs_by_state(runs: GraphStore) -> None:
    tags = await runs.list_tags(10, 0)
    assert [(t.key, t.value, t.datasets, t.jobs) for t in tags.items] == [
        ("pii", "true", 1, 0),
        ("tier", "gold", 1, 0),
    ]
    failed = await runs.list_runs(REPORT_JOB, 10, 0, state="FAIL")
    assert ([r.run_id for r in failed.items], failed.total) == ([run_id(2)], 1)


def _job_type(job_type: str, integration: str) -> dict[str, Any]:
    return {
        "jobType": facet("JobTypeJobFacet", processingType="BATCH", integration=integration, jobType=job_type)
    }


async def test_jobs_listed_by_job_type(store: GraphStore) -> None:
    """``jobType`` picks jobs by their jobType facet (the explorer's Workloads: WORKLOAD)."""
    await apply_events(
        store,
        [
            run_event("COMPLETE", 1, 0, ("ml", "train"), job_facets=_job_type("WORKLOAD", "MLFLOW")),
            run_event("COMPLETE", 2, 1, ("ray", "etl"), job_facets=_job_type("WORKLOAD", "RAY")),
            run_event("COMPLETE", 3, 2, ("ray", "etl.write_parquet.x"), job_facets=_job_type("JOB", "RAY")),
            run_event("COMPLETE", 4, 3, ("etl", "plain")),
        ],
    )
    workloads = await store.list_nodes(NodeFilter("job", job_type="WORKLOAD"), Window(10))
    assert ([n.id for n in workloads.items], workloads.total) == (
        [keys.job_key("ray", "etl"), keys.job_key("ml", "train")],
        2,
    )
    in_ray = await store.list_nodes(NodeFilter("job", namespace="ray", job_type="WORKLOAD"), Window(10))
    assert [n.id for n in in_ray.items] == [keys.job_key("ray", "etl")]
    first = await store.list_nodes(NodeFilter("job", job_type="WORKLOAD"), Window(1))
    rest = await store.list_nodes(
        NodeFilter("job", job_type="WORKLOAD"), Window(1, after=(first.items[0].name, first.items[0].id))
    )
    assert [n.id for n in rest.items] == [keys.job_key("ml", "train")]
    assert (await store.list_nodes(NodeFilter("job", job_type="DAG"), Window(10))).total == 0
    assert (await store.list_nodes(NodeFilter("job"), Window(10))).total == 4


async def test_details_of_many_nodes_answer_as_one_by_one(runs: GraphStore) -> None:
    """As get_job/get_dataset would, but only with what a lineage graph's nodes show."""
    jobs = [TRANSFORM, REPORT_JOB, keys.job_key("etl", "nope"), TRANSFORM]
    datasets = [CLEAN, RAW, REPORT, keys.dataset_key(WH, "nope")]
    found = await runs.get_details(jobs, datasets, 2)

    assert list(found.jobs) == [TRANSFORM, REPORT_JOB]
    for key, job in found.jobs.items():
        full = await runs.get_job(key)
        assert full is not None
        assert (job.node, job.facets, job.parent) == (full.node, full.facets, full.parent)
        assert job.inputs == [link for link in full.inputs if link.node.type != "job"]
        assert job.outputs == [link for link in full.outputs if link.node.type != "job"]
        assert job.inputs or job.outputs
        assert (job.owners, job.tags, job.children, job.latest_run, job.run_stats.total) == (
            [],
            [],
            [],
            None,
            0,
        )
    assert list(found.datasets) == [CLEAN, RAW, REPORT]
    for key, detail in found.datasets.items():
        full_dataset = await runs.get_dataset(key)
        assert full_dataset is not None
        shown = (detail.node, detail.facets, detail.schema, detail.tags, detail.fields)
        assert shown == (
            full_dataset.node,
            full_dataset.facets,
            full_dataset.schema,
            full_dataset.tags,
            full_dataset.fields if "schema" in full_dataset.facets else [],
        )
        left_out = (detail.owners, detail.aliases, detail.producers, detail.consumers, detail.versions)
        assert left_out == ([], [], [], [], [])
    assert set(found.latest_runs) == {TRANSFORM, REPORT_JOB}
    for job in (TRANSFORM, REPORT_JOB):
        page = await runs.list_runs(job, 2, 0)
        assert found.latest_runs[job] == [await runs.get_run_detail(r.run_id) for r in page.items]
    assert len(found.latest_runs[TRANSFORM]) == 2
    assert {d.run.job for d in found.latest_runs[REPORT_JOB]} == {REPORT_JOB}
    assert found.nodes == {k: await runs.get_node(k) for k in (CLEAN, RAW, REPORT)}


async def test_details_of_no_nodes_are_empty(runs: GraphStore) -> None:
    found = await runs.get_details([], [], 1)
    assert (found.jobs, found.datasets, found.latest_runs, found.nodes) == ({}, {}, {}, {})
