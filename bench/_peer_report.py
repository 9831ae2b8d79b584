"""The peer section's result document: headline rows against Marquez, the ingest and lineage
tables, charts and notes.

Pure: from what each size measured (``Ingest`` results and lineage rows) to what
``bench/report.py`` renders, plus the machine-readable figures.
"""

from __future__ import annotations

from typing import Any

from marquez import MARQUEZ_VERSION
from olgraph.devservices.neo4j import NEO4J_VERSION

SIDES = ("olgraph_neo4j", "olgraph_embedded", "marquez")
LABELS = {"olgraph_neo4j": "olgraph (Neo4j)", "olgraph_embedded": "olgraph (embedded)", "marquez": "Marquez"}


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 2) if numerator and denominator else None


def _side(row: dict[str, Any], side: str, key: str) -> Any:
    value = row.get(side)
    return value.get(key) if value else None


def summary_rows(measured: dict[int, dict[str, Any]], marquez_error: str | None) -> list[dict[str, Any]]:
    """Headline rows per size: ingest rate (olgraph/Marquez), CPU per event and depth-10 lineage p95
    (both Marquez/olgraph)."""
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
        rows += _cpu_rows(m, size, base, missing)
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


def _cpu_rows(
    m: dict[str, Any], size: int, base: dict[str, Any], missing: str | None
) -> list[dict[str, Any]]:
    """CPU per stored event until queryable, servers and databases together (Marquez/olgraph)."""
    theirs = m["ingest"]["marquez"]
    theirs_ms = theirs.cpu_ms_per_event().get("total") if theirs else None
    out = []
    for key, store in (("olgraph_neo4j", "Neo4j"), ("olgraph_embedded", "embedded")):
        spent = m["ingest"][key].cpu_ms_per_event()
        ours_ms = spent.get("total")
        if ours_ms is None:
            continue
        what = "olgraph serve + Neo4j" if "database" in spent else "olgraph serve"
        if key == "olgraph_neo4j" and "database" not in spent:
            what += " (Neo4j's CPU not readable: not started by this run)"
        out.append(
            {
                **base,
                "metric": f"CPU per event until queryable, {store}, {size:,} nodes",
                "olgraph": ours_ms,
                "baseline": theirs_ms,
                "ratio": _ratio(theirs_ms, ours_ms),
                "unit": "ms",
                "note": missing or f"{what} against Marquez + PostgreSQL",
            }
        )
    return out


def cpu_table(measured: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One row per size and side: CPU ms per stored event of the server, the database and both."""
    rows = []
    for size, m in measured.items():
        for side in SIDES:
            result = m["ingest"][side]
            spent = result.cpu_ms_per_event() if result else {}
            if spent:
                rows.append([size, LABELS[side], spent.get("server"), spent.get("database"), spent["total"]])
    columns = ["nodes", "side", "server CPU ms/event", "database CPU ms/event", "total CPU ms/event"]
    return {"title": "CPU per event until queryable (one event per POST)", "columns": columns, "rows": rows}


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
        "fewest calls timed",
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
                    _fewest_calls(row),
                ]
            )
        tables.append(
            {"title": f"Lineage ms, {size:,} nodes (warm, both directions)", "columns": columns, "rows": rows}
        )
    return tables


def _fewest_calls(row: dict[str, Any]) -> int | None:
    """The smallest sample count among a depth's timed series (a series stops early when slow)."""
    counts = [series["n"] for series in row.values() if isinstance(series, dict) and "n" in series]
    return min(counts, default=None)


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
        "CPU per event: user + system seconds over the same span of each side's process trees, divided "
        "by the events stored: Marquez's JVM (server) and PostgreSQL's postmaster with its backends "
        "(database); olgraph serve (server) and, on Neo4j, the Neo4j JVM (database). The load "
        "generator is not counted on either side.",
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
        "tables": [ingest_table(measured), cpu_table(measured), *lineage_tables(measured)],
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
