"""The read side on real events of the shared corpus (Spark, Glue, Marquez's full event), over HTTP.

Events are POSTed to a real app on an embedded store exactly as producers send them; the
answers are what the column lineage, impact, detail and search routes give for them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from olgraph.api.app import create_app
from olgraph.config import Settings

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus"
EVENTS = [
    "datahub-events/sample_spark_with_transformation.json",
    "datahub-events/sample_spark_with_indirect_only_column.json",
    "datahub-events/sample_spark.json",
    "openmetadata-events/openlineage_event.json",
    "marquez-events/event_full.json",
]
PEOPLE = "dataset:file:/spark-test/people.parquet"
RESULT = "dataset:file:/spark-test/result_test"


def field(dataset: str, column: str) -> str:
    return "field:" + dataset.removeprefix("dataset:") + "#" + column


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("corpus"))
    with TestClient(create_app(settings)) as test_client:
        for name in EVENTS:
            response = test_client.post(
                "/api/v1/lineage",
                content=(CORPUS / name).read_bytes(),
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 201, (name, response.text)
        deadline = time.monotonic() + 30
        while test_client.get("/api/v1/stats").json()["pending"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert test_client.get("/api/v1/stats").json()["failed"] == 0
        yield test_client


def ok(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_spark_column_lineage_with_transformations(client: TestClient) -> None:
    body = ok(client, "/api/v1/column-lineage", nodeId=field(RESULT, "name"), direction="upstream")
    assert [(n["id"], n["distance"]) for n in body["nodes"]] == [
        (field(RESULT, "name"), 0),
        (field(PEOPLE, "age"), 1),
        (field(PEOPLE, "name"), 1),
    ]
    assert body["nodes"][1] | {"description": None} == {
        "id": field(PEOPLE, "age"),
        "type": "column",
        "dataset": PEOPLE,
        "namespace": "file",
        "datasetName": "/spark-test/people.parquet",
        "name": "age",
        "fieldType": "long",
        "description": None,
        "deleted": False,
        "stale": True,  # the corpus's Spark events are years old
        "distance": 1,
    }
    edges = {(e["source"], e["target"]): e for e in body["edges"]}
    filter_edge = edges[(field(PEOPLE, "age"), field(RESULT, "name"))]
    assert filter_edge["type"] == "DERIVES"
    assert filter_edge["transformations"] == [
        {"type": "INDIRECT", "subtype": "FILTER", "description": None, "masking": False}
    ]
    assert filter_edge["jobs"] == [
        "job:default:simple_app_parquet_demo.adaptive_spark_plan.spark-test_result_test"
    ]
    identity = edges[(field(PEOPLE, "name"), field(RESULT, "name"))]
    assert {t["subtype"] for t in identity["transformations"]} >= {"IDENTITY"}


def test_spark_column_lineage_of_a_whole_dataset(client: TestClient) -> None:
    body = ok(client, "/api/v1/column-lineage", nodeId=PEOPLE, direction="downstream", depth=1)
    columns = {n["id"] for n in body["nodes"] if n["distance"] == 1}
    assert field(RESULT, "total_count") in columns  # the indirect-only (GROUP_BY) column
    group_by = next(e for e in body["edges"] if e["target"] == field(RESULT, "total_count"))
    assert (group_by["source"], group_by["transformations"][0]["subtype"]) == (
        field(PEOPLE, "country"),
        "GROUP_BY",
    )


def test_column_impact_on_spark_events(client: TestClient) -> None:
    body = ok(client, "/api/v1/impact", nodeId=field(PEOPLE, "age"))
    kinds = {(a["type"], a["id"]) for a in body["affected"]}
    assert ("column", field(RESULT, "age")) in kinds
    assert ("dataset", RESULT) in kinds
    assert any(t == "job" for t, _ in kinds)
    csv_text = client.get("/api/v1/impact", params={"nodeId": field(PEOPLE, "age"), "format": "csv"}).text
    header, first = csv_text.splitlines()[:2]
    assert header == "distance,type,id,namespace,name,dataset,owners,lastRunAt,lastRunState"
    assert first.startswith("1,")


def test_dataset_lineage_with_column_edges(client: TestClient) -> None:
    body = ok(client, "/api/v1/lineage", nodeId=RESULT, direction="upstream", depth=2, withColumns="true")
    assert {n["id"] for n in body["nodes"]} >= {RESULT, PEOPLE}
    pairs = {(e["source"], e["target"]) for e in body["columnEdges"]}
    assert (field(PEOPLE, "country"), field(RESULT, "total_count")) in pairs
    assert {c["id"] for c in body["columns"]} >= {field(PEOPLE, "country"), field(RESULT, "total_count")}
    plain = ok(client, "/api/v1/lineage", nodeId=RESULT, direction="upstream", depth=2)
    assert (plain["columns"], plain["columnEdges"]) == ([], [])


def test_column_ids_are_checked(client: TestClient) -> None:
    bad = client.get("/api/v1/column-lineage", params={"nodeId": "field:file:/x"})
    assert (bad.status_code, bad.json()["field"]) == (400, "nodeId")
    unknown = client.get("/api/v1/column-lineage", params={"nodeId": field(PEOPLE, "nope")})
    assert unknown.status_code == 404
    by_parts = ok(
        client,
        "/api/v1/column-lineage",
        type="column",
        namespace="file",
        name="/spark-test/people.parquet",
        column="age",
    )
    assert by_parts["nodes"][0]["id"] == field(PEOPLE, "age")
    assert json.dumps(by_parts)


def test_search_finds_corpus_datasets_jobs_and_columns_by_part_of_a_name(client: TestClient) -> None:
    body = ok(client, "/api/v1/search", q="PEOPLE")
    ids = [(i["type"], i["id"], i["match"]) for i in body["items"]]
    assert ("dataset", PEOPLE, "substring") in ids
    assert body["total"] == len(body["items"])
    assert body["nextCursor"] is None
    columns = ok(client, "/api/v1/search", q="total_c", type="column")
    assert [(i["id"], i["dataset"], i["match"]) for i in columns["items"]] == [
        (field(RESULT, "total_count"), RESULT, "prefix")
    ]
    jobs = ok(client, "/api/v1/search", q="simple_app", type="job")
    assert jobs["items"]
    assert all(i["type"] == "job" for i in jobs["items"])


def test_search_pages_with_cursors(client: TestClient) -> None:
    whole = ok(client, "/api/v1/search", q="spark", limit=100)
    assert whole["total"] >= 4
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"q": "spark", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = ok(client, "/api/v1/search", **params)
        seen += [i["id"] for i in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in whole["items"]]
    other = client.get(
        "/api/v1/search",
        params={"q": "other", "cursor": ok(client, "/api/v1/search", q="spark", limit=1)["nextCursor"]},
    )
    assert (other.status_code, other.json()["field"]) == (400, "cursor")
    for params, name in (
        ({"q": " "}, "q"),
        ({"q": "x", "type": "table"}, "type"),
        ({"q": "x", "limit": 0}, "limit"),
    ):
        refused = client.get("/api/v1/search", params=params)
        assert (refused.status_code, refused.json()["field"]) == (400, name), params


MARQUEZ_RUN = "ea041791-68bc-4ae1-bd89-4c8106a157e4"
MARQUEZ_JOB = "job:my-scheduler-namespace:myjob.mytask"
MARQUEZ_TABLE = "dataset:my-datasource-namespace:instance.schema.table"
SPARK_RUN = "0197ab81-29e9-7df5-a5f0-0ecdcfcbab5d"


def test_run_detail_shows_quality_metrics_on_its_input(client: TestClient) -> None:
    run = ok(client, f"/api/v1/runs/{MARQUEZ_RUN}")
    assert (run["job"], run["state"], run["startedAtSource"]) == (MARQUEZ_JOB, "COMPLETE", "firstEvent")
    [read] = run["inputs"]
    assert read["dataset"] == MARQUEZ_TABLE
    assert read["facets"]["dataQualityMetrics"]["rowCount"] == 1000
    assert read["facets"]["dataQualityAssertions"]["assertions"][0] == {
        "assertion": "row_count_equal_to",
        "success": True,
    }
    [write] = run["outputs"]
    assert write["facets"]["outputStatistics"]["rowCount"] == 2000
    assert {"nominalTime", "parent"} <= set(run["facets"])
    assert run["parent"] is not None
    assert ok(client, "/api/v1/runs", runId=MARQUEZ_RUN) == run


def test_job_detail_of_the_full_marquez_event(client: TestClient) -> None:
    job = ok(client, "/api/v1/jobs", nodeId=MARQUEZ_JOB)
    assert {"documentation", "sourceCodeLocation", "sql", "jobType"} <= set(job["facets"])
    assert job["sql"] == job["facets"]["sql"]["query"]
    assert job["latestRun"]["runId"] == MARQUEZ_RUN
    # the parent facet names a run of this same job, known by no event of its own: UNKNOWN
    assert job["runStats"] | {"lastRunAt": None} == {
        "total": 2,
        "byState": {"COMPLETE": 1, "UNKNOWN": 1},
        "failureRate": 0.0,
        "lastRunAt": None,
        "lastSuccessAt": job["latestRun"]["endedAt"],
        "lastFailureAt": None,
    }
    assert job["parent"] is None  # its parent run is a run of the same job
    assert [i["id"] for i in job["inputs"]] == [MARQUEZ_TABLE]
    assert job["inputs"][0]["observed"] is True


def test_dataset_detail_of_spark_and_marquez_datasets(client: TestClient) -> None:
    table = ok(client, "/api/v1/datasets", nodeId=MARQUEZ_TABLE)
    assert table["quality"]["metrics"]["bytes"] == 1048576
    assert table["statistics"]["rowCount"] == 2000
    assert [p["id"] for p in table["producers"]] == [MARQUEZ_JOB]
    result = ok(client, "/api/v1/datasets", nodeId=RESULT)
    assert result["fields"] == sorted(c["name"] for c in result["schema"])
    assert result["versionCount"] == len(result["versions"]) >= 1
    versions = ok(client, "/api/v1/datasets/versions", nodeId=RESULT)
    assert versions["total"] == result["versionCount"]
    newest = versions["items"][0]
    one = ok(client, "/api/v1/datasets/version", nodeId=RESULT, version=newest["version"])
    assert one["writer"]["runId"] == SPARK_RUN
    assert {i["dataset"] for i in one["writerInputs"]} == {PEOPLE}


def test_listings_and_tags_over_http(client: TestClient) -> None:
    page = ok(client, "/api/v1/list/datasets", limit=2)
    assert (len(page["items"]), page["nextCursor"] is not None) == (2, True)
    rest = ok(client, "/api/v1/list/datasets", limit=1000, cursor=page["nextCursor"])
    everything = ok(client, "/api/v1/list/datasets", limit=1000)
    assert [i["id"] for i in page["items"] + rest["items"]] == [i["id"] for i in everything["items"]]
    assert everything["total"] == len(everything["items"])
    jobs = ok(client, "/api/v1/list/jobs", namespace="default")
    assert all(j["namespace"] == "default" for j in jobs["items"])
    assert jobs["items"]
    bad = client.get("/api/v1/list/datasets", params={"type": "table"})
    assert (bad.status_code, bad.json()["field"]) == (400, "type")
    assert ok(client, "/api/v1/list/tags")["total"] >= 0


def _walk(client: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a listing, page after page by cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = ok(client, path, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize("kind", ["datasets", "jobs"])
def test_listings_sorted_over_http(client: TestClient, kind: str) -> None:
    """``sort``: by name either way, by last seen either way (ties by id), pages by cursor."""
    path = f"/api/v1/list/{kind}"
    everything = ok(client, path, limit=1000)["items"]
    by_name = sorted(everything, key=lambda i: (i["name"], i["id"]))
    assert [i["id"] for i in everything] == [i["id"] for i in by_name]
    assert [i["id"] for i in _walk(client, path, limit=7, sort="-name")] == [
        i["id"] for i in reversed(by_name)
    ]
    seen = sorted((i for i in everything if i.get("lastSeenAt")), key=lambda i: (i["lastSeenAt"], i["id"]))
    never = sorted(i["id"] for i in everything if not i.get("lastSeenAt"))
    assert seen, "the corpus has nodes named by an event"
    assert never, "and symlink aliases or parent jobs no event named themselves"
    oldest = [i["id"] for i in seen] + never
    assert [i["id"] for i in _walk(client, path, limit=7, sort="lastSeen")] == oldest
    newest = _walk(client, path, limit=7, sort="-lastSeen")
    assert [i["id"] for i in newest] == [i["id"] for i in reversed(seen)] + never[::-1]
    assert len({i["lastSeenAt"] for i in seen}) > 3, "the corpus has distinct times to sort"
    page = ok(client, path, limit=2, sort="-lastSeen")
    assert page["total"] == len(everything)
    assert ok(client, path, limit=2, offset=2, sort="-lastSeen")["items"] == newest[2:4]


def test_a_sort_is_checked_and_a_cursor_keeps_its_sort(client: TestClient) -> None:
    unknown = client.get("/api/v1/list/jobs", params={"sort": "updated"})
    assert unknown.status_code == 400
    assert unknown.json()["field"] == "sort"
    assert "name, -name, lastSeen, -lastSeen" in unknown.json()["error"]
    newest = ok(client, "/api/v1/list/datasets", limit=1, sort="-lastSeen")["nextCursor"]
    for other in ({"sort": "lastSeen"}, {"sort": "name"}, {}):
        refused = client.get("/api/v1/list/datasets", params={"cursor": newest, **other})
        assert (refused.status_code, refused.json()["field"]) == (400, "cursor"), other
    by_name = ok(client, "/api/v1/list/datasets", limit=1)["nextCursor"]
    assert ok(client, "/api/v1/list/datasets", limit=1, sort="name", cursor=by_name)["items"]
    refused = client.get("/api/v1/list/datasets", params={"cursor": by_name, "sort": "-name"})
    assert (refused.status_code, refused.json()["field"]) == (400, "cursor")
