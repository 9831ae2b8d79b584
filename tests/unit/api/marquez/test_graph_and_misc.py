"""Lineage, column lineage, search, raw events, deletes, refused writes and roles, on both stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from marquez_app_support import STORES, feed, make_settings, scenario_events

from olgraph.api.auth import hash_api_key
from olgraph.api.marquez.app import create_marquez_app
from served_app import store_settings


def ok(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def edges(node: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    return (
        [(e["origin"], e["destination"]) for e in node["inEdges"]],
        [(e["origin"], e["destination"]) for e in node["outEdges"]],
    )


def test_lineage_of_a_job_one_step_deep(marquez: TestClient) -> None:
    graph = ok(marquez, "/api/v1/lineage", nodeId="job:mq-spark:clean_orders", depth=1)["graph"]
    nodes = {n["id"]: n for n in graph}
    assert sorted(nodes) == [
        "dataset:mq-warehouse:clean.orders",
        "dataset:mq-warehouse:mart.revenue",
        "dataset:mq-warehouse:raw.orders",
        "job:mq-spark:clean_orders",
        "job:mq-spark:revenue",
    ]
    job = nodes["job:mq-spark:clean_orders"]
    assert job["type"] == "JOB"
    assert edges(job) == (
        [("dataset:mq-warehouse:raw.orders", "job:mq-spark:clean_orders")],
        [("job:mq-spark:clean_orders", "dataset:mq-warehouse:clean.orders")],
    )
    assert job["data"]["latestRun"]["state"] == "COMPLETED"
    dataset = nodes["dataset:mq-warehouse:clean.orders"]
    assert dataset["type"] == "DATASET"
    assert dataset["data"]["sourceName"] == "default"


def test_lineage_from_a_dataset_and_from_a_child_job(marquez: TestClient) -> None:
    graph = ok(marquez, "/api/v1/lineage", nodeId="dataset:mq-warehouse:staging.sales", depth=20)["graph"]
    ids = {n["id"] for n in graph}
    assert {"job:mq-airflow:daily_sales.extract", "job:mq-airflow:daily_sales.load"} <= ids
    assert {"dataset:mq-pg:public.sales", "dataset:mq-warehouse:mart.sales"} <= ids
    same = ok(marquez, "/api/v1/lineage", nodeId="job:mq-airflow:daily_sales.load", depth=20)["graph"]
    assert {n["id"] for n in same} == ids


def test_lineage_refuses_bad_parameters_naming_them(marquez: TestClient) -> None:
    for params, words in [
        ({"nodeId": "bad"}, "must start with"),
        ({"nodeId": "job:mq-spark:clean_orders", "depth": -1}, "depth"),
        ({}, "nodeId"),
    ]:
        response = marquez.get("/api/v1/lineage", params=params)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == 400
        assert words in response.json()["message"]
    assert marquez.get("/api/v1/lineage", params={"nodeId": "job:mq-spark:nope"}).status_code == 404


def test_column_lineage_upstream_of_a_dataset(marquez: TestClient) -> None:
    graph = ok(marquez, "/api/v1/column-lineage", nodeId="dataset:mq-warehouse:mart.revenue")["graph"]
    nodes = {n["id"]: n for n in graph}
    assert sorted(nodes) == [
        "datasetField:mq-warehouse:clean.orders:amount",
        "datasetField:mq-warehouse:mart.revenue:total",
        "datasetField:mq-warehouse:raw.orders:amount",
    ]
    total = nodes["datasetField:mq-warehouse:mart.revenue:total"]
    assert total["type"] == "DATASET_FIELD"
    assert total["data"]["inputFields"][0]["field"] == "amount"
    assert total["data"]["inputFields"][0]["dataset"] == "clean.orders"
    assert edges(total)[0] == [
        ("datasetField:mq-warehouse:mart.revenue:total", "datasetField:mq-warehouse:clean.orders:amount")
    ]


def test_column_lineage_of_one_field_with_downstream(marquez: TestClient) -> None:
    node = "datasetField:mq-warehouse:clean.orders:id"
    graph = ok(marquez, "/api/v1/column-lineage", nodeId=node, withDownstream="true")["graph"]
    field = next(n for n in graph if n["id"] == node)
    assert field["data"]["transformationType"] == "IDENTITY"
    assert {n["id"] for n in graph} == {node, "datasetField:mq-warehouse:raw.orders:id"}
    missing = marquez.get(
        "/api/v1/column-lineage", params={"nodeId": "datasetField:mq-warehouse:clean.orders:x"}
    )
    assert missing.status_code == 404


def test_search_by_part_of_a_name(marquez: TestClient) -> None:
    body = ok(marquez, "/api/v1/search", q="orders")
    assert body["totalCount"] == len(body["results"]) == 3
    assert {r["nodeId"] for r in body["results"]} == {
        "dataset:mq-warehouse:clean.orders",
        "dataset:mq-warehouse:raw.orders",
        "job:mq-spark:clean_orders",
    }
    jobs = ok(marquez, "/api/v1/search", q="orders", filter="JOB")["results"]
    assert [(r["type"], r["name"], r["namespace"]) for r in jobs] == [("JOB", "clean_orders", "mq-spark")]
    assert ok(marquez, "/api/v1/search", q="zzz-none") == {"totalCount": 0, "results": []}
    newest = ok(marquez, "/api/v1/search", q="orders", sort="UPDATE_AT")["results"]  # as Marquez Web asks
    assert [r["name"] for r in newest] == ["clean.orders", "clean_orders", "raw.orders"]  # ties by name
    refused = marquez.get("/api/v1/search", params={"q": "orders", "sort": "size"})
    assert refused.status_code == 400
    assert "sort" in refused.json()["message"]


def test_raw_events_by_time_paged(marquez: TestClient) -> None:
    posted = scenario_events()
    body = ok(marquez, "/api/v1/events/lineage", limit=1000, sortDirection="asc")
    assert body["totalCount"] == len(posted)
    times = [e["eventTime"] for e in body["events"]]
    assert times == sorted(times)
    newest = ok(marquez, "/api/v1/events/lineage", limit=5, offset=3)
    assert [e["eventTime"] for e in newest["events"]] == sorted(times, reverse=True)[3:8]
    window = ok(
        marquez,
        "/api/v1/events/lineage",
        after="2024-03-01T08:00:00Z",
        before="2024-03-01T08:12:00Z",
        limit=100,
    )
    assert window["totalCount"] == 5  # after is inclusive, before exclusive (as Marquez)


def test_deprecated_writes_are_405_with_a_message(marquez: TestClient) -> None:
    response = marquez.put("/api/v1/namespaces/anything", json={"ownerName": "me"})
    assert response.status_code == 405
    assert response.json()["code"] == 405
    assert "POST /api/v1/lineage" in response.json()["message"]


@pytest.mark.parametrize("kind", STORES)
def test_deletes_are_soft_and_need_the_admin_role(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    keys = [
        {"name": "reader", "role": "read", "sha256": hash_api_key("read-key")},
        {"name": "admin", "role": "admin", "sha256": hash_api_key("admin-key")},
        {"name": "producer", "role": "ingest", "sha256": hash_api_key("ingest-key")},
    ]
    settings = make_settings(tmp_path, store_settings(kind, request), auth={"api_keys": keys})
    with TestClient(create_marquez_app(settings)) as client:
        client.headers["Authorization"] = "Bearer ingest-key"
        feed(client, scenario_events())
        path = "/api/v1/namespaces/mq-warehouse/datasets/mart.scores"
        client.headers["Authorization"] = "Bearer read-key"
        assert client.get(path).status_code == 200
        assert client.delete(path).status_code == 403
        client.headers.pop("Authorization")
        assert client.get(path).status_code == 401
        client.headers["Authorization"] = "Bearer admin-key"
        deleted = client.delete(path)
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["name"] == "mart.scores"
        assert client.get(path).status_code == 404
        listed = ok(client, "/api/v1/namespaces/mq-warehouse/datasets")["datasets"]
        assert "mart.scores" not in {d["name"] for d in listed}
        job = "/api/v1/namespaces/mq-spark/jobs/score_customers"
        assert client.delete(job).status_code == 200
        assert client.get(job).status_code == 404
        assert client.delete("/api/v1/namespaces/mq-kafka").status_code == 200
        hidden = {n["name"]: n["isHidden"] for n in ok(client, "/api/v1/namespaces")["namespaces"]}
        assert (hidden["mq-kafka"], hidden["mq-spark"]) == (True, False)  # listed, as Marquez lists it
        assert ok(client, "/api/v1/namespaces/mq-kafka")["isHidden"] is True
