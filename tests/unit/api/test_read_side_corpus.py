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
