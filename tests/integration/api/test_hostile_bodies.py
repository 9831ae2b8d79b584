"""A real ``olgraph serve`` under four clients sending the worst bodies the byte limits let through:
every one gets a 4xx naming its limit, and ``/healthz`` keeps answering all the while.

The only time bound is a generous hang guard per request (``HANG_GUARD``): how fast things are
is measured by ``bench/hostile.py``, not asserted here.
"""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

REPO = Path(__file__).resolve().parents[3]
HANG_GUARD = 60.0
"""Seconds any one answer may take before the test calls it a hang (the server answers in well
under a second when healthy; before the fix, /healthz waited 15 s behind three such clients)."""
CLIENTS = 4
ROUNDS = 3


def _event(**facets: object) -> dict[str, object]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-01T00:00:00Z",
        "run": {"runId": "0195e2e2-0000-7000-8000-00000000beef"},
        "job": {"namespace": "hostile", "name": "job"},
        "outputs": [{"namespace": "hostile", "name": "wide", "facets": facets}],
    }


HOSTILE: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("/api/v1/lineage", b"[" + b"[]," * 3_000_000 + b"[]]", {}, 413, "limits.max_event_values"),
    ("/api/v1/lineage/batch", b"[" + b"[]," * 3_000_000 + b"[]]", {}, 413, "limits.max_body_values"),
    (
        "/api/v1/lineage",
        orjson.dumps(_event(schema={"fields": [{"name": f"c{i}", "type": "int"} for i in range(100_000)]})),
        {},
        413,
        "limits.max_container_items",
    ),
    (
        "/api/v1/lineage",
        orjson.dumps(_event(doc={"description": "x" * 9_000_000})),
        {},
        413,
        "limits.max_string_chars",
    ),
    ("/api/v1/lineage", b"[" * 5000 + b"]" * 5000, {}, 400, "nested deeper than 64 levels"),
    (
        "/api/v1/lineage",
        gzip.compress(b" " * 60_000_000),
        {"content-encoding": "gzip"},
        413,
        "limits.max_decompressed_bytes",
    ),
]
"""(path, body, extra headers, expected status, the setting the error must name)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLGRAPH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    port = _free_port()
    command = [sys.executable, "-m", "olgraph", "serve", "--port", str(port), "--data-dir", str(tmp_path)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip(), f"serve exited: {process.communicate(timeout=10)}"
            yield f"http://127.0.0.1:{port}"
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def test_healthz_answers_while_four_clients_send_hostile_bodies(server: str) -> None:
    answers: list[tuple[int, int, str]] = []  # (hostile index, status, error message)
    failures: list[BaseException] = []
    lock = threading.Lock()

    def attacker(offset: int) -> None:
        try:
            with httpx.Client(base_url=server, timeout=HANG_GUARD) as client:
                for turn in range(ROUNDS * len(HOSTILE)):
                    index = (offset + turn) % len(HOSTILE)
                    path, body, headers, _, _ = HOSTILE[index]
                    response = client.post(
                        path, content=body, headers={"content-type": "application/json", **headers}
                    )
                    with lock:
                        answers.append((index, response.status_code, response.json()["error"]))
        except BaseException as exc:  # reported below, with the thread's context
            failures.append(exc)

    threads = [threading.Thread(target=attacker, args=(i,)) for i in range(CLIENTS)]
    health: list[int] = []
    with httpx.Client(base_url=server, timeout=HANG_GUARD) as client:
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            health.append(client.get("/healthz").status_code)
            time.sleep(0.05)
        for thread in threads:
            thread.join()
        after = client.get("/healthz").status_code

    assert not failures, failures
    assert len(answers) == CLIENTS * ROUNDS * len(HOSTILE)
    for index, status, message in answers:
        _, _, _, expected, setting = HOSTILE[index]
        assert (status, setting in message) == (expected, True), (index, status, message)
    assert health  # it was asked while the attack went on…
    assert set(health) == {200}  # …and always answered
    assert after == 200
