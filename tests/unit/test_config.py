"""Settings: defaults, environment variables, validation, the serving guard, the generated doc."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import ValidationError

from olgraph.config import Settings, check_serving_security, is_loopback
from olgraph.errors import InsecureSettings

REPO = Path(__file__).resolve().parents[2]
SHA = "ab" * 32


@pytest.fixture(autouse=True)
def _no_olgraph_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OLGRAPH_"):
            monkeypatch.delenv(name)


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_docs", REPO / "scripts" / "gen_config_docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_defaults() -> None:
    settings = Settings()
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 5000)
    assert settings.store.kind == "embedded"
    assert settings.limits.max_body_bytes == 10 * 1024 * 1024
    assert settings.limits.max_decompressed_bytes == 50 * 1024 * 1024
    assert (settings.limits.max_json_depth, settings.limits.max_batch_events) == (64, 1000)
    assert (settings.query.default_depth, settings.query.max_depth, settings.query.max_nodes) == (
        5,
        50,
        10_000,
    )
    assert (settings.query.default_page, settings.query.max_page) == (100, 1000)
    assert settings.consumer.batch_size == 500
    assert settings.auth.api_keys == []
    assert settings.auth.allow_anonymous is False
    assert settings.embedded_store_path() == Path(".olgraph") / "graph.db"
    assert settings.local_log_path() == Path(".olgraph") / "events.db"


def test_environment_variables_use_prefix_and_nested_delimiter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLGRAPH_DATA_DIR", "/srv/olgraph")
    monkeypatch.setenv("OLGRAPH_SERVER__PORT", "8080")
    monkeypatch.setenv("OLGRAPH_STORE__KIND", "neo4j")
    monkeypatch.setenv("OLGRAPH_STORE__NEO4J__URI", "neo4j://db:7687")
    monkeypatch.setenv("OLGRAPH_STORE__NEO4J__PASSWORD", "s3cret")
    monkeypatch.setenv("OLGRAPH_LIMITS__MAX_JSON_DEPTH", "12")
    keys = [{"name": "airflow", "role": "ingest", "sha256": SHA.upper()}]
    monkeypatch.setenv("OLGRAPH_AUTH__API_KEYS", json.dumps(keys))
    settings = Settings()
    assert settings.data_dir == Path("/srv/olgraph")
    assert settings.embedded_store_path() == Path("/srv/olgraph/graph.db")
    assert settings.server.port == 8080
    assert settings.store.kind == "neo4j"
    assert settings.store.neo4j.uri == "neo4j://db:7687"
    assert settings.store.neo4j.password is not None
    assert settings.store.neo4j.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)  # SecretStr keeps it out of logs
    assert settings.limits.max_json_depth == 12
    assert settings.limits.max_body_bytes == 10 * 1024 * 1024  # the rest of the group keeps its defaults
    [key] = settings.auth.api_keys
    assert (key.name, key.role, key.sha256) == ("airflow", "ingest", SHA)  # hex normalized to lower case


def test_init_values_merge_over_environment_per_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLGRAPH_LIMITS__MAX_JSON_DEPTH", "12")
    settings = Settings(limits={"max_body_bytes": 1000})
    assert (settings.limits.max_body_bytes, settings.limits.max_json_depth) == (1000, 12)


@pytest.mark.parametrize(
    "overrides",
    [
        {"auth": {"api_keys": [{"name": "k", "role": "ingest", "sha256": "not-a-digest"}]}},
        {"auth": {"api_keys": [{"name": "k", "role": "superuser", "sha256": SHA}]}},
        {"store": {"kind": "mysql"}},
        {"limits": {"max_body_bytes": 0}},
        {"limits": {"max_bodybytes": 10}},  # a typo is an error, not silently ignored
        {"server": {"port": 70000}},
    ],
)
def test_invalid_settings_are_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.0.0.2", True),
     ("0.0.0.0", False), ("::", False), ("10.1.2.3", False), ("example.org", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_serving_without_keys_beyond_loopback_is_refused() -> None:
    check_serving_security(Settings())  # loopback, no keys: fine
    exposed = Settings(server={"host": "0.0.0.0"})
    with pytest.raises(InsecureSettings, match="ALLOW_ANONYMOUS"):
        check_serving_security(exposed)
    check_serving_security(Settings(server={"host": "0.0.0.0"}, auth={"allow_anonymous": True}))
    keyed = {"api_keys": [{"name": "k", "role": "ingest", "sha256": SHA}]}
    check_serving_security(Settings(server={"host": "0.0.0.0"}, auth=keyed))


def test_every_setting_is_documented() -> None:
    generator = _load_generator()
    page = generator.render()
    for line in page.splitlines():
        if line.startswith("| `") and line.count("|") == 5:
            description = line.split("|")[4].strip()
            assert description, f"undocumented setting: {line}"
    assert "`OLGRAPH_STORE__NEO4J__URI`" in page
    assert "`OLGRAPH_AUTH__API_KEYS`" in page


def test_configuration_doc_is_up_to_date() -> None:
    """docs/configuration.md is what scripts/gen_config_docs.py generates from config.py."""
    generator = _load_generator()
    committed = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == generator.render(), "run: PYTHONPATH=src python scripts/gen_config_docs.py"


def test_doc_check_mode_detects_a_stale_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generator = _load_generator()
    stale = tmp_path / "configuration.md"
    stale.write_text("# old\n", encoding="utf-8")
    monkeypatch.setattr(generator, "DOC", stale)
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0
