"""Timing a lineage series against a real HTTP server on 127.0.0.1 that answers slowly: the
series stops at its call count, or once its time budget is spent and enough calls are timed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from _peer_http import MIN_CALLS, WARMUP, time_lineage


class _Lineage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(0.002)
        body = json.dumps({"graph": [{"id": "a"}, {"id": "b"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Lineage)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_series_within_its_budget_times_every_call(server: str) -> None:
    result = time_lineage(server, {"nodeId": "a", "depth": 1}, 30, "graph", budget=120.0)
    assert (result["n"], result["nodes"], result["failures"]) == (30, 2, 0)


def test_a_series_past_its_budget_stops_once_it_has_enough_calls(server: str) -> None:
    result = time_lineage(server, {"nodeId": "a", "depth": 1}, 200, "graph", budget=0.0)
    assert result["n"] == MIN_CALLS
    assert result["p95"] >= 2.0  # each answer takes at least the handler's 2 ms


def test_warm_up_calls_are_not_counted(server: str) -> None:
    assert WARMUP > 0
    result = time_lineage(server, {"nodeId": "a", "depth": 1}, 1, "graph", budget=120.0)
    assert result["n"] == 1
