"""Hostile request bodies: how fast they are refused, and what they do to everyone else.

A ``serve`` process (embedded store) gets the worst bodies the ingest limits allow through
the front door — 3 million empty arrays in 9 MB, a schema facet of 100,000 fields, a million
object keys, a 9 MB string, a gzip bomb, nesting far beyond the depth limit — first one at a
time (time to the answer, and the status), then from four clients at once for a while, during
which a fifth client asks ``/healthz`` every 50 ms. It reports the ``/healthz`` latency
percentiles under that load, and the server's resident memory before, at its peak and a few
seconds after the load stopped.

    .venv/bin/python bench/hostile.py              # about a minute
    .venv/bin/python bench/hostile.py --quick      # shorter load phase

These are figures, not assertions: ``tests/integration/api/test_hostile_bodies.py`` checks the
outcomes (4xx, ``/healthz`` keeps answering) with a generous hang guard only.
"""

from __future__ import annotations

import gzip
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import BenchConfig, OlgraphProcess, config_from, log, percentiles, section_parser, write_result

LOAD_SECONDS = 20.0
QUICK_LOAD_SECONDS = 8.0
HEALTH_EVERY = 0.05
CLIENTS = 4
SETTLE_SECONDS = 5.0
REQUEST_TIMEOUT = 120.0


def _event(facets: dict[str, Any] | None = None) -> dict[str, Any]:
    dataset: dict[str, Any] = {"namespace": "bench", "name": "wide"}
    if facets:
        dataset["facets"] = facets
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-01T00:00:00Z",
        "run": {"runId": "0195e2e2-0000-7000-8000-00000000beef"},
        "job": {"namespace": "bench", "name": "hostile"},
        "outputs": [dataset],
        "producer": "https://example.com/bench",
    }


def empty_arrays() -> bytes:
    """3 million empty arrays in one array: 9 MB, under the 10 MB body limit."""
    return b"[" + b"[]," * 3_000_000 + b"[]]"


def wide_schema() -> bytes:
    """One valid RunEvent whose output has a schema facet of 100,000 fields."""
    fields = [{"name": f"c{i}", "type": "int"} for i in range(100_000)]
    return orjson.dumps(_event({"schema": {"fields": fields}}))


def many_keys() -> bytes:
    """One valid event with a custom facet of a million keys (about 10 MB)."""
    custom = {f"k{i}": 0 for i in range(700_000)}
    return orjson.dumps(_event({"custom": custom}))


def long_string() -> bytes:
    """One valid event with a 9 MB string in a facet."""
    return orjson.dumps(_event({"documentation": {"description": "x" * 9_000_000}}))


def deep_nesting() -> bytes:
    """Arrays nested 100,000 deep."""
    return b"[" * 100_000 + b"]" * 100_000


def gzip_bomb() -> bytes:
    """About 50 kB of gzip that inflates to 60 MB of spaces (above the 50 MB decompressed limit)."""
    return gzip.compress(b" " * 60_000_000, compresslevel=9)


BODIES: dict[str, tuple[str, Callable[[], bytes], bool]] = {
    "empty arrays (lineage)": ("/api/v1/lineage", empty_arrays, False),
    "empty arrays (batch)": ("/api/v1/lineage/batch", empty_arrays, False),
    "100k-field schema": ("/api/v1/lineage", wide_schema, False),
    "700k-key facet": ("/api/v1/lineage", many_keys, False),
    "9 MB string": ("/api/v1/lineage", long_string, False),
    "100k-deep nesting": ("/api/v1/lineage", deep_nesting, False),
    "gzip bomb": ("/api/v1/lineage", gzip_bomb, True),
}
"""name → (path, body factory, gzip-encoded)."""


