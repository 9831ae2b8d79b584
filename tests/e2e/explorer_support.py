"""Driving the explorer in Debian's Chromium (``/usr/bin/chromium``) with Playwright.

Playwright's own browser download is never used: ``make test`` installs Debian's chromium
when it is missing (the ``chromium`` make target), and :func:`launch` points Playwright at it.
:class:`PageWatch` records everything that would mean a broken page — a console error, an
uncaught exception, a failed request, an HTTP error answer, a request to any host but the
server under test — and :meth:`PageWatch.assert_clean` fails the test with the list.

Tests import from here (``from explorer_support import …``), like ``e2e_support``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from e2e_support import REPO, SHARED, wait_applied
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect, sync_playwright

CHROMIUM = Path(os.environ.get("OLGRAPH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no calls home: the machine's network is closed
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 20_000  # longest wait for one condition on a page (a busy 2-core machine)
expect.set_options(timeout=TIMEOUT_MS)  # assertions wait as long as any other step
SCREENSHOTS = os.environ.get("OLGRAPH_SCREENSHOTS")  # `make screenshots`: the folder to refresh
CORPUS = SHARED / "corpus"


@contextmanager
def launch() -> Iterator[Browser]:
    """Headless Debian Chromium, closed at the end of the block.

    Playwright starts it with a new empty profile (its own temporary ``--user-data-dir``).
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium (apt-get)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageWatch:
    """What went wrong on a page, recorded as it happens."""

    origin: str
    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect problems matching ``pattern`` (e.g. the 401 of a key prompt test)."""
        self.allowed.append(re.compile(pattern))

    def _add(self, problem: str) -> None:
        if not any(p.search(problem) for p in self.allowed):
            self.problems.append(problem)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self._add(f"console {message.type}: {message.text}")

    def on_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self._add(f"request outside the server: {request.url}")

    def on_failed(self, request: Request) -> None:
        # net::ERR_ABORTED is the page cancelling a request it no longer needs (a navigation
        # while counts load); a server that fails shows as a reset, an empty answer or an HTTP error
        if request.failure != "net::ERR_ABORTED":
            self._add(f"request failed: {request.method} {request.url} ({request.failure})")

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            self._add(f"HTTP {response.status}: {response.request.method} {response.url}")

    def assert_clean(self) -> None:
        """Fail with every recorded problem."""
        assert not self.problems, "the page had problems:\n" + "\n".join(self.problems)


@contextmanager
def watched_page(
    browser: Browser, origin: str, color_scheme: str = "light"
) -> Iterator[tuple[Page, PageWatch]]:
    """A new page at 1280x800 whose problems are recorded; asserted clean at the end of the block."""
    context = browser.new_context(viewport=VIEWPORT, color_scheme=color_scheme, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    watch = PageWatch(origin)
    page.on("console", watch.on_console)
    page.on("pageerror", lambda error: watch._add(f"uncaught: {error}"))
    page.on("request", watch.on_request)
    page.on("requestfailed", watch.on_failed)
    page.on("response", watch.on_response)
    try:
        yield page, watch
        watch.assert_clean()
    finally:
        context.close()


def wait_graph(page: Page) -> int:
    """Wait until the lineage graph has drawn its answer; the number of nodes on the canvas."""
    canvas = page.get_by_test_id("graph")
    canvas.wait_for()
    page.wait_for_function(
        "() => { const g = document.querySelector('[data-testid=graph]');"
        " return g && g.dataset.rendering === 'false'; }",
        timeout=TIMEOUT_MS,
    )
    return int(canvas.get_attribute("data-nodes") or 0)


def screenshot(page: Page, name: str, folder: Path) -> Path:
    """A PNG of the page into ``folder`` (and into docs/screenshots under `make screenshots`)."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    if SCREENSHOTS:
        target = Path(SCREENSHOTS)
        target = target if target.is_absolute() else REPO / target
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / f"{name}.png")
    return path


def send_events(client: httpx.Client, events: list[dict[str, Any]]) -> None:
    """POST each event (201 expected) and wait until the consumer applied them all."""
    for event in events:
        answer = client.post("/api/v1/lineage", json=event)
        assert answer.status_code == 201, answer.text
    wait_applied(client)


def send_corpus(client: httpx.Client) -> int:
    """POST every file of the shared corpus; the number accepted (the corpus test checks each answer)."""
    accepted = 0
    for path in sorted(CORPUS.rglob("*.json")):
        answer = client.post(
            "/api/v1/lineage", content=path.read_bytes(), headers={"Content-Type": "application/json"}
        )
        assert answer.status_code in (201, 400), f"{path.name}: {answer.status_code} {answer.text}"
        accepted += answer.status_code == 201
    wait_applied(client)
    return accepted
