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
        cy.lock_nodes_query(["Dataset", name])


def test_only_olgraph_relationship_types_reach_cypher() -> None:
    with pytest.raises(ValueError, match="relationship type"):
        cy.rel_name("OWNS]->() DELETE x //")
    for build in (cy.lock_edges_query, cy.flush_query):
        with pytest.raises(ValueError, match="relationship type"):
            build(["OWNS", "EVIL"])
    with pytest.raises(ValueError, match="relationship type"):
        cy.flush_key("EVIL", "set")
    assert cy.rel_name(RelType.OWNS.value) == "OWNS"


def test_statements_name_their_label_or_type_statically() -> None:
    nodes = cy.lock_nodes_query(["Dataset", "Job"])
    edges = cy.lock_edges_query(["CONSUMED_BY"])
    flush = cy.flush_query(["OWNS"])

    assert "UNWIND $rows.Dataset AS row\n  MERGE (n:Dataset {key: row.key})" in nodes
    assert "MERGE (n:Dataset {key: row.key}) ON CREATE SET n = row.new" in nodes
    assert "UNWIND $rows.CONSUMED_BY AS row" in edges
    assert "MERGE (a)-[e:CONSUMED_BY]->(b) ON CREATE SET e = row.new" in edges
    assert "UNWIND $rows.delete_OWNS AS row" in flush
    assert "MATCH (a)-[e:OWNS]->(b)\n  DELETE e" in flush
    assert "UNWIND $rows.set_OWNS AS row" in flush
    assert "MERGE (a)-[e:OWNS]->(b)\n  SET e = row.props" in flush


def test_folded_statements_take_every_name_in_lock_order() -> None:
    """One subquery per label or type, in name order: the global lock order of every writer."""
    labels = [label.value for label in Label]
    types = [t.value for t in RelType]
    nodes, edges, flush = cy.lock_nodes_query(labels), cy.lock_edges_query(types), cy.flush_query(types)

    assert nodes.count("CALL () {") == len(labels)
    assert edges.count("CALL () {") == len(types)
    assert flush.count("CALL () {") == 2 * len(types) + 1
    positions = [nodes.index(f"MERGE (n:{label} ") for label in sorted(labels)]
    assert positions == sorted(positions)
    positions = [edges.index(f"-[e:{t}]->") for t in sorted(types)]
    assert positions == sorted(positions)
    deletes = [flush.index(f"$rows.delete_{t} ") for t in sorted(types)]
    sets = [flush.index(f"$rows.set_{t} ") for t in sorted(types)]
    assert deletes == sorted(deletes)
    assert sets == sorted(sets)
    assert deletes[-1] < sets[0]
    assert sets[-1] < flush.index("$rows.nodes ")
    # The same text whatever order the names come in (one plan in Neo4j's cache).
    assert cy.lock_nodes_query(reversed(labels)) == nodes


def test_folded_statements_take_one_map_parameter_and_are_never_replanned() -> None:
    """Neo4j caches a plan per text and parameter types, and an empty list is another type
    than a list of maps: one list per label would cost a new plan per combination of labels
    present. A map's content is not part of its type."""
    labels = [label.value for label in Label]
    types = [t.value for t in RelType]
    for statement in (cy.lock_nodes_query(labels), cy.lock_edges_query(types), cy.flush_query(types)):
        assert set(re.findall(r"\$(\w+)", statement)) == {"rows"}
        assert statement.startswith(cy.PLAN_ONCE + "\n")
    assert cy.PLAN_ONCE == "CYPHER replan=skip"


def test_lock_statements_answer_one_collected_list() -> None:
    for statement in (cy.lock_nodes_query(["Job", "Run"]), cy.lock_edges_query(["PRODUCES", "OWNS"])):
        assert statement.rstrip().endswith("AS out")
        assert statement.count("RETURN collect(") == 2
        assert "RETURN out_0 + out_1 AS out" in statement


def test_public_pairs_hide_facets_and_bookkeeping() -> None:
    expression = cy.public_pairs("n")

    for prefix in FACET_PREFIXES:
        assert f"k STARTS WITH '{prefix}'" in expression
    assert "k = '_versions'" in expression