def _post(client: httpx.Client, path: str, body: bytes, gzipped: bool) -> tuple[int, float, str]:
    headers = {"Content-Type": "application/json"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    started = time.perf_counter()
    response = client.post(path, content=body, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    return response.status_code, elapsed, response.text[:160]


def one_at_a_time(url: str, bodies: dict[str, bytes]) -> list[list[Any]]:
    """Each body alone, three times: status, the slowest answer (ms) and the error message."""
    rows: list[list[Any]] = []
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as client:
        for name, (path, _, gzipped) in BODIES.items():
            answers = [_post(client, path, bodies[name], gzipped) for _ in range(3)]
            status, _, message = answers[-1]
            slowest = max(elapsed for _, elapsed, _ in answers)
            rows.append([name, f"{len(bodies[name]) / 1e6:.1f} MB", status, round(slowest, 1), message])
            log(f"{name}: {status} in {slowest:.0f} ms")
    return rows


def under_load(server: OlgraphProcess, bodies: dict[str, bytes], seconds: float) -> dict[str, Any]:
    """Four clients sending hostile bodies while a fifth polls /healthz; latencies and memory."""
    assert server.url is not None
    stop = threading.Event()
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    names = list(BODIES)

    def attacker(offset: int) -> None:
        with httpx.Client(base_url=server.url or "", timeout=REQUEST_TIMEOUT) as client:
            turn = offset
            while not stop.is_set():
                name = names[turn % len(names)]
                path, _, gzipped = BODIES[name]
                status, _, _ = _post(client, path, bodies[name], gzipped)
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                turn += 1

    rss_before = server.rss_mib()
    threads = [threading.Thread(target=attacker, args=(i,), daemon=True) for i in range(CLIENTS)]
    health: list[float] = []
    failures = 0
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT) as client, server.sample_memory(0.25):
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            ok = client.get("/healthz").status_code == 200
            health.append((time.perf_counter() - started) * 1000)
            failures += 0 if ok else 1
            time.sleep(HEALTH_EVERY)
        stop.set()
        for thread in threads:
            thread.join()
    peak = max((rss for _, rss in server.samples), default=rss_before)
    time.sleep(SETTLE_SECONDS)
    return {
        "healthz_ms": percentiles(health),
        "healthz_failures": failures,
        "hostile_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "rss_mib": {"before": rss_before, "peak": peak, "after": server.rss_mib()},
    }


def run(config: BenchConfig) -> dict[str, Any]:
    """Measure; write ``bench/results/hostile.json``."""
    bodies = {name: factory() for name, (_, factory, _) in BODIES.items()}
    data_dir = config.work_dir / "hostile-data"
    seconds = QUICK_LOAD_SECONDS if config.quick else LOAD_SECONDS
    with OlgraphProcess.start(["serve"], data_dir=data_dir) as server:
        assert server.url is not None
        with httpx.Client(base_url=server.url, timeout=30) as client:
            idle = [client.get("/healthz").elapsed.total_seconds() * 1000 for _ in range(50)]
        rows = one_at_a_time(server.url, bodies)
        load = under_load(server, bodies, seconds)
    log(f"under load: {load}")
    result = {
        "title": "Hostile request bodies",
        "summary": [
            {
                "metric": "/healthz p99 under 4 hostile clients",
                "olgraph": load["healthz_ms"].get("p99"),
                "baseline": percentiles(idle).get("p99"),
                "baseline_name": "/healthz p99 idle",
                "ratio": None,
                "unit": "ms",
                "note": f"{load['healthz_ms'].get('n')} probes, {load['healthz_failures']} failed",
            }
        ],
        "tables": [
            {
                "title": "One body at a time (slowest of 3)",
                "columns": ["body", "size", "status", "ms", "answer"],
                "rows": rows,
            },
            {
                "title": f"{CLIENTS} hostile clients for {seconds:.0f} s",
                "columns": ["measure", "value"],
                "rows": [
                    ["/healthz latency (ms)", load["healthz_ms"]],
                    ["hostile answers by status", load["hostile_statuses"]],
                    ["RSS MiB before / peak / after", load["rss_mib"]],
                ],
            },
        ],
        "load": load,
        "notes": [],
    }
    write_result("hostile", result, config.results_dir)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    args = section_parser(__doc__).parse_args(argv)
    config = config_from(args)
    config.work_dir.mkdir(parents=True, exist_ok=True)
    run(config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
