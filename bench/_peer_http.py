"""The peer section's HTTP work: posting a workload one event per request from concurrent
clients, and timing lineage on olgraph's API and on Marquez's (or olgraph's Marquez-compatible
one).

``Ingest`` holds one side's answers by status and its times; ``olgraph_with_compat`` starts
``olgraph serve`` with the Marquez-compatible API beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _support import (
    OlgraphProcess,
    log,
    percentiles,
    tree_cpu_seconds,
    wait_applied,
)

from olgraph.devservices._common import choose_port

REQUEST_TIMEOUT = 120.0
INGEST_TIMEOUT = 1800.0
WARMUP = 5
SERIES_SECONDS = 60.0
"""A lineage series stops after this long once it has :data:`MIN_CALLS` samples: Marquez takes
about 2 s per depth-20 call on 100k nodes, and 200 such calls alone would be 7 minutes."""
MIN_CALLS = 20


@dataclass
class Ingest:
    """One side's ingest of one workload: answers by status, seconds until stored, an example per error."""

    events: int
    seconds: float = 0.0
    accept_seconds: float = 0.0
    """Until the last answer (for Marquez the same as ``seconds``: its 201 means stored)."""
    statuses: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    peak_rss_mib: float | None = None
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    """CPU seconds each process tree of the side spent from the first POST until queryable, by
    role (``server``, ``database``)."""

    @property
    def stored(self) -> int:
        """Events answered with a 2xx."""
        return sum(n for code, n in self.statuses.items() if code.startswith("2"))

    @property
    def rate(self) -> float:
        """Stored events per second, until queryable."""
        return round(self.stored / self.seconds, 1) if self.seconds else 0.0

    def cpu_ms_per_event(self) -> dict[str, float]:
        """CPU milliseconds per stored event, by role and ``total``."""
        spent = {**self.cpu_seconds, "total": sum(self.cpu_seconds.values())} if self.cpu_seconds else {}
        return {role: round(seconds * 1000 / max(self.stored, 1), 2) for role, seconds in spent.items()}

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "events": self.events,
            "stored": self.stored,
            "seconds": round(self.seconds, 2),
            "accept_seconds": round(self.accept_seconds, 2),
            "events_per_second": self.rate,
            "statuses": dict(self.statuses),
            "rejected": self.events - self.stored,
            "examples": self.examples,
            "peak_rss_mib": self.peak_rss_mib,
            "cpu_seconds": {role: round(seconds, 2) for role, seconds in self.cpu_seconds.items()},
            "cpu_ms_per_event": self.cpu_ms_per_event(),
        }


# --- load -------------------------------------------------------------------------------------------


async def _post_all(url: str, bodies: Sequence[bytes], clients: int, result: Ingest) -> None:
    """POST every body to ``url`` in order from ``clients`` concurrent workers; count the answers."""
    next_index = iter(range(len(bodies)))
    headers = {"Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(client: httpx.AsyncClient) -> None:
        for index in next_index:  # the shared iterator hands out events in order
            try:
                response = await client.post(url, content=bodies[index], headers=headers)
                code, text = str(response.status_code), response.text
            except httpx.HTTPError as exc:
                code, text = "error", f"{type(exc).__name__}: {exc}"
            result.statuses[code] += 1
            if not code.startswith("2"):
                result.examples.setdefault(code, text[:500])

    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, limits=limits) as client:
        await asyncio.wait_for(asyncio.gather(*(worker(client) for _ in range(clients))), INGEST_TIMEOUT)


