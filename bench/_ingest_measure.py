"""The ingest benchmark's measurements: accept rates, raw Kafka, end to end, latency, memory.

Each function runs one kind of load against deployments from ``_ingest_deployments`` and returns
its figures; ``bench/ingest.py`` runs them in order and writes the result.
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from _ingest_deployments import (
    E2E_TIMEOUT,
    POLL,
    Deployment,
    api_only,
    baseline_server,
    create_topics,
    deployment,
    loadgen,
    metric_total,
    result_of,
    scrape,
    workload,
)
from _support import BenchConfig, cpu_seconds, log, machine_busy_seconds, percentiles
from loadgen import run_wrk
from workloads import Summary

BATCH = 100
CONNECTIONS = {"single": (16, 64), "batch": (4, 16)}
"""Concurrent connections per form: 64 connections of 100-event batches would keep ~6400 events in
flight, more than a fixed-time run can complete at the rates seen here (wrk counts none of them)."""
E2E_CONNECTIONS = 16
WARM_UP_NODES = 1_000


# --- 1. accept rate ------------------------------------------------------------------------------


def accept_row(
    target: str, url: str, pid: int, ndjson: Path, *, form: str, connections: int, seconds: float
) -> dict[str, Any]:
    """One fixed-time ``wrk`` run; the server's and wrk's CPU use alongside the rate."""
    batch = BATCH if form == "batch" else 0
    path = "/api/v1/lineage/batch" if batch else "/api/v1/lineage"
    server_cpu, wrk_cpu = cpu_seconds(pid), _children_cpu()
    result = run_wrk(f"{url}{path}", ndjson, batch=batch, connections=connections, seconds=seconds)
    elapsed = result["duration_us"] / 1e6
    row = {"target": target, "form": form, "connections": connections, **result}
    row["server_cpu_pct"] = round((cpu_seconds(pid) - server_cpu) / elapsed * 100, 1)
    row["wrk_cpu_pct"] = round((_children_cpu() - wrk_cpu) / elapsed * 100, 1)
    log(
        f"accept {target} {form} c{connections}: {row['events_per_second']} events/s, "
        f"server CPU {row['server_cpu_pct']}%"
    )
    return row


def _children_cpu() -> float:
    import resource  # noqa: PLC0415

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_accept(
    config: BenchConfig, kafka: str, neo4j: str, ndjson: Path, seconds: float
) -> list[dict[str, Any]]:
    """Accept rates of the baseline app, ``serve`` and ``api``: single/batch, 16/64 connections."""
    runs = [(form, c) for form, counts in CONNECTIONS.items() for c in counts]
    rows = []
    with baseline_server() as (url, pid):
        rows += [
            accept_row("baseline", url, pid, ndjson, form=f, connections=c, seconds=seconds) for f, c in runs
        ]
    for form, c in runs:  # a fresh server each time: no backlog left over from the run before
        with deployment("embedded", config, kafka, neo4j, "accept") as serve:
            process = serve.processes["serve"]
            rows.append(
                accept_row("serve", serve.url, process.pid, ndjson, form=form, connections=c, seconds=seconds)
            )
            rows[-1]["peak_rss_mib"] = process.peak_rss_mib()
        with api_only(config, kafka, neo4j) as api:
            rows.append(
                accept_row("api", str(api.url), api.pid, ndjson, form=form, connections=c, seconds=seconds)
            )
            rows[-1]["peak_rss_mib"] = api.peak_rss_mib()
    return rows


def measure_kafka(kafka: str, ndjson: Path) -> dict[str, Any]:
    """Raw aiokafka produce (default and 1 MiB batches) and consume of the same messages."""
    topics = [f"bench.raw.{uuid.uuid4().hex[:8]}" for _ in range(2)]
    create_topics(kafka, *topics)
    with loadgen("kafka", "--bootstrap", kafka, "--topics", ",".join(topics), "--ndjson", str(ndjson)) as gen:
        result = result_of(gen)
    log(
        f"raw kafka: produce {result['produce_default_events_per_second']}/s (16 KiB batches), "
        f"{result['produce_events_per_second']}/s (1 MiB), consume {result['consume_events_per_second']}/s"
    )
    return result


# --- 2-4. end to end, latency at half the rate, memory ----------------------------------------------


def wait_for(dep: Deployment, target: int, timeout: float = E2E_TIMEOUT) -> float:
    """Poll until ``target`` events are applied; the monotonic time it was seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dep.applied() >= target:
            return time.monotonic()
        time.sleep(POLL)
    raise TimeoutError(f"{dep.mode}: {dep.applied()} of {target} events applied after {timeout}s")


