"""The real olgraph app served by uvicorn in a thread, for tests that need a live HTTP server.

Tests import it as ``from served_app import serve_in_thread`` (tests/ is on ``sys.path``
because of its conftest.py; the module name is unique in the tree).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

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
