"""API keys and roles: 401 without a known key, 403 for the wrong role, access otherwise."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from ingest_app_support import KEYS, api_keys, bearer, isolated_env, make_settings, run_event, running_app

from olgraph.api.auth import ANONYMOUS, GRANTS, Principal, authenticate, authorize, hash_api_key
from olgraph.config import ApiKey
from olgraph.errors import AuthenticationRequired, PermissionDenied

__all__ = ["isolated_env"]

CONFIGURED = [ApiKey(**entry) for entry in api_keys()]  # type: ignore[arg-type]


def test_hash_is_sha256_hex() -> None:
    assert hash_api_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_no_keys_means_anonymous_admin() -> None:
    assert authenticate(None, []) == ANONYMOUS
    assert authenticate("Bearer whatever", []) == ANONYMOUS


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic aW5nZXN0LWtleQ==", "ingest-key"])
def test_missing_or_malformed_credentials(header: str | None) -> None:
    with pytest.raises(AuthenticationRequired, match="API key is required"):
        authenticate(header, CONFIGURED)


def test_unknown_key() -> None:
    with pytest.raises(AuthenticationRequired, match="unknown"):
        authenticate("Bearer guess", CONFIGURED)


@pytest.mark.parametrize(("key", "role"), sorted(KEYS.items()))
def test_known_keys_authenticate_as_their_role(key: str, role: str) -> None:
    assert authenticate(f"Bearer {key}", CONFIGURED) == Principal(f"{role}-client", role)  # type: ignore[arg-type]
    assert authenticate(f"bearer   {key} ", CONFIGURED).role == role


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("ingest", {"ingest"}), ("read", {"read"}), ("analyst", {"read", "analyst"}),
     ("admin", {"ingest", "read", "analyst", "admin"})],
)  # fmt: skip
def test_role_grants(role: str, allowed: set[str]) -> None:
    principal = Principal("k", role)  # type: ignore[arg-type]
    for needed in GRANTS["admin"]:
        if needed in allowed:
            authorize(principal, needed)
        else:
            with pytest.raises(PermissionDenied):
                authorize(principal, needed)


async def test_http_status_for_each_case(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth={"api_keys": api_keys()})
    body = orjson.dumps(run_event())
    async with running_app(settings) as (_, client):
        missing = await client.post("/api/v1/lineage", content=body)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["error"].startswith("an API key is required")
        unknown = await client.post("/api/v1/lineage", content=body, headers=bearer("nope"))
        assert unknown.status_code == 401
        wrong_role = await client.post("/api/v1/lineage", content=body, headers=bearer("read-key"))
        assert wrong_role.status_code == 403
        assert "lacks role 'ingest'" in wrong_role.json()["error"]
        for key in ("ingest-key", "admin-key"):
            ok = await client.post("/api/v1/lineage", content=body, headers=bearer(key))
            assert ok.status_code == 201
        batch = await client.post("/api/v1/lineage/batch", content=b"[]", headers=bearer("analyst-key"))
        assert batch.status_code == 403

        assert (await client.get("/api/v1/stats")).status_code == 401
        assert (await client.get("/api/v1/stats", headers=bearer("ingest-key"))).status_code == 403
        for key in ("read-key", "analyst-key", "admin-key"):
            assert (await client.get("/api/v1/stats", headers=bearer(key))).status_code == 200
        # health probes stay open for load balancers
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200


async def test_query_router_uses_the_same_roles(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth={"api_keys": api_keys()})
    async with running_app(settings) as (_, client):
        assert (await client.get("/api/v1/namespaces")).status_code == 401
        assert (await client.get("/api/v1/namespaces", headers=bearer("ingest-key"))).status_code == 403
        assert (await client.get("/api/v1/namespaces", headers=bearer("read-key"))).status_code == 200


async def test_without_keys_everything_is_open_on_loopback(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (_, client):
        assert (await client.post("/api/v1/lineage", content=orjson.dumps(run_event()))).status_code == 201
        assert (await client.get("/api/v1/stats")).status_code == 200
