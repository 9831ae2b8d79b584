"""The explorer in a real browser (Debian's Chromium) against a real ``olgraph serve``.

The server holds the shared corpus, a shop's pipeline (``explorer_events``) and the MLflow
scenario of ``test_mlflow_workload_e2e`` (an unchanged MLflow script training and registering
``churn`` on ``s3://bucket/train.parquet``, which the shop's features job writes). The tests
walk the explorer as a person would and assert on what the pages show: texts, node counts on
the graph canvas, the CSV that downloads. Any console error, failed request, HTTP error or
request leaving the server fails the test (``explorer_support.PageWatch``). The same first
scenario runs once on the Neo4j store. Each page is photographed (``make screenshots``
refreshes docs/screenshots from these runs).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from e2e_support import OlgraphServer, ServerFactory, empty_neo4j
from explorer_events import (
    CLEAN,
    DAILY_REVENUE,
    ERROR,
    FAILED_RUN,
    LOAD_ORDERS,
    NIGHTLY_RUN,
    ORDERS,
    REVENUE,
    TRAIN,
    node_id,
    shop_events,
)
from explorer_support import launch, screenshot, send_corpus, send_events, wait_graph, watched_page
from playwright.sync_api import Browser, Page, expect
from test_mlflow_workload_e2e import Workload, run_workload

DASH = "\N{EN DASH}"  # between the first and last item of a page in the pager
# The shop's events have fixed times, so which nodes are stale would depend on the day the suite
# runs (and the screenshots with it): these servers turn stale marks off (test_explorer_stale).
FIXED_TIMES = {"OLGRAPH_QUERY__STALE_AFTER_DAYS": "0"}


@dataclass
class Explorer:
    """A filled server and what the MLflow workload did."""

    server: OlgraphServer
    workload: Workload | None

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as running:
        yield running


@pytest.fixture(scope="module")
def explorer(olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Explorer]:
    """``olgraph serve`` (embedded) with the corpus, the shop and the MLflow scenario applied."""
    with olgraph_server(tmp_path_factory.mktemp("explorer") / "data", env=FIXED_TIMES) as server:
        with server.client() as client:
            send_corpus(client)
            send_events(client, shop_events())
        cwd = tmp_path_factory.mktemp("mlflow")
        workload = run_workload((cwd / "mlruns").as_uri(), server, cwd)
        yield Explorer(server, workload)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return tmp_path


# --------------------------------------------------------------------------- scenario 1


def dataset_to_impact(page: Page, url: str, shots: Path, prefix: str = "") -> None:
    """Go-to box → namespace → dataset → lineage graph → expand/collapse → path → impact → CSV."""
    page.goto(url + "/")
    expect(page.get_by_role("heading", name="Namespaces", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="s3://lake", exact=True)).to_be_visible()
    screenshot(page, f"{prefix}namespaces", shots)

    page.goto(f"{url}/datasets?ns={quote(CLEAN[0], safe='')}")
    # listings leave deleted datasets out (the dropped staging table)
    expect(page.get_by_role("heading", name="2 datasets in s3://lake")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="tmp/orders_staging")).to_have_count(0)
    screenshot(page, f"{prefix}datasets", shots)

    box = page.get_by_label(re.compile("^Search datasets"))
    box.fill("daily_rev")  # the API's search: a dataset and a job by part of their names
    options = page.get_by_role("listbox").get_by_role("option")
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_have_text("dataset marts/daily_revenue · s3://lake")
    expect(options.nth(1)).to_have_text(f"job {DAILY_REVENUE} · shop")
    box.fill("amount_e")
    expect(options).to_have_count(1)
    expect(options.nth(0)).to_have_text("column amount_eur · s3://lake:clean/orders")
    screenshot(page, f"{prefix}search", shots)
    box.press("Enter")  # a column leads to its dataset
    expect(page).to_have_url(re.compile(r"/dataset\?id=dataset%3As3%3A%2F%2Flake%3Aclean%2Forders$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("clean/orders")
    producers = page.locator("section", has=page.get_by_role("heading", name="Upstream producers (1)"))
    expect(producers.get_by_role("row")).to_have_count(2)  # header + etl.load_orders
    expect(producers.get_by_role("row").nth(1)).to_contain_text(f"{LOAD_ORDERS}in runs")
    consumers = page.locator("section", has=page.get_by_role("heading", name="Downstream consumers"))
    expect(consumers).to_contain_text(DAILY_REVENUE)
    expect(consumers).to_contain_text("features.build_churn_training")
    schema = page.locator("section", has=page.get_by_role("heading", name="Schema (5 fields)"))
    expect(schema.get_by_role("row", name=re.compile("amount_eur"))).to_contain_text(
        "decimal(12,2)amount, checked non-negative"
    )
    expect(page.locator(".facts").first).to_contain_text("team:data-platform")
    expect(page.locator(".facts").first).to_contain_text("tier=silver")  # a dataset-level tag
    expect(schema.get_by_role("row", name=re.compile("^customer_id"))).to_contain_text("pii=pseudonymous")
    dataset_health(page, url)
    columns = page.locator("section", has=page.get_by_role("heading", name=re.compile("^Column lineage")))
    expect(columns.get_by_role("row")).to_have_count(6)  # header + one input field for each of 5 columns
    amount = columns.get_by_role("row").filter(has_text="amount_eur")
    expect(amount).to_contain_text("postgres://shop-db:5432:public.orders · amount")
    expect(amount).to_contain_text("DIRECT/TRANSFORMATION")
    screenshot(page, f"{prefix}dataset", shots)

    page.locator("#main").get_by_role("link", name="Lineage", exact=True).click()
    # two hops each way: load_orders, orders, customers | daily_revenue, features job, the mart, train.parquet
    assert wait_graph(page) == 8
    expect(page.get_by_test_id("graph-counts")).to_have_text("8 nodes, 7 edges")
    expect(page.get_by_role("button", name="expand marts/daily_revenue")).to_be_visible()
    expect(page.get_by_role("button", name="expand train.parquet")).to_be_visible()
    expect(page.get_by_role("button", name="expand public.orders")).to_have_count(0)  # nothing beyond
    screenshot(page, f"{prefix}lineage", shots)

    page.get_by_role("button", name="expand marts/daily_revenue").click()
    expect(page).to_have_url(re.compile("expand=dataset%3As3%3A%2F%2Flake%3Amarts%2Fdaily_revenue"))
    expect(page.get_by_test_id("graph-counts")).to_have_text("10 nodes, 9 edges")
    assert wait_graph(page) == 10
    expect(page.get_by_role("button", name="collapse marts/daily_revenue")).to_be_visible()
    page.reload()  # the URL carries the expanded view
    assert wait_graph(page) == 10
    page.get_by_role("button", name="collapse marts/daily_revenue").click()
    expect(page.get_by_test_id("graph-counts")).to_have_text("8 nodes, 7 edges")

    # column mode: the API's column lineage, transformations on the edges
    with httpx.Client(base_url=url) as api:
        column_answer = api.get(
            "/api/v1/column-lineage", params={"nodeId": node_id(CLEAN), "direction": "both", "depth": 2}
        ).json()
    # click, then wait: the box is controlled by the URL, and check() may look before React re-renders
    page.get_by_role("checkbox", name="Columns").click()
    expect(page).to_have_url(re.compile("columns=1"))
    expect(page.get_by_role("checkbox", name="Columns")).to_be_checked()
    expected = len(column_answer["nodes"])
    expect(page.get_by_test_id("graph-counts")).to_have_text(
        f"{expected} nodes, {len(column_answer['edges'])} edges"
    )
    assert wait_graph(page) == expected == 14  # 5 columns, their 5 sources, 3 downstream, the focus dataset
    edges = page.get_by_label("column edges").get_by_role("listitem")
    expect(edges).to_have_count(8)
    expect(edges.filter(has_text="public.orders.amount → clean/orders.amount_eur")).to_have_text(
        "public.orders.amount → clean/orders.amount_eur · DIRECT/TRANSFORMATION"
    )
    expect(edges.filter(has_text="→ marts/daily_revenue.revenue_eur")).to_contain_text("DIRECT/AGGREGATION")
    screenshot(page, f"{prefix}lineage-columns", shots)
    page.get_by_role("checkbox", name="Columns").click()
    expect(page.get_by_role("checkbox", name="Columns")).not_to_be_checked()
    expect(page.get_by_test_id("graph-counts")).to_have_text("8 nodes, 7 edges")

    page.get_by_role("button", name="public.orders", exact=True).click()
    panel = page.get_by_label("selected node")
    expect(panel.get_by_role("heading", name="public.orders")).to_be_visible()
    page.get_by_label("Highlight path to").select_option(label="marts/daily_revenue")
    expect(page.get_by_test_id("path-length")).to_have_text("Path of 4 hops highlighted.")
    screenshot(page, f"{prefix}lineage-path", shots)

    panel.get_by_role("link", name="Impact").click()
    with httpx.Client(base_url=url) as api:
        impact = api.get("/api/v1/impact", params={"nodeId": node_id(ORDERS)}).json()
        csv_expected = api.get("/api/v1/impact", params={"nodeId": node_id(ORDERS), "format": "csv"}).text
    total = impact["summary"]["total"]
    assert total >= 8
    expect(page.get_by_test_id("verdict")).to_contain_text(f"No: {total} live dependents")
    expect(page.get_by_role("heading", name=re.compile(r"^dataset · team:analytics"))).to_be_visible()
    revenue = page.get_by_role("row").filter(has_text="marts/daily_revenue")
    expect(revenue.get_by_role("cell").nth(2)).to_have_text(
        "4"
    )  # distance: orders → job → clean → job → mart
    screenshot(page, f"{prefix}impact", shots)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    saved = shots / f"{prefix}impact.csv"
    download.value.save_as(saved)
    assert saved.read_text() == csv_expected
    assert csv_expected.count("\n") == total + 1  # header + one row per dependent
    cli = [sys.executable, "-m", "olgraph", "impact", node_id(ORDERS), "--url", url]
    by_cli = subprocess.run(
        [*cli, "--format", "csv"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (by_cli.returncode, by_cli.stdout) == (1, csv_expected)  # 1: something live depends on it


def dataset_health(page: Page, url: str) -> None:
    """clean/orders: the newest statistics, data quality and versions, as the detail API gives them."""
    with httpx.Client(base_url=url) as api:
        detail = api.get("/api/v1/datasets", params={"nodeId": node_id(CLEAN)}).json()
    # the newest write (load_orders on day 4) and the newest read with quality facets (daily_revenue, day 4)
    assert detail["statistics"]["rowCount"] == 1400
    assert detail["quality"]["metrics"]["rowCount"] == 1204
    health = page.locator("section", has=page.get_by_role("heading", name="Statistics and data quality"))
    statistics = health.get_by_label("statistics")
    expect(statistics).to_contain_text("Rows1,400")
    expect(statistics).to_contain_text("Bytes52,004")
    expect(statistics).to_contain_text(detail["statistics"]["version"])
    quality = health.get_by_label("data quality")
    expect(quality).to_contain_text(f"reported by shop:{DAILY_REVENUE}")
    expect(quality).to_contain_text("Rows read: 1,204")
    expect(quality.get_by_label("column metrics").get_by_role("row").nth(1)).to_have_text("amount_eur9120.50")
    assertions = quality.get_by_label("assertions").get_by_role("row")
    expect(assertions).to_have_count(3)
    expect(assertions.nth(1)).to_have_text("not_nullamount_eurpassed")
    expect(assertions.nth(2)).to_have_text("uniqueorder_idfailed")
    versions = page.get_by_label("versions").get_by_role("row")
    expect(versions).to_have_count(1 + len(detail["versions"]))
    expect(versions.nth(1)).to_contain_text(detail["versions"][0]["version"])
    expect(versions.nth(1)).to_contain_text("1,400")
    # every version of clean/orders has the same schema
    expect(page.get_by_test_id("diff-summary")).to_have_text("Same schema in both versions.")


def test_dataset_lineage_expand_path_impact_csv(browser: Browser, explorer: Explorer, shots: Path) -> None:
    with watched_page(browser, explorer.url) as (page, _):
        dataset_to_impact(page, explorer.url, shots)


def test_schema_diff_and_a_columns_lineage(browser: Browser, explorer: Explorer, shots: Path) -> None:
    """The revenue mart gained a column and widened a type on its last run: the diff says so."""
    with httpx.Client(base_url=explorer.url) as api:
        versions = api.get("/api/v1/datasets/versions", params={"nodeId": node_id(REVENUE)}).json()["items"]
        column = "field:s3://lake:marts/daily_revenue#revenue_eur"
        lineage = api.get(
            "/api/v1/column-lineage", params={"nodeId": column, "direction": "both", "depth": 2}
        )
        old = {"nodeId": node_id(REVENUE), "from": versions[2]["version"], "to": versions[1]["version"]}
        unchanged = api.get("/api/v1/datasets/diff", params=old).json()
    assert unchanged["added"] == unchanged["removed"] == unchanged["changed"] == [], (unchanged, versions)
    assert len(versions) == 3  # one per daily_revenue run
    with watched_page(browser, explorer.url) as (page, _):
        page.goto(f"{explorer.url}/dataset?id={quote(node_id(REVENUE), safe='')}")
        expect(page.get_by_role("heading", name="Schema (4 fields)")).to_be_visible()
        changes = page.locator("section", has=page.get_by_role("heading", name="Schema changes"))
        expect(changes.get_by_label("From version", exact=True)).to_have_value(versions[1]["version"])
        expect(changes.get_by_label("To version", exact=True)).to_have_value(versions[0]["version"])
        expect(page.get_by_test_id("diff-summary")).to_have_text("1 added, 0 removed, 1 type changed")
        rows = changes.get_by_label("schema changes").get_by_role("row")
        expect(rows).to_have_count(3)
        expect(rows.nth(1)).to_have_text("addedordersbigint")
        expect(rows.nth(2)).to_have_text("type changedrevenue_eurdecimal(14,2) → decimal(18,2)")
        changes.scroll_into_view_if_needed()
        screenshot(page, "dataset-diff", shots)
        page.get_by_role("button", name="Switch to the dark theme").click()
        screenshot(page, "dataset-diff-dark", shots)
        changes.get_by_label("To version", exact=True).select_option(versions[1]["version"])
        changes.get_by_label("From version", exact=True).select_option(versions[2]["version"])
        expect(page).to_have_url(re.compile("&from=.*&to="))
        expect(page.get_by_test_id("diff-summary")).to_have_text("Same schema in both versions.")

        page.get_by_label("column lineage of revenue_eur").click()
        expect(page).to_have_url(
            re.compile("/lineage\\?node=field%3As3%3A%2F%2Flake%3Amarts%2Fdaily_revenue%23revenue_eur")
        )
        expect(page.get_by_role("checkbox", name="Columns")).to_be_checked()
        answer = lineage.json()
        assert wait_graph(page) == len(answer["nodes"]) == 3  # revenue_eur ← clean amount_eur ← public amount
        expect(page.get_by_label("column edges").get_by_role("listitem")).to_have_count(len(answer["edges"]))


def test_lists_across_namespaces_with_filters_and_cursor(browser: Browser, explorer: Explorer) -> None:
    with httpx.Client(base_url=explorer.url) as api:
        everything = api.get("/api/v1/list/datasets", params={"limit": 50}).json()
        second = api.get(
            "/api/v1/list/datasets", params={"limit": 50, "cursor": everything["nextCursor"]}
        ).json()
        with_deleted = api.get("/api/v1/list/datasets", params={"includeDeleted": "true", "limit": 1}).json()
        models = api.get("/api/v1/list/datasets", params={"type": "model"}).json()
    assert everything["total"] > 50  # two pages at least
    assert with_deleted["total"] > everything["total"]
    with watched_page(browser, explorer.url) as (page, _):
        page.goto(f"{explorer.url}/datasets")
        expect(
            page.get_by_role("heading", name=f"{everything['total']} datasets", exact=True)
        ).to_be_visible()
        rows = page.locator("main table").first.get_by_role("row")
        expect(rows).to_have_count(51)
        expect(rows.nth(1)).to_contain_text(everything["items"][0]["name"])
        expect(page.get_by_text(f"1{DASH}50 of {everything['total']}")).to_be_visible()
        page.get_by_role("button", name="Next →").click()
        last = 50 + len(second["items"])
        expect(page.get_by_text(f"51{DASH}{last} of {everything['total']}")).to_be_visible()
        expect(rows.nth(1)).to_contain_text(second["items"][0]["name"])
        page.get_by_role("button", name="← Previous").click()
        expect(rows.nth(1)).to_contain_text(everything["items"][0]["name"])

        page.get_by_label("Tag", exact=True).select_option("tier=silver")
        expect(page.get_by_role("heading", name="1 datasets", exact=True)).to_be_visible()
        expect(rows.nth(1)).to_contain_text("clean/orders")
        page.get_by_label("Tag", exact=True).select_option("")
        page.get_by_label("Type", exact=True).select_option("model")
        expect(page.get_by_role("heading", name=f"{models['total']} datasets", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="models/churn", exact=True)).to_be_visible()
        page.get_by_label("Type", exact=True).select_option("")
        page.get_by_label("Namespace", exact=True).select_option(CLEAN[0])
        # URL-controlled: click, then await the state (check() looked before React re-rendered)
        page.get_by_label("Deleted ones too").click()
        expect(page.get_by_label("Deleted ones too")).to_be_checked()
        expect(page.get_by_role("heading", name="3 datasets in s3://lake")).to_be_visible()
        expect(page.get_by_role("row").filter(has_text="tmp/orders_staging")).to_contain_text("deleted")
        page.get_by_label("Owner", exact=True).fill("team:analytics")
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_role("heading", name="1 datasets in s3://lake")).to_be_visible()
        expect(rows.nth(1)).to_contain_text("marts/daily_revenue")
        page.reload()  # the URL holds the filters
        expect(page.get_by_role("heading", name="1 datasets in s3://lake")).to_be_visible()


def _names(api: httpx.Client, kind: str, **params: str) -> list[str]:
    listed = api.get(f"/api/v1/list/{kind}", params={"limit": 50, **params})
    assert listed.status_code == 200, listed.text
    return [item["name"] for item in listed.json()["items"]]


def test_lists_sorted_by_name_and_by_last_seen(browser: Browser, explorer: Explorer, shots: Path) -> None:
    """The Sort control orders the list as the API does, by mouse or keyboard, and the URL keeps it."""
    with httpx.Client(base_url=explorer.url) as api:
        by_name = _names(api, "jobs", namespace="shop")
        newest = _names(api, "jobs", namespace="shop", sort="-lastSeen")
        backwards = _names(api, "jobs", namespace="shop", sort="-name")
        datasets_newest = _names(api, "datasets", sort="-lastSeen")
    assert backwards == by_name[::-1]
    assert sorted(newest) == by_name
    assert newest not in (by_name, backwards), "the shop's jobs were last seen in another order"
    with watched_page(browser, explorer.url) as (page, _):
        page.goto(f"{explorer.url}/jobs?ns=shop")
        names = page.locator("main table").first.locator("tbody tr td:first-child a")
        sort = page.get_by_label("Sort", exact=True)
        expect(sort).to_have_value("name")
        expect(names).to_have_text(by_name)
        sort.select_option(label="Recently seen")
        expect(page).to_have_url(re.compile("sort=-lastSeen"))
        expect(names).to_have_text(newest)
        page.reload()  # the URL holds the sort
        expect(sort).to_have_value("-lastSeen")
        expect(names).to_have_text(newest)
        sort.select_option(label="Name A→Z")
        expect(names).to_have_text(by_name)
        expect(page).not_to_have_url(re.compile("sort="))
        sort.focus()
        page.keyboard.press("ArrowDown")  # the next order: Name Z→A
        expect(sort).to_have_value("-name")
        expect(names).to_have_text(backwards)

        page.goto(f"{explorer.url}/datasets?sort=-lastSeen")
        expect(page.get_by_label("Sort", exact=True)).to_have_value("-lastSeen")
        expect(names).to_have_text(datasets_newest)
        screenshot(page, "datasets-sorted", shots)
        page.get_by_role("button", name="Switch to the dark theme").click()
        screenshot(page, "datasets-sorted-dark", shots)


def test_lineage_as_of_a_time(browser: Browser, explorer: Explorer) -> None:
    """On day 1 of the shop, clean/orders fed only the revenue mart: the features job came on day 3."""
    when = "2026-11-03T02:00:00.000Z"
    with httpx.Client(base_url=explorer.url) as api:
        then = api.get(
            "/api/v1/lineage",
            params={"nodeId": node_id(CLEAN), "direction": "both", "depth": 3, "asOf": when},
        ).json()
    shown = {n["id"] for n in then["nodes"] if n["distance"] <= 2}
    assert not any("features" in n for n in shown)
    with watched_page(browser, explorer.url) as (page, _):
        page.goto(f"{explorer.url}/lineage?node={quote(node_id(CLEAN), safe='')}")
        assert wait_graph(page) == 8
        page.get_by_label("As of").fill("2026-11-03T02:00")
        expect(page).to_have_url(re.compile("asOf="))
        expect(page.get_by_test_id("graph-counts")).not_to_have_text("8 nodes, 7 edges")
        expect(page.get_by_test_id("as-of")).to_contain_text("The graph as it stood on")
        page.goto(f"{explorer.url}/lineage?node={quote(node_id(CLEAN), safe='')}&asOf={quote(when)}")
        expect(page.get_by_test_id("graph-counts")).to_have_text(re.compile(f"^{len(shown)} nodes"))
        assert wait_graph(page) == len(shown) == 6
        expect(page.get_by_role("button", name="features.build_churn_training")).to_have_count(0)
        page.get_by_role("button", name="Back to now").click()
        expect(page.get_by_test_id("graph-counts")).to_have_text("8 nodes, 7 edges")
        assert wait_graph(page) == 8


# --------------------------------------------------------------------------- jobs and runs


def test_job_run_history_and_failed_run(browser: Browser, explorer: Explorer, shots: Path) -> None:
    with watched_page(browser, explorer.url) as (page, _):
        page.goto(f"{explorer.url}/jobs?ns=shop")
        expect(page.get_by_role("heading", name="4 jobs in shop")).to_be_visible()
        page.get_by_role("link", name=LOAD_ORDERS, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(LOAD_ORDERS)
        runs = page.locator("section", has=page.get_by_role("heading", name="Runs (6)"))
        expect(runs.locator("svg.run-chart rect.bar")).to_have_count(6)
        expect(runs.locator("svg.run-chart rect.bar.state-fail")).to_have_count(1)
        expect(page.locator(".facts")).to_contain_text("17% (1 of 6 runs)")
        sql = page.get_by_label("SQL")
        expect(sql).to_contain_text("INSERT OVERWRITE clean.orders")
        expect(sql.locator("b").first).to_have_text("INSERT")  # keywords highlighted
        outputs = page.locator("section", has=page.get_by_role("heading", name="Outputs (2)"))
        expect(outputs.get_by_role("listitem").filter(has_text="tmp/orders_staging")).to_contain_text(
            "deleted"
        )
        failed = runs.get_by_role("row", name=re.compile(FAILED_RUN))
        expect(failed).to_contain_text("FAIL")
        expect(failed).to_contain_text("3 min 12 s")  # 3.2 minutes from START to FAIL
        inputs = page.locator("section", has=page.get_by_role("heading", name="Inputs (2)"))
        expect(inputs).to_contain_text("public.orders")
        screenshot(page, "job", shots)

        failed.get_by_role("link", name=FAILED_RUN).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Run {FAILED_RUN}")
        expect(page.get_by_role("heading", level=1)).to_contain_text("FAIL")
        expect(page.get_by_label("state timeline")).to_have_text(
            re.compile(r"^START\s*2026-11-04 \d\d:00:00\s*FAIL\s*2026-11-04 \d\d:03:12$")
        )
        error = page.get_by_label("error")
        expect(error).to_contain_text(ERROR)
        expect(error).to_contain_text('File "load_orders.py", line 42')
        expect(page.locator(".facts")).to_contain_text("3 min 12 s")
        outputs = page.locator("section", has=page.get_by_role("heading", name="Outputs (2)"))
        expect(outputs).to_contain_text("clean/orders")
        screenshot(page, "run", shots)
        page.get_by_role("link", name=f"shop:{LOAD_ORDERS}").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(LOAD_ORDERS)

        # the orchestrator's run and the two runs it started
        page.goto(f"{explorer.url}/run/{NIGHTLY_RUN}")
        children = page.get_by_label("child runs").get_by_role("row")
        expect(page.get_by_role("heading", name="Child runs (2)")).to_be_visible()
        expect(children).to_have_count(3)
        expect(children.nth(1)).to_contain_text(f"shop:{DAILY_REVENUE}COMPLETE")  # newest first
        expect(children.nth(2)).to_contain_text(f"shop:{LOAD_ORDERS}COMPLETE")
        screenshot(page, "run-children", shots)
        page.get_by_role("button", name="Switch to the dark theme").click()
        screenshot(page, "run-children-dark", shots)
        children.nth(2).get_by_role("link").first.click()
        expect(page.locator(".facts")).to_contain_text(
            f"Parent run{NIGHTLY_RUN} · airflow:shop_nightly COMPLETE"
        )


# --------------------------------------------------------------------------- models


def test_model_version_training_run_and_datasets(browser: Browser, explorer: Explorer, shots: Path) -> None:
    workload = explorer.workload
    assert workload is not None
    (first, second) = workload.out["trained"]
    with watched_page(browser, explorer.url) as (page, _):
        page.goto(f"{explorer.url}/models")
        models = page.locator("section", has=page.get_by_role("heading", name=re.compile(r"\d+ models")))
        expect(models.get_by_role("link", name="models/churn", exact=True)).to_be_visible()
        screenshot(page, "models", shots)
        models.get_by_role("link", name="models/churn", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("models/churn")
        expect(page.get_by_role("heading", level=1)).to_contain_text("model")
        versions = page.locator("section", has=page.get_by_role("heading", name=re.compile(r"^Versions")))
        latest = versions.get_by_role("row", name=re.compile(rf"^{second['version']}\b"))
        expect(latest).to_contain_text("Production")
        expect(latest).to_contain_text("@champion")
        training_run = workload.run_id(second["run"])
        expect(latest).to_contain_text(training_run)
        expect(page.get_by_role("heading", name="Schema changes")).to_have_count(0)  # no schema to compare
        screenshot(page, "model", shots)

        latest.get_by_role("link", name=second["version"], exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(
            f"models/churn version {second['version']}"
        )
        writer = page.get_by_label("writer").get_by_role("row")
        expect(writer.nth(1)).to_contain_text(training_run)
        trained_on = page.get_by_label("trained on").get_by_role("row")
        expect(trained_on.filter(has_text="train.parquet")).to_contain_text(second["digest"])
        with httpx.Client(base_url=explorer.url) as api:
            version = api.get(
                "/api/v1/datasets/version",
                params={"nodeId": workload.model, "version": second["version"]},
            )
        readers = version.json()["readers"]
        assert {r["job"].rsplit(":", 1)[-1] for r in readers} == {"python", "scoring"}  # where it was loaded
        expect(page.get_by_label("readers").get_by_role("row")).to_have_count(1 + len(readers))
        screenshot(page, "model-version", shots)
        process = next(r for r in readers if r["job"].endswith(":python"))
        page.get_by_role("link", name=process["runId"]).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(process["runId"])
        expect(page.locator("section", has=page.get_by_role("heading", name="Workload"))).to_contain_text(
            "mlflow"
        )
        expect(page.get_by_label("child runs")).to_have_count(0)  # MLflow runs are not the process run's
        page.go_back()
        page.go_back()
        latest.get_by_role("link", name=training_run).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(training_run)
        inputs = page.locator("section", has=page.get_by_role("heading", name=re.compile(r"^Inputs")))
        train_row = inputs.get_by_role("row").filter(has_text="train.parquet")
        expect(train_row).to_contain_text(second["digest"])
        workload_facts = page.locator("section", has=page.get_by_role("heading", name="Workload"))
        expect(workload_facts).to_contain_text("mlflow")
        screenshot(page, "model-run", shots)

        train_row.get_by_role("link").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("train.parquet")
        consumers = page.locator("section", has=page.get_by_role("heading", name="Downstream consumers"))
        expect(consumers).to_contain_text("churn")
        assert first["digest"] != second["digest"]


def test_workloads_list_their_process_runs(browser: Browser, explorer: Explorer, shots: Path) -> None:
    """The MLflow script's process: Workloads → its job → its process run with the workload facet."""
    workload = explorer.workload
    assert workload is not None
    with httpx.Client(base_url=explorer.url) as api:
        listed = api.get("/api/v1/list/jobs", params={"jobType": "WORKLOAD"}).json()
        runs = api.get("/api/v1/jobs/runs", params={"nodeId": f"job:{workload.namespace}:python"}).json()
    assert [j["id"] for j in listed["items"]] == [f"job:{workload.namespace}:python"]  # the corpus has none
    assert runs["total"] == 1
    with watched_page(browser, explorer.url) as (page, _):
        page.goto(f"{explorer.url}/")
        page.get_by_role("navigation", name="main").get_by_role("link", name="Workloads").click()
        expect(page.get_by_role("heading", name="1 workloads")).to_be_visible()
        row = page.get_by_label("workloads").get_by_role("row").nth(1)
        expect(row).to_have_text(re.compile(rf"^python{re.escape(workload.namespace)}MLFLOW"))
        screenshot(page, "workloads", shots)
        row.get_by_role("link", name="python").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("python")
        process = runs["items"][0]["runId"]
        page.get_by_role("link", name=process).click()
        facts = page.locator("section", has=page.get_by_role("heading", name="Workload"))
        expect(facts).to_contain_text("workloadTypemlflow")
        expect(facts).to_contain_text(f"pid{workload.out['pid']}")


