"""Operational endpoints: health, readiness, stats and a run's raw events."""

from __future__ import annotations

from pathlib import Path

import orjson
from ingest_app_support import (
    JSON,
    isolated_env,
    kafka_down_settings,
    make_settings,
    run_event,
    running_app,
)

from olgraph.log import NewEvent

__all__ = ["isolated_env"]


async def test_health_and_readiness(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (_, client):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "checks": {"store": "ok", "log": "ok"}}


async def test_not_ready_when_the_log_is_unusable(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (app, client):
        await app.state.runtime.log.close()
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["store"] == "ok"
        assert "closed" in body["checks"]["log"]
        assert (await client.get("/healthz")).status_code == 200  # alive, just not ready
        ingest = await client.post("/api/v1/lineage", content=orjson.dumps(run_event()))
        assert ingest.status_code == 503
        assert ingest.headers["retry-after"] == "5"


async def test_not_ready_when_the_store_is_unusable(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (app, client):
        await app.state.runtime.consumer.stop()
        await app.state.runtime.store.close()
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"] == {"store": "embedded store is not open", "log": "ok"}
        ingest = await client.get("/readyz", params={"scope": "ingest"})
        assert (ingest.status_code, ingest.json()["checks"]) == (200, {"log": "ok"})
        query = await client.get("/readyz", params={"scope": "query"})
        assert (query.status_code, query.json()["checks"]) == (503, {"store": "embedded store is not open"})
        unknown = await client.get("/readyz", params={"scope": "everything"})
        assert unknown.status_code == 400
        assert unknown.json()["field"] == "scope"


async def test_stats_reach_applied_equals_accepted(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (app, client):
        for n in range(5):
            assert (
                await client.post("/api/v1/lineage", content=orjson.dumps(run_event(n)))
            ).status_code == 201
        await app.state.runtime.wait_until_applied(timeout=10)
        stats = (await client.get("/api/v1/stats")).json()
        assert stats["accepted"] == stats["applied"] == 5
        assert (stats["failed"], stats["pending"], stats["lastOffset"], stats["appliedOffset"]) == (
            0,
            0,
            5,
            5,
        )
        assert stats["consumer"] == {"running": True, "retries": 0, "lastError": None}


async def test_stats_count_dead_letters(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (app, client):
        runtime = app.state.runtime
        await client.post("/api/v1/lineage", content=orjson.dumps(run_event(1)))
        # A poison event can only come from elsewhere (the API validates): put it in the log directly.
        await runtime.log.append([NewEvent(b'{"broken": ', "c", "run", None, None, "k")])
        runtime.notify_appended()
        await runtime.wait_until_applied(timeout=10)
        stats = (await client.get("/api/v1/stats")).json()
        assert (stats["accepted"], stats["applied"], stats["failed"], stats["pending"]) == (2, 1, 1, 0)
        [letter] = await runtime.log.dead_letters(limit=10)
        assert letter.offset == 2
        assert "invalid JSON" in letter.reason


async def test_raw_events_of_a_run_in_arrival_order(tmp_path: Path) -> None:
    start = run_event(7)
    complete = run_event(7, eventType="COMPLETE", eventTime="2024-05-01T13:00:00Z")
    async with running_app(make_settings(tmp_path)) as (_, client):
        for event in (complete, run_event(8), start, complete):  # the last one is a client retry
            assert (
                await client.post("/api/v1/lineage", content=orjson.dumps(event), headers=JSON)
            ).status_code == 201
        run_id = start["run"]["runId"]
        response = await client.get(f"/api/v1/runs/{run_id.upper()}/events")
        assert response.status_code == 200
        assert response.json() == {"runId": run_id, "total": 2, "next": None, "events": [complete, start]}
        missing = await client.get("/api/v1/runs/00000000-0000-0000-0000-00000000ffff/events")
        assert missing.status_code == 404
        assert missing.json() == {
            "error": "no events for run 00000000-0000-0000-0000-00000000ffff",
            "field": None,
        }


async def test_an_api_replica_starts_without_kafka_but_is_not_ready(tmp_path: Path) -> None:
    settings = kafka_down_settings(tmp_path)
    async with running_app(settings) as (app, client):
        runtime = app.state.runtime
        assert (runtime.log, runtime.consumer) == (None, None)  # no local log, no consumer
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["retry-after"] == "5"
        body = ready.json()
        assert body["status"] == "unavailable"
        assert list(body["checks"]) == ["kafka"]  # an API replica is ready when it can ingest
        assert body["checks"]["kafka"].startswith(
            f"Kafka at {settings.log.kafka.bootstrap_servers} is unreachable"
        )
        queries = await client.get("/readyz", params={"scope": "query"})
        assert (queries.status_code, queries.json()) == (200, {"status": "ready", "checks": {"store": "ok"}})
        both = (await client.get("/readyz", params={"scope": "all"})).json()
        assert both["checks"]["store"] == "ok"
        assert both["checks"]["kafka"] != "ok"
        single = await client.post("/api/v1/lineage", content=orjson.dumps(run_event()), headers=JSON)
        batch = await client.post("/api/v1/lineage/batch", content=orjson.dumps([run_event()]), headers=JSON)
        for refused in (single, batch):
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "5"
            assert "unreachable" in refused.json()["error"]
    assert not (tmp_path / "events.db").exists()


async def test_stats_and_raw_events_exist_only_in_the_embedded_deployment(tmp_path: Path) -> None:
    async with running_app(kafka_down_settings(tmp_path, topic="lineage.in")) as (_, client):
        stats = await client.get("/api/v1/stats")
        events = await client.get("/api/v1/runs/00000000-0000-0000-0000-000000000001/events")
    tail = (
        "is available only in the embedded deployment (olgraph serve); "
        "in the distributed deployment events are on Kafka topic lineage.in"
    )
    assert stats.status_code == events.status_code == 404
    assert stats.json() == {"error": f"GET /api/v1/stats {tail}", "field": None}
    assert events.json() == {"error": f"GET /api/v1/runs/{{runId}}/events {tail}", "field": None}


async def test_raw_events_of_a_run_come_in_pages(tmp_path: Path) -> None:
    """A run with many events answers in pages of ``limit`` (and of ``query.max_page_bytes``)."""
    events = [run_event(7, eventType="RUNNING", eventTime=f"2024-05-01T12:00:{n:02d}Z") for n in range(7)]
    async with running_app(make_settings(tmp_path)) as (_, client):
        batch = await client.post("/api/v1/lineage/batch", content=orjson.dumps(events), headers=JSON)
        assert batch.json()["summary"]["successful"] == 7
        run_id = events[0]["run"]["runId"]
        seen: list[dict[str, object]] = []
        params: dict[str, object] = {"limit": 3}
        pages = 0
        while True:
            page = (await client.get(f"/api/v1/runs/{run_id}/events", params=params)).json()
            assert page["total"] == 7
            assert len(page["events"]) <= 3
            seen.extend(page["events"])
            pages += 1
            if page["next"] is None:
                break
            params = {"limit": 3, "after": page["next"]}
        assert seen == events
        assert pages == 3
        too_many = await client.get(f"/api/v1/runs/{run_id}/events", params={"limit": 100_000})
        assert too_many.status_code == 400
        assert too_many.json()["field"] == "limit"
        bad_cursor = await client.get(f"/api/v1/runs/{run_id}/events", params={"after": "abc"})
        assert bad_cursor.status_code == 400
        assert bad_cursor.json() == {"error": "after: not a cursor this server gave: 'abc'", "field": "after"}
        past_the_end = await client.get(f"/api/v1/runs/{run_id}/events", params={"after": "999"})
        assert past_the_end.json() == {"runId": run_id, "total": 7, "next": None, "events": []}


async def test_a_page_of_raw_events_is_capped_in_bytes(tmp_path: Path) -> None:
    padded = [
        run_event(7, eventType="RUNNING", eventTime=f"2024-05-01T12:00:{n:02d}Z", padding="x" * 4000)
        for n in range(5)
    ]
    settings = make_settings(tmp_path)
    settings.query.max_page_bytes = 10_000
    async with running_app(settings) as (_, client):
        await client.post("/api/v1/lineage/batch", content=orjson.dumps(padded), headers=JSON)
        run_id = padded[0]["run"]["runId"]
        page = (await client.get(f"/api/v1/runs/{run_id}/events")).json()
    assert len(page["events"]) == 2  # two events of ~4.3 KB fit in 10 KB, a third does not
    assert page["next"] is not None
    assert page["total"] == 5
