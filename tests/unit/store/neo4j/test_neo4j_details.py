"""The Neo4j detail statements read a neighbour's facet JSON only where a view shows it."""

from __future__ import annotations

import pytest

from olgraph.normalize.mutations import Label
from olgraph.store import details
from olgraph.store.neo4j import details as neo4j_details

SPECS = [
    (Label.JOB, details.JOB_SPECS),
    (Label.DATASET, details.DATASET_SPECS),
    (Label.RUN, details.RUN_SPECS),
    (Label.DATASET_VERSION, details.VERSION_SPECS),
    (Label.JOB, details.GRAPH_JOB_SPECS),
    (Label.DATASET, details.GRAPH_DATASET_SPECS),
]


@pytest.mark.parametrize(("label", "specs"), SPECS, ids=lambda x: getattr(x, "value", None) or "")
def test_neighbours_come_with_all_their_properties_only_when_their_spec_asks(
    label: Label, specs: tuple[details.NeighbourSpec, ...]
) -> None:
    query = neo4j_details.neighbourhood_query(label, specs)
    read = [spec for spec in specs if spec.limit != 0]
    assert query.count("props: properties(m)") == sum(spec.facets for spec in read)
    assert query.count("WHERE NOT (k STARTS WITH 'facet.'") == sum(not spec.facets for spec in read)


def test_only_a_datasets_versions_bring_their_facets() -> None:
    """A version's schema is the one neighbour facet a view shows (``VersionView.schema``)."""
    every = (*details.JOB_SPECS, *details.DATASET_SPECS, *details.RUN_SPECS, *details.VERSION_SPECS)
    assert [(spec.name, spec.rel) for spec in every if spec.facets] == [("versions", "VERSION_OF")]
    assert neo4j_details.page_query(Label.DATASET, neo4j_details._VERSIONS).count("props: properties(m)") == 1
