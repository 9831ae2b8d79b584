"""marquez-python 0.50.0, Marquez's own Python client, pointed at olgraph: every read method.

The client is given only the Marquez-compatible listener's URL, as a team moving from
Marquez would configure it; each call must succeed (the client raises on any HTTP error)
and return what the scenarios hold.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from marquez_app_support import STORES, make_settings, scenario_events
from marquez_client import MarquezClient

from marquez_scenarios import run_id
from olgraph.api.marquez.app import create_marquez_app
from served_app import store_settings

START_TIMEOUT = 30.0


@pytest.fixture(scope="module", params=STORES)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MarquezClient]:
    """marquez-python's client of a served Marquez-compatible app holding the scenarios."""
    settings = make_settings(tmp_path_factory.mktemp("mqpy"), store_settings(request.param, request))
    app = create_marquez_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        assert thread.is_alive(), "the test server stopped during start-up"
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            for event in scenario_events():
                assert http.post("/api/v1/lineage", json=event).status_code == 201
            _wait_applied(http)
        yield MarquezClient(url)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _wait_applied(http: httpx.Client) -> None:
    """Until the last scenario event is applied (events are applied in the order posted)."""
    last = "/api/v1/jobs/runs/" + run_id(5, 3)
    deadline = time.monotonic() + 120
    while (answer := http.get(last)).status_code != 200 or answer.json()["state"] != "COMPLETED":
        assert time.monotonic() < deadline, f"the scenarios were not applied: {answer.text}"
        time.sleep(0.05)


def test_namespaces(client: MarquezClient) -> None:
    listed = client.list_namespaces()
    assert "mq-spark" in {n["name"] for n in listed["namespaces"]}
    assert [n["name"] for n in client.list_namespaces(limit=2, offset=1)["namespaces"]] == [
        "mq-hive",
        "mq-kafka",
    ]
    assert client.get_namespace("mq-warehouse")["name"] == "mq-warehouse"


def test_datasets_and_versions(client: MarquezClient) -> None:
    names = {d["name"] for d in client.list_datasets("mq-warehouse")["datasets"]}
    assert {"raw.orders", "clean.orders", "dim.users"} <= names
    assert client.get_dataset("mq-s3", "lake/events")["name"] == "lake/events"
    versions = client.list_dataset_versions("mq-warehouse", "dim.users")["versions"]
    assert len(versions) == 3
    newest = client.get_dataset_version("mq-warehouse", "dim.users", versions[0]["version"])
    assert [f["name"] for f in newest["fields"]] == ["id", "name", "country"]


def test_jobs_and_runs(client: MarquezClient) -> None:
    assert {j["name"] for j in client.list_jobs("mq-airflow")["jobs"]} == {
        "daily_sales",
        "daily_sales.extract",
        "daily_sales.load",
    }
    job = client.get_job("mq-airflow", "daily_sales.extract")
    assert job["parentJobName"] == "daily_sales"
    runs = client.list_job_runs("mq-spark", "score_customers")["runs"]
    assert [r["state"] for r in runs] == ["FAILED", "COMPLETED"]
    assert client.get_job_run(run_id(4, 2))["state"] == "FAILED"


def test_column_lineage_three_ways(client: MarquezClient) -> None:
    def ids(answer: dict[str, Any]) -> set[str]:
        return {n["id"] for n in answer["graph"]}

    by_dataset = client.get_column_lineage_by_dataset("mq-warehouse", "mart.revenue")
    assert "datasetField:mq-warehouse:raw.orders:amount" in ids(by_dataset)
    by_field = client.get_column_lineage_by_dataset_field("mq-warehouse", "clean.orders", "id")
    assert ids(by_field) == {
        "datasetField:mq-warehouse:clean.orders:id",
        "datasetField:mq-warehouse:raw.orders:id",
    }
    by_job = client.get_column_lineage_by_job("mq-spark", "revenue")
    assert ids(by_job) == ids(by_dataset)


def test_events_tags_and_sources(client: MarquezClient) -> None:
    assert len(client.list_events(limit=1000)["events"]) == len(scenario_events())
    in_airflow = client.list_events(namespace="mq-airflow")["events"]
    assert len(in_airflow) == 6
    assert {"tags"} == set(client.list_tags())
    assert [s["name"] for s in client.list_sources()["sources"]] == ["default"]
    assert client.get_source("default")["name"] == "default"