# --------------------------------------------------------------------------- the shell


def test_deep_links_theme_and_keyboard(browser: Browser, explorer: Explorer, shots: Path) -> None:
    lineage = f"/lineage?node={quote(node_id(REVENUE), safe='')}&direction=upstream&depth=4"
    with watched_page(browser, explorer.url, color_scheme="dark") as (page, _):
        page.goto(explorer.url + lineage)  # a deep link, served by the client-side routing fallback
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"  # the system's preference
        # upstream, four hops: daily_revenue, clean/orders, load_orders, orders, customers
        assert wait_graph(page) == 6
        expect(page.get_by_label("Direction")).to_have_value("upstream")
        screenshot(page, "lineage-dark", shots)
        page.get_by_role("button", name="Switch to the light theme").click()
        assert page.evaluate("document.documentElement.dataset.theme") == "light"

        page.reload()  # the choice is kept, and keyboard focus starts at the top again
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        page.keyboard.press("Tab")  # the skip link comes first
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        box = page.get_by_label(re.compile("^Search datasets"))
        box.focus()
        page.keyboard.type(FAILED_RUN)
        expect(page.get_by_role("option", name=re.compile("run"))).to_be_visible()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(f"/run/{FAILED_RUN}$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("FAIL")

        page.keyboard.press("Tab")
        page.get_by_role("button", name="API key").press("Enter")
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        expect(page.get_by_label(re.compile("^Key"))).to_be_focused()
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)


