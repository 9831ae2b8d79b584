"""Stale nodes on the lineage graph, in a real browser: drawn dotted and faded, in the legend,
and "stale: last seen …" on the node; fresh nodes are not.

A server of its own holding a small pipeline whose times are relative to now: two ETL jobs ran
an hour ago (``public.orders`` → ``clean/orders`` → ``marts/daily_revenue``), a legacy export of
``clean/orders`` last ran 90 days ago. Nothing has been seen of the export job and its file for
longer than ``query.stale_after_days`` (30, the default), so those two are stale.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from e2e_support import OlgraphServer, ServerFactory
from explorer_support import launch, screenshot, send_events, wait_graph, watched_page
from playwright.sync_api import Page, expect

PRODUCER = "https://github.com/olgraph/olgraph/tests/e2e/test_explorer_stale"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
LAKE = "s3://lake"
CLEAN = f"dataset:{LAKE}:clean/orders"
EXPORT_JOB = "job:shop:legacy.export_orders"
EXPORT = f"dataset:{LAKE}:exports/orders.csv"
# what the node list's tooltip and the selected node's badge say (the browser's time zone)
STALE_TITLE = re.compile(r"^stale: last seen \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
FRESH = [
    CLEAN,
    "job:shop:etl.load_orders",
    "dataset:postgres://shop-db:5432:public.orders",
    "job:shop:etl.daily_revenue",
    f"dataset:{LAKE}:marts/daily_revenue",
]


def _run(
    job: str, inputs: list[tuple[str, str]], outputs: list[tuple[str, str]], at: datetime
) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": at.isoformat().replace("+00:00", "Z"),
        "producer": PRODUCER,
        "schemaURL": SPEC,
        "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{PRODUCER}/{job}"))},
        "job": {"namespace": "shop", "name": job},
        "inputs": [{"namespace": ns, "name": name} for ns, name in inputs],
        "outputs": [{"namespace": ns, "name": name} for ns, name in outputs],
    }


def pipeline(now: datetime) -> list[dict[str, Any]]:
    """The legacy export 90 days ago, the two ETL jobs an hour ago."""
    orders, clean = ("postgres://shop-db:5432", "public.orders"), (LAKE, "clean/orders")
    return [
        _run("legacy.export_orders", [clean], [(LAKE, "exports/orders.csv")], now - timedelta(days=90)),
        _run("etl.load_orders", [orders], [clean], now - timedelta(hours=1)),
        _run("etl.daily_revenue", [clean], [(LAKE, "marts/daily_revenue")], now - timedelta(hours=1)),
    ]


@pytest.fixture(scope="module")
def server(
    olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OlgraphServer]:
    with olgraph_server(tmp_path_factory.mktemp("stale") / "data") as running:
        with running.client() as client:
            send_events(client, pipeline(datetime.now(UTC)))
        yield running


def drawn_stale(page: Page) -> set[str]:
    """The ids the graph draws as stale (read from the canvas: its style's own selector)."""
    text = page.get_by_test_id("graph").get_attribute("data-stale-nodes") or "[]"
    return set(json.loads(text))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_stale_nodes_are_drawn_as_stale_and_fresh_ones_are_not(
    server: OlgraphServer, scheme: str, tmp_path: Path
) -> None:
    with httpx.Client(base_url=server.url) as api:
        answer = api.get("/api/v1/lineage", params={"nodeId": CLEAN, "depth": 2}).json()
    expected = {**dict.fromkeys(FRESH, False), EXPORT_JOB: True, EXPORT: True}
    assert {n["id"]: n["stale"] for n in answer["nodes"]} == expected
    with launch() as browser, watched_page(browser, server.url, color_scheme=scheme) as (page, _):
        page.goto(f"{server.url}/lineage?node={quote(CLEAN, safe='')}")
        assert wait_graph(page) == 7
        assert drawn_stale(page) == {EXPORT_JOB, EXPORT}
        legend = page.get_by_role("list", name="legend")
        expect(legend).to_contain_text("stale: not seen lately")
        expect(legend).to_contain_text("deleted")
        listed = page.locator(".node-list li.stale")
        expect(listed).to_have_count(2)
        expect(listed).to_contain_text(["exports/orders.csv", "legacy.export_orders"])
        expect(listed.first.get_by_role("button").first).to_have_attribute("title", STALE_TITLE)
        listed.filter(has_text="legacy.export_orders").get_by_role("button").first.click()
        badge = page.get_by_test_id("stale-badge")
        expect(badge).to_have_text(STALE_TITLE)
        screenshot(page, "lineage-stale" + ("-dark" if scheme == "dark" else ""), tmp_path)
        # a fresh node has no stale mark
        page.locator(".node-list li", has_text="etl.daily_revenue").get_by_role("button").first.click()
        expect(page.get_by_label("selected node")).to_contain_text("etl.daily_revenue")
        expect(badge).to_have_count(0)
