"""Soak: does the RSS of ``serve``, ``api`` and ``consume`` stay flat under a steady load?

Per deployment (embedded ``serve``; distributed ``api`` + ``consume`` with Kafka and Neo4j), a
fresh deployment takes single POSTs paced at half the end-to-end rate the ``ingest`` section
measured for it (``bench/results/ingest.json``; without it a short end-to-end run here measures
one) of the ``mixed`` workload, new events throughout: a warm-up, then the measured phase
(30 minutes; ``--quick`` 2). RSS is sampled every few seconds; the result is, per process, the
RSS after the warm-up and at the end and the least-squares growth in % per 10 minutes against
the target (< 5 %), with a chart of the curves (``_soak_report``).

``--tracemalloc`` runs the olgraph processes under ``bench/_traced.py`` (tracemalloc on; a
bench-only launcher, nothing in the product) and compares a snapshot taken when the warm-up ends
with one at the end: the source lines that hold more memory, in the result's tables. Tracing
slows the processes (the rate stays the same, so they are busier); use it to find what grows,
not for the figures.

    .venv/bin/python bench/soak.py --quick
    .venv/bin/python bench/soak.py --minutes 10 --modes embedded --tracemalloc
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ingest_deployments import Deployment, deployment, workload
from _ingest_measure import end_to_end, paced
from _soak_report import charts, notes, summary_rows, tables, trend
from _support import DEFAULT_LAUNCHER, BenchConfig, config_from, log, section_parser, service, write_result
from _traced import DUMP_SIGNAL

SECTION = "soak"
MODES = ("embedded", "distributed")
FULL = {"warm_up": 300.0, "soak": 1800.0, "every": 5.0}
QUICK = {"warm_up": 30.0, "soak": 120.0, "every": 2.0}
RATE_PROBE_NODES = 2_000
EVENTS_PER_NODE = 0.16  # the mixed workload: ~156k events per 1M nodes (docs/benchmarks.md)
TOP_LINES = 12
DUMP_TIMEOUT = 300.0
TRACED = Path(__file__).resolve().parent / "_traced.py"


def soak_rate(mode: str, config: BenchConfig, kafka: str, neo4j: str) -> tuple[float, str]:
    """Half the end-to-end rate of ``mode``: from ``ingest.json`` (largest size), else measured."""
    path = config.results_dir / "ingest.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        by_size = json.loads(path.read_text())["e2e"][mode]
        largest = max(by_size, key=int)
        return by_size[largest] / 2, f"half the ingest section's e2e rate ({largest} nodes)"
    ndjson, summary = workload(config, config.seed + 4, RATE_PROBE_NODES)
    with deployment(mode, config, kafka, neo4j, "soak-rate") as dep:
        rate = end_to_end(dep, ndjson, summary.events)["events_per_second"]
    log(f"{mode}: no ingest.json; a {RATE_PROBE_NODES}-node e2e run here gave {rate} events/s")
    return rate / 2, f"half the e2e rate of a {RATE_PROBE_NODES}-node run in this section"


def _dump(dep: Deployment, dump_dir: Path, number: int) -> None:
    """Ask every traced process for snapshot ``number`` and wait until each has written it."""
    for process in dep.processes.values():
        os.kill(process.pid, DUMP_SIGNAL)
    deadline = time.monotonic() + DUMP_TIMEOUT
    for process in dep.processes.values():
        while not (dump_dir / f"{process.pid}-{number}.done").exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{process.command} wrote no tracemalloc snapshot {number}")
            time.sleep(0.2)


def grown_lines(dump_dir: Path, pid: int, top: int = TOP_LINES) -> list[dict[str, Any]]:
    """The source lines holding the most additional memory in snapshot 2 against snapshot 1."""
    first = tracemalloc.Snapshot.load(str(dump_dir / f"{pid}-1.tracemalloc"))
    second = tracemalloc.Snapshot.load(str(dump_dir / f"{pid}-2.tracemalloc"))
    out = []
    for diff in second.compare_to(first, "lineno")[:top]:
        frame = diff.traceback[0]
        where = f"{_short(frame.filename)}:{frame.lineno}"
        out.append(
            {"where": where, "size_diff_kib": round(diff.size_diff / 1024, 1), "count_diff": diff.count_diff}
        )
    return out


def _short(filename: str) -> str:
    for marker in ("/site-packages/", "/src/", "/lib/python"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def _phase(dep: Deployment, ndjson: Path, rate: float, seconds: float) -> dict[str, Any]:
    """Pace single POSTs of ``ndjson`` at ``rate`` for ``seconds``, then wait until all are applied."""
    sent = paced(dep, ndjson, rate, seconds)
    sent["drain_seconds"] = round(sent["drain_seconds"], 1)
    sent.pop("latencies_ms", None)
    return sent


def soak_mode(
    mode: str,
    config: BenchConfig,
    services: tuple[str, str],
    phases: dict[str, float],
    *,
    rate: float | None = None,
    traced: bool = False,
) -> dict[str, Any]:
    """One deployment: a paced warm-up, the paced soak; RSS samples, their trend, tracemalloc growth.

    Each phase ends once its events are applied, so the tracemalloc snapshots (``traced``) are
    taken with nothing in flight: what the second holds more of is what stayed.
    """
    kafka, neo4j = services
    rate_source = "given on the command line"
    if rate is None:
        rate, rate_source = soak_rate(mode, config, kafka, neo4j)
    files = {
        phase: workload(config, config.seed + offset, math.ceil(rate * phases[phase] * 1.2 / EVENTS_PER_NODE))
        for phase, offset in (("warm_up", 3), ("soak", 5))
    }
    dump_dir = config.work_dir / "soak" / f"tracemalloc-{mode}-{time.strftime('%H%M%S')}"
    launcher = (str(TRACED), str(dump_dir)) if traced else DEFAULT_LAUNCHER
    log(f"{mode}: soak at {rate:.1f} events/s, warm-up {phases['warm_up']:g}s, soak {phases['soak']:g}s")
    with (
        deployment(mode, config, kafka, neo4j, "soak", launcher=launcher) as dep,
        contextlib.ExitStack() as stack,
    ):
        started = time.monotonic()
        for name, process in dep.processes.items():
            dep.samples[name] = stack.enter_context(process.sample_memory(phases["every"]))
        warm = _phase(dep, files["warm_up"][0], rate, phases["warm_up"])
        if traced:
            _dump(dep, dump_dir, 1)
        soak_start = time.monotonic() - started
        log(f"{mode}: warm-up done ({warm['events']} events); soak from {soak_start:.0f}s")
        soak = _phase(dep, files["soak"][0], rate, phases["soak"])
        stack.close()
        if traced:
            _dump(dep, dump_dir, 2)
        samples = {name: list(points) for name, points in dep.samples.items()}
        grown = {name: grown_lines(dump_dir, p.pid) for name, p in dep.processes.items()} if traced else {}
    result = {
        "rate": round(rate, 1),
        "rate_source": rate_source,
        "warm_up": warm,
        "soak": soak,
        "soak_start_seconds": round(soak_start, 1),
        "events": soak["events"],
        "trend": {name: trend(points, soak_start) for name, points in samples.items()},
        "rss_samples": samples,
        "traced": traced,
    }
    if traced:
        result["tracemalloc"] = grown
    for name, figures in result["trend"].items():
        log(f"{mode} {name}: {figures}")
    return result


def run(
    config: BenchConfig,
    *,
    minutes: float | None = None,
    modes: Sequence[str] = MODES,
    rate: float | None = None,
    traced: bool = False,
) -> dict[str, Any]:
    """Soak every mode of ``modes`` (see the module docstring), write ``soak.json``, return it."""
    phases = dict(QUICK if config.quick else FULL)
    if minutes is not None:
        phases["soak"] = minutes * 60
    with contextlib.ExitStack() as stack:
        kafka = neo4j = ""  # the embedded deployment needs neither
        if "distributed" in modes:
            kafka = stack.enter_context(service("kafka", config.services_cache))
            neo4j = stack.enter_context(service("neo4j", config.services_cache, config.neo4j_env))
        results = {
            mode: soak_mode(mode, config, (kafka, neo4j), phases, rate=rate, traced=traced) for mode in modes
        }
    doc: dict[str, Any] = {
        "title": "Soak: memory under a steady load",
        "phases_seconds": phases,
        "modes": results,
        "summary": summary_rows(results),
        "tables": tables(results),
        "charts": charts(results),
        "notes": notes(results, phases, config.quick),
    }
    write_result(SECTION, doc, config.results_dir)
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = section_parser(__doc__)
    parser.add_argument("--minutes", type=float, help="length of the measured phase (default 30, quick 2)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: embedded, distributed")
    parser.add_argument("--rate", type=float, help="events/s (default: half the e2e rate, see above)")
    parser.add_argument("--tracemalloc", action="store_true", help="compare tracemalloc snapshots (slower)")
    args = parser.parse_args(argv)
    chosen = args.modes.split(",")
    if unknown := sorted(set(chosen) - set(MODES)):
        parser.error(f"unknown modes {unknown}; choose among {list(MODES)}")
    doc = run(config_from(args), minutes=args.minutes, modes=chosen, rate=args.rate, traced=args.tracemalloc)
    print(json.dumps(doc["summary"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
