"""Ingest under hostile bodies and with secrets: 4xx naming the limit, nothing secret logged or stored."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from ingest_app_support import JSON, isolated_env, make_settings, run_event, running_app

__all__ = ["isolated_env"]


@pytest.fixture
async def app_client(tmp_path: Path) -> AsyncIterator[Any]:
    limits = {"max_event_values": 5000, "max_container_items": 500, "max_string_chars": 10_000}
    async with running_app(make_settings(tmp_path, limits=limits)) as pair:
        yield pair


def _wide(fields: int) -> dict[str, Any]:
    schema = {"fields": [{"name": f"c{i}", "type": "int"} for i in range(fields)]}
    return run_event(1, outputs=[{"namespace": "ns", "name": "wide", "facets": {"schema": schema}}])


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/api/v1/lineage", b"[" + b"[]," * 300_000 + b"[]]", 413, "limits.max_event_values"),
        ("/api/v1/lineage/batch", b"[" + b"[]," * 3_000_000 + b"[]]", 413, "limits.max_body_values"),
        ("/api/v1/lineage", orjson.dumps(_wide(501)), 413, "limits.max_container_items"),
        (
            "/api/v1/lineage",
            orjson.dumps(run_event(1, producer="x" * 10_001)),
            413,
            "limits.max_string_chars",
        ),
        ("/api/v1/lineage", b"[" * 100 + b"]" * 100, 400, "JSON nested deeper than 64 levels"),
    ],
    ids=["empty-arrays", "empty-arrays-batch", "wide-schema", "long-string", "deep"],
)
async def test_hostile_bodies_get_a_4xx_naming_the_limit(
    app_client: Any, path: str, body: bytes, status: int, message: str
) -> None:
    app, client = app_client
    response = await client.post(path, content=body, headers=JSON)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert await app.state.runtime.log.read(after=0, limit=10) == []


async def test_a_wide_schema_in_a_batch_fails_alone(app_client: Any) -> None:
    _, client = app_client
    batch = [run_event(1), _wide(501), run_event(2)]
    response = await client.post("/api/v1/lineage/batch", content=orjson.dumps(batch), headers=JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["summary"]["successful"] == 2
    [failed] = body["failed_events"]
    assert failed["index"] == 1
    assert failed["retriable"] is False
    assert "outputs[0].facets.schema.fields: 501 items" in failed["reason"]


async def test_a_gzip_bomb_names_the_decompressed_limit(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, limits={"max_decompressed_bytes": 1_000_000})
    async with running_app(settings) as (_, client):
        bomb = gzip.compress(b" " * 5_000_000)
        headers = {**JSON, "content-encoding": "gzip"}
        response = await client.post("/api/v1/lineage", content=bomb, headers=headers)
    assert response.status_code == 413
    assert "limits.max_decompressed_bytes" in response.json()["error"]


def _secret_event() -> dict[str, Any]:
    variables = [{"name": "DB_PASSWORD", "value": "hunter2-secret"}, {"name": "HOME", "value": "/home/etl"}]
    return run_event(
        1,
        run={
            "runId": "0176a8c2-fe01-7439-87e6-56a1a1b4029f",
            "facets": {"environment-variables": {"environmentVariables": variables}},
        },
        inputs=[{"namespace": "postgres://etl:hunter2-secret@db:5432", "name": "public.orders"}],
    )


async def test_secrets_never_reach_the_log_the_graph_or_the_raw_events(app_client: Any) -> None:
    app, client = app_client
    single = await client.post("/api/v1/lineage", content=orjson.dumps(_secret_event()), headers=JSON)
    batch = await client.post("/api/v1/lineage/batch", content=orjson.dumps([_secret_event()]), headers=JSON)
    assert (single.status_code, batch.status_code) == (201, 200)
    runtime = app.state.runtime
    await runtime.wait_until_applied(timeout=30)
    logged = b"".join(event.raw for event in await runtime.log.read(after=0, limit=10))
    graph = repr(await runtime.store.dump()).encode()
    raw_events = (await client.get("/api/v1/runs/0176a8c2-fe01-7439-87e6-56a1a1b4029f/events")).content
    for stored in (logged, graph, raw_events):
        assert b"hunter2-secret" not in stored
    assert b"postgres://etl:***@db:5432" in logged
    assert b"/home/etl" in logged
    assert b"postgres://etl:***@db:5432" in graph


async def test_redaction_can_be_switched_off(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, redaction={"enabled": False})
    async with running_app(settings) as (app, client):
        response = await client.post("/api/v1/lineage", content=orjson.dumps(_secret_event()), headers=JSON)
        assert response.status_code == 201
        [logged] = await app.state.runtime.log.read(after=0, limit=10)
    assert b"hunter2-secret" in logged.raw
