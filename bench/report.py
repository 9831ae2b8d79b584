"""Render ``bench/results/*.json`` into ``bench/results/report.md`` and PNG charts.

Every section's result document follows the format described in ``bench/_support.py``
(title, summary, tables, charts, notes); this module knows nothing about a section beyond
that, except the headline, which joins figures across sections: olgraph's end-to-end
ingest rate (``ingest.json``: ``e2e``) as a fraction of the ceiling (``ceiling.json``:
``ceiling``) for the same workload and size.

    .venv/bin/python bench/report.py            # after bench/run.py or single sections
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import RESULTS

SECTION_ORDER = ("ingest", "soak", "ceiling", "peer", "queries")
"""Sections in report order; any other result file follows them, by name."""


def load(results_dir: Path) -> dict[str, dict[str, Any]]:
    """Every section document in ``results_dir``, by section name, in report order."""
    found = {path.stem: json.loads(path.read_text()) for path in sorted(results_dir.glob("*.json"))}
    order = [name for name in SECTION_ORDER if name in found] + sorted(set(found) - set(SECTION_ORDER))
    return {name: found[name] for name in order}


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{key} {_cell(item)}" for key, item in value.items())
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return lines


def headline(sections: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """Rows of the cross-section headline: end-to-end rate as a fraction of the ceiling."""
    ceiling = sections.get("ceiling", {}).get("ceiling", {})
    e2e = sections.get("ingest", {}).get("e2e", {})
    rows = []
    for mode, by_size in sorted(e2e.items()):
        for size, rate in sorted(by_size.items(), key=lambda item: int(item[0])):
            top = ceiling.get(size)
            fraction = round(rate / top, 3) if top and rate else None
            rows.append([mode, int(size), rate, top, fraction])
    return rows


def render_chart(chart: dict[str, Any], out_dir: Path) -> Path | None:
    """Draw one chart spec to ``<out_dir>/<name>.png``; None when matplotlib is missing."""
    try:
        import matplotlib  # noqa: PLC0415 (optional: the Markdown is written without it)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return None
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=110)
    series: dict[str, list[list[Any]]] = chart.get("series", {})
    if chart.get("kind") == "bar":
        _bars(axes, series)
    else:
        for label, points in series.items():
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            axes.plot(xs, ys, marker="o" if chart.get("markers", True) else None, label=label)
    if chart.get("log_y"):
        axes.set_yscale("log")
    axes.set_title(chart.get("title", ""))
    axes.set_xlabel(chart.get("x_label", ""))
    axes.set_ylabel(chart.get("y_label", ""))
    axes.grid(alpha=0.3)
    if len(series) > 1:
        axes.legend(fontsize="small")
    figure.tight_layout()
    path = out_dir / f"{chart['name']}.png"
    figure.savefig(path)
    plt.close(figure)
    return path


def _bars(axes: Any, series: dict[str, list[list[Any]]]) -> None:
    categories = list(dict.fromkeys(str(p[0]) for points in series.values() for p in points))
    width = 0.8 / max(len(series), 1)
    for i, (label, points) in enumerate(series.items()):
        values = {str(p[0]): p[1] for p in points}
        xs = [c + i * width - 0.4 + width / 2 for c in range(len(categories))]
        axes.bar(xs, [values.get(c) or 0 for c in categories], width, label=label)
    axes.set_xticks(range(len(categories)), categories, rotation=20, ha="right", fontsize="small")


def render(results_dir: Path = RESULTS) -> Path:
    """Write ``report.md`` (and the charts) for the results in ``results_dir``; return its path."""
    sections = load(results_dir)
    lines = ["# olgraph benchmarks", ""]
    machines = {json.dumps(doc.get("machine", {}), sort_keys=True) for doc in sections.values()}
    for machine in sorted(machines):
        info = json.loads(machine)
        lines.append(
            f"Measured on {info.get('cpus')} CPUs, {info.get('memory_gib')} GiB, "
            f"Python {info.get('python')}, {info.get('platform')}, olgraph revision {info.get('revision')}."
        )
    finished = ", ".join(f"{name} {doc.get('finished_at')}" for name, doc in sections.items())
    lines += ["", f"Sections finished: {finished}.", ""]
    lines += ["Ratios compare figures measured in the same run; > 1 means olgraph does better.", ""]
    if rows := headline(sections):
        lines += ["## Headline: end-to-end ingest against the ceiling", ""]
        lines += table(["deployment", "nodes", "olgraph events/s", "ceiling events/s", "fraction"], rows)
        lines.append("")
    summary = [
        [name, row.get("metric"), row.get("olgraph"), row.get("baseline"), row.get("baseline_name"),
         row.get("ratio"), row.get("unit"), row.get("note")]
        for name, doc in sections.items()
        for row in doc.get("summary", [])
    ]  # fmt: skip
    if summary:
        lines += ["## Summary", ""]
        columns = ["section", "metric", "olgraph", "baseline", "baseline is", "ratio", "unit", "note"]
        lines += table(columns, summary)
        lines.append("")
    for name, doc in sections.items():
        lines += _section(name, doc, results_dir)
    path = results_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _section(name: str, doc: dict[str, Any], results_dir: Path) -> list[str]:
    lines = [f"## {doc.get('title', name)}", ""]
    for spec in doc.get("tables", []):
        lines += [f"### {spec.get('title', '')}", ""]
        lines += table(spec.get("columns", []), spec.get("rows", []))
        lines.append("")
    for chart in doc.get("charts", []):
        path = render_chart(chart, results_dir)
        if path is not None:
            lines += [f"![{chart.get('title', '')}]({path.name})", ""]
    if notes := doc.get("notes"):
        lines += ["Notes:", ""]
        lines += [f"- {note}" for note in notes]
        lines.append("")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of section JSON files")
    args = parser.parse_args(argv)
    if not any(args.results.glob("*.json")):
        print(f"no results in {args.results}: run bench/run.py (make bench) first", file=sys.stderr)
        return 1
    print(render(args.results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
