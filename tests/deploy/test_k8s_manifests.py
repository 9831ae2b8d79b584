"""deploy/k8s: every object valid (strictly) for pinned Kubernetes versions, the kustomization
complete, the objects wired to each other, and the containers consistent with olgraph and
with deploy/Dockerfile."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import click
import kubernetes_validate
import pytest
import yaml
from deploy_files import (
    API_PORT,
    CONSUME_HEALTH_PORT,
    DOCKERFILE,
    K8S_DIR,
    PLACEHOLDER,
    cli_envvars,
    container_env,
    dockerfile_stages,
    env_of,
    image_olgraph_env,
    k8s_documents,
    k8s_env_sources,
    k8s_files,
    k8s_object,
    olgraph_env,
    parse_dockerfile,
    parse_olgraph_command,
    pod_spec,
    settings_env_names,
)
from pydantic import ValidationError

from olgraph import __version__
from olgraph.config import Settings, check_serving_security
from olgraph.devservices import kafka as kafka_launcher

K8S_VERSIONS = ("1.30.0", "1.34.0")
"""The oldest Kubernetes the manifests support, and a recent one; both pinned so results never drift."""

OLGRAPH_CONTAINERS = {"olgraph-api": "api", "olgraph-consume": "consume"}
"""Deployment name to the `olgraph` subcommand its container runs."""


def documents_ids() -> list[str]:
    return [f"{path.name}:{doc['kind']}/{doc['metadata']['name']}" for path, doc in k8s_documents()]


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    return document


def container_of(deployment: str) -> dict[str, Any]:
    [container] = pod_spec(k8s_object("Deployment", deployment))["containers"]
    return container


def env_with_test_secrets(container: dict[str, Any]) -> dict[str, str]:
    """The container's environment, with the Secret's placeholders replaced by valid values."""
    sources = k8s_env_sources()
    secret = sources["Secret/olgraph-secrets"]
    secret["OLGRAPH_STORE__NEO4J__PASSWORD"] = "a-real-password"
    secret["OLGRAPH_AUTH__API_KEYS"] = json.dumps([{"name": "airflow", "role": "ingest", "sha256": "b" * 64}])
    return container_env(container, sources)


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Set the container's settings: the image's OLGRAPH_* variables, then the pod's."""
    for key, value in (image_olgraph_env() | olgraph_env(env)).items():
        monkeypatch.setenv(key, value)


def port_number(container: dict[str, Any], port: int | str) -> int:
    """A probe's port, resolving a named container port."""
    if isinstance(port, int):
        return port
    [number] = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return int(number)


def test_every_manifest_parses():
    for path in k8s_files():
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert documents, f"{path.name} holds no object"
        assert all({"apiVersion", "kind"} <= set(d) for d in documents), path.name


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize(("path", "document"), k8s_documents(), ids=documents_ids())
def test_every_object_is_valid_for_kubernetes_strictly(path: Path, document: dict[str, Any], version: str):
    kubernetes_validate.validate(document, version, strict=True)


def test_strict_validation_rejects_a_misspelt_field():
    deployment = copy.deepcopy(k8s_object("Deployment", "olgraph-api"))
    pod_spec(deployment)["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/readyz", "port": 5000}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)


def test_the_kustomization_lists_every_manifest_and_names_the_image(kustomization: dict[str, Any]):
    listed = set(kustomization["resources"])
    on_disk = {path.name for path in k8s_files()} - {"kustomization.yaml"}
    assert listed == on_disk
    [image] = kustomization["images"]
    assert image["newTag"] == __version__, "the image tag follows the package version"
    for deployment in OLGRAPH_CONTAINERS:
        assert container_of(deployment)["image"] == image["name"]
    namespaces = {d["metadata"].get("namespace") for _, d in k8s_documents() if d["kind"] != "Namespace"}
    assert namespaces == {None}, "the kustomization sets the namespace"
    assert k8s_object("Namespace", kustomization["namespace"])


