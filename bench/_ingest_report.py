"""The ingest benchmark's result document: summary rows, tables, charts and notes.

Pure: from the measured figures (``_ingest_measure``) to what ``bench/report.py`` renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from _ingest_deployments import PARTITIONS
from _ingest_measure import BATCH, CONNECTIONS, WARM_UP_NODES


def _best(accept: list[dict[str, Any]], target: str, form: str) -> dict[str, Any]:
    """The run of ``target``/``form`` with the most events/s over the connection counts."""
    rows = [r for r in accept if r["target"] == target and r["form"] == form]
    return max(rows, key=lambda r: r["events_per_second"])


def _row(metric: str, ours: float, unit: str, note: str = "", **baseline: Any) -> dict[str, Any]:
    """A summary row; ``baseline=``/``baseline_name=`` when there is one (ratio: ours / baseline)."""
    base = baseline.get("baseline")
    ratio = round(ours / base, 3) if base else None
    row = {
        "metric": metric,
        "olgraph": ours,
        "baseline": base,
        "baseline_name": baseline.get("baseline_name"),
    }
    return row | {"ratio": ratio, "unit": unit, "note": note}


def summary_rows(
    accept: list[dict[str, Any]], kafka: dict[str, Any], modes: dict[str, Any]
) -> list[dict[str, Any]]:
    """Headline rows: accept vs baseline, api vs raw Kafka, e2e per mode/size, p95, peak RSS."""
    rows = []
    for target in ("serve", "api"):
        for form in ("single", "batch"):
            ours, base = _best(accept, target, form), _best(accept, "baseline", form)
            note = f"best over {'/'.join(map(str, CONNECTIONS[form]))} connections ({ours['connections']})"
            baseline = {"baseline": base["events_per_second"], "baseline_name": "minimal ASGI app on uvicorn"}
            rows.append(
                _row(
                    f"accept rate, {target}, {form} POSTs",
                    ours["events_per_second"],
                    "events/s",
                    note,
                    **baseline,
                )
            )
    api = max(_best(accept, "api", form)["events_per_second"] for form in ("single", "batch"))
    for key, name in (("produce_default", "16 KiB batches, as olgraph"), ("produce", "1 MiB batches")):
        raw = {"baseline": kafka[f"{key}_events_per_second"], "baseline_name": f"aiokafka produce, {name}"}
        rows.append(
            _row(f"accept rate, api (best form) vs raw Kafka produce ({name})", api, "events/s", **raw)
        )
    raw = {"baseline": kafka["consume_events_per_second"], "baseline_name": "aiokafka consume"}
    largest = modes["distributed"][max(modes["distributed"], key=int)]["events_per_second"]
    rows.append(
        _row("end to end, distributed (largest size) vs raw Kafka consume", largest, "events/s", **raw)
    )
    for mode, runs in modes.items():
        for size, run in runs.items():
            note = "first POST until all applied"
            rows.append(_row(f"end to end, {mode}, {size} nodes", run["events_per_second"], "events/s", note))
        largest = max(runs, key=int)
        sustained_run = runs[largest]["sustained"]
        latency = sustained_run["latency_ms"]
        note = f"{latency['n']} samples at {sustained_run['achieved_rate']} events/s"
        rows.append(
            _row(f"ingest-to-queryable p95, {mode}, 50% of e2e rate", latency.get("p95", 0.0), "ms", note)
        )
        for name, memory in runs[largest]["memory"].items():
            note = f"VmHWM over e2e {largest} nodes + sustained phase"
            rows.append(_row(f"peak RSS, {mode} {name}", memory["peak_mib"], "MiB", note))
            note = f"{memory['start_mib']} -> {memory['end_mib']} MiB over {memory['events']} events"
            growth = memory["growth_mib_per_10k_events"]
            rows.append(_row(f"RSS growth, {mode} {name}", growth, "MiB per 10k events", note))
    return rows


ACCEPT_COLUMNS = (
    ("target", "target"), ("form", "form"), ("connections", "connections"), ("events/s", "events_per_second"),
    ("requests/s", "requests_per_second"), ("p50 ms", "latency_p50_ms"), ("p99 ms", "latency_p99_ms"),
    ("non-2xx", "non_2xx"), ("socket errors", "socket_errors"), ("timeouts", "timeouts"),
    ("server CPU %", "server_cpu_pct"),
    ("wrk CPU %", "wrk_cpu_pct"),
)  # fmt: skip
KAFKA_COLUMNS = (
    ("events", "events"), ("produce events/s, 16 KiB batches", "produce_default_events_per_second"),
    ("produce events/s, 1 MiB batches", "produce_events_per_second"),
    ("consume events/s", "consume_events_per_second"),
)  # fmt: skip
E2E_COLUMNS = (
    ("mode", "mode"), ("nodes", "size"), ("events", "events"), ("accepted", "accepted"),
    ("seconds", "seconds"), ("events/s", "events_per_second"), ("accept seconds", "accept_seconds"),
    ("events/store batch", "events_per_store_batch"), ("s/store batch", "seconds_per_store_batch"),
    ("dead letters", "dead_letters"), ("CPU ms per event", "cpu_ms_per_event"),
    ("machine CPU busy", "machine_cpu_busy_fraction"),
)  # fmt: skip
LATENCY_COLUMNS = (
    ("mode", "mode"), ("nodes", "size"), ("target/s", "target_rate"), ("achieved/s", "achieved_rate"),
    ("events", "events"), ("samples", "n"), ("p50 ms", "p50"), ("p95 ms", "p95"), ("p99 ms", "p99"),
    ("max ms", "max"), ("timeouts", "sample_timeouts"), ("drain s", "drain_seconds"),
)  # fmt: skip
MEMORY_COLUMNS = (
    ("mode", "mode"), ("nodes", "size"), ("process", "process"), ("start MiB", "start_mib"),
    ("end MiB", "end_mib"), ("peak MiB", "peak_mib"), ("MiB per 10k events", "growth_mib_per_10k_events"),
    ("events", "events"),
)  # fmt: skip


def _table(
    title: str, columns: Sequence[tuple[str, str]], records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """A result table: ``columns`` are (heading, key in each record)."""
    rows = [[record.get(key) for _, key in columns] for record in records]
    return {"title": title, "columns": [heading for heading, _ in columns], "rows": rows}


def tables(
    accept: list[dict[str, Any]], kafka: dict[str, Any], modes: dict[str, Any]
) -> list[dict[str, Any]]:
    """Accept runs, raw Kafka, end-to-end runs, latency and memory as tables."""
    e2e, latency, memory = [], [], []
    for mode, runs in modes.items():
        for size, run in runs.items():
            e2e.append({"mode": mode, "size": size, **run})
            memory += [
                {"mode": mode, "size": size, "process": name, **m} for name, m in run["memory"].items()
            ]
            if "sustained" in run:
                latency.append(
                    {"mode": mode, "size": size, **run["sustained"], **run["sustained"]["latency_ms"]}
                )
    return [
        _table("Accept rate (wrk, fixed duration)", ACCEPT_COLUMNS, accept),
        _table("Raw Kafka (aiokafka, same messages and keys)", KAFKA_COLUMNS, [kafka]),
        _table("End to end (single POSTs, 16 connections, until applied)", E2E_COLUMNS, e2e),
        _table("Ingest-to-queryable latency at 50% of the e2e rate", LATENCY_COLUMNS, latency),
        _table("Memory (RSS sampled every second)", MEMORY_COLUMNS, memory),
    ]


def _chart(
    name: str, title: str, kind: str, axes: tuple[str, str], series: Any, *, log_y: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "title": title,
        "kind": kind,
        "x_label": axes[0],
        "y_label": axes[1],
        "log_y": log_y,
        "series": series,
    }


def charts(
    accept: list[dict[str, Any]], kafka: dict[str, Any], modes: dict[str, Any]
) -> list[dict[str, Any]]:
    """Bar: accept rates; bar: e2e by mode and size; line: RSS over the largest run."""
    accepted: dict[str, list[list[Any]]] = {}
    for r in accept:
        accepted.setdefault(f"{r['form']} c{r['connections']}", []).append(
            [r["target"], r["events_per_second"]]
        )
    accepted["raw Kafka"] = [
        ["kafka produce 16 KiB", kafka["produce_default_events_per_second"]],
        ["kafka produce 1 MiB", kafka["produce_events_per_second"]],
        ["kafka consume", kafka["consume_events_per_second"]],
    ]
    e2e = {
        mode: [[size, run["events_per_second"]] for size, run in runs.items()] for mode, runs in modes.items()
    }
    rss: dict[str, list[list[float]]] = {}
    for mode, runs in modes.items():
        for name, samples in runs[max(runs, key=int)]["rss_samples"].items():
            rss[f"{mode}: {name}"] = [[t, mib] for t, mib in samples]
    return [
        _chart(
            "ingest_accept", "Accept rate (2xx events/s)", "bar", ("target", "events/s"), accepted, log_y=True
        ),
        _chart(
            "ingest_e2e", "End to end, events/s until applied", "bar", ("graph size (nodes)", "events/s"), e2e
        ),
        _chart(
            "ingest_rss",
            "RSS over the largest run (e2e, then 50% sustained)",
            "line",
            ("seconds", "MiB"),
            rss,
        ),
    ]


def notes(accept: list[dict[str, Any]], modes: dict[str, Any], seconds: float) -> list[str]:
    """Caveats: how the load was generated and what competes for the two cores."""
    wrk_cpu = max(r["wrk_cpu_pct"] for r in accept)
    gen_cpu = max(
        run["generator_cpu_seconds"] / run["seconds"] * 100 for r in modes.values() for run in r.values()
    )
    return [
        f"Accept runs: wrk (C, epoll, 2 threads) cycling pre-serialized bodies for {seconds:g}s per run; "
        f"wrk used at most {wrk_cpu}% of a core. A batch holds {BATCH} events; events/s = 2xx requests x "
        "events per request / s. serve's consumer applies what it accepted meanwhile, in the same process.",
        "End to end and paced runs: bench/loadgen.py, asyncio with a minimal HTTP/1.1 client (httpx cost "
        f"~2 ms of CPU per 10 KB POST here and would have been the bottleneck); at most {gen_cpu:.0f}% of a "
        "core during the e2e runs.",
        "Latency samples only events that create a new run (GET /api/v1/runs/{runId} is a 404 until that "
        "event is applied), at most 4 watched at once and 5 new per second; resolution: poll interval + GET.",
        f"Distributed: topics with {PARTITIONS} partitions (as docker compose creates them), one consume "
        "replica, Neo4j emptied and a new topic and group per run; done when olgraph_events_applied_total + "
        "olgraph_dead_letters_total on the consumer's /metrics reach the accepted count.",
        "uvicorn runs with its defaults: asyncio + h11 here (uvloop and httptools are not installed); the "
        "baseline app gets the same.",
        f"Each mode starts with an unmeasured warm-up run ({WARM_UP_NODES} nodes, another seed), so the "
        "first measured size does not pay for a cold Neo4j (query plans, page cache).",
        "Events per store batch (mean over each mode's largest run): "
        + ", ".join(
            f"{mode} {runs[max(runs, key=int)]['events_per_store_batch']}" for mode, runs in modes.items()
        )
        + "; the consumers' batch_size is 500.",
    ]
