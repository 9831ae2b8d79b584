"""End to end through real processes: ``python -m olgraph serve``, events POSTed over HTTP,
then ``python -m olgraph impact`` as a CI gate would run it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
EVENTS_FILE = REPO / "tests" / "unit" / "query" / "data" / "impact_graph.json"
ORDERS = "dataset:postgres://db:5432:public.orders"
MODEL = "dataset:mlflow:churn"
DEPENDENTS = [
    "job:airflow:etl.load_orders",
    "job:airflow:report",
    "dataset:gs://bucket:path/to:x",
    "job:ml:train:churn",
    MODEL,
]


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    startup_line: str


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLGRAPH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _olgraph(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "olgraph", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "olgraph",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "data"),
    ]
    # The context manager closes the pipes and reaps the process whatever the test did.
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()  # the start-up line, printed once listening
            assert line, f"serve exited before listening: {process.communicate(timeout=10)}"
            yield Server(process, f"http://127.0.0.1:{port}", line)
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def _post_and_wait(url: str) -> None:
    events = json.loads(EVENTS_FILE.read_text(encoding="utf-8"))
    with httpx.Client(base_url=url, timeout=10) as client:
        for event in events:
            assert client.post("/api/v1/lineage", json=event).status_code == 201
        deadline = time.monotonic() + 60
        while True:
            stats = client.get("/api/v1/stats").json()
            if stats["applied"] == len(events) and stats["pending"] == 0:
                return
            assert stats["failed"] == 0, stats
            assert time.monotonic() < deadline, f"events not applied in time: {stats}"
            time.sleep(0.1)


def test_serve_ingest_and_impact_gate(server: Server, tmp_path: Path) -> None:
    assert server.startup_line == (
        f"olgraph 0.1.0 listening on {server.url} (store: embedded {tmp_path / 'data' / 'graph.db'})"
    )
    _post_and_wait(server.url)

    gate = _olgraph("impact", ORDERS, "--depth", "10", "--url", server.url)
    assert gate.returncode == 1, gate.stderr
    listed = [line.split()[2] for line in gate.stdout.splitlines()[2:-2]]
    assert listed == DEPENDENTS
    assert gate.stdout.splitlines()[-1] == "5 live dependents: 1 dataset, 1 model, 3 jobs"

    leaf = _olgraph("impact", MODEL, "--url", server.url)
    assert leaf.returncode == 0, leaf.stderr
    assert "no live dependents" in leaf.stdout

    lineage = _olgraph("lineage", MODEL, "--direction", "upstream", "--format", "json", "--url", server.url)
    assert lineage.returncode == 0, lineage.stderr
    upstream = {n["id"] for n in json.loads(lineage.stdout)["nodes"]}
    assert upstream == {MODEL, "job:ml:train:churn", "dataset:gs://bucket:path/to:x", DEPENDENTS[0], ORDERS}

    unknown = _olgraph("impact", "job:nowhere:x", "--url", server.url)
    assert unknown.returncode == 2
    assert "job:nowhere:x" in unknown.stderr


def test_ctrl_c_stops_the_server_cleanly(server: Server) -> None:
    server.process.send_signal(signal.SIGINT)
    _, stderr = server.process.communicate(timeout=30)
    assert server.process.returncode == 0, stderr
    assert "olgraph stopped" in stderr
    assert "Traceback" not in stderr
    # and the port is released: a client now cannot connect
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/healthz", timeout=2)


def test_unreachable_server_is_exit_2_for_scripts() -> None:
    result = _olgraph("impact", ORDERS, "--url", f"http://127.0.0.1:{_free_port()}")
    assert result.returncode == 2
    assert "cannot reach the olgraph server" in result.stderr
