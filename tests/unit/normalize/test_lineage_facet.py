"""The spec's static ``lineage`` facet: each of its seven examples gives the lineage it describes.

The examples are the spec's own test fragments (``spec-tests/LineageFacet``). A job-shaped
facet goes on a JobEvent's job; the dataset-shaped one on the dataset of a DatasetEvent.
Two of them used to give no lineage at all: ``dataset-to-dataset`` (the dataset facet was not
read) and ``job-to-job`` (no relationship between two jobs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from olgraph.ingest import parse_event
from olgraph.normalize.mutations import UpsertEdge
from olgraph.normalize.normalizer import normalize

EXAMPLES = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "openlineage" / "spec-tests" / "LineageFacet"
)
WH = "postgresql://warehouse:5432"
AF = "airflow://production"
OWN = "job:dbt://own:model.own"
TARGET = f"dataset:{WH}:public.customer_summary"


def _facet(example: str) -> dict[str, Any]:
    facet: dict[str, Any] = json.loads((EXAMPLES / f"{example}.json").read_text(encoding="utf-8"))["lineage"]
    return facet


def _edges(example: str) -> set[tuple[str, str, str]]:
    facet = _facet(example)
    if "entries" in facet:
        event = {
            "eventTime": "2024-05-01T12:00:00Z",
            "job": {"namespace": "dbt://own", "name": "model.own", "facets": {"lineage": facet}},
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        }
    else:
        target = {"namespace": WH, "name": "public.customer_summary", "facets": {"lineage": facet}}
        event = {
            "eventTime": "2024-05-01T12:00:00Z",
            "dataset": target,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        }
    muts = normalize(parse_event(event))
    lineage = {"CONSUMED_BY", "PRODUCES", "FEEDS", "DERIVES", "INFLUENCES"}
    return {
        (m.type.value, m.source, m.target)
        for m in muts
        if isinstance(m, UpsertEdge) and m.type.value in lineage
    }


EXPECTED: dict[str, set[tuple[str, str, str]]] = {
    "dataset-to-dataset": {
        ("FEEDS", f"dataset:{WH}:public.customers", TARGET),
        ("DERIVES", f"field:{WH}:public.customers#id", f"field:{WH}:public.customer_summary#customer_id"),
    },
    "dataset-to-job": {("CONSUMED_BY", f"dataset:{WH}:public.staging_orders", f"job:{AF}:daily.load")},
    "generator": {("PRODUCES", OWN, f"dataset:{WH}:public.extracted_data")},
    "implicit-job": {("CONSUMED_BY", "dataset:postgresql://production:5432:public.transactions", OWN)},
    "job-to-dataset": {("PRODUCES", f"job:{AF}:daily.extract", f"dataset:{WH}:public.daily_summary")},
    "job-to-job": {("FEEDS", f"job:{AF}:daily.transform", f"job:{AF}:daily.load")},
    "mixed-sources": {
        ("CONSUMED_BY", f"dataset:{WH}:public.orders", OWN),
        ("PRODUCES", OWN, f"dataset:{WH}:public.enriched_orders"),
        ("PRODUCES", f"job:{AF}:daily.enrichment", f"dataset:{WH}:public.enriched_orders"),
        (
            "DERIVES",
            f"field:{WH}:public.orders#customer_id",
            f"field:{WH}:public.enriched_orders#customer_segment",
        ),
    },
}


def test_every_example_is_covered() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_each_example_gives_the_lineage_it_describes(example: str) -> None:
    assert _edges(example) == EXPECTED[example]


def test_dataset_facet_on_a_run_output_may_name_the_event_job() -> None:
    facet = {"inputs": [{"type": "JOB"}, {"namespace": "pg", "name": "src", "type": "DATASET", "field": "k"}]}
    event = {
        "eventTime": "2024-05-01T12:00:00Z",
        "eventType": "COMPLETE",
        "run": {"runId": "run-1"},
        "job": {"namespace": "sp", "name": "app"},
        "outputs": [{"namespace": "pg", "name": "dst", "facets": {"lineage": facet}}],
    }
    edges = {
        (m.type.value, m.source, m.target) for m in normalize(parse_event(event)) if isinstance(m, UpsertEdge)
    }
    assert ("PRODUCES", "job:sp:app", "dataset:pg:dst") in edges
    assert ("FEEDS", "dataset:pg:src", "dataset:pg:dst") in edges
    assert ("INFLUENCES", "field:pg:src#k", "dataset:pg:dst") in edges
