"""docker-compose.yml: valid under the Compose Specification, and a stack whose parts agree with
each other and with olgraph (commands, options, settings, ports, probes, topics, passwords)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

import click
import jsonschema
import pytest
import yaml
from deploy_files import (
    API_PORT,
    COMPOSE_FILE,
    CONSUME_HEALTH_PORT,
    REPO,
    clean_env,
    cli_envvars,
    compose_environment,
    image_olgraph_env,
    load_compose,
    olgraph_env,
    parse_olgraph_command,
    settings_env_names,
)

from olgraph.config import Settings, check_serving_security
from olgraph.devservices import kafka as kafka_launcher

SERVICES = {"neo4j", "kafka", "kafka-topics", "api", "consume"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


@pytest.fixture(scope="module")
def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON schema, as vendored by check-jsonschema (dev extra)."""
    try:
        resource = files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    except ModuleNotFoundError:
        pytest.fail(
            "check-jsonschema is not installed: pip install check-jsonschema (it is in the dev extra)"
        )
    schema: dict[str, Any] = json.loads(resource.read_text())
    return schema


def schema_errors(document: Any, schema: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


def healthcheck_url(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], "exec form, python (in the image; curl is not)"
    [url] = re.findall(r"http://[^'\"\s]+", test[3])
    return url


def test_yaml_parses_and_validates_against_the_compose_specification(compose_schema: dict[str, Any]):
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    assert schema_errors(raw, compose_schema) == []
    assert schema_errors(load_compose(), compose_schema) == [], "after interpolation, as Compose validates"


def test_the_schema_is_strict_enough_to_catch_a_misspelt_key(
    compose: dict[str, Any], compose_schema: dict[str, Any]
):
    broken = json.loads(json.dumps(compose))
    broken["services"]["api"]["healthchek"] = broken["services"]["api"].pop("healthcheck")
    assert schema_errors(broken, compose_schema)


def test_interpolation_only_uses_variables_with_defaults():
    """`docker compose up` works with no .env file: every ${VAR} has a default."""
    for match in re.finditer(r"(?<!\$)\$\{(\w+)(:?-)?", COMPOSE_FILE.read_text()):
        assert match.group(2), f"${{{match.group(1)}}} has no default"


def test_the_whole_stack_is_there(services: dict[str, Any]):
    assert set(services) == SERVICES


def test_neo4j_is_5_26_community_with_auth_and_a_cypher_shell_healthcheck(services: dict[str, Any]):
    neo4j = services["neo4j"]
    assert re.fullmatch(r"neo4j:5\.26(\.\d+)?-community", neo4j["image"])
    assert compose_environment(neo4j)["NEO4J_AUTH"].startswith("neo4j/")
    assert "cypher-shell" in " ".join(neo4j["healthcheck"]["test"])
    assert {v.split(":")[1] for v in neo4j["volumes"]} >= {"/data"}


def test_kafka_is_a_single_kraft_node_of_the_version_the_tests_run(services: dict[str, Any]):
    kafka = services["kafka"]
    assert kafka["image"] == f"apache/kafka:{kafka_launcher.KAFKA_VERSION}"
    env = compose_environment(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["CLUSTER_ID"], "the image formats the KRaft storage with CLUSTER_ID"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "KAFKA_AUTO_CREATE_TOPICS_ENABLE" in env
    assert not any("ZOOKEEPER" in key for key in env)
    assert "healthcheck" in kafka
    assert any(v.endswith(":" + env["KAFKA_LOG_DIRS"]) for v in kafka["volumes"]), "the log dirs are a volume"


def test_api_and_consume_run_the_same_image_built_from_deploy_dockerfile(services: dict[str, Any]):
    api, consume = services["api"], services["consume"]
    assert api["build"] == consume["build"]
    assert api["image"] == consume["image"]
    assert (
        REPO / api["build"]["context"] / api["build"]["dockerfile"]
    ).resolve() == REPO / "deploy" / "Dockerfile"


def test_api_and_consume_start_after_neo4j_is_healthy_and_the_topics_exist(services: dict[str, Any]):
    for name in ("api", "consume"):
        depends = services[name]["depends_on"]
        assert depends["neo4j"]["condition"] == "service_healthy"
        assert depends["kafka-topics"]["condition"] == "service_completed_successfully"
    assert services["kafka-topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for service in services.values():
        for dependency, spec in service.get("depends_on", {}).items():
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} needs a healthcheck"


def test_the_api_command_exists_and_serves_its_port_with_a_readyz_healthcheck(
    services: dict[str, Any], olgraph_cli: click.Group, api_paths: set[str]
):
    api = services["api"]
    context = parse_olgraph_command(olgraph_cli, api["command"])
    assert context.params["port"] == API_PORT
    assert api["ports"] == [f"127.0.0.1:{API_PORT}:{API_PORT}"], "published on the host's loopback only"
    url = urlsplit(healthcheck_url(api))
    assert (url.port, url.path) == (API_PORT, "/readyz")
    assert url.path in api_paths


def test_the_consume_command_exists_with_its_health_port_and_two_replicas(
    services: dict[str, Any], olgraph_cli: click.Group, consume_paths: set[str]
):
    consume = services["consume"]
    context = parse_olgraph_command(olgraph_cli, consume["command"])
    assert context.params["health_port"] == CONSUME_HEALTH_PORT
    url = urlsplit(healthcheck_url(consume))
    assert (url.port, url.path) == (CONSUME_HEALTH_PORT, "/healthz")
    assert url.path in consume_paths
    assert consume["deploy"]["replicas"] >= 2
    assert "ports" not in consume, "replicas cannot share a published host port"


def run_healthcheck(service: dict[str, Any], port: int) -> int:
    """Exit status of the service's health check run here, aimed at ``port`` on 127.0.0.1."""
    code = re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{port}", service["healthcheck"]["test"][3])
    command = [sys.executable, "-c", code]
    return subprocess.run(command, capture_output=True, timeout=30, check=False, env=clean_env()).returncode


def test_the_api_healthcheck_passes_against_a_ready_olgraph_server(services: dict[str, Any], serve_port: int):
    assert run_healthcheck(services["api"], serve_port) == 0


def test_the_consume_healthcheck_passes_against_the_consume_health_app(
    services: dict[str, Any], consume_health_port: int
):
    assert run_healthcheck(services["consume"], consume_health_port) == 0


@pytest.mark.parametrize("name", ["api", "consume"])
def test_every_olgraph_variable_is_a_real_setting(
    services: dict[str, Any], olgraph_cli: click.Group, name: str
):
    known = settings_env_names(Settings) | cli_envvars(olgraph_cli)
    used = set(olgraph_env(compose_environment(services[name])))
    assert used, "the connection settings come from the environment"
    assert used <= known, used - known


@pytest.mark.parametrize("name", ["api", "consume"])
def test_the_settings_point_at_the_stack(
    services: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
):
    """The container's settings: the image's OLGRAPH_* variables, then the service's."""
    for key, value in (image_olgraph_env() | olgraph_env(compose_environment(services[name]))).items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert (settings.log.kind, settings.store.kind) == ("kafka", "neo4j")
    if name == "api":
        check_serving_security(settings)  # listening on 0.0.0.0: keys, or anonymous explicitly allowed
    kafka_env = compose_environment(services["kafka"])
    assert f"PLAINTEXT://{settings.log.kafka.bootstrap_servers}" in kafka_env[
        "KAFKA_ADVERTISED_LISTENERS"
    ].split(",")
    neo4j_uri = urlsplit(settings.store.neo4j.uri)
    assert (neo4j_uri.hostname, neo4j_uri.port) == ("neo4j", 7687)
    password = settings.store.neo4j.password
    assert password is not None
    expected = compose_environment(services["neo4j"])["NEO4J_AUTH"]
    assert f"{settings.store.neo4j.user}/{password.get_secret_value()}" == expected


def test_a_neo4j_password_from_the_environment_reaches_both_sides():
    compose = load_compose({"NEO4J_PASSWORD": "from-the-env-123"})
    services = compose["services"]
    assert compose_environment(services["neo4j"])["NEO4J_AUTH"] == "neo4j/from-the-env-123"
    for name in ("api", "consume"):
        assert compose_environment(services[name])["OLGRAPH_STORE__NEO4J__PASSWORD"] == "from-the-env-123"


def test_the_topics_service_creates_the_topics_olgraph_uses(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    topics = services["kafka-topics"]
    env = compose_environment(topics)
    for key, value in olgraph_env(compose_environment(services["api"])).items():
        monkeypatch.setenv(key, value)
    kafka = Settings().log.kafka
    assert {env["EVENTS_TOPIC"], env["DEAD_LETTER_TOPIC"]} == {kafka.topic, kafka.dead_letter_topic}
    assert int(env["PARTITIONS"]) >= services["consume"]["deploy"]["replicas"], "an idle consumer is waste"
    assert topics["image"] == services["kafka"]["image"]
    script = " ".join(topics["command"])
    assert "--if-not-exists" in script, "re-running `docker compose up` must not fail"


def test_api_keys_and_anonymous_access_come_from_the_environment(olgraph_cli: click.Group):
    key = {"name": "ci", "role": "ingest", "sha256": "a" * 64}
    services = load_compose(
        {"OLGRAPH_AUTH__API_KEYS": json.dumps([key]), "OLGRAPH_AUTH__ALLOW_ANONYMOUS": "false"}
    )["services"]
    env = compose_environment(services["api"])
    settings = Settings.model_validate(
        {"auth": {"api_keys": json.loads(env["OLGRAPH_AUTH__API_KEYS"]), "allow_anonymous": False}}
    )
    assert settings.auth.api_keys[0].sha256 == "a" * 64
    assert env["OLGRAPH_AUTH__ALLOW_ANONYMOUS"] == "false"


def test_published_ports_are_bound_to_the_host_loopback(services: dict[str, Any]):
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_named_volumes_are_declared(compose: dict[str, Any]):
    used = {
        volume.split(":")[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used == set(compose.get("volumes", {}))


def test_the_development_password_is_the_only_default_secret():
    """Defaults in the file are for a laptop: the Neo4j one is marked as such, nothing else is secret-like."""
    text = COMPOSE_FILE.read_text()
    defaults = dict(re.findall(r"\$\{(\w+):-([^}]*)\}", text))
    assert "dev" in defaults["NEO4J_PASSWORD"]
    assert defaults["OLGRAPH_AUTH__API_KEYS"] == "[]", "no API key is baked into the file"