def end_to_end(dep: Deployment, ndjson: Path, events: int) -> dict[str, Any]:
    """POST every event once (16 connections) and time from the first POST until all are applied."""
    send = ("send", "--url", dep.url, "--ndjson", str(ndjson), "--connections", str(E2E_CONNECTIONS))
    before = {name: cpu_seconds(p.pid) for name, p in dep.processes.items()}
    machine = machine_busy_seconds()
    with loadgen(*send) as sender:
        sent, done = _until_applied(dep, sender, events)
    result = _e2e_result(dep, events, sent, done)
    # Where the CPU went: olgraph's processes, and the whole machine (Neo4j, Kafka, the load
    # generator and anything else): per event, in milliseconds.
    spent = {name: cpu_seconds(p.pid) - before[name] for name, p in dep.processes.items()}
    spent["machine"] = machine_busy_seconds() - machine
    result["cpu_ms_per_event"] = {name: round(sec * 1000 / max(events, 1), 2) for name, sec in spent.items()}
    result["machine_cpu_busy_fraction"] = round(
        spent["machine"] / (result["seconds"] * (os.cpu_count() or 1)), 3
    )
    return result


def _until_applied(
    dep: Deployment, sender: subprocess.Popen[str], events: int
) -> tuple[dict[str, Any], float]:
    """The sender's result and when all it got accepted was applied (monotonic)."""
    sent: dict[str, Any] | None = None
    deadline = time.monotonic() + E2E_TIMEOUT
    while True:
        if sent is None and sender.poll() is not None:
            sent = result_of(sender)
        target = events if sent is None else sent["accepted"]  # refused events never apply
        if (applied := dep.applied()) >= target:
            return sent or result_of(sender), time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{dep.mode}: {applied} of {target} events applied after {E2E_TIMEOUT}s")
        time.sleep(POLL)


def _e2e_result(dep: Deployment, events: int, sent: dict[str, Any], done: float) -> dict[str, Any]:
    seconds = done - sent["first_post"]
    metrics = scrape(dep.metrics_url)
    batches = metric_total(metrics, "olgraph_store_batch_events_count")
    return {
        "events": events,
        "accepted": sent["accepted"],
        "applied": dep.applied(),
        "statuses": sent["statuses"],
        "seconds": round(seconds, 3),
        "events_per_second": round(sent["accepted"] / seconds, 1),
        "accept_seconds": round(sent["last_response"] - sent["first_post"], 3),
        "generator_cpu_seconds": sent["generator_cpu_seconds"],
        "store_batches": int(batches),
        "events_per_store_batch": round(
            metric_total(metrics, "olgraph_store_batch_events_sum") / max(batches, 1), 1
        ),
        "seconds_per_store_batch": round(
            metric_total(metrics, "olgraph_store_batch_seconds_sum") / max(batches, 1), 4
        ),
        "dead_letters": int(metric_total(metrics, "olgraph_dead_letters_total")),
    }


