"""Fixtures for the deployment-file tests: olgraph's command line, the paths its servers
answer, and a real ``olgraph serve`` to run the files' health-check commands against.

Nothing here needs Docker, Kubernetes, Kafka or Neo4j: the files are checked by reading them
and against olgraph's own code.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import click
import httpx
import pytest
import uvicorn
from deploy_files import clean_env

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
_LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


@pytest.fixture(scope="session")
def olgraph_cli() -> click.Group:
    """The ``olgraph`` command group, as installed."""
    from olgraph.cli import main  # noqa: PLC0415 - imported where a missing CLI fails the test

    return main


@pytest.fixture(scope="session")
def api_paths() -> set[str]:
    """The paths the HTTP app (`olgraph api`, `olgraph serve`) serves, from its OpenAPI document."""
    from olgraph.api.app import create_app  # noqa: PLC0415
    from olgraph.config import Settings  # noqa: PLC0415

    return set(create_app(Settings()).openapi()["paths"])


@pytest.fixture(scope="session")
def consume_paths() -> set[str]:
    """The paths the health endpoint of `olgraph consume` serves."""
    from olgraph.consume.health import create_health_app  # noqa: PLC0415
    from olgraph.metrics import Metrics  # noqa: PLC0415

    return {getattr(route, "path", "") for route in create_health_app({}, Metrics()).routes}


@pytest.fixture(scope="session")
def consume_health_port() -> Iterator[int]:
    """Port of the real health app of `olgraph consume` (no probes: ready), served on 127.0.0.1."""
    from olgraph.consume.health import create_health_app  # noqa: PLC0415
    from olgraph.metrics import Metrics  # noqa: PLC0415

    config = uvicorn.Config(create_health_app({}, Metrics()), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="consume-health", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        assert thread.is_alive(), "the consume health app stopped"
        assert time.monotonic() < deadline, "the consume health app did not start"
        time.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)


@pytest.fixture(scope="session")
def serve_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Port of a real ``olgraph serve`` (embedded store) on 127.0.0.1, stopped at the end."""
    data_dir = tmp_path_factory.mktemp("serve")
    command = [sys.executable, "-m", "olgraph", "serve", "--host", "127.0.0.1", "--port", "0"]
    command += ["--data-dir", str(data_dir)]
    stdout_path = data_dir / "stdout.txt"
    with stdout_path.open("wb") as stdout:
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.STDOUT, env=clean_env())
    try:
        yield _wait_ready(process, stdout_path)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(process: subprocess.Popen[bytes], stdout_path: Path) -> int:
    """The port from the start-up line, once ``/readyz`` answers 200."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"olgraph serve exited with {process.returncode}:\n{stdout_path.read_text()}")
        if match := _LISTENING.search(stdout_path.read_text(errors="replace")):
            port = int(match.group(1))
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    return port
            except httpx.TransportError:
                pass
        time.sleep(0.05)
    pytest.fail(f"olgraph serve not ready within {START_TIMEOUT}s:\n{stdout_path.read_text()}")
