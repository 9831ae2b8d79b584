"""Explorer: time to first render of a large lineage answer in the browser.

One ``olgraph serve`` (embedded) holds a fan-out around one hot table: ``fan`` jobs read it,
each writes a table that one more job reads, so the downstream lineage of the hot table at
depth 3 is ``1 + 3 * fan`` nodes (2,002 with the default ``fan`` of 667). Headless Chromium
(Debian's, driven by Playwright) opens the explorer's graph page on that node, ``repeats``
times in fresh pages (the first one with a cold browser cache), and reads the page's own
performance marks: from navigation start to the first frame painted with the whole graph
(``olgraph:graph-rendered``), split into: until the graph view starts (page and script load,
the API answer — also given alone from the lineage request's resource timing — and the
view's computation; ``olgraph:graph-start``), the ELK layout (``olgraph:layout-start`` →
``layout-end``, in a Web Worker) and Cytoscape's drawing (``layout-end`` → rendered). Needs
the UI built (``make ui``) and Debian's chromium (installed with apt-get when missing).

    .venv/bin/python bench/explorer.py            # 2,002 nodes, 5 page loads
    .venv/bin/python bench/explorer.py --quick    # 3 page loads
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    BenchConfig,
    OlgraphProcess,
    apt_install,
    config_from,
    log,
    percentiles,
    section_parser,
    wait_applied,
    write_result,
)
from playwright.sync_api import Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FAN = 667
MAX_NODES = 10_000  # the server's default cap (query.max_nodes)
DEPTH = 3
HOT = ("s3://bench", "hot/events")
PRODUCER = "https://github.com/olgraph/olgraph/bench/explorer"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
RENDER_TIMEOUT_MS = 300_000
BATCH = 500


def _event(
    job: str, at: datetime, inputs: list[tuple[str, str]], outputs: list[tuple[str, str]]
) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": at.isoformat().replace("+00:00", "Z"),
        "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{PRODUCER}/{job}"))},
        "job": {"namespace": "bench", "name": job},
        "inputs": [{"namespace": ns, "name": name} for ns, name in inputs],
        "outputs": [{"namespace": ns, "name": name} for ns, name in outputs],
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }


def fan_out(fan: int) -> Iterator[dict[str, Any]]:
    """``fan`` jobs reading the hot table, each writing a table that one more job reads."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(fan):
        table = ("s3://bench", f"derived/t{i:04d}")
        yield _event(f"transform_{i:04d}", start + timedelta(seconds=2 * i), [HOT], [table])
        yield _event(f"report_{i:04d}", start + timedelta(seconds=2 * i + 1), [table], [])


def _load(url: str, fan: int) -> int:
    events = list(fan_out(fan))
    with httpx.Client(base_url=url, timeout=120) as client:
        for first in range(0, len(events), BATCH):
            answer = client.post("/api/v1/lineage/batch", json=events[first : first + BATCH])
            answer.raise_for_status()
            failed = answer.json()["summary"]["failed"]
            if failed:
                raise RuntimeError(f"{failed} events refused: {answer.text[:500]}")
    wait_applied(url, len(events))
    return len(events)


def _measure(page: Page, url: str) -> dict[str, float]:
    page.goto(url, wait_until="commit")
    page.wait_for_function(
        "() => performance.getEntriesByName('olgraph:graph-rendered').length > 0", timeout=RENDER_TIMEOUT_MS
    )
    marks: dict[str, float] = page.evaluate(
        """() => {
          const at = (name) => performance.getEntriesByName(name)[0].startTime;
          const api = performance.getEntriesByType("resource")
            .filter((r) => r.name.includes("/api/v1/lineage"));
          const graph = document.querySelector('[data-testid=graph]');
          return {
            rendered: at('olgraph:graph-rendered'),
            start: at('olgraph:graph-start'),
            draw: at('olgraph:graph-rendered') - at('olgraph:layout-end'),
            layout: at('olgraph:layout-end') - at('olgraph:layout-start'),
            api: api.length ? api[0].responseEnd - api[0].startTime : -1,
            apiBytes: api.length ? api[0].transferSize : -1,
            nodes: Number(graph.dataset.nodes),
          };
        }"""
    )
    return marks


def run(config: BenchConfig, fan: int = FAN) -> dict[str, Any]:
    """Load the fan-out, open the graph page ``repeats`` times, write ``explorer.json``."""
    apt_install("chromium", CHROMIUM.exists)
    repeats = 3 if config.quick else 5
    data_dir = config.work_dir / "explorer" / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    samples: list[dict[str, float]] = []
    with OlgraphProcess.start(["serve"], data_dir=data_dir) as server:
        assert server.url is not None
        events = _load(server.url, fan)
        node = f"dataset:{HOT[0]}:{HOT[1]}"
        # the explorer asks for 1,000 nodes at first: the link asks for the server's whole cap
        page_url = (
            f"{server.url}/lineage?node={quote(node, safe='')}&direction=downstream&depth={DEPTH}"
            f"&maxNodes={MAX_NODES}"
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            for attempt in range(repeats):
                page = context.new_page()
                sample = _measure(page, page_url)
                page.close()
                log(f"explorer: load {attempt + 1}/{repeats}: {sample}")
                samples.append(sample)
            browser.close()
    nodes = int(samples[0]["nodes"])
    rendered = percentiles([s["rendered"] for s in samples])
    layout = percentiles([s["layout"] for s in samples])
    api = percentiles([s["api"] for s in samples])
    draw = percentiles([s["draw"] for s in samples])
    result = {
        "title": f"Explorer: first render of a {nodes:,}-node lineage answer",
        "summary": [
            {
                "metric": f"time to first render, {nodes:,} nodes (p50 of {repeats} page loads)",
                "olgraph": rendered["p50"],
                "baseline": None,
                "baseline_name": None,
                "ratio": None,
                "unit": "ms",
                "note": f"API answer p50 {api['p50']:.0f} ms, ELK layout p50 {layout['p50']:.0f} ms, "
                f"drawing p50 {draw['p50']:.0f} ms",
            }
        ],
        "tables": [
            {
                "title": "Each page load (ms from navigation start; the first with a cold browser cache)",
                "columns": [
                    "load",
                    "first render",
                    "view starts",
                    "of which API answer",
                    "layout (ELK)",
                    "drawing",
                    "answer bytes",
                    "nodes drawn",
                ],
                "rows": [
                    [
                        i + 1,
                        round(s["rendered"]),
                        round(s["start"]),
                        round(s["api"]),
                        round(s["layout"]),
                        round(s["draw"]),
                        int(s["apiBytes"]),
                        int(s["nodes"]),
                    ]
                    for i, s in enumerate(samples)
                ],
            }
        ],
        "charts": [],
        "notes": [
            f"{events} events: {fan} jobs read one table, each writes a table one more job reads; "
            f"the page asks for depth {DEPTH} downstream plus one hop of lookahead for its '+' marks.",
            "Headless Debian Chromium at 1280x800, software rendering (--disable-gpu), on the same "
            "machine as the server.",
        ],
        "render_ms": rendered,
        "layout_ms": layout,
        "api_ms": api,
        "draw_ms": draw,
    }
    write_result("explorer", result, config.results_dir)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = section_parser(__doc__)
    parser.add_argument("--fan", type=int, default=FAN, help="jobs reading the hot table")
    args = parser.parse_args(argv)
    result = run(config_from(args), fan=args.fan)
    log(f"explorer: {result['summary'][0]['metric']}: {result['render_ms']['p50']:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
