"""The peer section's result document, built from made-up results (no Marquez, no servers).

Running Marquez and olgraph side by side needs PostgreSQL, Neo4j and minutes; turning what they
answered into headline rows, tables, charts and notes is pure, and the report renders it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import report
from _peer_http import Ingest
from _peer_report import build_document, notes, summary_rows
from _support import write_result


def ingest(
    events: int, seconds: float, rejected: dict[str, int] | None = None, cpu: dict[str, float] | None = None
) -> Ingest:
    rejected = rejected or {}
    statuses = Counter({"2xx": events - sum(rejected.values()), **rejected})
    examples = {code: f"body of a {code}" for code in rejected}
    return Ingest(events, seconds, seconds / 2, statuses, examples, peak_rss_mib=200.0, cpu_seconds=cpu or {})


def latency(p95: float, nodes: int) -> dict[str, Any]:
    return {"n": 50, "p50": p95 / 2, "p95": p95, "p99": p95 * 2, "nodes": nodes, "failures": 0}


def measured(*, marquez: bool) -> dict[int, dict[str, Any]]:
    lineage = {
        str(depth): {
            "node": f"dataset:ns:table_{depth}",
            "olgraph": latency(2.0 * depth, 10 * depth),
            "olgraph_2x": latency(4.0 * depth, 20 * depth),
            "olgraph_marquez_api": latency(3.0 * depth, 15 * depth),
            "embedded_marquez_api": latency(2.5 * depth, 15 * depth),
            "marquez": latency(20.0 * depth, 15 * depth) if marquez else None,
        }
        for depth in (1, 10)
    }
    sides = {
        "olgraph_neo4j": ingest(1000, 2.0, {"400": 3}, {"server": 1.994, "database": 0.997}),
        "olgraph_embedded": ingest(1000, 4.0, cpu={"server": 1.0}),
        "marquez": (
            ingest(1000, 10.0, {"error": 1}, {"server": 7.992, "database": 3.996}) if marquez else None
        ),
    }
    return {5000: {"events": 1000, "ingest": sides, "lineage": lineage}}


def test_rates_and_latencies_are_compared_with_marquez() -> None:
    rows = {row["metric"]: row for row in summary_rows(measured(marquez=True), None)}
    neo4j = rows["ingest until queryable, Neo4j, 5,000 nodes (1,000 events)"]
    assert (neo4j["olgraph"], neo4j["baseline"], neo4j["ratio"]) == (498.5, 99.9, 4.99)
    depth = rows["lineage p95, depth 10, 5,000 nodes"]
    assert (depth["olgraph"], depth["baseline"], depth["ratio"]) == (20.0, 200.0, 10.0)
    assert depth["note"] == "nodes: olgraph 100, Marquez 150"
    compat = rows["lineage p95, Marquez API on olgraph (embedded), depth 10, 5,000 nodes"]
    assert (compat["olgraph"], compat["ratio"]) == (25.0, 8.0)


def test_cpu_per_stored_event_is_compared_with_marquez_servers_and_databases_together() -> None:
    data = measured(marquez=True)
    rows = {row["metric"]: row for row in summary_rows(data, None)}
    # Neo4j side: (1.994 + 0.997) s over 997 stored events; Marquez: 11.988 s over 999
    neo4j = rows["CPU per event until queryable, Neo4j, 5,000 nodes"]
    assert (neo4j["olgraph"], neo4j["baseline"], neo4j["ratio"]) == (3.0, 12.0, 4.0)
    assert neo4j["note"] == "olgraph serve + Neo4j against Marquez + PostgreSQL"
    embedded = rows["CPU per event until queryable, embedded, 5,000 nodes"]
    assert (embedded["olgraph"], embedded["ratio"]) == (1.0, 12.0)
    table = build_document(data, None, 8, 50)["tables"][1]
    assert table["rows"] == [
        [5000, "olgraph (Neo4j)", 2.0, 1.0, 3.0],
        [5000, "olgraph (embedded)", 1.0, None, 1.0],
        [5000, "Marquez", 8.0, 4.0, 12.0],
    ]
    detail = build_document(data, None, 8, 50)["ingest_detail"]["5000"]["marquez"]
    assert detail["cpu_seconds"] == {"server": 7.99, "database": 4.0}
    assert detail["cpu_ms_per_event"] == {"server": 8.0, "database": 4.0, "total": 12.0}


def test_without_marquez_the_rows_say_why() -> None:
    rows = summary_rows(measured(marquez=False), "no Java here\nstack trace")
    assert rows
    assert all(row["baseline"] is None and row["ratio"] is None for row in rows)
    assert {row["note"] for row in rows} == {"Marquez did not run: no Java here"}


def test_notes_list_every_kind_of_rejected_answer() -> None:
    found = notes(measured(marquez=True), None, 8)
    assert "5,000 nodes, olgraph (Neo4j): 3 answers 400, e.g. body of a 400" in found
    assert "5,000 nodes, Marquez: 1 answers error, e.g. body of a error" in found
    assert any("8 concurrent clients" in note for note in found)


def test_the_lineage_table_shows_the_fewest_calls_a_depth_was_timed_with() -> None:
    data = measured(marquez=True)
    data[5000]["lineage"]["10"]["marquez"]["n"] = 21
    table = build_document(data, None, 8, 50)["tables"][2]
    column = table["columns"].index("fewest calls timed")
    assert [row[column] for row in table["rows"]] == [50, 21]


def test_the_document_renders_into_the_report(tmp_path: Path) -> None:
    doc = build_document(measured(marquez=True), None, 8, 50)
    assert doc["ingest"] == {"5000": {"olgraph_neo4j": 498.5, "olgraph_embedded": 250.0, "marquez": 99.9}}
    assert doc["ingest_detail"]["5000"]["olgraph_neo4j"]["rejected"] == 3
    assert [t["title"] for t in doc["tables"]] == [
        "Ingest until queryable (one event per POST)",
        "CPU per event until queryable (one event per POST)",
        "Lineage ms, 5,000 nodes (warm, both directions)",
    ]
    assert [c["name"] for c in doc["charts"]] == ["peer_ingest", "peer_lineage_p95"]
    write_result("peer", doc, tmp_path)
    text = report.render(tmp_path).read_text()
    assert "lineage p95, olgraph depth 20 vs Marquez 10, 5,000 nodes" in text
