"""The queries section's result document, built from made-up timings (no graphs, no servers).

Building the graphs and timing the queries needs Neo4j and minutes; turning the timings into
headline rows, tables and charts is pure, and the report renders it (``bench/report.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import report
from _queries_plan import SEARCH_TIERS, Plan, Query, Timing, query_set
from _queries_report import LARGE_ANSWER_TARGET_MS, SEARCH_TARGET_MS, TARGET_MS, document, summary_rows
from _support import write_result
from workloads import WorkloadSpec

ANCHORS = {"chain-middle": "dataset:a:middle", "fan-out": "dataset:a:hot", "ordinary": "dataset:a:plain"}


def plan(size: int) -> Plan:
    return Plan(size, WorkloadSpec(kind="mixed", seed=1, nodes=size), ANCHORS)


def timings(queries: list[Query], ms: float, fan_out_nodes: int = 10_000) -> dict[Query, Timing]:
    """Every warm sample ``ms`` (so every percentile is ``ms``); the fan-out anchor's answers are large."""
    return {
        q: Timing(first_ms=ms * 10, warm_ms=[ms] * 20, nodes=fan_out_nodes if q.anchor == "fan-out" else 40)
        for q in queries
    }


def read_side() -> list[Query]:
    tiers = [Query(tier, "search", "-", 0) for tier in SEARCH_TIERS]
    return [*tiers, *(Query("column", "column", "both", d) for d in (1, 5, 10))]


def results(*, fan_out_nodes: int = 10_000) -> dict[str, dict[int, dict[str, Any]]]:
    build = {"events": 900, "seconds": 3.0, "events_per_second": 300.0, "reused": False}
    out: dict[str, dict[int, dict[str, Any]]] = {"neo4j": {}, "embedded": {}}
    for size, ms in ((1000, 4.0), (2000, 8.0)):
        p = plan(size)
        local = query_set(p, http=False) + read_side()
        http = timings(query_set(p, http=True), ms * 2, fan_out_nodes)
        out["neo4j"][size] = {
            "build": build,
            "http": http,
            "in_process": timings(local, ms),
            "per_level": timings(query_set(p, http=False), ms * 3),
        }
        out["embedded"][size] = {
            "build": build | {"reused": True},
            "http": http,
            "in_process": timings(local, ms),
        }
    return out


def test_the_summary_measures_the_largest_graph_against_the_targets() -> None:
    rows = {row["metric"]: row for row in summary_rows(results())}
    lineage = rows["neo4j 2000 nodes: depth-10 lineage both p95, chain-middle"]
    assert (lineage["olgraph"], lineage["baseline"], lineage["ratio"]) == (8.0, TARGET_MS, 12.5)
    search = rows["embedded 2000 nodes: search exact p95 (20 hits)"]
    assert (search["baseline"], search["ratio"]) == (SEARCH_TARGET_MS, 6.25)
    assert rows["neo4j 2000 nodes: depth-5 column lineage (both) p95"]["olgraph"] == 8.0
    look_ahead = rows["neo4j 2000 nodes: depth-20 lineage both p95, chain-middle, look-ahead"]
    assert (look_ahead["olgraph"], look_ahead["baseline"], look_ahead["ratio"]) == (8.0, 24.0, 3.0)
    large = rows["embedded 2000 nodes: depth-10 impact, 10,000-node answer, HTTP p95"]
    assert (large["olgraph"], large["baseline"]) == (16.0, LARGE_ANSWER_TARGET_MS["embedded"])
    assert not any("1000 nodes" in metric for metric in rows)  # the largest graph only
    assert not any("look-ahead" in metric for metric in rows if metric.startswith("embedded"))


def test_small_answers_and_the_read_side_alone_leave_rows_out() -> None:
    small = summary_rows(results(fan_out_nodes=100))
    assert not any("-node answer" in row["metric"] for row in small)
    read_only = results()
    for by_size in read_only.values():
        for parts in by_size.values():
            parts["in_process"] = timings(read_side(), 5.0)
            parts["http"] = {}
            parts.pop("per_level", None)
    metrics = [row["metric"] for row in summary_rows(read_only)]
    assert metrics
    assert all("search" in m or "column lineage" in m for m in metrics)


def test_the_document_renders_into_the_report(tmp_path: Path) -> None:
    doc = document([plan(1000), plan(2000)], results())
    assert [t["title"].split(" ")[0] for t in doc["tables"]] == ["In-process", "HTTP", "Neo4j,", "Graph"]
    per_level = doc["tables"][2]["rows"]
    assert per_level
    assert {row[0] for row in per_level} == {"neo4j per level"}
    assert [c["name"] for c in doc["charts"]] == ["queries_p95_by_depth", "queries_cold_warm"]
    write_result("queries", doc, tmp_path)
    text = report.render(tmp_path).read_text()
    assert "neo4j 2000 nodes: depth-10 impact p95, fan-out" in text
    assert "Graph sizes are targets" in text
