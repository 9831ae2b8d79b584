"""The real olgraph app served by uvicorn in a thread, for tests that need a live HTTP server,
and the ``store`` settings of either store for such an app (:func:`store_settings`).

Tests import it as ``from served_app import serve_in_thread`` (tests/ is on ``sys.path``
because of its conftest.py; the module name is unique in the tree).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import neo4j
import pytest
import uvicorn

from olgraph.api.app import create_app
from olgraph.config import Settings

START_TIMEOUT = 30.0


def serve_in_thread(settings: Settings) -> Iterator[str]:
    """Run the app on a free loopback port; yield its base URL; stop it when resumed or closed."""
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        assert thread.is_alive(), "the test server stopped during start-up"
        assert time.monotonic() < deadline, f"the test server did not start within {START_TIMEOUT:.0f} s"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def store_settings(kind: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The ``store`` settings of ``kind``; for Neo4j the session's server, emptied first."""
    if kind == "embedded":
        return {"kind": "embedded"}
    uri = str(request.getfixturevalue("neo4j_uri"))
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    auth = (user, password) if user and password else None
    with neo4j.GraphDatabase.driver(uri, auth=auth) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    config: dict[str, Any] = {"uri": uri, "create_schema": True}
    if auth:
        config |= {"user": user, "password": password}
    return {"kind": "neo4j", "neo4j": config}
