"""Ingest: accept rate, end-to-end rate, ingest-to-queryable latency and memory of olgraph.

Every load comes from a separate process (``wrk`` or ``bench/loadgen.py``) on loopback, and
every event from ``WorkloadSpec(kind="mixed", seed, nodes)`` serialized to NDJSON beforehand.

1. **Accept rate** (2xx/s, not yet applied): ``olgraph serve`` (embedded; its consumer runs
   meanwhile, in the same process) and ``olgraph api`` (→ Kafka, no consumer), single-event
   and batch POSTs, 16 and 64 connections, each for a fixed time with ``wrk``. Baselines in the
   same run: a minimal ASGI app on uvicorn that reads the body and answers 202 (the bound of any
   Python HTTP ingest here), and raw aiokafka produce → consume of the same messages.
2. **End to end**: every event of a size POSTed once (single events, 16 connections) to a
   fresh deployment; events/s from the first POST until all are applied (embedded: the
   server's ``/api/v1/stats``; distributed: ``olgraph consume``'s ``olgraph_events_applied_total``
   plus dead letters on its ``/metrics``). Neo4j is emptied, and topic and group are new, per run.
3. **Latency at 50% of that rate**: after the largest size, the same deployment takes another
   workload (next seed) paced at half its end-to-end rate; sampled new runs are timed from the
   POST's 2xx until ``GET /api/v1/runs/{runId}`` answers 200.
4. **Memory**: RSS of serve, api and consume every second over (2) and (3), and VmHWM.

Each mode first runs a small unmeasured warm-up, so the first size does not pay for a cold store.

    .venv/bin/python bench/ingest.py --quick
    .venv/bin/python bench/ingest.py --sizes 10000,100000 --e2e-max-nodes 100000
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    BenchConfig,
    OlgraphProcess,
    apt_install,
    config_from,
    free_port,
    log,
    neo4j_auth,
    percentiles,
    section_parser,
    service,
    write_result,
)
from loadgen import run_wrk
from workloads import Summary, WorkloadSpec, write_ndjson

SECTION = "ingest"
BENCH = Path(__file__).resolve().parent
ACCEPT_NODES = 10_000  # accept runs cycle through this workload's events (rate barely depends on size)
BATCH = 100
CONNECTIONS = {"single": (16, 64), "batch": (4, 16)}
"""Concurrent connections per form: 64 connections of 100-event batches would keep ~6400 events in
flight, more than a fixed-time run can complete at the rates seen here (wrk counts none of them)."""
E2E_CONNECTIONS = 16
E2E_TIMEOUT = 1800.0
POLL = 0.1
WARM_UP_NODES = 1_000
PARTITIONS = 3  # as docker compose creates the events topic
_CLOCK_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Deployment:
    """The olgraph processes of one mode, where to POST, and how far the consumer got."""

    mode: str
    url: str
    processes: dict[str, OlgraphProcess]
    applied: Callable[[], int]
    metrics_url: str
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


# --- workloads and helpers -------------------------------------------------------------------------


def workload(config: BenchConfig, seed: int, nodes: int) -> tuple[Path, Summary]:
    """``mixed`` events for ``nodes`` as NDJSON under the work dir (generation is never timed)."""
    path = config.work_dir / "ingest" / f"mixed-{seed}-{nodes}.ndjson"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        summary = write_ndjson(WorkloadSpec(kind="mixed", seed=seed, nodes=nodes), out)
    return path, summary


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICK


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy since boot (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / _CLOCK_TICK


@contextlib.contextmanager
def loadgen(*args: str) -> Iterator[subprocess.Popen[str]]:
    """``bench/loadgen.py`` with ``args`` in its own process (its JSON comes on stdout); killed
    on the way out if still running (an error or Ctrl-C here)."""
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "loadgen.py"), *args], stdout=subprocess.PIPE, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def result_of(process: subprocess.Popen[str], timeout: float = E2E_TIMEOUT) -> dict[str, Any]:
    """The JSON a load generator printed; raises when it failed."""
    out, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"loadgen exited with {process.returncode}")
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return data


def metric_total(text: str, name: str) -> float:
    """Sum of every sample of ``name`` (all label sets) in Prometheus text."""
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return sum(float(value) for value in pattern.findall(text))


def scrape(url: str) -> str:
    """``GET url/metrics``."""
    return httpx.get(f"{url}/metrics", timeout=10).text


@contextlib.contextmanager
def baseline_server() -> Iterator[tuple[str, int]]:
    """The minimal ASGI app (``loadgen.py baseline``) on a free port: yields its URL and pid."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "loadgen.py"), "baseline", "--port", str(port)], start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("the baseline server did not start")
        yield url, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


