"""The embedded store on a full disk: every acknowledged event survives, /readyz tells the truth.

``olgraph serve`` keeps its graph file on a real tmpfs (``small_volume``) of which only 12 MB
are free, and its event log on the ordinary disk. 40 events of 0.7 MB are posted: all get 201
(the log has room), but the graph fills up part-way. Found by issue 14: 28 of them were then
dead-lettered ("database or disk is full") and stayed missing after space came back. Now:

* while the volume is full, the consumer backs off and retries, nothing is dead-lettered,
  ``/readyz`` says the store cannot take writes and ``lastError`` names the real cause;
* the server stops and starts again while the volume is still full (SIGTERM honoured);
* once space returns (a big file on the volume is deleted) every event is applied without a
  restart, and after one more restart all 40 are in the graph.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fault_support import OlgraphProcess, Processes, free_port, olgraph_env, wait_until
from small_volume import SmallVolume, VolumeUnavailable, small_volume

pytestmark = [pytest.mark.slow]

EVENTS = 40
EVENT_BYTES = 700_000
NAMESPACE = "disk-full"


def big_event(n: int) -> dict[str, Any]:
    """A COMPLETE RunEvent of about 0.7 MB (a custom run facet), with its own job and run."""
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2026-04-01T10:00:{n:02d}Z",
        "run": {
            "runId": str(uuid.UUID(int=0xD15C_0000 + n)),
            "facets": {
                "padding": {
                    "_producer": "https://example.org/tests",
                    "_schemaURL": "https://example.org/tests/PaddingRunFacet.json",
                    "text": f"{n}:" + "x" * EVENT_BYTES,
                }
            },
        },
        "job": {"namespace": NAMESPACE, "name": f"job-{n:02d}"},
        "outputs": [{"namespace": "s3://lake", "name": f"out/{n}"}],
        "producer": "https://example.org/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[SmallVolume]:
    try:
        with small_volume(tmp_path / "volume", size_mb=96) as mounted:
            yield mounted
    except VolumeUnavailable as exc:
        pytest.skip(f"this machine cannot mount a private tmpfs (needs root or user namespaces): {exc}")


def serve_on(volume: SmallVolume, processes: Processes, data_dir: Path) -> OlgraphProcess:
    """``olgraph serve`` with its graph on the volume and its event log in ``data_dir``."""
    port = free_port()
    argv = [sys.executable, "-m", "olgraph", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    settings = {
        "OLGRAPH_STORE__EMBEDDED__PATH": str(volume.path / "graph.db"),
        "OLGRAPH_CONSUMER__BACKOFF_MAX_SECONDS": "0.5",
        "OLGRAPH_SERVER__RETRY_AFTER_SECONDS": "1",
    }
    process = OlgraphProcess(
        "serve",
        volume.command(argv),
        olgraph_env(settings),
        f"http://127.0.0.1:{port}/readyz",
        processes.log_dir,
    )
    processes.started.append(process)
    return process


def base(process: OlgraphProcess) -> str:
    return process.health_url.removesuffix("/readyz")


def stats(process: OlgraphProcess) -> dict[str, Any]:
    response = httpx.get(f"{base(process)}/api/v1/stats", timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def answers(process: OlgraphProcess) -> bool:
    try:
        return httpx.get(f"{base(process)}/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_a_full_disk_loses_no_acknowledged_event(
    volume: SmallVolume, processes: Processes, tmp_path: Path
) -> None:
    volume.fill(leave_mb=12)
    server = serve_on(volume, processes, tmp_path / "data")
    server.start()
    server.wait_ready()

    with httpx.Client(base_url=base(server), timeout=60) as client:
        statuses = [
            client.post(
                "/api/v1/lineage",
                content=orjson.dumps(big_event(n)),
                headers={"Content-Type": "application/json"},
            ).status_code
            for n in range(EVENTS)
        ]
    assert statuses == [201] * EVENTS  # all acknowledged: the log has room

    # The graph fills up: the consumer retries, nothing is dead-lettered, /readyz says why.
    wait_until(lambda: (stats(server)["consumer"]["retries"] or 0) >= 2, 120, "the consumer retrying")
    full = stats(server)
    assert full["failed"] == 0, full
    assert full["pending"] > 0, full
    assert "database or disk is full" in (full["consumer"]["lastError"] or ""), full
    status, body = server.readiness()
    assert status == 503, body
    store_check = orjson.loads(body)["checks"]["store"]
    assert "database or disk is full" in store_check or "bytes free" in store_check, body

    # A restart while the volume is still full: SIGTERM is honoured, nothing is lost.
    assert server.stop() == 0, server.output()
    server.start()
    wait_until(lambda: answers(server), 60, "the restarted server answering")
    assert stats(server)["failed"] == 0

    volume.free()  # space returns
    wait_until(lambda: stats(server)["applied"] == EVENTS, 180, "every event applied once space returned")
    server.wait_ready(timeout=60)
    assert stats(server)["failed"] == 0
    assert server.stop() == 0, server.output()

    server.start()  # and across one more restart, everything is in the graph
    server.wait_ready()
    with httpx.Client(base_url=base(server), timeout=30) as client:
        jobs = client.get(f"/api/v1/namespaces/{NAMESPACE}/jobs", params={"limit": 100}).json()
        assert jobs["total"] == EVENTS
        for n in range(EVENTS):
            run = client.get(f"/api/v1/runs/{uuid.UUID(int=0xD15C_0000 + n)}").json()
            assert run["state"] == "COMPLETE", run
            assert [o["dataset"] for o in run["outputs"]] == [f"dataset:s3://lake:out/{n}"], run
    final = stats(server)
    assert (final["accepted"], final["applied"], final["failed"], final["pending"]) == (EVENTS, EVENTS, 0, 0)
    assert server.stop() == 0, server.output()
