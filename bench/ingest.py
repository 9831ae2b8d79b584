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
The deployments and probes are in ``_ingest_deployments``, the measurements in ``_ingest_measure``,
the result document (summary, tables, charts, notes) in ``_ingest_report``.

    .venv/bin/python bench/ingest.py --quick
    .venv/bin/python bench/ingest.py --sizes 10000,100000 --e2e-max-nodes 100000
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ingest_deployments import workload
from _ingest_measure import measure_accept, measure_kafka, measure_mode
from _ingest_report import charts, notes, summary_rows, tables
from _support import (
    BenchConfig,
    apt_install,
    config_from,
    section_parser,
    service,
    write_result,
)

SECTION = "ingest"
ACCEPT_NODES = 10_000  # accept runs cycle through this workload's events (rate barely depends on size)


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