# --- Kafka topics and Neo4j ----------------------------------------------------------------------


def create_topics(bootstrap: str, *topics: str) -> None:
    """Create ``topics`` with :data:`PARTITIONS` partitions (as the deployment's topics job does)."""
    import asyncio  # noqa: PLC0415

    from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: PLC0415

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
        finally:
            await admin.close()

    asyncio.run(create())


def empty_neo4j(uri: str) -> None:
    """Delete every node and relationship (olgraph's constraints and indexes stay)."""
    import neo4j  # noqa: PLC0415

    with neo4j.GraphDatabase.driver(uri, auth=neo4j_auth(uri)) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@contextlib.contextmanager
def consume_process(args: Sequence[str], data_dir: Path) -> Iterator[OlgraphProcess]:
    """``olgraph consume`` with its health port; yields once its ``/readyz`` answers 200."""
    port = free_port()
    with OlgraphProcess.start(
        ["consume", *args, "--health-port", str(port)], data_dir=data_dir, http=False
    ) as process:
        process.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{process.url}/readyz", timeout=5).status_code == 200:
                    break
            if process.process.poll() is not None:
                raise RuntimeError(f"olgraph consume exited:\n{process.stderr_tail()}")
            time.sleep(0.2)
        else:
            raise RuntimeError(f"olgraph consume never became ready:\n{process.stderr_tail()}")
        yield process


@contextlib.contextmanager
def deployment(mode: str, config: BenchConfig, kafka: str, neo4j: str, tag: str) -> Iterator[Deployment]:
    """A fresh embedded (``serve``) or distributed (``api`` + ``consume``) deployment."""
    data_dir = config.work_dir / "ingest" / f"{mode}-{tag}-{uuid.uuid4().hex[:6]}"
    if mode == "embedded":
        with OlgraphProcess.start(["serve"], data_dir=data_dir) as serve:
            url = str(serve.url)

            def applied_local() -> int:
                stats = httpx.get(f"{url}/api/v1/stats", timeout=10).json()
                return int(stats["applied"] + stats["failed"]) if stats["pending"] == 0 else 0

            yield Deployment(mode, url, {"serve": serve}, applied_local, url)
        return
    empty_neo4j(neo4j)
    topic = f"bench.ingest.{tag}.{uuid.uuid4().hex[:8]}"
    create_topics(kafka, topic, f"{topic}.dlq")
    common = ["--kafka-bootstrap", kafka, "--topic", topic, "--neo4j-uri", neo4j]
    consume_args = [*common, "--group", f"{topic}.group", "--dead-letter-topic", f"{topic}.dlq"]
    with (
        OlgraphProcess.start(["api", *common], data_dir=data_dir) as api,
        consume_process(consume_args, data_dir) as consume,
    ):
        health = str(consume.url)

        def applied_kafka() -> int:
            text = scrape(health)
            return int(
                metric_total(text, "olgraph_events_applied_total")
                + metric_total(text, "olgraph_dead_letters_total")
            )

        yield Deployment(mode, str(api.url), {"api": api, "consume": consume}, applied_kafka, health)


