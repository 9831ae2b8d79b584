"""The health endpoint of ``olgraph consume``: liveness, readiness naming what failed, metrics."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from olgraph.consume.health import HealthServer, Probe, create_health_app, run_probes
from olgraph.errors import EventLogUnavailable, ServiceError, StoreUnavailable
from olgraph.metrics import Metrics


async def fine() -> None:
    return None


async def store_down() -> None:
    raise StoreUnavailable("Neo4j at bolt://db:7687 is unreachable")


async def hanging() -> None:
    await asyncio.sleep(60)


def client(probes: dict[str, Probe], metrics: Metrics | None = None) -> httpx.AsyncClient:
    app = create_health_app(probes, metrics or Metrics(), probe_timeout=0.2)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://health")


async def test_healthz_is_always_ok() -> None:
    async with client({"store": store_down}) as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ok_when_every_probe_passes() -> None:
    async with client({"store": fine, "kafka": fine}) as http:
        response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"store": "ok", "kafka": "ok"}}


async def test_readyz_names_what_failed() -> None:
    async def not_in_group() -> None:
        raise EventLogUnavailable("not yet a member of consumer group g")

    async with client({"store": store_down, "kafka": fine, "consumer": not_in_group}) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {
        "status": "unavailable",
        "checks": {
            "store": "Neo4j at bolt://db:7687 is unreachable",
            "kafka": "ok",
            "consumer": "not yet a member of consumer group g",
        },
    }


async def test_a_probe_that_hangs_fails_in_bounded_time() -> None:
    checks = await asyncio.wait_for(run_probes({"kafka": hanging, "store": fine}, timeout=0.1), 5)
    assert checks == {"kafka": "no answer within 0.1s", "store": "ok"}


async def test_metrics_are_the_processes_own() -> None:
    metrics = Metrics()
    metrics.dead_letters.labels(stage="decode").inc(3)
    async with client({}, metrics) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'olgraph_dead_letters_total{stage="decode"} 3.0' in response.text


async def test_server_binds_a_free_port_and_stops() -> None:
    server = HealthServer(create_health_app({"store": fine}, Metrics()), "127.0.0.1", 0)
    port = await server.start()
    try:
        assert port > 0
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{port}/readyz")
        assert response.json()["status"] == "ready"
    finally:
        await server.stop()
    with socket.socket() as sock:  # the port is free again
        sock.bind(("127.0.0.1", port))


async def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = HealthServer(create_health_app({}, Metrics()), "127.0.0.1", port)
        with pytest.raises(ServiceError, match=f"127.0.0.1:{port}"):
            await server.start()
