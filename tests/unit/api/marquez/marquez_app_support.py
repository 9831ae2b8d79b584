"""Helpers of the Marquez-compatible app's tests: the two stores to run on, settings, feeding the
scenarios (each store's ``store`` settings come from ``served_app.store_settings``).

Test modules import them as ``from marquez_app_support import …`` (a unique module name:
``conftest`` is ambiguous across the tree).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from marquez_scenarios import all_scenarios
from olgraph.config import Settings

STORES = [pytest.param("embedded", id="embedded"), pytest.param("neo4j", id="neo4j", marks=pytest.mark.neo4j)]


def make_settings(data_dir: Path, store: dict[str, Any], **overrides: Any) -> Settings:
    """Settings of a test app with a fast consumer."""
    consumer = {"poll_interval_seconds": 0.05, "backoff_initial_seconds": 0.01, "backoff_max_seconds": 0.05}
    return Settings(data_dir=data_dir, consumer=consumer, store=store, **overrides)


def feed(client: TestClient, events: list[dict[str, Any]]) -> None:
    """Post ``events`` to the app's own ingest route and wait until they are applied."""
    for event in events:
        response = client.post("/api/v1/lineage", json=event)
        assert response.status_code == 201, response.text
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    client.portal.call(runtime.wait_until_applied, 120)  # type: ignore[union-attr]


def scenario_events() -> list[dict[str, Any]]:
    """Every scenario's events, in order."""
    return [event for events in all_scenarios().values() for event in events]
