"""Restarts: accepted events survive, pending ones are applied later, re-applying changes nothing."""

from __future__ import annotations

from pathlib import Path

import orjson
from ingest_it_support import (
    CORPUS_FILES,
    INVALID,
    assert_event_is_in_store,
    corpus_name,
    isolated_env,
    make_settings,
    running_app,
)

from olgraph.runtime import build_runtime

__all__ = ["isolated_env"]

VALID = [p for p in CORPUS_FILES if corpus_name(p) not in INVALID]


async def test_events_accepted_before_a_crash_are_applied_after_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    # An API process whose consumer never ran (as if it died right after the 201s).
    async with running_app(settings, runtime=build_runtime(settings, with_consumer=False)) as (_, client):
        for path in VALID:
            assert (await client.post("/api/v1/lineage", content=path.read_bytes())).status_code == 201
        pending = (await client.get("/api/v1/stats")).json()
        assert pending["pending"] == pending["accepted"] == len(VALID)

    async with running_app(settings) as (app, client):
        await app.state.runtime.wait_until_applied(timeout=60)
        stats = (await client.get("/api/v1/stats")).json()
        assert stats["applied"] == stats["accepted"] == len(VALID)
        assert stats["pending"] == 0
        for path in VALID:
            await assert_event_is_in_store(app.state.runtime.store, orjson.loads(path.read_bytes()))


async def test_redelivery_after_restart_leaves_the_graph_unchanged(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with running_app(settings) as (app, client):
        for path in VALID:
            assert (await client.post("/api/v1/lineage", content=path.read_bytes())).status_code == 201
        await app.state.runtime.wait_until_applied(timeout=60)
        before = await app.state.runtime.store.dump()
        assert before.nodes

    async with running_app(settings) as (app, client):
        runtime = app.state.runtime
        assert await runtime.store.dump() == before  # the graph file survived the restart
        stats = (await client.get("/api/v1/stats")).json()
        assert stats["applied"] == stats["accepted"] == len(VALID)  # progress survived too
        await runtime.log.commit(runtime.consumer_name, 0)  # lose the offset: everything is redelivered
        runtime.notify_appended()
        await runtime.wait_until_applied(timeout=60)
        assert await runtime.store.dump() == before
