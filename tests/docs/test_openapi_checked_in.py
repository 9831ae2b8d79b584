"""schemas/openapi.json is the OpenAPI document the app serves, and the app lives up to it.

The first test compares the committed file with what scripts/export_openapi.py generates now.
The schemathesis tests (a dev dependency: when it is missing they fail, they never skip) drive
every GET endpoint through the ASGI app on an embedded store holding a small graph, and check
that no request gives a 5xx and that every response conforms to the document. (tests/fuzz sends
generated requests to every route, POST included.)
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

REPO = Path(__file__).resolve().parents[2]
REGENERATE = "PYTHONPATH=src python scripts/export_openapi.py"


def _exporter() -> ModuleType:
    spec = importlib.util.spec_from_file_location("export_openapi", REPO / "scripts" / "export_openapi.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_openapi_is_current() -> None:
    exporter = _exporter()
    committed = exporter.OUTPUT.read_text(encoding="utf-8") if exporter.OUTPUT.exists() else ""
    assert committed == exporter.render(), f"schemas/openapi.json is out of date: run {REGENERATE}"


def test_checked_in_openapi_is_what_the_app_serves() -> None:
    """The file is the served ``/openapi.json``, not merely the output of the same function."""
    from fastapi.testclient import TestClient  # noqa: PLC0415

    from olgraph.api.app import create_app  # noqa: PLC0415
    from olgraph.config import ServerSettings, Settings  # noqa: PLC0415

    app = create_app(Settings(data_dir=REPO / "nonexistent", server=ServerSettings(host="127.0.0.1")))
    # No lifespan: /openapi.json needs neither store nor log.
    served = TestClient(app).get("/openapi.json")
    assert served.status_code == 200
    committed = json.loads((REPO / "schemas" / "openapi.json").read_text(encoding="utf-8"))
    assert served.json() == committed, f"run {REGENERATE}"


def test_every_route_is_documented() -> None:
    paths = json.loads((REPO / "schemas" / "openapi.json").read_text(encoding="utf-8"))["paths"]
    for path in ("/api/v1/lineage", "/api/v1/lineage/batch", "/api/v1/impact", "/api/v1/runs/{runId}"):
        assert path in paths, sorted(paths)
    assert set(paths["/api/v1/lineage"]) == {"get", "post"}


# --- the app lives up to its document (schemathesis) ---------------------------------------


SAMPLE_EVENTS: list[dict[str, Any]] = [
    {
        "eventType": state,
        "eventTime": f"2026-05-01T10:0{minute}:00Z",
        "run": {"runId": "0195e2e2-0000-7000-8000-000000000001"},
        "job": {"namespace": "openapi", "name": "load"},
        "inputs": [{"namespace": "postgres://db:5432", "name": "public.orders"}],
        "outputs": [{"namespace": "s3://lake", "name": "clean/orders"}],
        "producer": "https://github.com/olgraph/olgraph/tests/docs",
    }
    for state, minute in (("START", 0), ("COMPLETE", 1))
]
MAX_EXAMPLES = 30
APPLY_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def asgi_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A requests session into the app, on an embedded store in a temporary directory with a small graph.

    schemathesis' ASGI client runs the app's lifespan in its own event-loop thread and keeps it
    until ``shutdown_lifespans``. (Its lazy ``from_fixture`` loader does not work with pytest 9,
    hence a session passed to each call instead.)
    """
    from schemathesis.python import asgi  # noqa: PLC0415

    from olgraph.api.app import create_app  # noqa: PLC0415
    from olgraph.config import ConsumerSettings, ServerSettings, Settings  # noqa: PLC0415

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("openapi"),
        server=ServerSettings(host="127.0.0.1"),
        consumer=ConsumerSettings(poll_interval_seconds=0.05),
    )
    app: Any = create_app(settings)
    try:
        with asgi.get_client(app) as client:
            for event in SAMPLE_EVENTS:
                assert client.post("/api/v1/lineage", json=event).status_code == 201
            deadline = time.monotonic() + APPLY_TIMEOUT
            while client.get("/api/v1/stats").json()["pending"] and time.monotonic() < deadline:
                time.sleep(0.05)
            yield client
    finally:
        asgi.shutdown_lifespans()


CHECKED_IN = json.loads((REPO / "schemas" / "openapi.json").read_text(encoding="utf-8"))
GET_ENDPOINTS = schemathesis.openapi.from_dict(CHECKED_IN).include(method="GET")


@GET_ENDPOINTS.parametrize()  # type: ignore[untyped-decorator]
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_get_endpoints_conform_and_never_5xx(case: Any, asgi_session: Any) -> None:
    """No 5xx; documented responses have the documented content type and schema."""
    case.call_and_validate(
        session=asgi_session,
        base_url=asgi_session.base_url,
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
    )


@GET_ENDPOINTS.parametrize()  # type: ignore[untyped-decorator]
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_get_endpoints_answer_only_documented_status_codes(case: Any, asgi_session: Any) -> None:
    """Every status a GET answers with (400 on a bad parameter, 404 on an unknown node) is documented."""
    case.call_and_validate(
        session=asgi_session, base_url=asgi_session.base_url, checks=[status_code_conformance]
    )


ADMIN_ENDPOINTS = schemathesis.openapi.from_dict(CHECKED_IN).include(tag="admin")


@ADMIN_ENDPOINTS.parametrize()  # type: ignore[untyped-decorator]
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_admin_endpoints_never_5xx(case: Any, asgi_session: Any) -> None:
    """Deletes and retention with any parameters: answered or refused, never a server error.

    Runs after the GET tests (they share the app), since it deletes what it finds."""
    case.call_and_validate(
        session=asgi_session,
        base_url=asgi_session.base_url,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance],
    )
