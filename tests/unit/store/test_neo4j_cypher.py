"""The Neo4j store's Cypher text and schema file (pure: no server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from olgraph.normalize.mutations import MODEL_LABEL, Label, RelType
from olgraph.store import _neo4j_cypher as cy
from olgraph.store.common import FACET_PREFIXES

REPO = Path(__file__).resolve().parents[3]


def test_the_schema_copy_equals_the_packaged_schema() -> None:
    packaged = REPO / "src" / "olgraph" / "store" / "cypher" / "001_constraints.cypher"
    copy = REPO / "schemas" / "neo4j" / "001_constraints.cypher"

    assert copy.read_bytes() == packaged.read_bytes()


def test_every_label_has_a_key_uniqueness_constraint() -> None:
    statements = cy.schema_statements()
    constrained = {
        m.group(1)
        for s in statements
        if (
            m := re.fullmatch(
                r"CREATE CONSTRAINT \w+ IF NOT EXISTS FOR \(n:(\w+)\) REQUIRE n\.key IS UNIQUE", s
            )
        )
    }

    assert constrained == {label.value for label in Label}


def test_every_statement_is_idempotent_and_comment_free() -> None:
    statements = cy.schema_statements()

    assert statements
    assert all(" IF NOT EXISTS " in s for s in statements)
    assert not any("//" in s or ";" in s for s in statements)


def test_filtered_properties_are_indexed() -> None:
    text = "\n".join(cy.schema_statements())

    for label, props in [
        ("Dataset", "n.namespace, n.name"),
        ("Job", "n.namespace, n.name"),
        ("Run", "n.state"),
        ("Run", "n.updatedAt"),
        ("Run", "n.job"),
        ("DatasetVersion", "n.dataset"),
        (MODEL_LABEL, "n.key"),
    ]:
        assert f"FOR (n:{label}) ON ({props})" in text


@pytest.mark.parametrize("name", ["Dataset` DETACH DELETE n //", "dataset", "Model:Admin", ""])
def test_only_olgraph_labels_reach_cypher(name: str) -> None:
    with pytest.raises(ValueError, match="not an olgraph label"):
        cy.label_name(name)
    with pytest.raises(ValueError, match="not an olgraph label"):
        cy.lock_nodes_query([Label.JOB.value, name])


def test_only_olgraph_relationship_types_reach_cypher() -> None:
    with pytest.raises(ValueError, match="relationship type"):
        cy.rel_name("OWNS]->() DELETE x //")
    with pytest.raises(ValueError, match="relationship type"):
        cy.write_query(["PRODUCES"], ["EVIL"], nodes=False)
    assert cy.rel_name(RelType.OWNS.value) == "OWNS"


def test_queries_have_one_branch_per_label_or_type() -> None:
    nodes = cy.lock_nodes_query(["Job", "Dataset", "Job"])
    edges = cy.lock_edges_query(["PRODUCES", "CONSUMED_BY"])

    assert nodes.count("MERGE (n:") == 2
    assert "MERGE (n:Dataset {key: row.key})" in nodes
    assert edges.count("MERGE (a)-[e:") == 2
    assert "[e:CONSUMED_BY]" in edges


def test_write_query_has_only_the_parts_asked_for() -> None:
    assert cy.write_query([], [], nodes=False) == ""
    only_nodes = cy.write_query([], [], nodes=True)
    assert "SET n = row.props" in only_nodes
    assert "DELETE" not in only_nodes
    both = cy.write_query(["OWNS"], ["TAGGED"], nodes=True)
    assert both.index("DELETE e") < both.index("SET e = row.props") < both.index("SET n = row.props")


def test_public_pairs_hide_facets_and_bookkeeping() -> None:
    expression = cy.public_pairs("n")

    for prefix in FACET_PREFIXES:
        assert f"k STARTS WITH '{prefix}'" in expression
    assert "k = '_versions'" in expression
