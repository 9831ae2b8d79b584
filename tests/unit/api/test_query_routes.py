"""The query routes through the real app, over a real embedded store.

The graph (tests/unit/query/data/impact_graph.json): ``public.orders`` is read by
``etl.load_orders`` (→ ``gs://bucket:path/to:x`` → ``train:churn`` → model ``churn``) and by
``report`` (→ ``public.report``, dropped later, so deleted).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from olgraph.api.app import create_app
from olgraph.api.auth import hash_api_key
from olgraph.config import Settings
from olgraph.ingest.parse import parse_event
from olgraph.normalize.normalizer import normalize
from olgraph.store.embedded import EmbeddedStore

EVENTS_FILE = Path(__file__).resolve().parents[1] / "query" / "data" / "impact_graph.json"
ORDERS = "dataset:postgres://db:5432:public.orders"
X = "dataset:gs://bucket:path/to:x"
TRAIN = "job:ml:train:churn"
LOAD = "job:airflow:etl.load_orders"
REPORT_JOB = "job:airflow:report"
REPORT = "dataset:postgres://db:5432:public.report"
MODEL = "dataset:mlflow:churn"
LOAD_RUN = "0190b7c5-2222-7000-8000-000000000001"


def load_events() -> list[dict[str, Any]]:
    """The events that build the test graph."""
    events: list[dict[str, Any]] = json.loads(EVENTS_FILE.read_text(encoding="utf-8"))
    return events


def build_graph(settings: Settings) -> None:
    """Apply the test events (parse → normalize → apply) to the store the app will open."""

    async def apply_all() -> None:
        store = EmbeddedStore(settings.embedded_store_path())
        await store.open()
        try:
            for event in load_events():
                await store.apply(normalize(parse_event(event)))
        finally:
            await store.close()

    asyncio.run(apply_all())


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, **overrides)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("graph"), query={"max_depth": 10, "max_page": 50})
    build_graph(settings)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def ok(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def refused(client: TestClient, path: str, status: int, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


# ---------------------------------------------------------------- lineage


def test_downstream_lineage_leaves_out_deleted_nodes(client: TestClient) -> None:
    body = ok(client, "/api/v1/lineage", nodeId=ORDERS, direction="downstream", depth=10)
    ids = [n["id"] for n in body["nodes"]]
    assert ids[0] == ORDERS
    assert set(ids) == {ORDERS, LOAD, REPORT_JOB, X, TRAIN, MODEL}
    assert body["truncated"] is False
    edges = {(e["source"], e["type"], e["target"]) for e in body["edges"]}
    assert (ORDERS, "CONSUMED_BY", LOAD) in edges
    assert (TRAIN, "PRODUCES", MODEL) in edges
    assert all(e["source"] != REPORT and e["target"] != REPORT for e in body["edges"])


def test_include_deleted_returns_the_dropped_dataset(client: TestClient) -> None:
    body = ok(
        client, "/api/v1/lineage", nodeId=ORDERS, direction="downstream", depth=10, includeDeleted="true"
    )
    report = next(n for n in body["nodes"] if n["id"] == REPORT)
    assert report["deleted"] is True
    assert report["lifecycleState"] == "DROP"  # typed properties travel as extra fields


def test_upstream_lineage_and_node_shape(client: TestClient) -> None:
    body = ok(client, "/api/v1/lineage", nodeId=MODEL, direction="upstream", depth=4)
    assert {n["id"] for n in body["nodes"]} == {MODEL, TRAIN, X, LOAD, ORDERS}
    model = body["nodes"][0]
    assert model["type"] == "model"
    assert (model["namespace"], model["name"], model["deleted"]) == ("mlflow", "churn", False)
    assert model["datasetType"] == "MODEL"


def test_depth_limits_the_hops(client: TestClient) -> None:
    body = ok(client, "/api/v1/lineage", nodeId=ORDERS, direction="downstream", depth=1)
    assert {n["id"] for n in body["nodes"]} == {ORDERS, LOAD, REPORT_JOB}
    assert ok(client, "/api/v1/lineage", nodeId=ORDERS, depth=0)["nodes"] == [body["nodes"][0]]


def test_parts_address_the_same_node_as_the_id(client: TestClient) -> None:
    by_id = ok(client, "/api/v1/lineage", nodeId=X, depth=2)
    by_parts = ok(
        client, "/api/v1/lineage", type="dataset", namespace="gs://bucket", name="path/to:x", depth=2
    )
    assert by_parts == by_id


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "nodeId"),
        ({"nodeId": "orders"}, "nodeId"),
        ({"nodeId": "dataset:orders"}, "nodeId"),
        ({"nodeId": ORDERS, "depth": "11"}, "depth"),
        ({"nodeId": ORDERS, "depth": "-1"}, "depth"),
        ({"nodeId": ORDERS, "depth": "deep"}, "depth"),
        ({"nodeId": ORDERS, "direction": "sideways"}, "direction"),
        ({"nodeId": ORDERS, "includeDeleted": "perhaps"}, "includeDeleted"),
        ({"type": "table", "namespace": "a", "name": "b"}, "type"),
        ({"type": "job", "namespace": "a"}, "name"),
    ],
)
def test_bad_lineage_parameters_are_400s_naming_the_parameter(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    body = refused(client, "/api/v1/lineage", 400, **params)
    assert body["field"] == field
    assert body["error"].startswith(f"{field}: ")


def test_unknown_node_is_a_404_naming_it(client: TestClient) -> None:
    body = refused(client, "/api/v1/lineage", 404, nodeId="dataset:gs://bucket:nope")
    assert body["field"] == "nodeId"
    assert "dataset:gs://bucket:nope" in body["error"]
    assert "not found" in body["error"]


def test_node_cap_truncates(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, query={"max_nodes": 3})
    build_graph(settings)
    with TestClient(create_app(settings)) as capped:
        body = ok(capped, "/api/v1/lineage", nodeId=ORDERS, direction="downstream", depth=5)
        impact = ok(capped, "/api/v1/impact", nodeId=ORDERS, depth=5)
        csv_response = capped.get("/api/v1/impact", params={"nodeId": ORDERS, "format": "csv"})
    assert body["truncated"] is True
    assert len(body["nodes"]) <= 3
    assert impact["truncated"] is True
    assert csv_response.headers["x-olgraph-truncated"] == "true"


# ---------------------------------------------------------------- impact


def test_impact_lists_live_dependents_with_distance_owners_and_last_run(client: TestClient) -> None:
    body = ok(client, "/api/v1/impact", nodeId=ORDERS, depth=10)
    assert body["root"]["id"] == ORDERS
    affected = {a["id"]: a for a in body["affected"]}
    assert list(affected) == [LOAD, REPORT_JOB, X, TRAIN, MODEL]  # by (distance, id)
    assert REPORT not in affected
    assert affected[LOAD]["distance"] == 1
    assert affected[LOAD]["owners"] == ["team:data"]
    assert affected[LOAD]["lastRunState"] == "COMPLETE"
    assert affected[X]["owners"] == ["alice", "team:data"]
    assert affected[MODEL] | {"owners": None} == {
        "id": MODEL,
        "type": "model",
        "namespace": "mlflow",
        "name": "churn",
        "dataset": None,
        "distance": 4,
        "owners": None,
        "lastRunAt": "2024-05-01T11:30:00.000000000Z",
        "lastRunState": "FAIL",
    }
    assert body["summary"] == {
        "total": 5,
        "byType": {"dataset": 1, "job": 3, "model": 1},
        "byOwner": {"alice": 1, "team:data": 2, "team:ml": 2},
    }
    assert body["truncated"] is False


def test_impact_of_a_leaf_is_empty(client: TestClient) -> None:
    body = ok(client, "/api/v1/impact", nodeId=MODEL)
    assert body["affected"] == []
    assert body["summary"] == {"total": 0, "byType": {}, "byOwner": {}}


def test_impact_depth_stops_the_walk(client: TestClient) -> None:
    body = ok(client, "/api/v1/impact", nodeId=ORDERS, depth=2)
    assert [a["id"] for a in body["affected"]] == [LOAD, REPORT_JOB, X]


def test_impact_csv_and_ndjson_say_what_json_says(client: TestClient) -> None:
    as_json = ok(client, "/api/v1/impact", nodeId=ORDERS, depth=10)["affected"]
    csv_response = client.get("/api/v1/impact", params={"nodeId": ORDERS, "depth": 10, "format": "csv"})
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert csv_response.headers["x-olgraph-truncated"] == "false"
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert [r["id"] for r in rows] == [a["id"] for a in as_json]
    assert rows[2]["owners"] == "alice;team:data"
    assert [int(r["distance"]) for r in rows] == [a["distance"] for a in as_json]

    nd_response = client.get("/api/v1/impact", params={"nodeId": ORDERS, "depth": 10, "format": "ndjson"})
    assert nd_response.headers["content-type"].startswith("application/x-ndjson")
    assert [orjson.loads(line) for line in nd_response.text.splitlines()] == as_json


def test_impact_bad_format_and_unknown_node(client: TestClient) -> None:
    assert refused(client, "/api/v1/impact", 400, nodeId=ORDERS, format="xml")["field"] == "format"
    assert "job:nope:x" in refused(client, "/api/v1/impact", 404, nodeId="job:nope:x")["error"]


# ---------------------------------------------------------------- listings


def test_namespaces_are_paginated(client: TestClient) -> None:
    everything = ok(client, "/api/v1/namespaces")
    names = [n["name"] for n in everything["items"]]
    assert names == ["airflow", "gs://bucket", "ml", "mlflow", "postgres://db:5432"]
    assert (everything["total"], everything["offset"]) == (5, 0)
    page = ok(client, "/api/v1/namespaces", limit=2, offset=1)
    assert [n["name"] for n in page["items"]] == names[1:3]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)


@pytest.mark.parametrize(
    ("params", "field"), [({"limit": 0}, "limit"), ({"limit": 51}, "limit"), ({"offset": -1}, "offset")]
)
def test_bad_pages_name_the_parameter(client: TestClient, params: dict[str, int], field: str) -> None:
    assert refused(client, "/api/v1/namespaces", 400, **params)["field"] == field


@pytest.mark.parametrize(
    "path", ["/api/v1/namespaces/gs:%2F%2Fbucket/datasets", "/api/v1/namespaces/gs://bucket/datasets"]
)
def test_datasets_of_a_namespace_with_slashes(client: TestClient, path: str) -> None:
    body = ok(client, path)
    assert [d["id"] for d in body["items"]] == [X]
    assert body["total"] == 1


def test_jobs_of_a_namespace(client: TestClient) -> None:
    body = ok(client, "/api/v1/namespaces/airflow/jobs")
    assert [j["id"] for j in body["items"]] == ["job:airflow:cleanup", LOAD, REPORT_JOB]
    assert ok(client, "/api/v1/namespaces/nowhere/jobs") == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
        "nextCursor": None,
    }


def test_runs_of_a_job_by_path_and_by_node_id(client: TestClient) -> None:
    by_path = ok(client, "/api/v1/namespaces/ml/jobs/train:churn/runs")
    by_id = ok(client, "/api/v1/jobs/runs", nodeId=TRAIN)
    assert by_path == by_id
    (run,) = by_id["items"]
    assert run["state"] == "FAIL"
    assert run["job"] == TRAIN
    assert [i["dataset"] for i in run["inputs"]] == [X]
    assert [o["dataset"] for o in run["outputs"]] == [MODEL]


def test_runs_of_unknown_or_non_job_nodes(client: TestClient) -> None:
    assert TRAIN + "x" in refused(client, "/api/v1/jobs/runs", 404, nodeId=TRAIN + "x")["error"]
    assert refused(client, "/api/v1/jobs/runs", 400, nodeId=X)["field"] == "nodeId"


def test_one_run_by_id_in_any_case(client: TestClient) -> None:
    run = ok(client, f"/api/v1/runs/{LOAD_RUN.upper()}")
    assert run["runId"] == LOAD_RUN
    assert (run["state"], run["startedAt"], run["endedAt"]) == (
        "COMPLETE",
        "2024-05-01T10:00:00.000000000Z",
        "2024-05-01T10:05:00.000000000Z",
    )
    assert run["parentRunId"] is None
    assert [o["dataset"] for o in run["outputs"]] == [X]
    missing = refused(client, "/api/v1/runs/0190b7c5-0000", 404)
    assert (missing["field"], "0190b7c5-0000" in missing["error"]) == ("runId", True)


def test_one_dataset_with_versions_and_owners(client: TestClient) -> None:
    body = ok(client, "/api/v1/datasets", nodeId=X)
    assert (body["id"], body["namespace"], body["name"]) == (X, "gs://bucket", "path/to:x")
    assert body["owners"] == ["alice", "team:data"]
    assert body["facets"]["ownership"]["owners"][0]["name"] == "team:data"
    (version,) = body["versions"]
    assert version["runId"] == LOAD_RUN
    assert version["implicit"] is False
    assert ok(client, "/api/v1/datasets", namespace="gs://bucket", name="path/to:x") == body
    assert refused(client, "/api/v1/datasets", 400, nodeId=LOAD)["field"] == "nodeId"
    assert "dataset:a:b" in refused(client, "/api/v1/datasets", 404, nodeId="dataset:a:b")["error"]


# ---------------------------------------------------------------- auth and end to end


def test_query_routes_need_the_read_role(tmp_path: Path) -> None:
    keys = [
        {"name": "reader", "role": "read", "sha256": hash_api_key("read-key")},
        {"name": "airflow", "role": "ingest", "sha256": hash_api_key("ingest-key")},
    ]
    settings = make_settings(tmp_path, auth={"api_keys": keys})
    build_graph(settings)
    with TestClient(create_app(settings)) as secured:
        params = {"nodeId": ORDERS}
        assert secured.get("/api/v1/impact", params=params).status_code == 401
        as_ingest = {"Authorization": "Bearer ingest-key"}
        assert secured.get("/api/v1/impact", params=params, headers=as_ingest).status_code == 403
        as_reader = {"Authorization": "Bearer read-key"}
        assert secured.get("/api/v1/impact", params=params, headers=as_reader).status_code == 200
        assert secured.get("/api/v1/namespaces", headers=as_reader).status_code == 200
        assert secured.get("/api/v1/namespaces").status_code == 401


def test_posted_events_become_queryable(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as fresh:
        for event in load_events():
            assert fresh.post("/api/v1/lineage", json=event).status_code == 201
        deadline = time.monotonic() + 30
        while ok(fresh, "/api/v1/stats")["pending"] and time.monotonic() < deadline:
            time.sleep(0.05)
        body = ok(fresh, "/api/v1/impact", nodeId=X)
    assert [a["id"] for a in body["affected"]] == [TRAIN, MODEL]


def test_a_run_id_that_is_not_a_uuid_is_accepted_and_answered(tmp_path: Path) -> None:
    """Airflow-style ids such as ``manual__…`` used to get 400 (the spec's uuid is an annotation)."""
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T10:00:00Z",
        "run": {"runId": "manual__2024-01-01T00:00:00+00:00"},
        "job": {"namespace": "airflow", "name": "dag.task"},
        "producer": "https://example.com/test",
    }
    with TestClient(create_app(make_settings(tmp_path))) as fresh:
        assert fresh.post("/api/v1/lineage", json=event).status_code == 201
        deadline = time.monotonic() + 30
        while ok(fresh, "/api/v1/stats")["pending"] and time.monotonic() < deadline:
            time.sleep(0.05)
        run = ok(fresh, "/api/v1/runs/" + quote(event["run"]["runId"], safe=""))
        events = ok(fresh, "/api/v1/runs/" + quote(event["run"]["runId"], safe="") + "/events")
    assert (run["runId"], run["state"], run["job"]) == (
        event["run"]["runId"],
        "COMPLETE",
        "job:airflow:dag.task",
    )
    assert (run["startedAt"], run["startedAtSource"], run["durationMs"]) == (
        "2024-05-01T10:00:00.000000000Z",
        "firstEvent",
        0,
    )
    assert [e["run"]["runId"] for e in events["events"]] == [event["run"]["runId"]]