@pytest.mark.parametrize("name", OLGRAPH_CONTAINERS)
def test_deployments_select_their_own_pods_and_run_two_replicas(name: str):
    deployment = k8s_object("Deployment", name)
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    assert deployment["spec"]["replicas"] == 2
    assert (
        pod_spec(deployment)["serviceAccountName"]
        == k8s_object("ServiceAccount", "olgraph")["metadata"]["name"]
    )


@pytest.mark.parametrize("name", OLGRAPH_CONTAINERS)
def test_containers_run_the_command_with_options_that_exist(name: str, olgraph_cli: click.Group):
    args = container_of(name)["args"]
    assert args[0] == OLGRAPH_CONTAINERS[name]
    context = parse_olgraph_command(olgraph_cli, args)
    if args[0] == "consume":
        assert context.params["health_port"] == CONSUME_HEALTH_PORT


def test_the_api_serves_its_port_behind_the_service_with_true_probes(api_paths: set[str]):
    container = container_of("olgraph-api")
    assert port_number(container, "http") == API_PORT
    assert k8s_env_sources()["ConfigMap/olgraph-config"]["OLGRAPH_SERVER__PORT"] == str(API_PORT)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] in api_paths
        assert port_number(container, get["port"]) == API_PORT
    service = k8s_object("Service", "olgraph-api")
    labels = k8s_object("Deployment", "olgraph-api")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    [port] = service["spec"]["ports"]
    assert port_number(container, port["targetPort"]) == API_PORT


def test_consume_probes_its_health_port(consume_paths: set[str]):
    container = container_of("olgraph-consume")
    assert port_number(container, "health") == CONSUME_HEALTH_PORT
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] in consume_paths
        assert port_number(container, get["port"]) == CONSUME_HEALTH_PORT


@pytest.mark.parametrize("name", OLGRAPH_CONTAINERS)
def test_prometheus_scrapes_the_port_that_serves_metrics(
    name: str, api_paths: set[str], consume_paths: set[str]
):
    deployment = k8s_object("Deployment", name)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    ports = {p["containerPort"] for p in container_of(name)["ports"]}
    assert int(annotations["prometheus.io/port"]) in ports
    assert annotations["prometheus.io/path"] in (api_paths if name == "olgraph-api" else consume_paths)


@pytest.mark.parametrize("name", OLGRAPH_CONTAINERS)
def test_every_olgraph_variable_is_a_setting_and_the_settings_are_distributed(
    name: str, olgraph_cli: click.Group, monkeypatch: pytest.MonkeyPatch
):
    env = env_with_test_secrets(container_of(name))
    known = settings_env_names(Settings) | cli_envvars(olgraph_cli)
    assert set(olgraph_env(env)) <= known, set(olgraph_env(env)) - known
    set_env(monkeypatch, env)
    settings = Settings()
    assert (settings.log.kind, settings.store.kind) == ("kafka", "neo4j")
    assert settings.store.neo4j.password is not None
    assert settings.server.host == "0.0.0.0", "probes and the Service reach the pod's address"
    if name == "olgraph-api":
        assert settings.auth.api_keys, "the API runs with API keys in the cluster"
        check_serving_security(settings)


def test_the_shipped_secret_holds_only_marked_placeholders():
    secret = k8s_object("Secret", "olgraph-secrets")
    assert "data" not in secret, "base64 `data` could hide a real value; use stringData placeholders"
    assert secret["stringData"]
    for key, value in secret["stringData"].items():
        assert PLACEHOLDER in value, f"{key} is not a marked placeholder"


def test_an_unedited_secret_keeps_the_api_from_starting(monkeypatch: pytest.MonkeyPatch):
    """Fail closed: the placeholder API key is not a sha256, so the settings are refused."""
    set_env(monkeypatch, container_env(container_of("olgraph-api"), k8s_env_sources()))
    with pytest.raises(ValidationError, match="api_keys"):
        Settings()


def test_consume_gets_no_api_keys():
    assert "OLGRAPH_AUTH__API_KEYS" not in container_env(container_of("olgraph-consume"), k8s_env_sources())


