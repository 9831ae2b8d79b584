"""The whole pipeline against a real Neo4j: corpus over HTTP → log → consumer → Neo4j."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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

__all__ = ["isolated_env"]

pytestmark = pytest.mark.neo4j


def _neo4j_settings(uri: str) -> dict[str, Any]:
    neo4j: dict[str, Any] = {"uri": uri}
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    if user and password:
        neo4j |= {"user": user, "password": password}
    return {"kind": "neo4j", "neo4j": neo4j}


async def test_corpus_reaches_neo4j(tmp_path: Path, neo4j_uri: str, clean_neo4j: None) -> None:
    settings = make_settings(tmp_path, store=_neo4j_settings(neo4j_uri))
    accepted = []
    async with running_app(settings) as (app, client):
        assert (await client.get("/readyz")).status_code == 200
        for path in CORPUS_FILES:
            response = await client.post("/api/v1/lineage", content=path.read_bytes())
            expected = 400 if corpus_name(path) in INVALID else 201
            assert response.status_code == expected, (corpus_name(path), response.text)
            if expected == 201:
                accepted.append(orjson.loads(path.read_bytes()))
        runtime = app.state.runtime
        await runtime.wait_until_applied(timeout=120)
        stats = (await client.get("/api/v1/stats")).json()
        assert stats["applied"] == stats["accepted"] == len(accepted)
        for event in accepted:
            await assert_event_is_in_store(runtime.store, event)
