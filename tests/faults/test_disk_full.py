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
from small_volume import SmallVolume, VolumeUnavailable, failing_disk, small_volume

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


def serve_on(
    volume: SmallVolume, processes: Processes, data_dir: Path, *, graph_on_volume: bool = True
) -> OlgraphProcess:
    """``olgraph serve`` with its event log in ``data_dir`` and its graph on the volume (or in
    ``data_dir`` too)."""
    port = free_port()
    argv = [sys.executable, "-m", "olgraph", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    settings = {"OLGRAPH_CONSUMER__BACKOFF_MAX_SECONDS": "0.5", "OLGRAPH_SERVER__RETRY_AFTER_SECONDS": "1"}
    if graph_on_volume:
        settings["OLGRAPH_STORE__EMBEDDED__PATH"] = str(volume.path / "graph.db")
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


def post(process: OlgraphProcess, event: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{base(process)}/api/v1/lineage",
        content=orjson.dumps(event),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def test_a_data_dir_on_a_failing_disk_is_reported_and_nothing_acknowledged_is_lost(
    tmp_path: Path, processes: Processes
) -> None:
    """The data directory (log and graph) on an ext4 disk that fails under the running server:
    the kernel turns it read-only and writes fail with I/O errors. /readyz says so, ingest
    answers 503 with Retry-After (never 201), and once the disk is repaired every event
    acknowledged before the failure is in the graph."""
    try:
        with failing_disk(tmp_path / "disk", tmp_path / "disk.img", size_mb=64) as disk:
            server = serve_on(disk, processes, disk.path / "data", graph_on_volume=False)
            server.start()
            server.wait_ready()
            assert [post(server, big_event(n)).status_code for n in range(3)] == [201] * 3
            wait_until(lambda: stats(server)["applied"] == 3, 60, "three events applied")

            disk.fail()
            wait_until(lambda: server.readiness()[0] == 503, 60, "/readyz reporting the failed disk")
            checks = orjson.loads(server.readiness()[1])["checks"]
            assert "cannot write to" in checks["log"], checks
            refused = post(server, big_event(3))
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == "1"
            assert server.stop() == 0, server.output()

            disk.repair()
            server.start()
            server.wait_ready()
            assert post(server, big_event(3)).status_code == 201
            wait_until(lambda: stats(server)["applied"] == 4, 60, "all four events applied")
            with httpx.Client(base_url=base(server), timeout=30) as client:
                for n in range(4):
                    run = client.get(f"/api/v1/runs/{uuid.UUID(int=0xD15C_0000 + n)}").json()
                    assert run["state"] == "COMPLETE", run
            assert stats(server)["failed"] == 0
            assert server.stop() == 0, server.output()
    except VolumeUnavailable as exc:
        pytest.skip(f"no failing disk on this machine: {exc}")


def test_starting_on_a_read_only_data_dir_says_so_in_one_line(tmp_path: Path, processes: Processes) -> None:
    try:
        with small_volume(tmp_path / "read-only", size_mb=4, read_only=True) as volume:
            server = serve_on(volume, processes, volume.path, graph_on_volume=False)
            server.start()
            assert server.process is not None
            assert server.process.wait(timeout=60) == 1
    except VolumeUnavailable as exc:
        pytest.skip(f"this machine cannot mount a private tmpfs (needs root or user namespaces): {exc}")
    lines = server.log_path.read_text().splitlines()
    printed = [line for line in lines if line and not line.startswith("===== start")]
    assert printed == [
        f"Error: cannot start: cannot use the embedded store {volume.path}/graph.db: "
        f"{volume.path} is on a read-only filesystem"
    ]