def test_secrets_are_not_in_the_configmap():
    config = k8s_env_sources()["ConfigMap/olgraph-config"]
    assert not any(word in key for key in config for word in ("PASSWORD", "API_KEYS", "SECRET"))


@pytest.mark.parametrize("name", OLGRAPH_CONTAINERS)
def test_containers_are_locked_down_and_sized(name: str):
    deployment = k8s_object("Deployment", name)
    pod = pod_spec(deployment)
    [container] = pod["containers"]
    final_user = dockerfile_stages(parse_dockerfile(DOCKERFILE.read_text()))[-1].of("USER")[-1]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == final_user.value.split(":")[0], "the image's own uid"
    assert pod["automountServiceAccountToken"] is False
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert "/tmp" in {mount["mountPath"] for mount in container["volumeMounts"]}, "a writable /tmp"
    for section in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][section]), f"{name}: {section}"


@pytest.mark.parametrize(
    ("kind", "name"),
    [("Deployment", "olgraph-api"), ("Deployment", "olgraph-consume"), ("Job", "olgraph-topics")],
)
def test_every_pod_meets_the_restricted_pod_security_standard_the_namespace_enforces(kind: str, name: str):
    assert (
        k8s_object("Namespace", "olgraph")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "restricted"
    )
    pod = pod_spec(k8s_object(kind, name))
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert all("emptyDir" in volume for volume in pod.get("volumes", []))
    for container in pod["containers"]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["securityContext"].get("privileged") is not True


def test_the_data_directory_of_the_image_is_writable_in_the_pods():
    data_dir = env_of(dockerfile_stages(parse_dockerfile(DOCKERFILE.read_text()))[-1])["OLGRAPH_DATA_DIR"]
    for name in OLGRAPH_CONTAINERS:
        assert data_dir in {mount["mountPath"] for mount in container_of(name)["volumeMounts"]}


def test_disruption_budgets_and_network_policies_select_real_pods():
    pod_labels = [
        d["spec"]["template"]["metadata"]["labels"]
        for _, d in k8s_documents()
        if d["kind"] in ("Deployment", "Job")
    ]
    for _, document in k8s_documents():
        if document["kind"] == "PodDisruptionBudget":
            selector = document["spec"]["selector"]["matchLabels"]
        elif document["kind"] == "NetworkPolicy":
            selector = document["spec"]["podSelector"]["matchLabels"]
        else:
            continue
        assert any(selector.items() <= labels.items() for labels in pod_labels), document["metadata"]["name"]


def test_network_policies_open_exactly_the_served_ports():
    opened = {
        document["metadata"]["name"]: {
            port["port"] for rule in document["spec"]["ingress"] for port in rule["ports"]
        }
        for _, document in k8s_documents()
        if document["kind"] == "NetworkPolicy"
    }
    assert opened["olgraph-api"] == {API_PORT}
    assert opened["olgraph-consume"] == {CONSUME_HEALTH_PORT}


def test_the_topics_job_creates_the_configured_topics_with_enough_partitions():
    job = k8s_object("Job", "olgraph-topics")
    [container] = pod_spec(job)["containers"]
    env = container_env(container, k8s_env_sources())
    config = k8s_env_sources()["ConfigMap/olgraph-config"]
    assert env["BOOTSTRAP_SERVERS"] == config["OLGRAPH_LOG__KAFKA__BOOTSTRAP_SERVERS"]
    assert {env["EVENTS_TOPIC"], env["DEAD_LETTER_TOPIC"]} == {
        config["OLGRAPH_LOG__KAFKA__TOPIC"],
        config["OLGRAPH_LOG__KAFKA__DEAD_LETTER_TOPIC"],
    }
    assert int(env["PARTITIONS"]) >= k8s_object("Deployment", "olgraph-consume")["spec"]["replicas"]
    assert int(env["MIN_INSYNC_REPLICAS"]) < int(env["REPLICATION_FACTOR"]), (
        "acks=all must survive a broker loss"
    )
    assert "--if-not-exists" in " ".join(container["args"])
    assert container["image"] == f"apache/kafka:{kafka_launcher.KAFKA_VERSION}", "the Kafka the tests run"
