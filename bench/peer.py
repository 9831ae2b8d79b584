"""Peer: Marquez 0.50.0 and olgraph fed the same events, side by side (issue 5, measurement 4).

For each graph size up to ``--peer-max-nodes``, the ``mixed`` workload is posted one event per
request (``POST /api/v1/lineage`` on both) by ``--clients`` concurrent clients of this one
Python process, in the same order, to:

- **Marquez** (``bench/marquez.py``: built from its source tarball, a fresh PostgreSQL): its 201
  means stored, so the clock stops at the last answer;
- **olgraph serve** on the dev Neo4j (emptied first) and **olgraph serve** embedded: the clock
  stops when ``/api/v1/stats`` says every accepted event is applied (queryable).

Every answer's status is counted; non-2xx answers are reported with an example body. Then
lineage (``direction=both``) is timed warm on the same dataset nodes (``lineage_anchors``)
at depths 1, 5, 10 and 20 on Marquez and olgraph-on-Neo4j. The node ids are the same strings
on both sides (``dataset:<namespace>:<name>``: olgraph's keys are Marquez's node ids). Marquez's
depth counts job-to-job steps while olgraph's counts edges (dataset→job is one), so olgraph is
also timed at twice the depth (``olgraph_2x``), the comparable walk. Both olgraph servers also
run the Marquez-compatible API (``--marquez-port``), asked exactly what Marquez is asked
(``nodeId``, ``depth``): its latency is the one a Marquez client sees after switching.

    .venv/bin/python bench/peer.py --quick
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import neo4j
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    BenchConfig,
    OlgraphProcess,
    config_from,
    log,
    neo4j_auth,
    percentiles,
    section_parser,
    service,
    wait_applied,
    write_result,
)
from ceiling import empty
from workloads import WorkloadSpec, generate, lineage_anchors

from marquez import MARQUEZ_VERSION, marquez_server
from olgraph.devservices._common import choose_port
from olgraph.devservices.neo4j import NEO4J_VERSION
from olgraph.errors import ServiceError

SECTION = "peer"
DEPTHS = (1, 5, 10, 20)
CLIENTS = 8
MAX_NODES = 100_000
REQUEST_TIMEOUT = 120.0
INGEST_TIMEOUT = 1800.0
WARMUP = 5
SIDES = ("olgraph_neo4j", "olgraph_embedded", "marquez")
LABELS = {"olgraph_neo4j": "olgraph (Neo4j)", "olgraph_embedded": "olgraph (embedded)", "marquez": "Marquez"}


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

    @property
    def stored(self) -> int:
        """Events answered with a 2xx."""
        return sum(n for code, n in self.statuses.items() if code.startswith("2"))

    @property
    def rate(self) -> float:
        """Stored events per second, until queryable."""
        return round(self.stored / self.seconds, 1) if self.seconds else 0.0

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


def ingest(base_url: str, bodies: Sequence[bytes], clients: int, *, wait: bool) -> Ingest:
    """Post the workload; with ``wait``, the clock runs on until olgraph has applied every 2xx event."""
    result = Ingest(len(bodies))
    started = time.perf_counter()
    asyncio.run(_post_all(f"{base_url}/api/v1/lineage", bodies, clients, result))
    result.accept_seconds = time.perf_counter() - started
    if wait:
        wait_applied(base_url, result.stored, timeout=INGEST_TIMEOUT)
    result.seconds = time.perf_counter() - started
    return result


# --- lineage ----------------------------------------------------------------------------------------


def time_lineage(base_url: str, params: dict[str, Any], calls: int, count_key: str) -> dict[str, Any]:
    """Warm ``GET /api/v1/lineage`` latencies (ms) and the node count of the answer."""
    samples: list[float] = []
    nodes, failures, example = 0, 0, None
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
        for call in range(WARMUP + calls):
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


# --- one size ---------------------------------------------------------------------------------------


@dataclass
class Peer:
    """What one run carries from size to size: where things are and whether Marquez can run."""

    config: BenchConfig
    neo4j_uri: str
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
            result = ingest(marquez.url, bodies, peer.clients, wait=False)
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
        result = ingest(url, bodies, peer.clients, wait=True)
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
        result = ingest(url, bodies, peer.clients, wait=True)
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


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 2) if numerator and denominator else None


def _side(row: dict[str, Any], side: str, key: str) -> Any:
    value = row.get(side)
    return value.get(key) if value else None


def summary_rows(measured: dict[int, dict[str, Any]], marquez_error: str | None) -> list[dict[str, Any]]:
    """Headline rows per size: ingest rate (olgraph/Marquez) and depth-10 lineage p95 (Marquez/olgraph)."""
    missing = f"Marquez did not run: {marquez_error.splitlines()[0]}" if marquez_error else None
    base = {"baseline_name": f"Marquez {MARQUEZ_VERSION}"}
    rows: list[dict[str, Any]] = []
    for size, m in measured.items():
        theirs = m["ingest"]["marquez"]
        rate = theirs.rate if theirs else None
        for key, store in (("olgraph_neo4j", "Neo4j"), ("olgraph_embedded", "embedded")):
            ours = m["ingest"][key]
            rows.append(
                {
                    **base,
                    "metric": f"ingest until queryable, {store}, {size:,} nodes ({m['events']:,} events)",
                    "olgraph": ours.rate,
                    "baseline": rate,
                    "ratio": _ratio(ours.rate, rate),
                    "unit": "events/s",
                    "note": missing or f"olgraph serve on {store}, one event per POST",
                }
            )
        row = m["lineage"].get("10")
        if row is None:
            continue
        for ours_key, label in (("olgraph", "depth 10"), ("olgraph_2x", "olgraph depth 20 vs Marquez 10")):
            p95, theirs_p95 = row[ours_key].get("p95"), _side(row, "marquez", "p95")
            nodes = f"nodes: olgraph {row[ours_key]['nodes']}, Marquez {_side(row, 'marquez', 'nodes')}"
            rows.append(
                {
                    **base,
                    "metric": f"lineage p95, {label}, {size:,} nodes",
                    "olgraph": p95,
                    "baseline": theirs_p95,
                    "ratio": _ratio(theirs_p95, p95),
                    "unit": "ms",
                    "note": missing or nodes,
                }
            )
        rows += _compat_rows(row, size, base, missing)
    return rows


def _compat_rows(
    row: dict[str, Any], size: int, base: dict[str, Any], missing: str | None
) -> list[dict[str, Any]]:
    """Depth-10 lineage p95 of the Marquez-compatible API (the same request as Marquez's)."""
    out = []
    theirs_p95 = _side(row, "marquez", "p95")
    for key, store in (("olgraph_marquez_api", "Neo4j"), ("embedded_marquez_api", "embedded")):
        p95 = _side(row, key, "p95")
        nodes = f"nodes: olgraph {_side(row, key, 'nodes')}, Marquez {_side(row, 'marquez', 'nodes')}"
        out.append(
            {
                **base,
                "metric": f"lineage p95, Marquez API on olgraph ({store}), depth 10, {size:,} nodes",
                "olgraph": p95,
                "baseline": theirs_p95,
                "ratio": _ratio(theirs_p95, p95),
                "unit": "ms",
                "note": missing or nodes,
            }
        )
    return out


def ingest_table(measured: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One row per size: each side's rate, rejections and peak memory."""
    rows = []
    for size, m in measured.items():
        sides = [m["ingest"][side] for side in SIDES]
        rates = [s.rate if s else None for s in sides]
        rejected = [s.events - s.stored if s else None for s in sides]
        memory = [s.peak_rss_mib if s else None for s in sides]
        rows.append([size, m["events"], *rates, _ratio(rates[0], rates[2]), *rejected, *memory])
    labels = [LABELS[side] for side in SIDES]
    columns = [
        "nodes",
        "events",
        *(f"{x} events/s" for x in labels),
        "olgraph/Marquez",
        *(f"{x} non-2xx" for x in labels),
        *(f"{x} peak RSS MiB" for x in labels),
    ]
    return {"title": "Ingest until queryable (one event per POST)", "columns": columns, "rows": rows}


def lineage_tables(measured: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per size, one row per depth: latencies and node counts on both sides."""
    columns = [
        "depth",
        "node",
        "olgraph p50",
        "olgraph p95",
        "olgraph p99",
        "olgraph nodes",
        "olgraph 2xdepth p95",
        "olgraph 2xdepth nodes",
        "Marquez p50",
        "Marquez p95",
        "Marquez p99",
        "Marquez nodes",
        "Marquez/olgraph p95",
        "Marquez API on olgraph (Neo4j) p95",
        "Marquez API on olgraph (embedded) p95",
        "Marquez API on olgraph nodes",
        "Marquez/Marquez API on olgraph (embedded) p95",
    ]
    tables = []
    for size, m in measured.items():
        rows = []
        for depth, row in m["lineage"].items():
            ours, twice = row["olgraph"], row["olgraph_2x"]
            theirs = [_side(row, "marquez", key) for key in ("p50", "p95", "p99", "nodes")]
            rows.append(
                [
                    int(depth),
                    row["node"],
                    ours.get("p50"),
                    ours.get("p95"),
                    ours.get("p99"),
                    ours["nodes"],
                    twice.get("p95"),
                    twice["nodes"],
                    *theirs,
                    _ratio(theirs[1], ours.get("p95")),
                    _side(row, "olgraph_marquez_api", "p95"),
                    _side(row, "embedded_marquez_api", "p95"),
                    _side(row, "olgraph_marquez_api", "nodes"),
                    _ratio(theirs[1], _side(row, "embedded_marquez_api", "p95")),
                ]
            )
        tables.append(
            {"title": f"Lineage ms, {size:,} nodes (warm, both directions)", "columns": columns, "rows": rows}
        )
    return tables


def charts(measured: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Bar: ingest events/s by size; line: lineage p95 by depth on both sides."""
    bars: dict[str, list[list[Any]]] = {LABELS[side]: [] for side in SIDES}
    lines: dict[str, list[list[Any]]] = {}
    for size, m in measured.items():
        for side in SIDES:
            if m["ingest"][side] is not None:
                bars[LABELS[side]].append([f"{size:,}", m["ingest"][side].rate])
        for depth, row in m["lineage"].items():
            lines.setdefault(f"olgraph (Neo4j), {size:,}", []).append([int(depth), row["olgraph"].get("p95")])
            if row.get("marquez"):
                lines.setdefault(f"Marquez, {size:,}", []).append([int(depth), row["marquez"].get("p95")])
            for key, store in (("olgraph_marquez_api", "Neo4j"), ("embedded_marquez_api", "embedded")):
                if row.get(key):
                    label = f"Marquez API on olgraph ({store}), {size:,}"
                    lines.setdefault(label, []).append([int(depth), row[key].get("p95")])
    return [
        {
            "name": "peer_ingest",
            "title": "Ingest until queryable",
            "kind": "bar",
            "x_label": "graph nodes",
            "y_label": "events/s",
            "log_y": False,
            "series": {k: v for k, v in bars.items() if v},
        },
        {
            "name": "peer_lineage_p95",
            "title": "Lineage p95 (warm, both directions)",
            "kind": "line",
            "x_label": "depth",
            "y_label": "ms",
            "log_y": True,
            "series": lines,
        },
    ]


def notes(measured: dict[int, dict[str, Any]], marquez_error: str | None, clients: int) -> list[str]:
    """Versions, what each side stores, the depth semantics, and every kind of rejected event."""
    found = [
        f"Marquez {MARQUEZ_VERSION} (built from its source with Maven, Java 17, heap 2g) on Debian "
        "PostgreSQL (fresh cluster per size, shared_buffers 1GB, fsync on); olgraph serve on the dev "
        f"Neo4j {NEO4J_VERSION} (emptied per size) and on its embedded SQLite store.",
        f"One Python load process, {clients} concurrent clients, one event per POST /api/v1/lineage, "
        "events handed out in workload order. Marquez's 201 means stored; olgraph's time runs until "
        "/api/v1/stats shows every accepted event applied.",
        "Marquez stores jobs, job versions, runs, run states, datasets, dataset versions (one per run "
        "output), fields and the raw event; olgraph stores the graph of docs/graph-model.md (jobs, runs, "
        "datasets, versions, fields with column lineage, owners) plus the raw event in its log.",
        "Lineage depth: Marquez counts job-to-job steps over shared datasets (a depth-d walk crosses ~2d "
        "edges, and reaches siblings: jobs sharing an input); olgraph counts edges. The olgraph 2xdepth "
        "column is the comparable walk; node counts are shown side by side.",
    ]
    if marquez_error:
        found.append(f"Marquez could not be measured on this machine: {marquez_error}")
    for size, m in measured.items():
        for side in SIDES:
            result = m["ingest"][side]
            for code, example in result.examples.items() if result else ():
                count = result.statuses[code]
                found.append(f"{size:,} nodes, {LABELS[side]}: {count} answers {code}, e.g. {example}")
    return found


def build_document(
    measured: dict[int, dict[str, Any]], marquez_error: str | None, clients: int, calls: int
) -> dict[str, Any]:
    """The result document (``_support`` format) plus machine-readable ``ingest`` and ``lineage``."""
    return {
        "title": f"Peer: Marquez {MARQUEZ_VERSION}",
        "summary": summary_rows(measured, marquez_error),
        "tables": [ingest_table(measured), *lineage_tables(measured)],
        "charts": charts(measured),
        "notes": notes(measured, marquez_error, clients),
        "ingest": {
            str(size): {side: (r.rate if (r := m["ingest"][side]) else None) for side in SIDES}
            for size, m in measured.items()
        },
        "ingest_detail": {
            str(size): {side: (r.as_dict() if (r := m["ingest"][side]) else None) for side in SIDES}
            for size, m in measured.items()
        },
        "lineage": {str(size): m["lineage"] for size, m in measured.items()},
        "marquez_available": marquez_error is None,
        "marquez_error": marquez_error,
        "clients": clients,
        "lineage_calls": calls,
        "sizes": list(measured),
    }


def run(config: BenchConfig, max_nodes: int = MAX_NODES, clients: int = CLIENTS) -> dict[str, Any]:
    """Measure every size up to ``max_nodes``; write and return the result document."""
    sizes = [size for size in config.sizes if size <= max_nodes]
    calls = 50 if config.quick else 200
    measured: dict[int, dict[str, Any]] = {}
    with service("neo4j", config.services_cache, config.neo4j_env) as uri:
        peer = Peer(config, uri, clients, calls)
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
