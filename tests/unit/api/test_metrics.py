"""``GET /metrics`` and the ingest counters: every outcome of an ingest request is counted once."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest
from fastapi import FastAPI
from ingest_app_support import (
    JSON,
    api_keys,
    bearer,
    isolated_env,
    kafka_down_settings,
    make_settings,
    run_event,
    running_app,
)
from prometheus_client.parser import text_string_to_metric_families

from olgraph.metrics import CONTENT_TYPE

__all__ = ["isolated_env"]


def sample(app: FastAPI, name: str, **labels: str) -> float:
    """The current value of one counter sample (0 when never incremented)."""
    value = app.state.runtime.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else float(value)


def accepted(app: FastAPI, endpoint: str) -> float:
    return sample(app, "olgraph_events_accepted_total", endpoint=endpoint)


def rejected(app: FastAPI, reason: str) -> float:
    return sample(app, "olgraph_events_rejected_total", reason=reason)


async def test_metrics_render_in_the_prometheus_text_format_without_a_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth={"api_keys": api_keys()})
    async with running_app(settings) as (_, client):
        ingest = await client.post(
            "/api/v1/lineage", content=orjson.dumps(run_event()), headers=bearer("ingest-key")
        )
        assert ingest.status_code == 201
        response = await client.get("/metrics")  # no Authorization: scrapers carry no API key
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert {"olgraph_events_accepted", "olgraph_events_rejected", "olgraph_consumer_lag"} <= set(families)
    [lineage] = [s for s in families["olgraph_events_accepted"].samples if s.name.endswith("_total")]
    assert (lineage.labels, lineage.value) == ({"endpoint": "lineage"}, 1.0)


async def test_accepted_events_are_counted_per_endpoint_and_event(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (app, client):
        for n in range(2):
            await client.post("/api/v1/lineage", content=orjson.dumps(run_event(n)), headers=JSON)
        batch = [run_event(10), {"eventTime": "2024-05-01T00:00:00Z"}, run_event(11), run_event(12)]
        answer = await client.post("/api/v1/lineage/batch", content=orjson.dumps(batch), headers=JSON)
        assert answer.json()["summary"]["successful"] == 3
        assert (accepted(app, "lineage"), accepted(app, "batch")) == (2, 3)
        assert rejected(app, "invalid") == 1  # the batch element without a job


@pytest.mark.parametrize(
    ("request_args", "status", "reason"),
    [
        ({"content": b"{not json"}, 400, "invalid"),
        ({"content": b'{"eventTime": "2024-05-01T00:00:00Z"}'}, 400, "invalid"),
        ({"content": b"{}", "headers": {"content-type": "text/xml"}}, 415, "unsupported_media_type"),
        ({"content": b"{}", "headers": {"content-encoding": "br"}}, 415, "unsupported_media_type"),
        ({"content": gzip.compress(b" " * 5000), "headers": {"content-encoding": "gzip"}}, 413, "too_large"),
        ({"content": b" " * 2000}, 413, "too_large"),
    ],
)
async def test_refused_requests_are_counted_by_reason(
    tmp_path: Path, request_args: dict[str, object], status: int, reason: str
) -> None:
    limits = {"max_body_bytes": 1000, "max_decompressed_bytes": 1000}
    async with running_app(make_settings(tmp_path, limits=limits)) as (app, client):
        response = await client.post("/api/v1/lineage", **request_args)  # type: ignore[arg-type]
        assert response.status_code == status
        assert rejected(app, reason) == 1
        assert accepted(app, "lineage") == 0
        others = {"invalid", "too_large", "unsupported_media_type", "unauthorized", "unavailable"} - {reason}
        assert all(rejected(app, other) == 0 for other in others)


async def test_authentication_and_role_failures_count_as_unauthorized(tmp_path: Path) -> None:
    body = orjson.dumps(run_event())
    async with running_app(make_settings(tmp_path, auth={"api_keys": api_keys()})) as (app, client):
        assert (await client.post("/api/v1/lineage", content=body)).status_code == 401
        assert (
            await client.post("/api/v1/lineage/batch", content=b"[]", headers=bearer("nope"))
        ).status_code == 401
        assert (
            await client.post("/api/v1/lineage", content=body, headers=bearer("read-key"))
        ).status_code == 403
        assert rejected(app, "unauthorized") == 3
        assert (
            await client.post("/api/v1/lineage", content=body, headers=bearer("ingest-key"))
        ).status_code == 201
        assert rejected(app, "unauthorized") == 3


async def test_an_unavailable_log_counts_as_unavailable(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (app, client):
        await app.state.runtime.log.close()
        response = await client.post("/api/v1/lineage", content=orjson.dumps(run_event()))
        assert response.status_code == 503
        assert rejected(app, "unavailable") == 1
        assert accepted(app, "lineage") == 0


async def test_query_errors_are_not_ingest_rejections(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (app, client):
        bad_query = await client.get("/api/v1/lineage", params={"nodeId": "job:a:b", "depth": "deep"})
        assert bad_query.status_code == 400
        missing = await client.get("/api/v1/runs/00000000-0000-0000-0000-000000000001/events")
        assert missing.status_code == 404
        text = (await client.get("/metrics")).text
        assert "olgraph_events_rejected_total{" not in text  # no reason label was ever used
        assert rejected(app, "invalid") == 0


async def test_each_app_counts_in_its_own_registry(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path / "a")) as (first, first_client):
        await first_client.post("/api/v1/lineage", content=orjson.dumps(run_event()))
        async with running_app(make_settings(tmp_path / "b")) as (second, _):
            assert (accepted(first, "lineage"), accepted(second, "lineage")) == (1, 0)


async def test_an_api_replica_counts_kafka_outages_as_unavailable(tmp_path: Path) -> None:
    async with running_app(kafka_down_settings(tmp_path)) as (app, client):
        for _ in range(2):
            response = await client.post("/api/v1/lineage", content=orjson.dumps(run_event()), headers=JSON)
            assert response.status_code == 503
        assert (rejected(app, "unavailable"), accepted(app, "lineage")) == (2, 0)
        text = (await client.get("/metrics")).text
    assert 'olgraph_events_rejected_total{reason="unavailable"} 2.0' in text


async def test_the_embedded_consumer_reports_into_the_same_registry(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (app, client):
        for n in range(3):
            await client.post("/api/v1/lineage", content=orjson.dumps(run_event(n)), headers=JSON)
        await app.state.runtime.wait_until_applied(timeout=10)
        assert sample(app, "olgraph_events_applied_total") == 3
        assert sample(app, "olgraph_store_batch_events_count") >= 1
        assert "olgraph_events_applied_total 3.0" in (await client.get("/metrics")).text


async def test_http_request_latency_is_a_histogram_by_method_route_template_and_status(
    tmp_path: Path,
) -> None:
    """What a Prometheus user sees: one series per route *template*, never per raw path."""
    async with running_app(make_settings(tmp_path)) as (_, client):
        for n in range(2):
            answer = await client.post("/api/v1/lineage", content=orjson.dumps(run_event(n)), headers=JSON)
            assert answer.status_code == 201
        for run_id in ("0190b7c5-0000-7000-8000-000000000001", "0190b7c5-0000-7000-8000-000000000002"):
            assert (await client.get(f"/api/v1/runs/{run_id}")).status_code == 404
        # (outside /api/ an unknown GET is one of the explorer's pages)
        assert (await client.get("/api/v1/no/such/path")).status_code == 404
        assert (await client.request("BREW", "/healthz")).status_code == 405
        response = await client.get("/metrics")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    histogram = families["olgraph_http_request_duration_seconds"]
    assert histogram.type == "histogram"
    counts = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in histogram.samples
        if s.name.endswith("_count")
    }
    run_routes = {key: value for key, value in counts.items() if key[1].startswith("/api/v1/runs/")}
    assert counts[("POST", "/api/v1/lineage", "201")] == 2
    assert list(run_routes) == [("GET", "/api/v1/runs/{runId}", "404")], counts
    assert run_routes[("GET", "/api/v1/runs/{runId}", "404")] == 2
    assert counts[("GET", "unmatched", "404")] == 1
    assert counts[("OTHER", "/healthz", "405")] == 1
    buckets = [s for s in histogram.samples if s.name.endswith("_bucket") and s.labels["status"] == "201"]
    assert [s.labels["le"] for s in buckets][-1] == "+Inf"
    assert buckets[-1].value == 2
