"""Namespaces, datasets and their versions, jobs and runs in Marquez 0.50's shapes, on both stores."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from marquez_scenarios import run_id


def ok(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_namespaces_are_listed_by_name_and_paged(marquez: TestClient) -> None:
    names = [n["name"] for n in ok(marquez, "/api/v1/namespaces")["namespaces"]]
    expected = ["mq-airflow", "mq-hive", "mq-kafka", "mq-pg", "mq-s3", "mq-spark", "mq-warehouse"]
    assert names == expected
    page = ok(marquez, "/api/v1/namespaces", limit=2, offset=1)["namespaces"]
    assert [n["name"] for n in page] == expected[1:3]
    one = ok(marquez, "/api/v1/namespaces/mq-spark")
    assert one == {
        "name": "mq-spark",
        "createdAt": "2024-03-01T08:00:00Z",
        "updatedAt": "2024-03-01T09:22:00Z",
        "ownerName": "anonymous",
        "description": None,
        "isHidden": False,
    }


def test_unknown_names_are_marquez_404s(marquez: TestClient) -> None:
    for path, message in [
        ("/api/v1/namespaces/nope", "Namespace 'nope' not found."),
        ("/api/v1/namespaces/mq-warehouse/datasets/nope", "Dataset 'nope' not found."),
        ("/api/v1/namespaces/mq-spark/jobs/nope", "Job 'nope' not found."),
    ]:
        response = marquez.get(path)
        assert response.status_code == 404
        assert response.json() == {"code": 404, "message": message}


def test_a_dataset_with_schema_source_and_column_lineage(marquez: TestClient) -> None:
    body = ok(marquez, "/api/v1/namespaces/mq-warehouse/datasets/clean.orders")
    assert body["id"] == {"namespace": "mq-warehouse", "name": "clean.orders"}
    assert (body["type"], body["name"], body["physicalName"], body["sourceName"]) == (
        "DB_TABLE",
        "clean.orders",
        "clean.orders",
        "default",
    )
    assert [(f["name"], f["type"]) for f in body["fields"]] == [
        ("id", "long"),
        ("amount", "decimal"),
        ("email_hash", "string"),
    ]
    assert body["currentVersion"] == f"run:{run_id(1, 1)}"
    lineage = {c["name"]: c for c in body["columnLineage"]}
    assert sorted(lineage) == ["amount", "email_hash", "id"]
    assert lineage["id"]["transformationType"] == "IDENTITY"
    assert lineage["email_hash"]["inputFields"] == [
        {
            "namespace": "mq-warehouse",
            "dataset": "raw.orders",
            "field": "email",
            "transformationDescription": None,
            "transformationType": "MASKED",
        }
    ]
    assert set(body["facets"]) == {"schema", "columnLineage"}
    assert body["deleted"] is False


def test_a_name_with_a_slash_is_one_encoded_segment(marquez: TestClient) -> None:
    body = ok(marquez, "/api/v1/namespaces/mq-s3/datasets/lake%2Fevents")
    assert body["name"] == "lake/events"
    assert body["facets"]["symlinks"]["identifiers"][0]["name"] == "db.events"


def test_versions_newest_first_and_each_round_trips(marquez: TestClient) -> None:
    base = "/api/v1/namespaces/mq-warehouse/datasets/dim.users/versions"
    listed = ok(marquez, base)
    assert listed["totalCount"] == 3
    assert [len(v["fields"]) for v in listed["versions"]] == [3, 2, 1]
    assert [v["createdByRun"]["id"] for v in listed["versions"]] == [run_id(5, n) for n in (3, 2, 1)]
    assert ok(marquez, base, limit=1, offset=1)["versions"][0]["version"] == listed["versions"][1]["version"]
    for version in listed["versions"]:
        assert ok(marquez, f"{base}/{version['version']}") == version
    assert marquez.get(f"{base}/run:no-such-run").status_code == 404


def test_jobs_with_a_parent_are_named_as_marquez_names_them(marquez: TestClient) -> None:
    jobs = ok(marquez, "/api/v1/namespaces/mq-airflow/jobs")
    assert jobs["totalCount"] == 3
    assert sorted(j["name"] for j in jobs["jobs"]) == [
        "daily_sales",
        "daily_sales.extract",
        "daily_sales.load",
    ]
    job = ok(marquez, "/api/v1/namespaces/mq-airflow/jobs/daily_sales.load")
    assert (job["simpleName"], job["parentJobName"]) == ("load", "daily_sales")
    assert job["inputs"] == [{"namespace": "mq-warehouse", "name": "staging.sales"}]
    assert job["outputs"] == [{"namespace": "mq-warehouse", "name": "mart.sales"}]
    run = job["latestRun"]
    assert run["id"] == run_id(3, 3)
    assert run["state"] == "COMPLETED"
    assert run["args"] == {"run_id": run_id(3, 1), "name": "daily_sales", "namespace": "mq-airflow"}
    every = ok(marquez, "/api/v1/jobs", limit=1000)
    assert every["totalCount"] == len(every["jobs"]) == 8


def test_runs_of_a_job_newest_first_with_states_and_facets(marquez: TestClient) -> None:
    runs = ok(marquez, "/api/v1/namespaces/mq-spark/jobs/score_customers/runs")
    assert runs["totalCount"] == 2
    assert [(r["id"], r["state"]) for r in runs["runs"]] == [
        (run_id(4, 2), "FAILED"),
        (run_id(4, 1), "COMPLETED"),
    ]
    failed = ok(marquez, f"/api/v1/jobs/runs/{run_id(4, 2)}")
    assert failed["startedAt"] == "2024-03-01T08:40:00Z"
    assert failed["endedAt"] == "2024-03-01T08:41:00Z"
    assert failed["durationMs"] == 60_000
    assert failed["jobVersion"]["name"] == "score_customers"
    facets = ok(marquez, f"/api/v1/jobs/runs/{run_id(4, 2)}/facets", type="run")
    assert facets["runId"] == run_id(4, 2)
    assert facets["facets"]["errorMessage"]["message"] == "division by zero"
    assert marquez.get("/api/v1/jobs/runs/0190f000-0000-7000-8fff-000000000000").status_code == 404


def test_tags_lists_what_events_reported(marquez: TestClient) -> None:
    body = ok(marquez, "/api/v1/tags")
    assert set(body) == {"tags"}
    assert all(set(tag) == {"name", "description"} for tag in body["tags"])
