"""The app factory: security guard, lifespan, OpenAPI metadata, the one error table."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from ingest_app_support import isolated_env, make_settings, run_event, running_app

from olgraph import __version__
from olgraph.api.app import create_app
from olgraph.api.errors import STATUS_BY_ERROR, status_for
from olgraph.errors import (
    AuthenticationRequired,
    EventLogUnavailable,
    InsecureSettings,
    InvalidEvent,
    InvalidQuery,
    NotFound,
    OlgraphError,
    PayloadTooLarge,
    PermissionDenied,
    ServiceError,
    StoreError,
    StoreUnavailable,
    UnsupportedMediaType,
)
from olgraph.errors import StoreUnavailable as Unavailable
from olgraph.runtime import build_runtime

__all__ = ["isolated_env"]


def test_refuses_an_unauthenticated_non_loopback_host(tmp_path: Path) -> None:
    with pytest.raises(InsecureSettings):
        create_app(make_settings(tmp_path, server={"host": "0.0.0.0"}))
    create_app(make_settings(tmp_path, server={"host": "0.0.0.0"}, auth={"allow_anonymous": True}))


async def test_openapi_metadata(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (_, client):
        spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "olgraph"
    assert spec["info"]["version"] == __version__
    assert {tag["name"] for tag in spec["tags"]} >= {"ingest", "query", "operations"}
    for path in ("/api/v1/lineage", "/api/v1/lineage/batch", "/api/v1/stats", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    post = spec["paths"]["/api/v1/lineage"]["post"]
    assert "201" in post["responses"]
    assert "413" in post["responses"]
    assert "503" in post["responses"]
    assert "application/json" in post["requestBody"]["content"]


async def test_lifespan_opens_and_closes_everything(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        await runtime.store.ping()
        await runtime.log.check_writable()
        assert runtime.consumer is not None
        assert runtime.consumer.running
    assert not hasattr(app.state, "runtime")
    assert not runtime.consumer.running
    with pytest.raises(Unavailable):
        await runtime.store.ping()
    with pytest.raises(EventLogUnavailable):
        await runtime.log.check_writable()
    assert (tmp_path / "graph.db").exists()
    assert (tmp_path / "events.db").exists()


async def test_api_only_runtime_logs_without_applying(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with running_app(settings, runtime=build_runtime(settings, with_consumer=False)) as (_, client):
        assert (await client.post("/api/v1/lineage", content=orjson.dumps(run_event()))).status_code == 201
        stats = (await client.get("/api/v1/stats")).json()
        assert (stats["accepted"], stats["pending"], stats["consumer"]) == (1, 1, None)


async def test_request_validation_errors_are_400_naming_the_parameter(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (_, client):
        response = await client.get("/api/v1/lineage", params={"nodeId": "job:a:b", "depth": "deep"})
    assert response.status_code == 400
    assert response.json()["field"] == "depth"
    assert response.json()["error"].startswith("depth:")


async def test_unknown_route_and_method_keep_the_error_shape(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (_, client):
        missing = await client.get("/api/v1/nope")  # (a GET of /nope is a page of the explorer)
        assert missing.status_code == 404
        assert missing.json() == {"error": "Not Found", "field": None}
        posted = await client.post("/nope")
        assert posted.status_code == 404
        assert posted.json() == {"error": "Not Found", "field": None}
        wrong = await client.get("/api/v1/lineage/batch")
        assert wrong.status_code == 405
        assert wrong.json()["field"] is None


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidEvent("bad", field="run.runId"), 400),
        (InvalidQuery("bad"), 400),
        (AuthenticationRequired("who?"), 401),
        (PermissionDenied("no"), 403),
        (NotFound("gone"), 404),
        (PayloadTooLarge("big"), 413),
        (UnsupportedMediaType("xml"), 415),
        (StoreUnavailable("down"), 503),
        (EventLogUnavailable("full"), 503),
        (StoreError("broken"), 500),
        (ServiceError("launcher"), 500),
    ],
)
def test_error_table(error: OlgraphError, status: int) -> None:
    assert status_for(error) == status


def test_subclasses_take_their_ancestors_status() -> None:
    class DiskFull(EventLogUnavailable):
        pass

    assert DiskFull not in STATUS_BY_ERROR
    assert status_for(DiskFull("full")) == 503


async def test_cypher_on_the_embedded_store_is_a_clear_501(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (_, client):
        response = await client.post("/api/v1/cypher", json={"query": "MATCH (n) RETURN n"})
    assert response.status_code == 501
    assert response.json() == {
        "error": "Cypher needs the Neo4j store (store.kind=neo4j); this server uses the embedded store",
        "field": None,
    }