def paced(dep: Deployment, ndjson: Path, rate: float, seconds: float) -> dict[str, Any]:
    """Pace single POSTs of ``ndjson`` at ``rate`` for ``seconds`` (``loadgen.py paced``), then
    wait until every accepted one is applied; the load generator's result with ``drain_seconds``."""
    before = dep.applied()
    pace = ("--rate", f"{rate:.3f}", "--seconds", f"{seconds:g}")
    with loadgen("paced", "--url", dep.url, "--ndjson", str(ndjson), *pace) as pacer:
        result = result_of(pacer, timeout=seconds + E2E_TIMEOUT)  # it paces for ``seconds`` first
    accepted = sum(n for status, n in result["statuses"].items() if status.startswith("2"))
    started = time.monotonic()
    wait_for(dep, before + accepted)
    result["drain_seconds"] = round(time.monotonic() - started, 3)
    return result


def sustained(
    dep: Deployment, config: BenchConfig, rate: float, seconds: float, per_node: float
) -> dict[str, Any]:
    """Pace single POSTs at ``rate`` for ``seconds`` (a fresh workload, next seed) and sample
    ingest-to-queryable latency; then wait until the backlog is applied."""
    needed = math.ceil(rate * seconds) + 1
    ndjson, summary = workload(config, config.seed + 1, max(2_000, math.ceil(needed / per_node * 1.5)))
    log(f"{dep.mode}: sustained {rate:.0f} events/s for {seconds:g}s ({summary.events} events available)")
    result = paced(dep, ndjson, rate, seconds)
    result["latency_ms"] = percentiles(result.pop("latencies_ms"))
    log(f"{dep.mode}: latency {result['latency_ms']}")
    return result


def memory_of(dep: Deployment, events: int) -> dict[str, Any]:
    """Per process: RSS at the first and last sample, peak (VmHWM), MiB per 10k events."""
    out = {}
    for name, process in dep.processes.items():
        samples = dep.samples[name]
        start, end = samples[0][1], samples[-1][1]
        out[name] = {
            "start_mib": start,
            "end_mib": end,
            "peak_mib": process.peak_rss_mib(),
            "growth_mib_per_10k_events": round((end - start) / events * 10_000, 2),
            "events": events,
        }
    return out


def warm_up(mode: str, config: BenchConfig, kafka: str, neo4j: str) -> None:
    """One small unmeasured run (another seed), so the first measured size does not pay for a
    cold store: Neo4j's query plans and page cache, SQLite's first pages, Python's imports."""
    ndjson, summary = workload(config, config.seed + 2, WARM_UP_NODES)
    with deployment(mode, config, kafka, neo4j, "warmup") as dep:
        run = end_to_end(dep, ndjson, summary.events)
    log(f"{mode} warm-up: {summary.events} events, {run['events_per_second']} events/s (not reported)")


def measure_mode(
    mode: str,
    config: BenchConfig,
    kafka: str,
    neo4j: str,
    *,
    files: dict[int, tuple[Path, Summary]],
    seconds: float,
) -> dict[str, Any]:
    """End-to-end runs per size; latency and memory on the largest, one deployment per size."""
    runs: dict[str, Any] = {}
    largest = max(files)
    warm_up(mode, config, kafka, neo4j)
    for size, (ndjson, summary) in sorted(files.items()):
        with deployment(mode, config, kafka, neo4j, str(size)) as dep, contextlib.ExitStack() as stack:
            for name, process in dep.processes.items():
                dep.samples[name] = stack.enter_context(process.sample_memory(1.0))
            log(f"{mode} e2e {size} nodes: {summary.events} events")
            run = end_to_end(dep, ndjson, summary.events)
            log(f"{mode} e2e {size} nodes: {run['events_per_second']} events/s")
            events = run["accepted"]
            if size == largest:
                per_node = summary.events / size
                run["sustained"] = sustained(dep, config, run["events_per_second"] / 2, seconds, per_node)
                events += run["sustained"]["events"]
            stack.close()
            run["memory"] = memory_of(dep, events)
            run["rss_samples"] = (
                {name: list(samples) for name, samples in dep.samples.items()} if size == largest else {}
            )
            runs[str(size)] = run
    return runs
