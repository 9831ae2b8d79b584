"""A real uvicorn server on 127.0.0.1 and the official openlineage-python HTTP transport."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from ingest_it_support import isolated_env, make_settings
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)

from olgraph.api.app import create_app
from olgraph.api.auth import hash_api_key
from olgraph.runtime import Runtime

__all__ = ["isolated_env"]

INGEST_KEY = "ol-client-secret"
READ_KEY = "reader-secret"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, Runtime]]:
    keys = [
        {"name": "producer", "role": "ingest", "sha256": hash_api_key(INGEST_KEY)},
        {"name": "reader", "role": "read", "sha256": hash_api_key(READ_KEY)},
    ]
    settings = make_settings(tmp_path, server={"host": "127.0.0.1", "port": 0}, auth={"api_keys": keys})
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.02)
    port = uv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app.state.runtime
    finally:
        uv.should_exit = True
        await task


def _client(url: str, compression: HttpCompression | None) -> OpenLineageClient:
    config = HttpConfig(
        url=url, auth=ApiKeyTokenProvider({"apiKey": INGEST_KEY}), compression=compression, timeout=10
    )
    return OpenLineageClient(transport=HttpTransport(config))


def _event(state: RunState, run_id: str, when: str) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=when,
        run=Run(runId=run_id),
        job=Job(namespace="ol-client", name="daily_orders"),
        producer="https://github.com/olgraph/tests",
        inputs=[InputDataset(namespace="postgres://db:5432", name="public.orders")],
        outputs=[OutputDataset(namespace="s3://lake", name="marts/daily_orders")],
    )


@pytest.mark.parametrize("compression", [None, HttpCompression.GZIP], ids=["plain", "gzip"])
async def test_openlineage_client_events_reach_the_graph(
    server: tuple[str, Runtime], compression: HttpCompression | None
) -> None:
    url, runtime = server
    run_id = str(uuid.uuid4())
    client = _client(url, compression)
    for state, when in (
        (RunState.START, "2024-05-01T12:00:00Z"),
        (RunState.COMPLETE, "2024-05-01T12:05:00Z"),
    ):
        await asyncio.to_thread(client.emit, _event(state, run_id, when))  # sync client: off the loop
    await runtime.wait_until_applied(timeout=30)

    run = await runtime.store.get_run(run_id)
    assert run is not None
    assert run.state == "COMPLETE"
    assert run.job == "job:ol-client:daily_orders"
    assert (run.started_at, run.ended_at) == (
        "2024-05-01T12:00:00.000000000Z",
        "2024-05-01T12:05:00.000000000Z",
    )
    # what the run read and wrote: the input's version current at the read, the output's of this run
    assert [(ref.dataset, ref.version) for ref in run.inputs] == [
        ("dataset:postgres://db:5432:public.orders", "initial")
    ]
    assert [(ref.dataset, ref.version) for ref in run.outputs] == [
        ("dataset:s3://lake:marts/daily_orders", f"run:{run_id}")
    ]
    lineage = await runtime.store.lineage(
        "dataset:postgres://db:5432:public.orders", "downstream", depth=2, max_nodes=10
    )
    assert [node.id for node in lineage.nodes] == [
        "dataset:postgres://db:5432:public.orders",
        "job:ol-client:daily_orders",
        "dataset:s3://lake:marts/daily_orders",
    ]

    async with httpx.AsyncClient(base_url=url) as http:
        anonymous = await http.get("/api/v1/stats")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"
        stats = await http.get("/api/v1/stats", headers={"authorization": f"Bearer {READ_KEY}"})
        assert stats.json()["applied"] == stats.json()["accepted"] == 2
        events = await http.get(
            f"/api/v1/runs/{run_id}/events", headers={"authorization": f"Bearer {READ_KEY}"}
        )
        assert [e["eventType"] for e in events.json()["events"]] == ["START", "COMPLETE"]


async def test_wrong_key_is_refused_over_the_wire(server: tuple[str, Runtime]) -> None:
    url, _ = server
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.post(
            "/api/v1/lineage",
            json={"eventTime": "2024-05-01T00:00:00Z", "job": {"namespace": "a", "name": "b"}},
            headers={"authorization": f"Bearer {READ_KEY}"},
        )
    assert response.status_code == 403
