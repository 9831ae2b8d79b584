"""Job versions, upstream run lineage and sources, on both stores."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from marquez_scenarios import run_id


def ok(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_job_has_one_version_that_round_trips(marquez: TestClient) -> None:
    base = "/api/v1/namespaces/mq-spark/jobs/revenue"
    job = ok(marquez, base)
    listed = ok(marquez, f"{base}/versions")
    assert listed["totalCount"] == 1
    [version] = listed["versions"]
    assert version["version"] == job["currentVersion"]
    assert version["id"] == {"namespace": "mq-spark", "name": "revenue", "version": job["currentVersion"]}
    assert version["inputs"] == [{"namespace": "mq-warehouse", "name": "clean.orders"}]
    assert version["outputs"] == [{"namespace": "mq-warehouse", "name": "mart.revenue"}]
    assert version["latestRun"]["id"] == run_id(1, 2)
    assert ok(marquez, f"{base}/versions/{job['currentVersion']}") == version
    missing = marquez.get(f"{base}/versions/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["code"] == 404


def test_upstream_run_lineage_follows_the_versions_read(marquez: TestClient) -> None:
    runs = ok(marquez, "/api/v1/runlineage/upstream", runId=run_id(1, 2))["runs"]
    assert [(r["run"]["id"], r["job"]["name"], r["run"]["status"]) for r in runs] == [
        (run_id(1, 2), "revenue", "COMPLETED"),
        (run_id(1, 1), "clean_orders", "COMPLETED"),
    ]
    assert runs[0]["inputs"] == [
        {"namespace": "mq-warehouse", "name": "clean.orders", "version": f"run:{run_id(1, 1)}"}
    ]
    assert runs[1]["inputs"] == [{"namespace": "mq-warehouse", "name": "raw.orders", "version": "initial"}]
    only = ok(marquez, "/api/v1/runlineage/upstream", runId=run_id(1, 2), depth=0)["runs"]
    assert [r["run"]["id"] for r in only] == [run_id(1, 2)]


def test_upstream_run_lineage_refusals(marquez: TestClient) -> None:
    assert marquez.get("/api/v1/runlineage/upstream").status_code == 400
    assert (
        marquez.get("/api/v1/runlineage/upstream", params={"runId": run_id(1, 2), "depth": -1}).status_code
        == 400
    )
    unknown = marquez.get("/api/v1/runlineage/upstream", params={"runId": run_id(9, 9)})
    assert unknown.status_code == 404


def test_the_default_source(marquez: TestClient) -> None:
    assert [s["name"] for s in ok(marquez, "/api/v1/sources")["sources"]] == ["default"]
    assert ok(marquez, "/api/v1/sources/default")["name"] == "default"
    assert marquez.get("/api/v1/sources/elsewhere").status_code == 404
