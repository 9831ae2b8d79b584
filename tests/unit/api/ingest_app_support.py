"""Helpers for the API tests: a running app (lifespan included) with an httpx client, and events."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from olgraph.api.app import create_app
from olgraph.api.auth import hash_api_key
from olgraph.config import Settings
from olgraph.runtime import Runtime

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
CORPUS = SHARED / "corpus"
JSON = {"content-type": "application/json"}

KEYS = {"ingest-key": "ingest", "read-key": "read", "analyst-key": "analyst", "admin-key": "admin"}


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ignore OLGRAPH_* variables a developer may have set (import this fixture into a test module)."""
    for name in list(os.environ):
        if name.startswith("OLGRAPH_"):
            monkeypatch.delenv(name)


def api_keys() -> list[dict[str, str]]:
    """One configured key per role; the secret is ``{role}-key``."""
    return [
        {"name": f"{role}-client", "role": role, "sha256": hash_api_key(key)} for key, role in KEYS.items()
    ]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test app under ``tmp_path``, with a fast consumer."""
    consumer = {"poll_interval_seconds": 0.05, "backoff_initial_seconds": 0.01, "backoff_max_seconds": 0.05}
    values: dict[str, Any] = {"data_dir": tmp_path, "consumer": consumer}
    values.update(overrides)
    return Settings(**values)


def closed_port() -> int:
    """A local TCP port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kafka_down_settings(tmp_path: Path, topic: str = "test.events") -> Settings:
    """Settings of an API replica (``log.kind = kafka``) whose brokers cannot be reached."""
    kafka = {"bootstrap_servers": f"127.0.0.1:{closed_port()}", "topic": topic}
    return make_settings(tmp_path, log={"kind": "kafka", "kafka": kafka})


@asynccontextmanager
async def running_app(
    settings: Settings, runtime: Runtime | None = None
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan running, and a client that talks to it in-process."""
    app = create_app(settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://olgraph.test") as client:
            yield app, client


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def run_event(n: int = 1, job: str = "job", **extra: Any) -> dict[str, Any]:
    """A small valid RunEvent whose runId is derived from ``n``."""
    event: dict[str, Any] = {
        "eventType": "START",
        "eventTime": "2024-05-01T12:00:00Z",
        "run": {"runId": str(uuid.UUID(int=n))},
        "job": {"namespace": "ns", "name": job},
        "inputs": [{"namespace": "db", "name": "in"}],
        "outputs": [{"namespace": "db", "name": f"out{n}"}],
        "producer": "https://example.org/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    event.update(extra)
    return event
