"""``make bench``: every benchmark section in one run, then the report.

Sections run one after another, each starting and stopping its own servers (dev Neo4j and
Kafka from Maven Central, Marquez, PostgreSQL, olgraph processes) so they do not disturb
each other; each writes ``bench/results/<section>.json`` and the report is rendered at the
end (``bench/results/report.md`` and PNG charts). A section that fails is reported and the
others still run; the exit status says whether all succeeded.

    .venv/bin/python bench/run.py                    # full: 10k, 100k and 1M-node graphs
    .venv/bin/python bench/run.py --quick            # minutes, for trying the harness
    .venv/bin/python bench/run.py --only ceiling,queries --sizes 10000,100000
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import BenchConfig, config_from, log, section_parser, write_result
from report import render

SECTIONS = ("ingest", "soak", "ceiling", "peer", "queries", "outages", "hostile", "explorer")
"""Run order: ingest rates first (the e2e figures the headline needs), the memory soak at half
those rates, the big graphs, the outage timings (which stop and start their own servers), the
hostile bodies (a minute, no services), then the browser."""


def run_section(name: str, config: BenchConfig) -> bool:
    """Import ``bench/<name>.py`` and run it; on failure write a result that says so."""
    started = time.monotonic()
    log(f"section {name}: starting")
    try:
        importlib.import_module(name).run(config)
    except Exception as exc:  # a broken section must not cost the others their figures
        log(f"section {name} failed: {exc!r}")
        write_result(
            name,
            {
                "title": f"{name} (failed)",
                "summary": [],
                "notes": [f"The section failed: {exc!r}", traceback.format_exc(limit=5)],
            },
            config.results_dir,
        )
        return False
    log(f"section {name}: done in {time.monotonic() - started:.0f}s")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = section_parser(__doc__)
    parser.add_argument("--only", help=f"comma-separated sections among {', '.join(SECTIONS)}")
    args = parser.parse_args(argv)
    config = config_from(args)
    chosen = args.only.split(",") if args.only else list(SECTIONS)
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose among {list(SECTIONS)}")
    config.work_dir.mkdir(parents=True, exist_ok=True)
    log(f"sizes {list(config.sizes)}, sections {chosen}, work dir {config.work_dir}")
    ok = [run_section(name, config) for name in chosen]
    log(f"report: {render(config.results_dir)}")
    return 0 if all(ok) else 1


if __name__ == "__main__":
    raise SystemExit(main())
