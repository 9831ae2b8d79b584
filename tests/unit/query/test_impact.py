"""Impact summary and the row formats (CSV, NDJSON) every output shares."""

from __future__ import annotations

import csv
import io

import orjson

from olgraph.query.impact import (
    CSV_COLUMNS,
    affected_row,
    describe_impact,
    render_csv,
    render_ndjson,
    summarize,
)
from olgraph.store.base import ImpactItem

ITEMS = [
    ImpactItem(
        "job:etl:load", "job", "etl", "load", 1, ["team:data"], "2024-05-01T12:00:00.000000000Z", "COMPLETE"
    ),
    ImpactItem("dataset:gs://b:out,1", "dataset", "gs://b", "out,1", 2, ["team:data", "alice"], None, None),
    ImpactItem(
        "dataset:mlflow:churn", "model", "mlflow", "churn", 4, [], "2024-05-02T00:00:00.000000000Z", "FAIL"
    ),
]


def test_summary_counts_by_type_and_owner() -> None:
    summary = summarize(ITEMS)
    assert summary.total == 3
    assert summary.by_type == {"dataset": 1, "job": 1, "model": 1}
    assert summary.by_owner == {"alice": 1, "team:data": 2}


def test_summary_counts_a_node_once_per_owner_even_if_listed_twice() -> None:
    item = ImpactItem("job:a:b", "job", "a", "b", 1, ["x", "x"], None, None)
    assert summarize([item]).by_owner == {"x": 1}


def test_rows_use_wire_names() -> None:
    row = affected_row(ITEMS[0])
    assert row == {
        "id": "job:etl:load",
        "type": "job",
        "namespace": "etl",
        "name": "load",
        "dataset": None,
        "distance": 1,
        "owners": ["team:data"],
        "lastRunAt": "2024-05-01T12:00:00.000000000Z",
        "lastRunState": "COMPLETE",
    }
    assert set(row) == set(CSV_COLUMNS)


def test_csv_has_a_header_and_one_parseable_row_per_node() -> None:
    text = render_csv([affected_row(i) for i in ITEMS])
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert [r["id"] for r in parsed] == [i.id for i in ITEMS]
    assert parsed[1]["owners"] == "team:data;alice"
    assert parsed[1]["name"] == "out,1"  # quoted, not split at the comma
    assert parsed[1]["lastRunAt"] == ""
    assert parsed[2]["distance"] == "4"


def test_csv_of_nothing_is_just_the_header() -> None:
    assert render_csv([]) == ",".join(CSV_COLUMNS) + "\n"


def test_ndjson_is_one_object_per_line() -> None:
    rows = [affected_row(i) for i in ITEMS]
    text = render_ndjson(rows)
    assert text.endswith("\n")
    assert [orjson.loads(line) for line in text.splitlines()] == rows
    assert render_ndjson([]) == ""


def test_describe_impact() -> None:
    assert describe_impact(3, {"dataset": 2, "job": 1}) == "3 live dependents: 2 datasets, 1 job"
    assert describe_impact(1, {"model": 1}) == "1 live dependent: 1 model"
    assert describe_impact(0, {}) == "no live dependents"
    assert describe_impact(2, {"job": 1, "dataset": 1}, truncated=True).startswith(
        "2 live dependents: 1 dataset, 1 job (truncated"
    )