def test_api_docs_are_served_from_the_package(browser: Browser, explorer: Explorer) -> None:
    with watched_page(browser, explorer.url) as (page, _):
        page.goto(f"{explorer.url}/docs")
        expect(page.locator(".swagger-ui .title")).to_contain_text("olgraph")
        expect(page.get_by_text("/api/v1/lineage/batch").first).to_be_visible()
        page.goto(f"{explorer.url}/redoc")
        expect(page.get_by_role("heading", name=re.compile("^olgraph"))).to_be_visible()
        expect(page.get_by_text("Receive OpenLineage events").first).to_be_visible()


def test_unknown_page_and_node_say_so(browser: Browser, explorer: Explorer) -> None:
    with watched_page(browser, explorer.url) as (page, watch):
        page.goto(f"{explorer.url}/no/such/page")
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        watch.allow(r"HTTP 404: GET .*/api/v1/datasets\?nodeId=dataset%3Anowhere")
        watch.allow(r"console error: Failed to load resource: the server responded with a status of 404")
        page.goto(f"{explorer.url}/dataset?id={quote('dataset:nowhere:x', safe='')}")
        expect(page.get_by_role("alert")).to_have_text(
            "Not found: nodeId: dataset 'dataset:nowhere:x' was not found"
        )


def test_lists_and_overview_counts(browser: Browser, explorer: Explorer) -> None:
    with httpx.Client(base_url=explorer.url) as api:
        lake = api.get(f"/api/v1/namespaces/{quote(CLEAN[0], safe='')}/datasets").json()
        namespaces = api.get("/api/v1/namespaces").json()
    with watched_page(browser, explorer.url) as (page, _):
        page.goto(explorer.url + "/")
        expect(page.get_by_role("heading", name=f"{namespaces['total']} namespaces")).to_be_visible()
        row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="s3://lake", exact=True))
        expect(row).to_contain_text(str(lake["total"]))
        page.goto(f"{explorer.url}/datasets?ns={quote(TRAIN[0], safe='')}")
        expect(page.get_by_role("link", name=TRAIN[1], exact=True)).to_be_visible()


