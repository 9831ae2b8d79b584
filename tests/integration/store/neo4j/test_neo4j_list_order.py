"""Neo4j listings by last-seen time read the ``lastSeenAt`` index in order (query plans)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from neo4j import Driver

from olgraph.store.listing import ListOrder
from olgraph.store.neo4j import Neo4jStore
from olgraph.store.neo4j import lists as neo4j_lists

pytestmark = pytest.mark.neo4j


@pytest.fixture
async def store(neo4j_uri: str, clean_neo4j: None) -> AsyncIterator[Neo4jStore]:
    """An opened store (its schema, the indexes included, applied) on an emptied database."""
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    opened = Neo4jStore(neo4j_uri, user=user or None, password=password or None)
    await opened.open()
    yield opened
    await opened.close()


def _walk(plan: dict[str, Any]) -> list[tuple[str, str]]:
    found = [(str(plan["operatorType"]).split("@")[0], str(plan.get("args", {}).get("Details", "")))]
    for child in plan.get("children", []):
        found += _walk(child)
    return found


@pytest.mark.parametrize("label", ["Dataset", "Job"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("keyset", [False, True])
def test_the_page_of_nodes_with_a_time_comes_from_the_index_in_order(
    store: Neo4jStore, neo4j_driver: Driver, label: str, descending: bool, keyset: bool
) -> None:
    """A partial sort for the ids of tied times at most, never a sort of every match."""
    statement = neo4j_lists._statement(
        label,
        namespace=False,
        models=None,
        owner=False,
        tag=False,
        deleted=False,
        keyset=keyset,
        order=ListOrder("lastSeenAt", descending=descending),
    )
    with neo4j_driver.session() as session:
        plan = session.run(f"EXPLAIN {statement}").consume().plan
    assert plan is not None
    steps = _walk(plan)
    operators = [op for op, _ in steps]
    index = f"RANGE INDEX n:{label}(lastSeenAt)"  # {dataset,job}_last_seen
    assert any(op.startswith("NodeIndex") and index in details for op, details in steps), steps
    assert "Sort" not in operators, steps
    assert "Top" not in operators, steps
