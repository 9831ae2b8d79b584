"""Admin routes in the embedded deployment: dead letters listed, shown and replayed (role admin).

The store refuses one job's events (a constraint it cannot meet, say) through
tests/faulty_store.py around the real embedded store; the operator fixes the cause and replays
the dead letter, which the consumer then applies. The Kafka deployment's routes are tested
against a real broker in tests/integration/kafka/test_dead_letters_kafka.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from ingest_app_support import JSON, api_keys, bearer, isolated_env, make_settings, run_event, running_app

from faulty_store import FaultyStore, touching
from olgraph.consume.consumer import Consumer
from olgraph.errors import StoreError
from olgraph.log import LocalEventLog
from olgraph.log.base import event_from_raw
from olgraph.runtime import Runtime
from olgraph.store.embedded import EmbeddedStore

__all__ = ["isolated_env"]

ADMIN = bearer("admin-key")


@pytest.fixture
async def refusing(tmp_path: Path) -> AsyncIterator[tuple[Runtime, FaultyStore, httpx.AsyncClient]]:
    """The app over a store that refuses ``job:ns:poison``, with API keys; three events sent."""
    settings = make_settings(tmp_path, auth={"api_keys": api_keys()})
    store = FaultyStore(
        EmbeddedStore(tmp_path / "graph.db"), touching("job:ns:poison", StoreError("constraint"))
    )
    log = LocalEventLog(tmp_path / "events.db")
    consumer = Consumer(log, store, settings.consumer)  # type: ignore[arg-type]
    runtime = Runtime(settings=settings, store=store, sink=log, log=log, consumer=consumer)  # type: ignore[arg-type]
    async with running_app(settings, runtime) as (_, client):
        for n, job in ((1, "job"), (2, "poison"), (3, "job")):
            body = orjson.dumps(run_event(n, job))
            response = await client.post("/api/v1/lineage", content=body, headers=JSON | bearer("ingest-key"))
            assert response.status_code == 201
        await runtime.wait_until_applied(timeout=30)
        yield runtime, store, client


async def test_dead_letters_are_listed_with_why_and_what(refusing: Any) -> None:
    _, _, client = refusing
    page = (await client.get("/api/v1/dead-letters", headers=ADMIN)).json()
    assert page == {
        "items": [
            {
                "id": "2",
                "source": "offset 2",
                "stage": "store",
                "reason": "store rejected the event: constraint",
                "at": page["items"][0]["at"],
                "eventType": "START",
                "eventTime": "2024-05-01T12:00:00Z",
                "job": "ns:poison",
                "runId": run_event(2)["run"]["runId"],
                "size": len(orjson.dumps(run_event(2, "poison"))),
                "replayedAt": None,
                "replayedTo": None,
            }
        ],
        "total": 1,
        "pending": 1,
        "next": None,
    }
    assert page["items"][0]["at"].endswith("Z")
    one = (await client.get("/api/v1/dead-letters/2", headers=ADMIN)).json()
    assert one["event"] == run_event(2, "poison")
    assert one["raw"] is None
    missing = await client.get("/api/v1/dead-letters/99", headers=ADMIN)
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": "deadLetterId: no dead letter '99'", "field": "deadLetterId"},
    )
    superscript = await client.get("/api/v1/dead-letters/%C2%B2", headers=ADMIN)  # '²': isdigit, not int
    assert (superscript.status_code, superscript.json()) == (
        404,
        {"error": "deadLetterId: no dead letter '²'", "field": "deadLetterId"},
    )


@pytest.mark.parametrize(
    ("key", "status"), [(None, 401), ("read-key", 403), ("ingest-key", 403), ("analyst-key", 403)]
)
async def test_only_admin_keys_may_see_or_replay_dead_letters(
    refusing: Any, key: str | None, status: int
) -> None:
    _, _, client = refusing
    headers = bearer(key) if key else {}
    assert (await client.get("/api/v1/dead-letters", headers=headers)).status_code == status
    assert (await client.get("/api/v1/dead-letters/2", headers=headers)).status_code == status
    replay = await client.post("/api/v1/dead-letters/replay", json={"ids": ["2"]}, headers=headers)
    assert replay.status_code == status


async def test_a_replayed_dead_letter_is_applied_once_the_cause_is_fixed(refusing: Any) -> None:
    runtime, store, client = refusing
    run_id = run_event(2)["run"]["runId"]
    assert (await client.get(f"/api/v1/runs/{run_id}", headers=bearer("read-key"))).status_code == 404

    store.failing = False  # the operator fixed what made the store refuse the event
    replay = await client.post("/api/v1/dead-letters/replay", json={"ids": ["2"]}, headers=ADMIN)
    assert replay.json() == {
        "replayed": 1,
        "skipped": 0,
        "notFound": 0,
        "outcomes": [{"id": "2", "status": "replayed", "replayedTo": "offset 4", "detail": None}],
    }
    await runtime.wait_until_applied(timeout=30)
    run = await client.get(f"/api/v1/runs/{run_id}", headers=bearer("read-key"))
    assert run.status_code == 200
    assert run.json()["job"] == "job:ns:poison"
    stats = (await client.get("/api/v1/stats", headers=bearer("read-key"))).json()
    assert (stats["accepted"], stats["applied"], stats["failed"], stats["pending"]) == (4, 3, 1, 0)

    letter = (await client.get("/api/v1/dead-letters/2", headers=ADMIN)).json()
    assert letter["replayedTo"] == "offset 4"
    assert letter["replayedAt"].endswith("Z")
    pending = (await client.get("/api/v1/dead-letters", params={"pending": "true"}, headers=ADMIN)).json()
    assert (pending["items"], pending["total"], pending["pending"]) == ([], 1, 0)


async def test_a_dead_letter_is_replayed_once_unless_forced(refusing: Any) -> None:
    _, store, client = refusing
    store.failing = False
    await client.post("/api/v1/dead-letters/replay", json={"ids": ["2"]}, headers=ADMIN)

    again = (await client.post("/api/v1/dead-letters/replay", json={"ids": ["2"]}, headers=ADMIN)).json()
    everything = (await client.post("/api/v1/dead-letters/replay", json={"all": True}, headers=ADMIN)).json()
    forced = await client.post(
        "/api/v1/dead-letters/replay", json={"ids": ["2"], "force": True}, headers=ADMIN
    )
    unknown = (
        await client.post("/api/v1/dead-letters/replay", json={"ids": ["99", "x"]}, headers=ADMIN)
    ).json()

    [skipped] = again["outcomes"]
    assert (skipped["status"], skipped["replayedTo"]) == ("skipped", "offset 4")
    assert skipped["detail"].startswith("already replayed at ")
    assert everything == {"replayed": 0, "skipped": 0, "notFound": 0, "outcomes": []}
    assert forced.json()["outcomes"][0]["replayedTo"] == "offset 5"
    assert [(o["id"], o["status"]) for o in unknown["outcomes"]] == [("x", "not_found"), ("99", "not_found")]
    assert unknown["notFound"] == 2


@pytest.mark.parametrize("body", [{}, {"ids": ["2"], "all": True}, {"ids": "2"}])
async def test_a_replay_request_names_ids_or_all(refusing: Any, body: dict[str, Any]) -> None:
    _, _, client = refusing
    response = await client.post("/api/v1/dead-letters/replay", json=body, headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["field"] == "ids"


async def test_listing_pages_and_bounds(refusing: Any) -> None:
    runtime, _, client = refusing
    # Events only the Kafka transport could bring (ingest refuses them): put in the log directly.
    await runtime.log.append([event_from_raw(b"{not json"), event_from_raw(b"[1]")])
    runtime.notify_appended()
    await runtime.wait_until_applied(timeout=30)
    first = (await client.get("/api/v1/dead-letters", params={"limit": 2}, headers=ADMIN)).json()
    second = (await client.get("/api/v1/dead-letters", params={"after": first["next"]}, headers=ADMIN)).json()
    assert [i["id"] for i in first["items"]] == ["2", "4"]
    assert first["next"] == "4"
    assert [i["id"] for i in second["items"]] == ["5"]
    assert second["next"] is None
    unreadable = (await client.get("/api/v1/dead-letters/4", headers=ADMIN)).json()
    assert (unreadable["event"], unreadable["raw"], unreadable["stage"]) == (None, "{not json", "decode")
    assert unreadable["eventType"] is None
    too_big = await client.get("/api/v1/dead-letters", params={"limit": 5000}, headers=ADMIN)
    assert (too_big.status_code, too_big.json()["field"]) == (400, "limit")
