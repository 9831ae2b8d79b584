"""The lineage graph on a server whose node cap cuts the answer: the page says so and offers views that fit.

A server of its own (``query.max_nodes`` = 6) holding the shop's pipeline: the two-hop view of
``clean/orders`` in both directions has 8 nodes, so the answer is capped; upstream only fits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from e2e_support import OlgraphServer, ServerFactory
from explorer_events import CLEAN, node_id, shop_events
from explorer_support import launch, send_events, wait_graph, watched_page
from playwright.sync_api import expect

CAP = 6


@pytest.fixture(scope="module")
def capped(
    olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OlgraphServer]:
    data = tmp_path_factory.mktemp("capped") / "data"
    with olgraph_server(data, env={"OLGRAPH_QUERY__MAX_NODES": str(CAP)}) as server:
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
    with launch() as browser, watched_page(browser, capped.url) as (page, _):
        page.goto(f"{capped.url}/lineage?node={quote(node_id(CLEAN), safe='')}")
        notice = page.get_by_test_id("capped")
        expect(notice).to_contain_text(f"the server stopped at its node limit ({CAP} nodes shown)")
        assert wait_graph(page) == CAP
        notice.get_by_role("button", name="upstream only").click()
        expect(page).to_have_url(re.compile("direction=upstream"))
        expect(notice).to_have_count(0)
        # upstream, two hops: clean/orders, load_orders, public.orders, public.customers
        assert wait_graph(page) == len([n for n in upstream["nodes"] if n["distance"] <= 2]) == 4
