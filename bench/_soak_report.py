"""The soak section's arithmetic and result document: RSS trend per process, tables, chart, notes.

Pure: from the RSS samples and tracemalloc comparisons ``bench/soak.py`` measured to what
``bench/report.py`` renders, so it is tested with made-up figures (tests/bench).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TARGET_PCT_PER_10_MIN = 5.0
"""The target: RSS grows by less than this, in % of the post-warm-up RSS, per 10 minutes."""

Sample = Sequence[float]
"""(seconds since the load started, RSS MiB)."""


def slope(points: Sequence[Sample]) -> float:
    """Least-squares slope of ``y`` over ``x`` (0.0 with fewer than two distinct ``x``)."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_x = sum(p[0] for p in points) / n
    mean_y = sum(p[1] for p in points) / n
    spread = sum((p[0] - mean_x) ** 2 for p in points)
    if spread == 0:
        return 0.0
    return sum((p[0] - mean_x) * (p[1] - mean_y) for p in points) / spread


def trend(samples: Sequence[Sample], soak_start: float) -> dict[str, Any]:
    """RSS after the warm-up (the first sample at or after ``soak_start``), at the end, and the
    fitted growth over the samples from ``soak_start`` on.

    ``growth_pct_per_10_min`` is the least-squares slope (MiB/s) times 600 s, as a percentage
    of the first post-warm-up sample: a noisy last sample does not decide it.
    """
    after = [s for s in samples if s[0] >= soak_start]
    if len(after) < 2:
        return {
            "samples": len(after),
            "after_warm_up_mib": None,
            "end_mib": None,
            "growth_pct_per_10_min": None,
        }
    start, end = after[0][1], after[-1][1]
    mib_per_second = slope(after)
    # The same fit over the second half alone: a step early on (a large event's peak the
    # allocator keeps) followed by a plateau reads as growth over the whole window, not here.
    late = [s for s in after if s[0] >= (after[0][0] + after[-1][0]) / 2]
    return {
        "samples": len(after),
        "after_warm_up_mib": start,
        "end_mib": end,
        "max_mib": max(s[1] for s in after),
        "minutes": round((after[-1][0] - after[0][0]) / 60, 2),
        "slope_mib_per_10_min": round(mib_per_second * 600, 3),
        "growth_pct_per_10_min": round(mib_per_second * 600 / start * 100, 3) if start else None,
        "late_growth_pct_per_10_min": round(slope(late) * 600 / start * 100, 3) if start else None,
    }


def meets_target(growth: float | None) -> bool | None:
    """Whether a growth figure meets :data:`TARGET_PCT_PER_10_MIN` (None when not measured)."""
    return None if growth is None else growth < TARGET_PCT_PER_10_MIN


def summary_rows(modes: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per process: its RSS growth in % per 10 minutes against the target."""
    rows = []
    for mode, run in modes.items():
        for name, figures in run["trend"].items():
            growth = figures["growth_pct_per_10_min"]
            note = (
                f"{figures['after_warm_up_mib']} -> {figures['end_mib']} MiB over "
                f"{figures.get('minutes')} min after warm-up at {run['rate']} events/s; "
                f"target < {TARGET_PCT_PER_10_MIN:g}%"
                f" ({'met' if meets_target(growth) else 'missed'})"
            )
            rows.append(
                {
                    "metric": f"RSS growth in a soak, {mode} {name}",
                    "olgraph": growth,
                    "baseline": None,
                    "baseline_name": None,
                    "ratio": None,
                    "unit": "% per 10 min",
                    "note": note,
                }
            )
    return rows


def tables(modes: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-process table, and the lines holding more memory at the end when traced."""
    rows = []
    for mode, run in modes.items():
        for name, f in run["trend"].items():
            growth = f["growth_pct_per_10_min"]
            rss = [f["after_warm_up_mib"], f["end_mib"], f.get("max_mib"), f.get("slope_mib_per_10_min")]
            late = f.get("late_growth_pct_per_10_min")
            rows.append([mode, name, run["rate"], run["events"], *rss, growth, meets_target(growth), late])
    columns = ["deployment", "process", "events/s", "events", "RSS after warm-up MiB", "RSS at end MiB"]
    columns += ["max MiB", "fitted MiB per 10 min", "growth % per 10 min", f"< {TARGET_PCT_PER_10_MIN:g}%"]
    columns += ["second half: growth % per 10 min"]
    out = [
        {
            "title": "RSS over the soak (least-squares trend after the warm-up)",
            "columns": columns,
            "rows": rows,
        }
    ]
    traced = [
        [mode, name, item["where"], item["size_diff_kib"], item["count_diff"]]
        for mode, run in modes.items()
        for name, items in run.get("tracemalloc", {}).items()
        for item in items
    ]
    if traced:
        out.append(
            {
                "title": "tracemalloc: lines holding more memory at the end than after the warm-up",
                "columns": ["deployment", "process", "where", "KiB more", "blocks more"],
                "rows": traced,
            }
        )
    return out


def charts(modes: dict[str, Any]) -> list[dict[str, Any]]:
    """RSS of every process against minutes since the warm-up ended (negative: warm-up)."""
    series = {
        f"{mode} {name}": [[round((t - run["soak_start_seconds"]) / 60, 3), rss] for t, rss in samples]
        for mode, run in modes.items()
        for name, samples in run["rss_samples"].items()
    }
    return [
        {
            "name": "soak-rss",
            "title": "RSS during the soak (x < 0: warm-up)",
            "kind": "line",
            "markers": False,
            "x_label": "minutes since the warm-up ended",
            "y_label": "RSS MiB",
            "log_y": False,
            "series": series,
        }
    ]


def notes(modes: dict[str, Any], phases: dict[str, float], quick: bool) -> list[str]:
    """How the figures were taken, and what a reader must not over-read."""
    out = [
        f"Each fresh deployment takes single POSTs of the mixed workload (new events throughout) "
        f"paced at half its end-to-end rate: {phases['warm_up']:g} s of warm-up, then "
        f"{phases['soak'] / 60:g} minutes measured, each phase followed by applying its backlog. "
        f"RSS is read from /proc every {phases['every']:g} s. Growth is the least-squares slope "
        "over the samples after the warm-up, per 10 minutes, as a percentage of the RSS the "
        "warm-up ended with (not the first and last sample). The last column fits the second half "
        "of those samples alone: near zero there after growth over the whole window means a step "
        "(a peak the allocator kept), not a steady climb.",
        "The graph grows through the soak (every event brings new runs, and new datasets or "
        "versions): bounded caches fill (SQLite's page cache in serve, the driver's and the "
        "normalizer's caches), so a growth that flattens is a cache filling, not a leak.",
    ]
    if quick:
        out.append("A quick run (minutes): the trend is indicative only; make bench-soak runs 30 minutes.")
    for mode, run in modes.items():
        soak = run["soak"]
        out.append(
            f"{mode}: {soak['events']} events at {soak['achieved_rate']} events/s achieved "
            f"(target {run['rate']}, {run['rate_source']}); answers {soak['statuses']}; the backlog "
            f"left when the load stopped took {soak['drain_seconds']} s to apply."
        )
    return out