# ---------------------------------------------------------------- never a 500 for bad input

PARAM_NAMES = ["nodeId", "type", "namespace", "name", "direction", "depth", "includeDeleted", "format"]
PATHS = [
    "/api/v1/lineage",
    "/api/v1/impact",
    "/api/v1/namespaces",
    "/api/v1/jobs/runs",
    "/api/v1/datasets",
]
# Printable text including ':' '/' '%' and non-ASCII, but no lone surrogates (not encodable at all).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
VALUES = st.one_of(
    TEXT,
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["dataset:a:b", ORDERS, X, TRAIN, "job::", "true", "csv", "both", ""]),
)


@settings(max_examples=300, deadline=None)
@given(
    path=st.sampled_from(PATHS),
    params=st.dictionaries(st.sampled_from([*PARAM_NAMES, "limit", "offset"]) | TEXT, VALUES, max_size=5),
)
def test_random_query_strings_never_cause_a_server_error(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    response = client.get(path, params=params)
    assert response.status_code < 500, (path, params, response.text)
    if response.status_code >= 400:
        assert response.json()["error"]


@settings(max_examples=150, deadline=None)
@given(
    path=st.sampled_from(
        ["/api/v1/namespaces", "/api/v1/namespaces/airflow/jobs", "/api/v1/namespaces/x/datasets"]
    ),
    limit=st.integers(-(2**70), 2**70),
    offset=st.integers(-(2**70), 2**70),
)
def test_any_page_numbers_are_answered_or_refused_never_a_server_error(
    client: TestClient, path: str, limit: int, offset: int
) -> None:
    response = client.get(path, params={"limit": limit, "offset": offset})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["field"] in ("limit", "offset")


@settings(max_examples=150, deadline=None)
@given(
    template=st.sampled_from(
        ["/api/v1/runs/{}", "/api/v1/namespaces/{}/datasets", "/api/v1/namespaces/{}/jobs/{}/runs"]
    ),
    segment=TEXT,
)
def test_random_path_segments_never_cause_a_server_error(
    client: TestClient, template: str, segment: str
) -> None:
    response = client.get(template.format(quote(segment, safe=""), quote(segment, safe="")))
    assert response.status_code < 500, (template, segment, response.text)
