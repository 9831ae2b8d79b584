"""The soak section's trend arithmetic and result document, from made-up RSS samples.

The soak itself needs services and many minutes; the least-squares trend, the target verdict
and the document the report renders are pure, so a wrong slope or a broken chart fails here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import report
import soak
from _soak_report import (
    TARGET_PCT_PER_10_MIN,
    charts,
    meets_target,
    notes,
    slope,
    summary_rows,
    tables,
    trend,
)
from _support import write_result
from hypothesis import given
from hypothesis import strategies as st


def test_the_slope_is_the_least_squares_fit_not_first_and_last() -> None:
    # A flat curve with one spike at the end: first/last would call it growth, the fit barely does.
    flat = [(float(t), 100.0) for t in range(0, 600, 5)] + [(600.0, 130.0)]
    assert slope(flat) < 30.0 / 600 / 5
    assert slope([(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]) == 2.0
    assert slope([(1.0, 5.0)]) == 0.0
    assert slope([(1.0, 5.0), (1.0, 7.0)]) == 0.0


@given(
    st.floats(min_value=-1.0, max_value=1.0),
    st.floats(min_value=50.0, max_value=500.0),
    st.integers(min_value=2, max_value=200),
)
def test_a_straight_line_gives_back_its_slope(rate: float, base: float, n: int) -> None:
    points = [(t * 3.0, base + rate * t * 3.0) for t in range(n)]
    assert math.isclose(slope(points), rate, abs_tol=1e-9)


def test_the_trend_uses_only_the_samples_after_the_warm_up() -> None:
    warm_up = [(float(t), 50.0 + t) for t in range(0, 60, 2)]  # steep while warming up
    after = [(60.0 + t, 200.0 + t * 0.01) for t in range(0, 1200, 5)]  # 6 MiB per 10 minutes
    figures = trend(warm_up + after, 60.0)
    assert figures["after_warm_up_mib"] == 200.0
    assert figures["samples"] == len(after)
    assert math.isclose(figures["slope_mib_per_10_min"], 6.0, abs_tol=0.01)
    assert math.isclose(figures["growth_pct_per_10_min"], 3.0, abs_tol=0.01)
    assert meets_target(figures["growth_pct_per_10_min"]) is True
    assert meets_target(TARGET_PCT_PER_10_MIN) is False
    assert math.isclose(figures["late_growth_pct_per_10_min"], 3.0, abs_tol=0.05)
    assert trend(warm_up, 60.0)["growth_pct_per_10_min"] is None


def test_a_step_then_a_plateau_grows_over_the_window_but_not_in_its_second_half() -> None:
    samples = [(float(t), 100.0 if t < 100 else 140.0) for t in range(0, 600, 5)]
    figures = trend(samples, 0.0)
    assert figures["growth_pct_per_10_min"] > TARGET_PCT_PER_10_MIN
    assert figures["late_growth_pct_per_10_min"] == 0.0
    assert meets_target(None) is None


def mode_run(growth_per_second: float) -> dict[str, Any]:
    samples = [(float(t), 100.0 + t * 0.5) for t in range(0, 30, 2)]
    samples += [(30.0 + t, 115.0 + t * growth_per_second) for t in range(0, 120, 2)]
    phase = {"events": 4000, "achieved_rate": 33.2, "statuses": {"202": 4000}, "drain_seconds": 1.5}
    return {
        "rate": 33.3,
        "rate_source": "given",
        "warm_up": phase,
        "soak": phase,
        "soak_start_seconds": 30.0,
        "events": 4000,
        "trend": {"serve": trend(samples, 30.0)},
        "rss_samples": {"serve": samples},
        "tracemalloc": {"serve": [{"where": "olgraph/x.py:1", "size_diff_kib": 12.5, "count_diff": 3}]},
    }


def test_the_document_renders_into_the_report(tmp_path: Path) -> None:
    modes = {"embedded": mode_run(0.001), "distributed": mode_run(0.1)}
    doc = {
        "title": "Soak",
        "summary": summary_rows(modes),
        "tables": tables(modes),
        "charts": charts(modes),
        "notes": notes(modes, dict(soak.QUICK), quick=True),
    }
    rows = {row["metric"]: row for row in doc["summary"]}
    assert rows["RSS growth in a soak, embedded serve"]["note"].endswith("(met)")
    assert rows["RSS growth in a soak, distributed serve"]["note"].endswith("(missed)")
    chart = doc["charts"][0]
    assert chart["series"]["embedded serve"][0][0] == -0.5  # minutes before the warm-up ended
    write_result("soak", doc, tmp_path)
    text = report.render(tmp_path).read_text()
    assert "RSS over the soak (least-squares trend after the warm-up)" in text
    assert "olgraph/x.py:1" in text
    assert (tmp_path / "soak-rss.png").stat().st_size > 0


def test_the_soak_runs_after_ingest_in_make_bench() -> None:
    import run  # noqa: PLC0415

    assert run.SECTIONS.index("soak") == run.SECTIONS.index("ingest") + 1