@contextlib.contextmanager
def api_only(config: BenchConfig, kafka: str, neo4j: str) -> Iterator[OlgraphProcess]:
    """``olgraph api`` on a new topic with no consumer: its accept rate alone."""
    topic = f"bench.accept.{uuid.uuid4().hex[:8]}"
    create_topics(kafka, topic)
    data_dir = config.work_dir / "ingest" / f"api-{uuid.uuid4().hex[:6]}"
    with OlgraphProcess.start(
        ["api", "--kafka-bootstrap", kafka, "--topic", topic, "--neo4j-uri", neo4j], data_dir=data_dir
    ) as api:
        yield api


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


def sustained(
    dep: Deployment, config: BenchConfig, rate: float, seconds: float, per_node: float
) -> dict[str, Any]:
    """Pace single POSTs at ``rate`` for ``seconds`` (a fresh workload, next seed) and sample
    ingest-to-queryable latency; then wait until the backlog is applied."""
    needed = math.ceil(rate * seconds) + 1
    ndjson, summary = workload(config, config.seed + 1, max(2_000, math.ceil(needed / per_node * 1.5)))
    before = dep.applied()
    log(f"{dep.mode}: sustained {rate:.0f} events/s for {seconds:g}s ({summary.events} events available)")
    pace = ("--rate", f"{rate:.3f}", "--seconds", f"{seconds:g}")
    with loadgen("paced", "--url", dep.url, "--ndjson", str(ndjson), *pace) as pacer:
        result = result_of(pacer)
    accepted = sum(n for status, n in result["statuses"].items() if status.startswith("2"))
    started = time.monotonic()
    wait_for(dep, before + accepted)
    result["drain_seconds"] = round(time.monotonic() - started, 3)
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


# --- the result document --------------------------------------------------------------------------


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


def run(config: BenchConfig, e2e_max_nodes: int = 100_000) -> dict[str, Any]:
    """Measure everything (see the module docstring), write ``ingest.json``, return the document."""
    apt_install("wrk", lambda: shutil.which("wrk") is not None)  # the accept-rate load generator
    accept_seconds, sustained_seconds = (5.0, 15.0) if config.quick else (10.0, 60.0)
    sizes = [s for s in config.sizes if s <= e2e_max_nodes] or [min(config.sizes)]
    files = {size: workload(config, config.seed, size) for size in sizes}
    accept_file, _ = workload(config, config.seed, min(ACCEPT_NODES, max(sizes)))
    with (
        service("kafka", config.services_cache) as kafka,
        service("neo4j", config.services_cache, config.neo4j_env) as neo4j,
    ):
        accept = measure_accept(config, kafka, neo4j, accept_file, accept_seconds)
        kafka_raw = measure_kafka(kafka, files[max(sizes)][0])
        modes = {
            mode: measure_mode(mode, config, kafka, neo4j, files=files, seconds=sustained_seconds)
            for mode in ("embedded", "distributed")
        }
    doc: dict[str, Any] = {
        "title": "Ingest",
        "workload": {
            "kind": "mixed",
            "seed": config.seed,
            "sizes": sizes,
            "events": {str(s): f[1].events for s, f in files.items()},
        },
        "e2e": {
            mode: {size: run["events_per_second"] for size, run in runs.items()}
            for mode, runs in modes.items()
        },
        "accept": accept,
        "kafka_raw": kafka_raw,
        "modes": modes,
        "summary": summary_rows(accept, kafka_raw, modes),
        "tables": tables(accept, kafka_raw, modes),
        "charts": charts(accept, kafka_raw, modes),
        "notes": notes(accept, modes, accept_seconds),
    }
    write_result(SECTION, doc, config.results_dir)
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = section_parser(__doc__)
    parser.add_argument("--e2e-max-nodes", type=int, default=100_000, help="largest size measured end to end")
    args = parser.parse_args(argv)
    config = config_from(args)
    doc = run(config, e2e_max_nodes=args.e2e_max_nodes)
    print(json.dumps(doc["summary"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
