"""Helpers for the end-to-end API tests: corpus files, settings, a running app, store checks."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from olgraph.api.app import create_app
from olgraph.config import Settings
from olgraph.ingest.parse import parse_event
from olgraph.keys import dataset_key, job_key
from olgraph.runtime import Runtime
from olgraph.store.base import GraphStore

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus"
CORPUS_FILES = sorted(CORPUS.rglob("*.json"))

# Invalid on purpose (corpus README): the five proxy `event_invalid_*`, `event_no_run_id`, and
# `flink_job_test.json`, which is not valid JSON.
INVALID = {
    "proxy-events/event_invalid_dataset_facet.json",
    "proxy-events/event_invalid_input_dataset_facet.json",
    "proxy-events/event_invalid_job_facet.json",
    "proxy-events/event_invalid_output_dataset_facet.json",
    "proxy-events/event_invalid_run_facet.json",
    "proxy-events/event_no_run_id.json",
    "datahub-events/flink_job_test.json",
}


def corpus_name(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ignore OLGRAPH_* variables a developer may have set (import into a test module)."""
    for name in list(os.environ):
        if name.startswith("OLGRAPH_"):
            monkeypatch.delenv(name)


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    consumer = {"poll_interval_seconds": 0.05, "backoff_initial_seconds": 0.01, "backoff_max_seconds": 0.1}
    return Settings(**{"data_dir": data_dir, "consumer": consumer, **overrides})


@asynccontextmanager
async def running_app(
    settings: Settings, runtime: Runtime | None = None
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan running, and an in-process client."""
    app = create_app(settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://olgraph.test") as client:
            yield app, client


async def assert_event_is_in_store(store: GraphStore, data: dict[str, Any]) -> None:
    """The job, run and datasets an accepted event names are all in the store."""
    event = parse_event(data)
    if event.job_namespace and event.job_name:
        assert await store.get_node(job_key(event.job_namespace, event.job_name)) is not None
    if event.run_id:
        run = await store.get_run(event.run_id)
        # Some producers reuse one runId for several jobs (Spark app and query), so which job
        # the run belongs to is the store's call; that it has one is not.
        assert run is not None
        assert run.job is not None
    datasets = [*(data.get("inputs") or []), *(data.get("outputs") or [])]
    if event.kind == "dataset":
        datasets.append(data["dataset"])
    for dataset in datasets:
        key = dataset_key(dataset["namespace"], dataset["name"])
        assert await store.get_node(key) is not None, key
