"""Column lineage: DERIVES/INFLUENCES edges, transformations and masking."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from olgraph.ingest import ParsedEvent
from olgraph.normalize.mutations import Merge, Mutation, Prop, UpsertEdge, UpsertNode
from olgraph.normalize.normalizer import normalize

SPEC_TESTS = Path(__file__).resolve().parents[3] / ".." / "shared" / "openlineage" / "spec-tests"
OUT = "dataset:pg:out"


def derived(muts: list[Mutation], rel: str = "DERIVES") -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (m.source, m.target): {p.name: p for p in m.props}
        for m in muts
        if isinstance(m, UpsertEdge) and m.type.value == rel
    }


def column_event(run_event: Callable[..., ParsedEvent], facet: dict[str, Any]) -> list[Mutation]:
    output = {"namespace": "pg", "name": "out", "facets": {"columnLineage": facet}}
    return normalize(run_event("COMPLETE", "2024-05-01T00:00:00Z", outputs=[output]))


def test_derives_per_input_field_with_transformations(run_event: Callable[..., ParsedEvent]) -> None:
    facet = {
        "fields": {
            "total": {
                "inputFields": [
                    {
                        "namespace": "pg",
                        "name": "orders",
                        "field": "amount",
                        "transformations": [
                            {"type": "DIRECT", "subtype": "AGGREGATION"},
                            {"type": "indirect", "subtype": "group_by", "masking": True},
                        ],
                    },
                    {
                        "namespace": "pg",
                        "name": "orders",
                        "field": "status",
                        "transformations": [{"type": "INDIRECT"}],
                    },
                ]
            }
        }
    }
    muts = column_event(run_event, facet)
    edges = derived(muts)
    amount = edges[("field:pg:orders#amount", "field:pg:out#total")]
    assert amount["transformations"] == Prop(
        "transformations", ["DIRECT/AGGREGATION", "INDIRECT/GROUP_BY"], Merge.UNION
    )
    assert amount["masking"] == Prop("masking", True, Merge.OR)
    status = edges[("field:pg:orders#status", "field:pg:out#total")]
    assert status["transformations"].value == ["INDIRECT"]
    assert status["masking"].value is False
    nodes = {m.key for m in muts if isinstance(m, UpsertNode)}
    assert {"dataset:pg:orders", "namespace:pg", "field:pg:orders#amount", "field:pg:out#total"} <= nodes
    has_field = derived(muts, "HAS_FIELD")
    assert ("dataset:pg:orders", "field:pg:orders#amount") in has_field
    assert (OUT, "field:pg:out#total") in has_field


def test_deprecated_transformation_type_is_used_when_none_is_listed(
    run_event: Callable[..., ParsedEvent],
) -> None:
    facet = {
        "fields": {
            "email_hash": {
                "inputFields": [{"namespace": "pg", "name": "users", "field": "email"}],
                "transformationType": "MASKED",
                "transformationDescription": "sha256(email)",
            },
            "id": {
                "inputFields": [{"namespace": "pg", "name": "users", "field": "id"}],
                "transformationType": "IDENTITY",
            },
        }
    }
    edges = derived(column_event(run_event, facet))
    masked = edges[("field:pg:users#email", "field:pg:out#email_hash")]
    assert (masked["transformations"].value, masked["masking"].value) == (["DIRECT/TRANSFORMATION"], True)
    identity = edges[("field:pg:users#id", "field:pg:out#id")]
    assert (identity["transformations"].value, identity["masking"].value) == (["DIRECT/IDENTITY"], False)


def test_dataset_wide_dependencies_influence_the_output(run_event: Callable[..., ParsedEvent]) -> None:
    facet = {
        "fields": {},
        "dataset": [
            {
                "namespace": "pg",
                "name": "orders",
                "field": "status",
                "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}],
            }
        ],
    }
    influences = derived(column_event(run_event, facet), "INFLUENCES")
    assert influences[("field:pg:orders#status", OUT)]["transformations"].value == ["INDIRECT/FILTER"]


def test_spec_example_gives_one_edge_per_pair(run_event: Callable[..., ParsedEvent]) -> None:
    facet = json.loads((SPEC_TESTS / "ColumnLineageDatasetFacet" / "1.json").read_text())["columnLineage"]
    edges = derived(column_event(run_event, facet))
    expected = {
        (f"field:{ref['namespace']}:{ref['name']}#{ref['field']}", f"field:pg:out#{out}")
        for out, entry in facet["fields"].items()
        for ref in entry["inputFields"]
    }
    assert set(edges) == expected
    assert len(expected) > 3
