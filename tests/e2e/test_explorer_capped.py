"""The lineage graph on a server whose node cap cuts the answer: the page says so, offers more
("Show more": a larger ``maxNodes``, up to the server's) and views that fit.

A server of its own (``query.max_nodes`` = 6) holding the shop's pipeline: the two-hop view of
``clean/orders`` in both directions has 8 nodes, so the answer is capped; upstream only fits.
The explorer's first ask is for 1,000 nodes, which this server refuses (400 naming
``maxNodes``): the page then asks under the server's own cap, as it would on any server whose
cap is below 1,000.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from e2e_support import OlgraphServer, ServerFactory
from explorer_events import CLEAN, node_id, shop_events
from explorer_support import PageWatch, launch, screenshot, send_events, wait_graph, watched_page
from playwright.sync_api import expect

CAP = 6
FIRST = 3  # the node cap the shared link below asks for


def refused_first_ask(watch: PageWatch) -> None:
    """The explorer's first ask (1,000 nodes) is above this server's cap: one expected 400."""
    watch.allow(r"HTTP 400: GET .*/api/v1/lineage\?.*maxNodes=1000")
    watch.allow(r"console error: Failed to load resource: the server responded with a status of 400")


@pytest.fixture(scope="module")
def capped(
    olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OlgraphServer]:
    data = tmp_path_factory.mktemp("capped") / "data"
    # the shop's events have fixed times: stale marks (test_explorer_stale) would depend on the day
    env = {"OLGRAPH_QUERY__MAX_NODES": str(CAP), "OLGRAPH_QUERY__STALE_AFTER_DAYS": "0"}
    with olgraph_server(data, env=env) as server:
        with server.client() as client:
            send_events(client, shop_events())
        yield server


def test_a_capped_answer_says_so_and_offers_one_direction(capped: OlgraphServer) -> None:
    with httpx.Client(base_url=capped.url) as api:
        both = api.get("/api/v1/lineage", params={"nodeId": node_id(CLEAN), "depth": 3}).json()
        upstream = api.get(
            "/api/v1/lineage", params={"nodeId": node_id(CLEAN), "depth": 3, "direction": "upstream"}
        ).json()
    assert "nodes" in both["truncatedBy"]
    assert "nodes" not in upstream["truncatedBy"]
    with launch() as browser, watched_page(browser, capped.url) as (page, watch):
        refused_first_ask(watch)
        page.goto(f"{capped.url}/lineage?node={quote(node_id(CLEAN), safe='')}")
        notice = page.get_by_test_id("capped")
        expect(notice).to_contain_text(f"the server stopped at {CAP} nodes, its most ({CAP} shown)")
        expect(notice.get_by_role("button", name="Show more")).to_have_count(0)
        assert wait_graph(page) == CAP
        notice.get_by_role("button", name="upstream only").click()
        expect(page).to_have_url(re.compile("direction=upstream"))
        expect(notice).to_have_count(0)
        # upstream, two hops: clean/orders, load_orders, public.orders, public.customers
        assert wait_graph(page) == len([n for n in upstream["nodes"] if n["distance"] <= 2]) == 4


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_show_more_asks_for_a_larger_cap_up_to_the_servers(
    capped: OlgraphServer, scheme: str, tmp_path: Path
) -> None:
    with httpx.Client(base_url=capped.url) as api:
        small = api.get("/api/v1/lineage", params={"nodeId": node_id(CLEAN), "depth": 3, "maxNodes": FIRST})
    assert (small.json()["maxNodes"], small.json()["serverMaxNodes"], len(small.json()["nodes"])) == (
        FIRST,
        CAP,
        FIRST,
    )
    start = f"{capped.url}/lineage?node={quote(node_id(CLEAN), safe='')}&maxNodes={FIRST}"
    with launch() as browser, watched_page(browser, capped.url, color_scheme=scheme) as (page, _):
        page.goto(start)
        notice = page.get_by_test_id("capped")
        expect(notice).to_contain_text(f"This answer is capped at {FIRST} nodes ({FIRST} shown)")
        expect(notice).to_contain_text(f"asks for up to {CAP} nodes")
        assert wait_graph(page) == FIRST
        screenshot(page, "lineage-capped" + ("-dark" if scheme == "dark" else ""), tmp_path)
        notice.get_by_role("button", name="Show more").click()
        expect(page).to_have_url(re.compile(f"maxNodes={CAP}(&|$)"))
        # at the server's cap: no more to offer but the narrower views
        expect(notice).to_contain_text(f"the server stopped at {CAP} nodes, its most ({CAP} shown)")
        expect(notice.get_by_role("button", name="Show more")).to_have_count(0)
        expect(notice.get_by_role("button", name="upstream only")).to_be_visible()
        assert wait_graph(page) == CAP > FIRST
        # the URL is the view: opened afresh it shows the same graph
        page.goto(page.url)
        expect(notice).to_contain_text(f"({CAP} shown)")
        assert wait_graph(page) == CAP
