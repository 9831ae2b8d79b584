"""The lineage, column lineage and impact answers over HTTP on both stores: the per-request
node cap (``maxNodes``) and the stale marks, identical on the embedded store and Neo4j.

The shop of ``contract_events.column_events`` (raw.orders -etl.clean-> clean.orders
-mart.revenue-> mart.revenue, minutes 1 and 5 of 2024-05-01) and, 60 days later, one more run
of ``mart.revenue``: as of just after it, raw.orders and etl.clean (last seen 60 days before)
are stale and the rest is not; today every node is (the events are from 2024).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract_events import at, column_events, dataset, run_event, stored_time
from fastapi.testclient import TestClient

from olgraph import keys
from olgraph.api.app import create_app
from olgraph.config import Settings
from served_app import store_settings

SERVER_CAP = 50
LATER = 60 * 24 * 60  # minutes: 60 days after the first events
AS_OF_LATER = at(LATER + 10)
STORE_KINDS = [
    pytest.param("embedded", id="embedded"),
    pytest.param("neo4j", id="neo4j", marks=pytest.mark.neo4j),
]


def ds(name: str) -> str:
    return keys.dataset_key("shop", name)


def col(dataset_name: str, name: str) -> str:
    return keys.field_key(ds(dataset_name), name)


def job(name: str) -> str:
    return keys.job_key("shop", name)


@pytest.fixture(scope="module", params=STORE_KINDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app on the parametrized store holding the shop (server cap :data:`SERVER_CAP`)."""
    consumer = {"poll_interval_seconds": 0.05, "backoff_initial_seconds": 0.01, "backoff_max_seconds": 0.05}
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("answers")),
        consumer=consumer,
        store=store_settings(str(request.param), request),
        query={"max_nodes": SERVER_CAP, "stale_after_days": 30},
    )
    later = run_event(
        "COMPLETE",
        503,
        LATER,
        ("shop", "mart.revenue"),
        [dataset("shop", "clean.orders")],
        [dataset("shop", "mart.revenue")],
    )
    with TestClient(create_app(settings)) as client:
        for event in [*column_events(), later]:
            response = client.post("/api/v1/lineage", json=event)
            assert response.status_code == 201, response.text
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        client.portal.call(runtime.wait_until_applied, 120)  # type: ignore[union-attr]
        yield client


