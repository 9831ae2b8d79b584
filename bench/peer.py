"""Peer: Marquez 0.50.0 and olgraph fed the same events, side by side (issue 5, measurement 4).

For each graph size up to ``--peer-max-nodes``, the ``mixed`` workload is posted one event per
request (``POST /api/v1/lineage`` on both) by ``--clients`` concurrent clients of this one
Python process, in the same order, to:

- **Marquez** (``bench/marquez.py``: built from its source tarball, a fresh PostgreSQL): its 201
  means stored, so the clock stops at the last answer;
- **olgraph serve** on the dev Neo4j (emptied first) and **olgraph serve** embedded: the clock
  stops when ``/api/v1/stats`` says every accepted event is applied (queryable).

Every answer's status is counted; non-2xx answers are reported with an example body, and the
CPU seconds each side's process trees spent over the same span (Marquez's JVM and PostgreSQL's
postmaster with its backends; ``olgraph serve`` and the Neo4j JVM) per stored event. Then
lineage (``direction=both``) is timed warm on the same dataset nodes (``lineage_anchors``;
200 calls per series, fewer once a series has taken a minute and has 20) at depths 1, 5, 10
and 20 on Marquez and olgraph-on-Neo4j. The node ids are the same strings
on both sides (``dataset:<namespace>:<name>``: olgraph's keys are Marquez's node ids). Marquez's
depth counts job-to-job steps while olgraph's counts edges (dataset→job is one), so olgraph is
also timed at twice the depth (``olgraph_2x``), the comparable walk. Both olgraph servers also
run the Marquez-compatible API (``--marquez-port``), asked exactly what Marquez is asked
(``nodeId``, ``depth``): its latency is the one a Marquez client sees after switching.

This module runs the sides size by size; posting and timing over HTTP are in ``_peer_http``,
the result document in ``_peer_report``.

    .venv/bin/python bench/peer.py --quick
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import neo4j
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _peer_http import (
    Ingest,
    compat_lineage,
    ingest,
    lineage_table,
    marquez_lineage,
    olgraph_with_compat,
)
from _peer_report import (
    build_document,
)
from _support import (
    BenchConfig,
    config_from,
    log,
    neo4j_auth,
    section_parser,
    service,
    write_result,
)
from ceiling import empty, neo4j_pid
from workloads import WorkloadSpec, generate, lineage_anchors

from marquez import marquez_server
from olgraph.errors import ServiceError

SECTION = "peer"
DEPTHS = (1, 5, 10, 20)
CLIENTS = 8
MAX_NODES = 10_000
"""The largest size a full run measures. Marquez ingests about 25 events/s, so 100k nodes (13,580
events) take it 8-9 minutes before its lineage is timed: ``--peer-max-nodes 100000`` for that."""


# --- one size ---------------------------------------------------------------------------------------


@dataclass
class Peer:
    """What one run carries from size to size: where things are and whether Marquez can run."""

    config: BenchConfig
    neo4j_uri: str
    neo4j_pid: int | None
    clients: int
    calls: int
    marquez_error: str | None = None
    marquez_lineage: dict[str, Any] = field(default_factory=dict)

    def fresh_dir(self, name: str) -> Path:
        """An emptied scratch folder under the work dir."""
        path = self.config.work_dir / SECTION / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path


def run_marquez(peer: Peer, bodies: Sequence[bytes], anchors: dict[int, str]) -> Ingest | None:
    """Ingest into a fresh Marquez and time its lineage; None (and the reason kept) when it cannot run."""
    if peer.marquez_error is not None:
        return None
    try:
        with marquez_server(peer.config.work_dir, peer.config.services_cache) as marquez:
            log(f"Marquez: posting {len(bodies)} events")
            cpu = {"server": marquez.pid, "database": marquez.postgres_pid}
            result = ingest(marquez.url, bodies, peer.clients, wait=False, cpu=cpu)
            result.peak_rss_mib = marquez.peak_rss_mib()
            log(f"Marquez: {result.rate} events/s, statuses {dict(result.statuses)}")
            for depth, node in sorted(anchors.items()):
                peer.marquez_lineage[str(depth)] = marquez_lineage(marquez.url, node, depth, peer.calls)
            return result
    except ServiceError as exc:
        peer.marquez_error = str(exc)
        log(f"Marquez unavailable, measuring olgraph only: {str(exc).splitlines()[0]}")
        return None


def run_olgraph_neo4j(peer: Peer, bodies: Sequence[bytes], anchors: dict[int, str]) -> tuple[Ingest, Any]:
    """Ingest into ``olgraph serve`` on an emptied Neo4j; time lineage; return both."""
    asyncio.run(_empty_neo4j(peer.neo4j_uri))
    data_dir = peer.fresh_dir("olgraph-neo4j")
    with olgraph_with_compat(["serve", "--neo4j-uri", peer.neo4j_uri], data_dir) as (server, url, compat):
        log(f"olgraph (Neo4j): posting {len(bodies)} events")
        cpu = {"server": server.pid} | ({"database": peer.neo4j_pid} if peer.neo4j_pid else {})
        result = ingest(url, bodies, peer.clients, wait=True, cpu=cpu)
        result.peak_rss_mib = server.peak_rss_mib()
        log(f"olgraph (Neo4j): {result.rate} events/s, statuses {dict(result.statuses)}")
        lineage = lineage_table(url, compat, anchors, peer.calls)
    return result, lineage


def run_olgraph_embedded(
    peer: Peer, bodies: Sequence[bytes], anchors: dict[int, str]
) -> tuple[Ingest, dict[str, Any]]:
    """Ingest into ``olgraph serve`` with the embedded store; time its Marquez-compatible lineage."""
    with olgraph_with_compat(["serve"], peer.fresh_dir("olgraph-embedded")) as (server, url, compat):
        log(f"olgraph (embedded): posting {len(bodies)} events")
        result = ingest(url, bodies, peer.clients, wait=True, cpu={"server": server.pid})
        result.peak_rss_mib = server.peak_rss_mib()
        log(f"olgraph (embedded): {result.rate} events/s")
        lineage = compat_lineage(compat, anchors, peer.calls)
    return result, lineage


async def _empty_neo4j(uri: str) -> None:
    driver = neo4j.AsyncGraphDatabase.driver(uri, auth=neo4j_auth(uri))
    try:
        await empty(driver)
    finally:
        await driver.close()


def measure_size(peer: Peer, size: int) -> dict[str, Any]:
    """Everything for one graph size: ingest on the three sides, lineage on two."""
    spec = WorkloadSpec(kind="mixed", seed=peer.config.seed, nodes=size)
    bodies = [orjson.dumps(event) for event in generate(spec)]
    anchors = lineage_anchors(spec, DEPTHS)
    log(f"size {size}: {len(bodies)} events, lineage anchors at depths {sorted(anchors)}")
    peer.marquez_lineage = {}
    marquez = run_marquez(peer, bodies, anchors)
    ours, lineage = run_olgraph_neo4j(peer, bodies, anchors)
    embedded, embedded_compat = run_olgraph_embedded(peer, bodies, anchors)
    for depth, row in lineage.items():
        row["marquez"] = peer.marquez_lineage.get(depth)
        row["embedded_marquez_api"] = embedded_compat.get(depth)
    return {
        "events": len(bodies),
        "ingest": {"olgraph_neo4j": ours, "olgraph_embedded": embedded, "marquez": marquez},
        "lineage": lineage,
    }


# --- the document -----------------------------------------------------------------------------------


def run(config: BenchConfig, max_nodes: int = MAX_NODES, clients: int = CLIENTS) -> dict[str, Any]:
    """Measure every size up to ``max_nodes``; write and return the result document."""
    sizes = [size for size in config.sizes if size <= max_nodes]
    calls = 50 if config.quick else 200
    measured: dict[int, dict[str, Any]] = {}
    with service("neo4j", config.services_cache, config.neo4j_env) as uri:
        peer = Peer(config, uri, neo4j_pid(config), clients, calls)
        for size in sizes:
            measured[size] = measure_size(peer, size)
    doc = build_document(measured, peer.marquez_error, clients, calls)
    write_result(SECTION, doc, config.results_dir)
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = section_parser(__doc__)
    parser.add_argument("--peer-max-nodes", type=int, default=MAX_NODES, help="largest size measured")
    parser.add_argument("--clients", type=int, default=CLIENTS, help="concurrent posting clients")
    args = parser.parse_args(argv)
    config = config_from(args)
    if args.quick and not args.sizes:
        config = replace(config, sizes=(2_000,))
    doc = run(config, args.peer_max_nodes, args.clients)
    sys.stdout.write(orjson.dumps(doc["summary"], option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