def ingest(
    base_url: str, bodies: Sequence[bytes], clients: int, *, wait: bool, cpu: Mapping[str, int] | None = None
) -> Ingest:
    """Post the workload; with ``wait``, the clock runs on until olgraph has applied every 2xx event.

    ``cpu`` names the processes whose CPU counts (role to the pid at the root of its process tree,
    e.g. ``{"server": ..., "database": ...}``): their CPU seconds over the same span are kept.
    """
    result = Ingest(len(bodies))
    roots = dict(cpu or {})
    before = {role: tree_cpu_seconds(pid) for role, pid in roots.items()}
    started = time.perf_counter()
    asyncio.run(_post_all(f"{base_url}/api/v1/lineage", bodies, clients, result))
    result.accept_seconds = time.perf_counter() - started
    if wait:
        wait_applied(base_url, result.stored, timeout=INGEST_TIMEOUT)
    result.seconds = time.perf_counter() - started
    result.cpu_seconds = {role: tree_cpu_seconds(pid) - before[role] for role, pid in roots.items()}
    return result


# --- lineage ----------------------------------------------------------------------------------------


def time_lineage(
    base_url: str, params: dict[str, Any], calls: int, count_key: str, budget: float = SERIES_SECONDS
) -> dict[str, Any]:
    """Warm ``GET /api/v1/lineage`` latencies (ms) and the node count of the answer: ``calls``
    timed calls, or fewer once ``budget`` seconds have passed and :data:`MIN_CALLS` are timed
    (``n`` in the result says how many)."""
    samples: list[float] = []
    nodes, failures, example = 0, 0, None
    deadline = time.monotonic() + budget
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
        for call in range(WARMUP + calls):
            if len(samples) >= MIN_CALLS and time.monotonic() > deadline:
                break
            started = time.perf_counter()
            response = client.get("/api/v1/lineage", params=params)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                failures += 1
                example = example or f"{response.status_code}: {response.text[:300]}"
                continue
            if call >= WARMUP:
                samples.append(elapsed)
            nodes = len(response.json()[count_key])
    return {**percentiles(samples), "nodes": nodes, "failures": failures, "example_failure": example}


def olgraph_lineage(url: str, node: str, depth: int, calls: int) -> dict[str, Any]:
    """olgraph's lineage around ``node`` (both directions), timed."""
    params = {"nodeId": node, "direction": "both", "depth": depth}
    return time_lineage(url, params, calls, "nodes")


def marquez_lineage(url: str, node: str, depth: int, calls: int) -> dict[str, Any]:
    """Marquez's lineage around ``node`` (always both ways), timed."""
    return time_lineage(url, {"nodeId": node, "depth": depth}, calls, "graph")


def lineage_table(url: str, compat_url: str, anchors: dict[int, str], calls: int) -> dict[str, Any]:
    """Per depth: the anchor and olgraph's latencies and node counts, on its own API and on its
    Marquez-compatible one (Marquez's are added later)."""
    table: dict[str, Any] = {}
    for depth, node in sorted(anchors.items()):
        log(f"lineage depth {depth} on {node}")
        row: dict[str, Any] = {"node": node, "olgraph": olgraph_lineage(url, node, depth, calls)}
        row["olgraph_2x"] = olgraph_lineage(url, node, 2 * depth, calls)
        row["olgraph_marquez_api"] = marquez_lineage(compat_url, node, depth, calls)
        table[str(depth)] = row
    return table


def compat_lineage(compat_url: str, anchors: dict[int, str], calls: int) -> dict[str, Any]:
    """Per depth: the Marquez-compatible API's lineage latencies, asked as Marquez is."""
    return {
        str(depth): marquez_lineage(compat_url, node, depth, calls) for depth, node in sorted(anchors.items())
    }


@contextlib.contextmanager
def olgraph_with_compat(args: list[str], data_dir: Path) -> Iterator[tuple[OlgraphProcess, str, str]]:
    """``olgraph serve`` with the Marquez-compatible API on a free port: the process, its URL and
    the compatible API's URL."""
    port = choose_port(0)
    with OlgraphProcess.start([*args, "--marquez-port", str(port)], data_dir=data_dir) as server:
        assert server.url is not None
        yield server, server.url, f"http://127.0.0.1:{port}"