# --------------------------------------------------------------------------- Neo4j, once


@pytest.mark.neo4j
def test_dataset_scenario_on_neo4j(
    browser: Browser,
    olgraph_server: ServerFactory,
    tmp_path_factory: pytest.TempPathFactory,
    neo4j_uri: str,
    shots: Path,
) -> None:
    """Scenario 1 against the Neo4j store: the same pages, counts and CSV.

    Instead of the MLflow workload (a minute of MLflow), one run of a job reading
    ``train.parquet`` gives that dataset the downstream lineage the scenario expects of it.
    """
    empty_neo4j(neo4j_uri)
    with olgraph_server(
        tmp_path_factory.mktemp("explorer-neo4j") / "data", neo4j_uri=neo4j_uri, env=FIXED_TIMES
    ) as server:
        with server.client() as client:
            send_corpus(client)
            send_events(client, shop_events())
            send_events(client, [training_consumer()])
        with watched_page(browser, server.url) as (page, _):
            dataset_to_impact(page, server.url, shots, prefix="neo4j-")


def training_consumer() -> dict[str, object]:
    """One run of a job reading ``train.parquet``: what the MLflow scenario adds on that path."""
    event = shop_events()[-2]
    return {
        **event,
        "run": {"runId": "0190b7c5-5a1e-7000-8000-00000000beef", "facets": {}},
        "job": {"namespace": "mlflow-e2e", "name": "churn"},
        "inputs": [{"namespace": TRAIN[0], "name": TRAIN[1]}],
        "outputs": [],
        "eventType": "COMPLETE",
    }
