"""The explorer on a server with API keys: it asks for a key, refuses a wrong or weak one, takes a read key.

The page itself (HTML, scripts) needs no key; every API answer does. The 401/403 answers of
the refused attempts are the only problems the page may have (``PageWatch.allow``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import ApiKeySpec, OlgraphServer, ServerFactory
from explorer_events import CLEAN, shop_events
from explorer_support import launch, screenshot, send_events, watched_page
from playwright.sync_api import Browser, expect

READ = ApiKeySpec("ui-reader", "read", "read-secret-7f3a")
INGEST = ApiKeySpec("loader", "ingest", "ingest-secret-91c2")
ADMIN = ApiKeySpec("operator", "admin", "admin-secret-0d4e")  # sends the events and waits for them


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as running:
        yield running


@pytest.fixture(scope="module")
def keyed(olgraph_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OlgraphServer]:
    with olgraph_server(tmp_path_factory.mktemp("keyed") / "data", api_keys=[READ, INGEST, ADMIN]) as server:
        with server.client(ADMIN.secret) as client:
            send_events(client, shop_events())
        yield server


def test_key_prompt_wrong_key_weak_key_then_read_key(
    browser: Browser, keyed: OlgraphServer, tmp_path: Path
) -> None:
    with watched_page(browser, keyed.url) as (page, watch):
        watch.allow(r"HTTP 40[13]: GET .*/api/v1/")
        watch.allow(r"console error: Failed to load resource: the server responded with a status of 40[13]")
        page.goto(keyed.url + "/")
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text(
            "This olgraph server needs an API key. A key with the read role is enough."
        )
        expect(
            page.get_by_role("alert").filter(has_text="An API key is needed to read this.")
        ).to_be_visible()
        screenshot(page, "key-prompt", tmp_path)

        key = page.get_by_label("Key (sent as a Bearer token, kept for this tab only)")
        key.fill("not-a-key")
        key.press("Enter")
        expect(dialog).to_contain_text("That key was not accepted (unknown API key).")

        key.fill(INGEST.secret)
        page.get_by_role("button", name="Use key").click()
        expect(dialog).to_contain_text(
            "This key may not read: API key 'loader' (role ingest) lacks role 'read'."
        )

        key.fill(READ.secret)
        page.get_by_role("button", name="Use key").click()
        expect(dialog).to_have_count(0)
        expect(page.get_by_role("cell", name=CLEAN[0], exact=True)).to_be_visible()

        # the key stays for the tab: a reload and a deep link need no new prompt
        page.goto(f"{keyed.url}/datasets?ns=s3%3A%2F%2Flake")
        expect(page.get_by_role("link", name=CLEAN[1], exact=True)).to_be_visible()
        expect(page.get_by_role("dialog")).to_have_count(0)


def test_assets_and_docs_need_no_key(keyed: OlgraphServer) -> None:
    with keyed.client() as client:
        for path in ("/", "/lineage?node=x", "/favicon.svg", "/docs", "/redoc"):
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
        assert client.get("/api/v1/namespaces").status_code == 401
