"""Delete, purge and retention over HTTP: the admin role, 409 with the dependents, the audit log."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from olgraph.api.app import create_app
from olgraph.api.auth import hash_api_key
from olgraph.config import Settings

EVENTS_FILE = Path(__file__).resolve().parents[1] / "query" / "data" / "impact_graph.json"
ORDERS = "dataset:postgres://db:5432:public.orders"
X = "dataset:gs://bucket:path/to:x"
MODEL = "dataset:mlflow:churn"
TRAIN = "job:ml:train:churn"
ADMIN = {"Authorization": "Bearer admin-key"}
READER = {"Authorization": "Bearer read-key"}
KEYS = [
    {"name": "ops", "role": "admin", "sha256": hash_api_key("admin-key")},
    {"name": "reader", "role": "read", "sha256": hash_api_key("read-key")},
]


def _wait_applied(client: TestClient) -> None:
    deadline = time.monotonic() + 30
    while client.get("/api/v1/stats", headers=ADMIN).json()["pending"] and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path, auth={"api_keys": KEYS}))) as test_client:
        for event in json.loads(EVENTS_FILE.read_text(encoding="utf-8")):
            assert test_client.post("/api/v1/lineage", json=event, headers=ADMIN).status_code == 201
        _wait_applied(test_client)
        yield test_client


def test_deletes_need_the_admin_role(client: TestClient) -> None:
    assert client.delete("/api/v1/datasets", params={"nodeId": MODEL}).status_code == 401
    refused = client.delete("/api/v1/datasets", params={"nodeId": MODEL}, headers=READER)
    assert refused.status_code == 403
    assert client.post("/api/v1/retention", json={"olderThanDays": 1}, headers=READER).status_code == 403


def test_a_delete_with_live_dependents_is_refused_with_409_unless_forced(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    refused = client.delete("/api/v1/datasets", params={"nodeId": X}, headers=ADMIN)
    assert refused.status_code == 409
    body = refused.json()
    assert (body["field"], body["total"]) == ("nodeId", 2)
    assert [d["id"] for d in body["dependents"]] == [TRAIN, MODEL]
    assert "pass force=true" in body["error"]
    with caplog.at_level(logging.WARNING, logger="olgraph.audit"):
        forced = client.delete("/api/v1/datasets", params={"nodeId": X, "force": "true"}, headers=ADMIN)
    assert forced.status_code == 200
    assert forced.json() | {"at": None} == {
        "deleted": [X],
        "purged": False,
        "removed": 0,
        "at": None,
        "by": "ops",
        "forcedOver": 2,
    }
    assert f"soft-deleted: {X} by ops" in caplog.text
    lineage = client.get(
        "/api/v1/lineage", params={"nodeId": TRAIN, "direction": "upstream"}, headers=READER
    ).json()
    assert X not in [n["id"] for n in lineage["nodes"]]
    assert client.get("/api/v1/datasets", params={"nodeId": X}, headers=READER).json()["deleted"] is True


def test_purge_removes_a_leaf_for_good(client: TestClient) -> None:
    purged = client.delete("/api/v1/datasets", params={"nodeId": MODEL, "purge": "true"}, headers=ADMIN)
    assert purged.status_code == 200
    assert (purged.json()["purged"], purged.json()["removed"] >= 1) == (True, True)
    gone = client.get("/api/v1/datasets", params={"nodeId": MODEL}, headers=READER)
    assert gone.status_code == 404
    assert client.delete("/api/v1/datasets", params={"nodeId": MODEL}, headers=ADMIN).status_code == 404


def test_jobs_and_namespaces(client: TestClient) -> None:
    job = client.delete("/api/v1/jobs", params={"nodeId": TRAIN, "force": "true"}, headers=ADMIN)
    assert (job.status_code, job.json()["deleted"]) == (200, [TRAIN])
    namespace = client.delete("/api/v1/namespaces/mlflow", headers=ADMIN)
    assert namespace.status_code == 200, namespace.text
    assert namespace.json()["deleted"] == ["namespace:mlflow", MODEL]
    names = [n["name"] for n in client.get("/api/v1/namespaces", headers=READER).json()["items"]]
    assert "mlflow" not in names
    assert client.delete("/api/v1/namespaces/nowhere", headers=ADMIN).status_code == 404


def test_retention_on_demand(client: TestClient) -> None:
    dry = client.post("/api/v1/retention", json={"olderThanDays": 1, "dryRun": True}, headers=ADMIN)
    assert dry.status_code == 200
    assert dry.json()["runs"] >= 1
    assert dry.json()["dryRun"] is True
    done = client.post("/api/v1/retention", json={"olderThanDays": 1}, headers=ADMIN).json()
    assert done["runs"] == dry.json()["runs"]
    assert done["events"] == 0  # received just now: younger than a day
    assert client.post("/api/v1/retention", json={"olderThanDays": 0}, headers=ADMIN).status_code == 400


def test_serve_removes_history_periodically(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, retention={"days": 1, "interval_seconds": 0.2})
    with TestClient(create_app(settings)) as periodic:
        for event in json.loads(EVENTS_FILE.read_text(encoding="utf-8")):
            assert periodic.post("/api/v1/lineage", json=event).status_code == 201
        _wait_applied(periodic)
        deadline = time.monotonic() + 30
        runs: list[Any] = ["?"]
        while runs and time.monotonic() < deadline:
            runs = periodic.get("/api/v1/jobs/runs", params={"nodeId": "job:airflow:report"}).json()["items"]
            time.sleep(0.05)
        assert runs == []  # its only run is months old and wrote no dataset's latest version
        assert periodic.get("/api/v1/jobs", params={"nodeId": "job:airflow:report"}).status_code == 200