def ok(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------- maxNodes

ASKS = [
    ("/api/v1/lineage", {"nodeId": ds("clean.orders"), "depth": 5}),
    ("/api/v1/column-lineage", {"nodeId": col("mart.revenue", "total"), "direction": "upstream", "depth": 5}),
    ("/api/v1/impact", {"nodeId": ds("raw.orders")}),
]


def counted(body: dict[str, Any]) -> int:
    return len(body["affected"] if "affected" in body else body["nodes"])


@pytest.mark.parametrize(("path", "params"), ASKS, ids=["lineage", "column-lineage", "impact"])
def test_without_max_nodes_the_answer_runs_under_the_servers_cap(
    api: TestClient, path: str, params: dict[str, Any]
) -> None:
    body = ok(api, path, **params)
    assert (body["maxNodes"], body["serverMaxNodes"]) == (SERVER_CAP, SERVER_CAP)
    assert "nodes" not in body["truncatedBy"]
    assert counted(body) >= 3


def test_a_small_max_nodes_caps_the_lineage_at_exactly_that_many(api: TestClient) -> None:
    full = ok(api, "/api/v1/lineage", nodeId=ds("clean.orders"), depth=5)
    assert len(full["nodes"]) == 5
    capped = ok(api, "/api/v1/lineage", nodeId=ds("clean.orders"), depth=5, maxNodes=2)
    assert "nodes" in capped["truncatedBy"]
    assert capped["truncated"] is True
    assert len(capped["nodes"]) == 2
    assert (capped["maxNodes"], capped["serverMaxNodes"]) == (2, SERVER_CAP)
    assert capped["nodes"][0]["id"] == ds("clean.orders")
    shown = {n["id"] for n in capped["nodes"]}
    assert shown < {n["id"] for n in full["nodes"]}
    assert all(e["source"] in shown and e["target"] in shown for e in capped["edges"])
    exact = ok(api, "/api/v1/lineage", nodeId=ds("clean.orders"), depth=5, maxNodes=5)
    assert "nodes" not in exact["truncatedBy"]
    assert len(exact["nodes"]) == 5


def test_a_small_max_nodes_caps_column_lineage_and_impact(api: TestClient) -> None:
    columns = ok(api, *ASKS[1][:1], **ASKS[1][1], maxNodes=2)
    assert "nodes" in columns["truncatedBy"]
    assert len(columns["nodes"]) == 2
    assert columns["maxNodes"] == 2
    impact = ok(api, "/api/v1/impact", nodeId=ds("raw.orders"), maxNodes=2)
    assert "nodes" in impact["truncatedBy"]
    assert impact["truncated"] is True
    assert impact["maxNodes"] == 2
    whole = ok(api, "/api/v1/impact", nodeId=ds("raw.orders"))
    assert len(impact["affected"]) < len(whole["affected"]) == 4
    csv = api.get("/api/v1/impact", params={"nodeId": ds("raw.orders"), "maxNodes": 2, "format": "csv"})
    assert csv.headers["x-olgraph-truncated"] == "true"


@pytest.mark.parametrize("path", [a[0] for a in ASKS], ids=["lineage", "column-lineage", "impact"])
@pytest.mark.parametrize("value", ["0", "-1", str(SERVER_CAP + 1), "lots"])
def test_max_nodes_outside_one_to_the_servers_cap_is_a_400_naming_it(
    api: TestClient, path: str, value: str
) -> None:
    params = dict(next(p for a, p in ASKS if a == path))
    response = api.get(path, params={**params, "maxNodes": value})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["field"] == "maxNodes"
    if value != "lots":
        assert f"between 1 and {SERVER_CAP} (the server's max_nodes), got {value}" in body["error"]


# ---------------------------------------------------------------- stale


def stale_marks(body: dict[str, Any]) -> dict[str, bool]:
    return {n["id"]: n["stale"] for n in body["nodes"]}


def test_lineage_marks_nodes_not_seen_for_30_days_before_as_of_stale(api: TestClient) -> None:
    body = ok(api, "/api/v1/lineage", nodeId=ds("clean.orders"), depth=5, asOf=AS_OF_LATER)
    assert stale_marks(body) == {
        ds("clean.orders"): False,
        job("etl.clean"): True,
        ds("raw.orders"): True,
        job("mart.revenue"): False,
        ds("mart.revenue"): False,
    }
    stale = next(n for n in body["nodes"] if n["id"] == ds("raw.orders"))
    assert stale["lastSeenAt"] == stored_time(1)  # 60 days before asOf


def test_lineage_just_after_the_first_events_has_nothing_stale(api: TestClient) -> None:
    body = ok(api, "/api/v1/lineage", nodeId=ds("clean.orders"), depth=5, asOf=at(10))
    # mart.revenue's later run is after asOf: seen since, so not stale then either
    assert set(stale_marks(body).values()) == {False}
    assert len(body["nodes"]) == 5


def test_today_every_node_of_2024_is_stale(api: TestClient) -> None:
    body = ok(api, "/api/v1/lineage", nodeId=ds("clean.orders"), depth=5, withColumns="true")
    assert set(stale_marks(body).values()) == {True}
    assert body["columns"]
    assert all(c["stale"] for c in body["columns"])


def test_column_lineage_marks_columns_as_stale_as_their_dataset(api: TestClient) -> None:
    body = ok(api, *ASKS[1][:1], **ASKS[1][1], asOf=AS_OF_LATER)
    assert stale_marks(body) == {
        col("mart.revenue", "total"): False,
        col("clean.orders", "amount"): False,
        col("raw.orders", "amount"): True,
    }
