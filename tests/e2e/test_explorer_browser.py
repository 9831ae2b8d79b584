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
    ORDERS,
    REVENUE,
    TRAIN,
    node_id,
    shop_events,
)
from explorer_support import launch, screenshot, send_corpus, send_events, wait_graph, watched_page
from playwright.sync_api import Browser, Page, expect
from test_mlflow_workload_e2e import Workload, run_workload


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
    with olgraph_server(tmp_path_factory.mktemp("explorer") / "data") as server:
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
    producers = page.locator("section", has=page.get_by_role("heading", name="Upstream producers"))
    expect(producers.get_by_role("row")).to_have_count(2)  # header + etl.load_orders
    expect(producers).to_contain_text(LOAD_ORDERS)
    expect(producers).to_contain_text("COMPLETE")
    consumers = page.locator("section", has=page.get_by_role("heading", name="Downstream consumers"))
    expect(consumers).to_contain_text(DAILY_REVENUE)
    expect(consumers).to_contain_text("features.build_churn_training")
    schema = page.locator("section", has=page.get_by_role("heading", name="Schema (5 fields)"))
    expect(schema.get_by_role("row", name=re.compile("amount_eur"))).to_contain_text(
        "decimal(12,2)amount, checked non-negative"
    )
    expect(page.locator(".facts")).to_contain_text("team:data-platform")
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
    page.get_by_role("checkbox", name="Columns").check()
    expect(page).to_have_url(re.compile("columns=1"))
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
    page.get_by_role("checkbox", name="Columns").uncheck()
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


def test_dataset_lineage_expand_path_impact_csv(browser: Browser, explorer: Explorer, shots: Path) -> None:
    with watched_page(browser, explorer.url) as (page, _):
        dataset_to_impact(page, explorer.url, shots)


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
        screenshot(page, "model", shots)

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
    with olgraph_server(tmp_path_factory.mktemp("explorer-neo4j") / "data", neo4j_uri=neo4j_uri) as server:
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
