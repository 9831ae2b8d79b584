"""The ingest benchmark's result document, built from made-up figures (no servers, no load).

The measurements themselves need services and minutes; what turns them into the report is pure,
and the report renders it (``bench/report.py``), so a broken summary, table or chart fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import report
from _ingest_deployments import metric_total
from _ingest_report import charts, notes, summary_rows, tables
from _support import write_result


def accept_rows() -> list[dict[str, Any]]:
    rows = []
    for target, rate in (("baseline", 4000.0), ("serve", 400.0), ("api", 800.0)):
        for form, counts in (("single", (16, 64)), ("batch", (4, 16))):
            for connections in counts:
                per = rate * (10 if form == "batch" else 1) + connections
                rows.append(
                    {"target": target, "form": form, "connections": connections, "events_per_second": per}
                    | {"wrk_cpu_pct": 20.0, "server_cpu_pct": 90.0}
                )
    return rows


KAFKA = {
    "events": 1000,
    "produce_default_events_per_second": 20000.0,
    "produce_events_per_second": 50000.0,
    "consume_events_per_second": 80000.0,
}


def mode_runs(rate: float) -> dict[str, Any]:
    def run(size: int, largest: bool) -> dict[str, Any]:
        memory = {"start_mib": 100.0, "end_mib": 110.0, "peak_mib": 120.0, "events": 2000}
        out: dict[str, Any] = {
            "events_per_second": rate * (1 if largest else 1.2),
            "seconds": 10.0,
            "generator_cpu_seconds": 1.5,
            "events_per_store_batch": 250.0,
            "memory": {"serve": memory | {"growth_mib_per_10k_events": 50.0}},
            "rss_samples": {"serve": [(0.0, 100.0), (1.0, 110.0)]} if largest else {},
        }
        if largest:
            latency = {"n": 40, "p50": 20.0, "p95": 300.0}
            out["sustained"] = {"latency_ms": latency, "achieved_rate": rate / 2, "events": 500}
        return out

    return {"2000": run(2000, False), "10000": run(10000, True)}


def test_the_summary_compares_each_figure_with_its_baseline() -> None:
    modes = {"embedded": mode_runs(450.0), "distributed": mode_runs(150.0)}
    rows = {row["metric"]: row for row in summary_rows(accept_rows(), KAFKA, modes)}
    single = rows["accept rate, serve, single POSTs"]
    assert (single["olgraph"], single["baseline"]) == (464.0, 4064.0)  # best over 16/64 connections
    assert single["ratio"] == round(464.0 / 4064.0, 3)
    assert rows["end to end, distributed, 10000 nodes"]["olgraph"] == 150.0
    assert rows["ingest-to-queryable p95, embedded, 50% of e2e rate"]["olgraph"] == 300.0
    assert rows["RSS growth, embedded serve"]["olgraph"] == 50.0


def test_the_document_renders_into_the_report(tmp_path: Path) -> None:
    modes = {"embedded": mode_runs(450.0), "distributed": mode_runs(150.0)}
    accept = accept_rows()
    doc = {
        "title": "Ingest",
        "summary": summary_rows(accept, KAFKA, modes),
        "tables": tables(accept, KAFKA, modes),
        "charts": charts(accept, KAFKA, modes),
        "notes": notes(accept, modes, 5.0),
    }
    assert [t["title"].split(" ")[0] for t in doc["tables"]] == [
        "Accept",
        "Raw",
        "End",
        "Ingest-to-queryable",
        "Memory",
    ]
    assert [c["name"] for c in doc["charts"]] == ["ingest_accept", "ingest_e2e", "ingest_rss"]
    write_result("ingest", doc, tmp_path)
    text = report.render(tmp_path).read_text()
    assert "accept rate, api (best form) vs raw Kafka produce (1 MiB batches)" in text
    assert "Ingest-to-queryable latency at 50% of the e2e rate" in text


def test_metric_totals_sum_every_label_set() -> None:
    text = (
        'olgraph_dead_letters_total{stage="parse"} 2.0\n'
        'olgraph_dead_letters_total{stage="store"} 3\n'
        "other_total 9\n"
    )
    assert metric_total(text, "olgraph_dead_letters_total") == 5.0
    assert metric_total(text, "missing") == 0
