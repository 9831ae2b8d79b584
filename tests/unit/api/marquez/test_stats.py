"""Marquez Web's dashboard counts (``/api/v1/stats/…``), on both stores, from events timed
relative to now (so they fall inside the last day and week whenever the test runs)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from marquez_app_support import STORES, feed, make_settings

from olgraph.api.marquez.app import create_marquez_app
from served_app import store_settings

NOW = datetime.now(UTC)
LOAD_START = NOW - timedelta(hours=3)
REPORT_FAIL = NOW - timedelta(days=2)
OLD = NOW - timedelta(days=10)
RUNS = {name: f"0190a0a0-0000-7000-8000-00000000000{n}" for n, name in enumerate(("a", "b", "c", "d"))}


def _event(
    kind: str, at: datetime, run: str, job: str, inputs: list[str], outputs: list[str]
) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": at.isoformat().replace("+00:00", "Z"),
        "run": {"runId": RUNS[run]},
        "job": {"namespace": "stats", "name": job},
        "inputs": [{"namespace": "stats", "name": n} for n in inputs],
        "outputs": [{"namespace": "stats", "name": n} for n in outputs],
        "producer": "https://example.com/stats-test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


EVENTS = [
    _event("COMPLETE", OLD, "d", "old", [], ["old"]),
    _event("FAIL", REPORT_FAIL, "c", "report", ["raw"], ["report"]),
    _event("START", LOAD_START, "a", "load", [], ["raw"]),
    _event("COMPLETE", NOW - timedelta(hours=2), "a", "load", [], ["raw"]),
    _event("ABORT", LOAD_START, "b", "load", [], ["raw"]),
]


@pytest.fixture(scope="module", params=STORES)
def dashboard(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The Marquez-compatible app holding :data:`EVENTS`, on the parametrized store."""
    settings = make_settings(tmp_path_factory.mktemp("stats"), store_settings(request.param, request))
    with TestClient(create_marquez_app(settings)) as client:
        feed(client, EVENTS)
        yield client


def ok(client: TestClient, path: str, **params: str) -> list[dict[str, Any]]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _containing(buckets: list[dict[str, Any]], at: datetime) -> dict[str, Any]:
    [found] = [b for b in buckets if _at(b["startInterval"]) <= at < _at(b["endInterval"])]
    return found


def test_lineage_events_per_hour_of_the_last_day(dashboard: TestClient) -> None:
    hours = ok(dashboard, "/api/v1/stats/lineage-events", period="DAY", timezone="UTC")
    assert len(hours) == 24
    assert all(_at(b["endInterval"]) - _at(b["startInterval"]) == timedelta(hours=1) for b in hours)
    assert set(hours[0]) == {"startInterval", "endInterval", "start", "complete", "fail", "abort"}
    totals = {kind: sum(b[kind] for b in hours) for kind in ("start", "complete", "fail", "abort")}
    assert totals == {"start": 1, "complete": 1, "fail": 0, "abort": 1}
    bucket = _containing(hours, LOAD_START)
    assert (bucket["start"], bucket["abort"], bucket["complete"]) == (1, 1, 0)
    assert hours[0]["startInterval"].endswith(":00:00Z")


def test_lineage_events_per_local_day_of_the_last_week(dashboard: TestClient) -> None:
    days = ok(dashboard, "/api/v1/stats/lineage-events", period="WEEK", timezone="Asia/Kolkata")
    assert len(days) == 7
    assert all(b["startInterval"].endswith("T18:30:00Z") for b in days)  # local midnight, UTC+5:30
    totals = {kind: sum(b[kind] for b in days) for kind in ("start", "complete", "fail", "abort")}
    assert totals == {"start": 1, "complete": 1, "fail": 1, "abort": 1}  # the 10-day-old one is out
    assert _containing(days, REPORT_FAIL)["fail"] == 1


def test_jobs_datasets_and_sources_counted_as_they_grew(dashboard: TestClient) -> None:
    jobs = ok(dashboard, "/api/v1/stats/jobs", period="DAY")
    assert set(jobs[0]) == {"startInterval", "endInterval", "count"}
    assert _containing(jobs, LOAD_START)["count"] == 3
    assert jobs[0]["count"] == 2  # old and report existed before the last day
    assert ok(dashboard, "/api/v1/stats/datasets", period="DAY")[0]["count"] == 3
    week = ok(dashboard, "/api/v1/stats/datasets", period="WEEK", timezone="UTC")
    assert (week[0]["count"], _containing(week, REPORT_FAIL)["count"], week[-1]["count"]) == (1, 3, 3)
    job_week = ok(dashboard, "/api/v1/stats/jobs", period="WEEK", timezone="UTC")
    assert (job_week[0]["count"], job_week[-1]["count"]) == (1, 3)
    assert [b["count"] for b in ok(dashboard, "/api/v1/stats/sources", period="WEEK")] == [1] * 7


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("lineage-events", {}, "Invalid period"),
        ("jobs", {"period": "MONTH"}, "Invalid period"),
        ("lineage-events", {"period": "WEEK"}, "Timezone must be specified for period 'WEEK'"),
        ("datasets", {"period": "WEEK", "timezone": "Mars/Olympus"}, "query param timezone"),
    ],
)
def test_bad_periods_and_time_zones_are_400_naming_them(
    dashboard: TestClient, path: str, params: dict[str, str], message: str
) -> None:
    response = dashboard.get(f"/api/v1/stats/{path}", params=params)
    assert response.status_code == 400
    assert message in response.json()["message"]
