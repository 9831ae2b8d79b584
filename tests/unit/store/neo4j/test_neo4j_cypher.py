"""The Neo4j store's Cypher text and schema file (pure: no server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from olgraph.normalize.mutations import MODEL_LABEL, Label, RelType
from olgraph.store.common import FACET_PREFIXES
from olgraph.store.neo4j import cypher as cy

REPO = Path(__file__).resolve().parents[4]


def test_the_schema_copy_equals_the_packaged_schema() -> None:
    packaged = REPO / "src" / "olgraph" / "store" / "neo4j" / "001_constraints.cypher"
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
    assert all(
        " IF NOT EXISTS " in s or (s.startswith("DROP INDEX ") and s.endswith(" IF EXISTS"))
        for s in statements
    )
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
        cy.lock_nodes_query(name)


def test_only_olgraph_relationship_types_reach_cypher() -> None:
    with pytest.raises(ValueError, match="relationship type"):
        cy.rel_name("OWNS]->() DELETE x //")
    for build in (cy.lock_edges_query, cy.set_edges_query, cy.delete_edges_query):
        with pytest.raises(ValueError, match="relationship type"):
            build("EVIL")
    assert cy.rel_name(RelType.OWNS.value) == "OWNS"


def test_statements_name_their_label_or_type_statically() -> None:
    nodes = cy.lock_nodes_query("Dataset")
    edges = cy.lock_edges_query("CONSUMED_BY")

    assert "MERGE (n:Dataset {key: row.key}) ON CREATE SET n = row.new" in nodes
    assert "MERGE (a)-[e:CONSUMED_BY]->(b) ON CREATE SET e = row.new" in edges
    assert "[e:OWNS]" in cy.set_edges_query("OWNS")
    assert "DELETE e" in cy.delete_edges_query("OWNS")


def test_lock_statements_answer_one_collected_list() -> None:
    for statement in (cy.lock_nodes_query("Job"), cy.lock_edges_query("PRODUCES")):
        assert statement.rstrip().endswith("AS out")
        assert "RETURN collect(" in statement


def test_public_pairs_hide_facets_and_bookkeeping() -> None:
    expression = cy.public_pairs("n")

    for prefix in FACET_PREFIXES:
        assert f"k STARTS WITH '{prefix}'" in expression
    assert "k = '_versions'" in expression
