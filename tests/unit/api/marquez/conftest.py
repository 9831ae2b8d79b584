"""The Marquez-compatible app on both stores, fed the scenarios of ``marquez_scenarios``.

``marquez`` is a module-scoped client of :func:`olgraph.api.marquez.app.create_marquez_app`
(owning its runtime) on the embedded store and on Neo4j (param ``neo4j``, marked so that
``-m "not neo4j"`` never starts a server), after every scenario event was posted to its own
``POST /api/v1/lineage`` and applied.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from marquez_app_support import STORES, feed, make_settings, scenario_events

from olgraph.api.marquez.app import create_marquez_app
from served_app import store_settings


@pytest.fixture(scope="module", params=STORES)
def marquez(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The Marquez-compatible app holding the scenarios, on the parametrized store."""
    settings = make_settings(tmp_path_factory.mktemp("marquez"), store_settings(request.param, request))
    with TestClient(create_marquez_app(settings)) as client:
        feed(client, scenario_events())
        yield client
