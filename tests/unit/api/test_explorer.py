"""Serving the explorer and the API docs pages from the package: routes, caching, fallbacks.

The explorer's build is replaced by a small fake tree (the module reads its folders at request
time), so these tests do not depend on ``make ui``; the browser tests use the real build.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ingest_app_support import make_settings

from olgraph.api import explorer
from olgraph.api.app import create_app

INDEX = (
    '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head></html>'
)


@pytest.fixture
def static(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "static"
    (root / "explorer" / "assets").mkdir(parents=True)
    (root / "explorer" / "index.html").write_text(INDEX)
    (root / "explorer" / "favicon.svg").write_text("<svg/>")
    (root / "explorer" / "assets" / "index-abc123.js").write_text("console.log('explorer')")
    (root / "vendor" / "swagger-ui").mkdir(parents=True)
    (root / "vendor" / "swagger-ui" / "swagger-ui.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("not for the web")
    monkeypatch.setattr(explorer, "EXPLORER", root / "explorer")
    monkeypatch.setattr(explorer, "VENDOR", root / "vendor")
    return root


@pytest.fixture
def client(static: Path, tmp_path: Path) -> TestClient:
    del static
    # no lifespan: none of these routes needs the store or the log
    return TestClient(create_app(make_settings(tmp_path)))


@pytest.mark.parametrize(
    "path", ["/", "/datasets?ns=s3%3A%2F%2Flake", "/lineage?node=dataset:a:b", "/run/x/y"]
)
def test_every_page_of_the_explorer_is_its_index(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.text == INDEX
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-cache"
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert client.head(path).status_code == 200


def test_hashed_assets_are_cached_for_good(client: TestClient) -> None:
    answer = client.get("/assets/index-abc123.js")
    assert answer.status_code == 200
    assert answer.text == "console.log('explorer')"
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    missing = client.get("/assets/index-gone.js")
    assert missing.status_code == 404  # never the index page in place of a script
    assert missing.json()["error"] == "Not Found"


def test_vendor_files_are_revalidated(client: TestClient) -> None:
    answer = client.get("/vendor/swagger-ui/swagger-ui.css")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-cache"
    again = client.get("/vendor/swagger-ui/swagger-ui.css", headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304


def test_top_level_files_of_the_build_are_served(client: TestClient) -> None:
    answer = client.get("/favicon.svg")
    assert answer.status_code == 200
    assert answer.text == "<svg/>"
    assert answer.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["/api", "/api/v1/nope", "/api/v1/lineage/extra", "/api/v2/lineage"])
def test_unknown_api_paths_stay_json_404s(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.json() == {"error": "Not Found", "field": None}


def test_paths_outside_the_build_are_never_served(client: TestClient) -> None:
    for path in ("/..%2Fsecret.txt", "/%2E%2E/secret.txt", "/assets/..%2F..%2F..%2Fsecret.txt", "/.hidden"):
        answer = client.get(path)
        assert "not for the web" not in answer.text, path


def test_without_a_build_the_page_says_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(explorer, "EXPLORER", tmp_path / "none" / "explorer")
    monkeypatch.setattr(explorer, "VENDOR", tmp_path / "none" / "vendor")
    client = TestClient(create_app(make_settings(tmp_path)))
    answer = client.get("/datasets")
    assert answer.status_code == 404
    assert "The olgraph explorer is not built" in answer.text
    assert "make ui" in answer.text
    assert client.get("/assets/index.js").status_code == 404
    assert client.get("/vendor/redoc/redoc.standalone.js").status_code == 404


@pytest.mark.parametrize(
    ("path", "assets"),
    [
        (
            "/docs",
            {
                "/vendor/swagger-ui/swagger-ui-bundle.js",
                "/vendor/swagger-ui/swagger-ui.css",
                "/vendor/swagger-ui/favicon-32x32.png",
            },
        ),
        ("/redoc", {"/vendor/redoc/redoc.standalone.js", "/favicon.svg"}),
    ],
)
def test_api_docs_pages_load_their_assets_from_this_server(
    client: TestClient, path: str, assets: set[str]
) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    referenced = set(re.findall(r'(?:src|href)="([^"]+)"', answer.text))
    assert referenced == assets
    assert "fonts.googleapis" not in answer.text
    if path == "/docs":
        assert '"validatorUrl": null' in answer.text


def test_docs_pages_are_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/docs", "/redoc", "/{path}", "/assets", "/vendor"} & set(paths)
