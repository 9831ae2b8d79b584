"""Every corpus event through the HTTP API into the embedded store: 201 and queryable, or 400 naming why."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest
from ingest_it_support import (
    CORPUS_FILES,
    INVALID,
    assert_event_is_in_store,
    corpus_name,
    isolated_env,
    make_settings,
    running_app,
)

from olgraph.ingest.redact import Redactor

__all__ = ["isolated_env"]


def test_the_corpus_is_there() -> None:
    names = {corpus_name(p) for p in CORPUS_FILES}
    assert len(names) >= 40
    assert names >= INVALID


async def test_every_corpus_event_is_accepted_and_applied_or_rejected_with_a_reason(tmp_path: Path) -> None:
    accepted: list[dict[str, object]] = []
    async with running_app(make_settings(tmp_path)) as (app, client):
        for path in CORPUS_FILES:
            name = corpus_name(path)
            response = await client.post(
                "/api/v1/lineage", content=path.read_bytes(), headers={"content-type": "application/json"}
            )
            if name in INVALID:
                assert response.status_code == 400, (name, response.text)
                body = response.json()
                assert body["error"], name
                if name.startswith("proxy-events/"):  # invalid facets / missing runId: the field is named
                    assert body["field"], (name, body)
                    assert body["field"] in body["error"]
                else:
                    assert "invalid JSON" in body["error"]
            else:
                assert response.status_code == 201, (name, response.text)
                accepted.append(orjson.loads(path.read_bytes()))
        runtime = app.state.runtime
        await runtime.wait_until_applied(timeout=60)
        stats = (await client.get("/api/v1/stats")).json()
        assert stats["accepted"] == stats["applied"] == len(accepted)
        assert stats["failed"] == 0
        assert stats["pending"] == 0
        for event in accepted:
            await assert_event_is_in_store(runtime.store, event)


async def test_the_corpus_as_one_gzipped_batch(tmp_path: Path) -> None:
    events = []
    invalid_indexes = set()
    for path in CORPUS_FILES:
        if corpus_name(path) == "datahub-events/flink_job_test.json":
            continue  # not JSON: cannot be an element of a JSON array
        if corpus_name(path) in INVALID:
            invalid_indexes.add(len(events))
        events.append(orjson.loads(path.read_bytes()))
    body = gzip.compress(orjson.dumps(events))
    async with running_app(make_settings(tmp_path)) as (app, client):
        response = await client.post(
            "/api/v1/lineage/batch",
            content=body,
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
        assert response.status_code == 200
        result = response.json()
        assert result["status"] == "partial_success"
        assert result["summary"]["received"] == len(events)
        assert result["summary"]["successful"] == len(events) - len(invalid_indexes)
        assert {f["index"] for f in result["failed_events"]} == invalid_indexes
        runtime = app.state.runtime
        await runtime.wait_until_applied(timeout=60)
        for index, event in enumerate(events):
            if index not in invalid_indexes:
                await assert_event_is_in_store(runtime.store, event)


def _is_valid_run_event(path: Path) -> bool:
    if corpus_name(path) in INVALID:
        return False
    data = orjson.loads(path.read_bytes())
    return "run" in data and "job" in data


@pytest.mark.parametrize("path", [p for p in CORPUS_FILES if _is_valid_run_event(p)], ids=corpus_name)
async def test_raw_events_of_each_corpus_run_come_back_unchanged(tmp_path: Path, path: Path) -> None:
    data = orjson.loads(path.read_bytes())
    async with running_app(make_settings(tmp_path)) as (_, client):
        assert (await client.post("/api/v1/lineage", content=path.read_bytes())).status_code == 201
        run_id = data["run"]["runId"]
        response = await client.get(f"/api/v1/runs/{run_id}/events")
        assert response.status_code == 200
        # unchanged but for secrets (one corpus event has a database password in its config)
        assert response.json()["events"] == [Redactor.default().redact(data)[0]]
        assert b"database.password=postgres" not in response.content
