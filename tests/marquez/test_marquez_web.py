"""Marquez Web 0.50.0, Marquez's own UI, pointed at olgraph's Marquez-compatible listener.

Marquez Web is built from its source tarball (``bench/marquez_web.py``, cached by digest) and
served by its own ``setupProxy.js`` with ``MARQUEZ_HOST``/``MARQUEZ_PORT`` set to olgraph's
listener, the one setting a deployment changes. Each page is opened in headless Debian
Chromium; a console error, an uncaught exception or an HTTP error answer from olgraph fails the
test (the page watch of the explorer's tests). The only outside requests allowed are Marquez
Web's own Google Fonts links, which this machine cannot reach (they do not depend on our
answers), nor are the console messages about its own font files and icons missing from its build.
Screenshots go to ``OLGRAPH_MARQUEZ_SCREENSHOTS`` when set (``docs/marquez-web``).
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from explorer_support import launch, watched_page
from marquez_peer_support import Fed, Olgraph
from playwright.sync_api import Browser, Page, expect

from service_paths import TEST_SERVICES_CACHE

SCREENSHOTS = os.environ.get("OLGRAPH_MARQUEZ_SCREENSHOTS")
NOT_OURS = (
    r"fonts\.(googleapis|gstatic)\.com",  # Google Fonts links: no network here
    r"net::ERR_NAME_NOT_RESOLVED",  # the same links, as the console reports them
    r"Failed to decode downloaded font|OTS parsing error",  # its bundled fonts are LFS pointers
    r"/img/(icon\.svg|favicon\.png)",  # icons its build does not hold
    r"status of 404 \(Not Found\)$",  # the console line of those 404s (ours show as HTTP 404: …/api/…)
)


@pytest.fixture(scope="module")
def web(fed: Fed, olgraph: Olgraph, scratch: Path) -> Iterator[str]:
    """Marquez Web's server, its API address set to olgraph's Marquez-compatible listener."""
    from marquez_web import marquez_web  # noqa: PLC0415  (bench/marquez_web.py)

    assert fed.posted
    port = int(olgraph.marquez_url.rsplit(":", 1)[1])
    with marquez_web(scratch / "marquez-web", "127.0.0.1", port, TEST_SERVICES_CACHE) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium."""
    with launch() as opened:
        yield opened


@contextmanager
def _page(browser: Browser, web: str) -> Iterator[Page]:
    """A watched page on Marquez Web, its own problems (``NOT_OURS``) allowed."""
    with watched_page(browser, web) as (page, watch):
        for pattern in NOT_OURS:
            watch.allow(pattern)
        yield page


def _open(page: Page, url: str, namespace: str | None = None) -> None:
    if namespace is not None:  # Marquez Web keeps the chosen namespace in localStorage
        page.add_init_script(f"window.localStorage.setItem('selectedNamespace', {namespace!r})")
    page.goto(url)


def _shot(page: Page, tmp_path: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(SCREENSHOTS) / path.name)


def test_datasets_page_lists_the_corpus_datasets(web: str, browser: Browser, tmp_path: Path) -> None:
    with _page(browser, web) as page:
        _open(page, f"{web}/datasets", namespace="my-datasource-namespace")
        for name in ("instance.schema.input-1", "instance.schema.input-2", "instance.schema.output-1"):
            expect(page.get_by_text(name, exact=True).first).to_be_visible()
        _shot(page, tmp_path, "datasets")


def test_a_dataset_shows_its_schema_and_versions(web: str, browser: Browser, tmp_path: Path) -> None:
    node = "dataset:mq-warehouse:dim.users"
    with _page(browser, web) as page:
        _open(page, f"{web}/lineage/dataset/mq-warehouse/dim.users?tableLevelNode={quote(node)}")
        drawer = page.locator(".MuiDrawer-paperAnchorRight")
        for column in ("id", "name", "country"):
            expect(drawer.get_by_text(column, exact=True).first).to_be_visible()
        _shot(page, tmp_path, "dataset")
        drawer.get_by_text("VERSION HISTORY").click()
        expect(drawer.get_by_text("1 - 3 of 3")).to_be_visible()  # three versions, newest first:
        fields = drawer.locator("tbody tr td:nth-child(3)")  # their field counts
        expect(fields).to_have_text(["3", "2", "1"])
        _shot(page, tmp_path, "dataset-versions")


def test_lineage_page_draws_a_corpus_job(
    web: str, olgraph: Olgraph, browser: Browser, tmp_path: Path
) -> None:
    node = "job:my-scheduler-namespace:myjob"
    answer = httpx.get(f"{olgraph.marquez_url}/api/v1/lineage", params={"nodeId": node, "depth": 2}).json()
    kinds = Counter(n["type"] for n in answer["graph"])
    assert kinds["DATASET"] >= 3
    assert kinds["JOB"] >= 1
    with _page(browser, web) as page:
        _open(page, f"{web}/lineage/job/my-scheduler-namespace/myjob?depth=2&isFull=true")  # siblings too
        expect(page.get_by_text("myjob", exact=True).first).to_be_visible()
        # every node of our answer drawn, in the graph and in its minimap
        expect(page.get_by_text("DATASET", exact=True)).to_have_count(2 * kinds["DATASET"])
        expect(page.get_by_text("JOB", exact=True)).to_have_count(2 * kinds["JOB"])
        _shot(page, tmp_path, "lineage")


def test_column_level_view_renders(web: str, browser: Browser, tmp_path: Path) -> None:
    with _page(browser, web) as page:
        _open(page, f"{web}/datasets", namespace="mq-warehouse")
        row = page.locator("tr", has=page.get_by_text("clean.orders", exact=True))
        row.get_by_text("VIEW").click()
        for column in ("email_hash", "amount", "email"):
            expect(page.get_by_text(column, exact=True).first).to_be_visible()
        _shot(page, tmp_path, "column-level")


def test_search_finds_a_dataset_by_part_of_its_name(web: str, browser: Browser, tmp_path: Path) -> None:
    with _page(browser, web) as page:
        _open(page, f"{web}/datasets", namespace="mq-warehouse")
        page.locator("#searchBar").fill("revenu")
        results = page.locator("#searchContainer")
        # the dataset mart.revenue (its name drawn in parts around the match) and the job revenue
        expect(results.get_by_text("mq-warehouse", exact=True)).to_be_visible()
        expect(results.get_by_text("mart", exact=True)).to_be_visible()
        expect(results.get_by_text("mq-spark", exact=True)).to_be_visible()
        _shot(page, tmp_path, "search")


def test_events_page_lists_events(web: str, browser: Browser, tmp_path: Path) -> None:
    with _page(browser, web) as page:
        window = "dateFrom=2024-03-01T00:00:00.000Z&dateTo=2024-03-02T00:00:00.000Z"
        _open(page, f"{web}/events?{window}")
        expect(page.get_by_text("22 total")).to_be_visible()  # the scenarios' events that day
        for job in ("build_dim_users", "score_customers"):  # the newest, on the first page
            expect(page.get_by_text(job).first).to_be_visible()
        _shot(page, tmp_path, "events")


def test_dashboard_charts_olgraphs_stats(web: str, browser: Browser, tmp_path: Path) -> None:
    with _page(browser, web) as page:
        with page.expect_response(lambda r: "/api/v1/stats/lineage-events" in r.url) as answer:
            _open(page, f"{web}/")
        assert answer.value.status == 200
        assert len(answer.value.json()) == 24  # the dashboard opens on the last day, per hour
        _shot(page, tmp_path, "dashboard")
