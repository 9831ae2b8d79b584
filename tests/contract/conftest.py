"""One store contract, two stores: every test here runs against the embedded store and Neo4j.

``store`` is an opened, empty store. ``make_store`` opens further fresh, empty stores of the
same kind (property tests need one per example). Neo4j params carry ``pytest.mark.neo4j``
and resolve the server lazily, so ``-k embedded`` never starts one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract_stores import StoreFactory, embedded_factory, neo4j_factory

from olgraph.store.base import GraphStore

STORE_KINDS = [
    pytest.param("embedded", id="embedded"),
    pytest.param("neo4j", id="neo4j", marks=pytest.mark.neo4j),
]


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store implementation this test runs against."""
    return str(request.param)


@pytest.fixture
def make_store(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A factory of fresh, opened, empty stores of the parametrized kind."""
    if store_kind == "embedded":
        return embedded_factory(tmp_path)
    return neo4j_factory(request)


@pytest.fixture
async def store(make_store: StoreFactory) -> AsyncIterator[GraphStore]:
    """An opened, empty store of the parametrized kind."""
    async with make_store() as opened:
        yield opened
