"""Readers for the deployment files, shared by the tests in this folder.

No Docker engine and no Kubernetes cluster run here, so the files are checked by reading
them: a small Dockerfile parser, the ``.dockerignore`` matching rules, Compose variable
interpolation, the environment each deployment gives olgraph, and the ``OLGRAPH_*`` names
that olgraph's settings and command line really read.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE_FILE = REPO / "docker-compose.yml"
K8S_DIR = REPO / "deploy" / "k8s"
DEPLOYMENT_DOC = REPO / "docs" / "deployment.md"
DECISION_DOC = REPO / "docs" / "decisions" / "0006-deployment-manifests.md"

API_PORT = 5000
"""Port of the HTTP API (`olgraph api`, `olgraph serve`) everywhere in the deployment files."""
CONSUME_HEALTH_PORT = 9400
"""Port of the health and metrics endpoints of `olgraph consume`."""
PLACEHOLDER = "CHANGE-ME"
"""The marker every value of a checked-in Secret must carry."""


# ---------------------------------------------------------------- Dockerfile


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    value: str
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction, or None for the shell form."""
        try:
            parsed = json.loads(self.value)
        except ValueError:
            return None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return parsed
        return None


@dataclass
class Stage:
    """A build stage: its base image (build arguments resolved), name and instructions."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def of(self, keyword: str) -> list[Instruction]:
        """This stage's instructions with ``keyword``."""
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile (comments and parser directives dropped)."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # also inside a continuation: Docker drops comment lines there too
        if not pending:
            start = number
        continued = stripped.endswith("\\")
        pending.append(stripped[:-1].strip() if continued else stripped)
        if not continued:
            keyword, _, value = " ".join(pending).partition(" ")
            instructions.append(Instruction(keyword.upper(), value.strip(), start))
            pending = []
    assert not pending, "the Dockerfile ends inside a line continuation"
    return instructions


def split_flags(value: str) -> tuple[dict[str, str], str]:
    """Leading ``--flag=value`` options of an instruction, and the rest of it."""
    flags: dict[str, str] = {}
    rest = value
    while match := re.match(r"--([a-z-]+)(?:=(\S+))?\s*", rest):
        flags[match.group(1)] = match.group(2) or ""
        rest = rest[match.end() :]
    return flags, rest


def dockerfile_stages(instructions: list[Instruction]) -> list[Stage]:
    """The build stages, with global ``ARG`` defaults substituted into ``FROM``."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "ARG" and not stages:
            name, _, default = instruction.value.partition("=")
            args[name] = default
        elif instruction.keyword == "FROM":
            base, _, name = re.sub(r"\$\{?(\w+)\}?", lambda m: args[m.group(1)], instruction.value).partition(
                " AS "
            )
            stages.append(Stage(base.strip(), name.strip() or None))
        elif stages:
            stages[-1].instructions.append(instruction)
    return stages


def env_of(stage: Stage) -> dict[str, str]:
    """The variables ``ENV`` sets in ``stage`` (``KEY=value`` form)."""
    env: dict[str, str] = {}
    for instruction in stage.of("ENV"):
        for token in shlex.split(instruction.value):
            key, sep, value = token.partition("=")
            assert sep, f"line {instruction.line}: use ENV KEY=value, not the legacy ENV KEY value form"
            env[key] = value
    return env


def image_olgraph_env() -> dict[str, str]:
    """The ``OLGRAPH_*`` variables the image itself sets (a container starts with them)."""
    return olgraph_env(env_of(dockerfile_stages(parse_dockerfile(DOCKERFILE.read_text()))[-1]))


# ---------------------------------------------------------------- .dockerignore


def dockerignore_patterns(text: str) -> list[str]:
    """The patterns of a ``.dockerignore`` file, in order (``!`` marks exceptions)."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's path matching (Go's filepath.Match plus ``**``) as a regular expression."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def is_dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether ``path`` (relative to the build context) is left out of the context.

    As Docker does: a pattern excluding a directory excludes everything below it, and the
    last matching pattern wins (``!pattern`` re-includes).
    """
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern_regex(pattern.lstrip("!").strip("/").removeprefix("./"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


# ---------------------------------------------------------------- Compose


_INTERPOLATION = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?])([^}]*))?\}|(\w+))")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's variable interpolation: ``$$``, ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``."""

    def replace(match: re.Match[str]) -> str:
        escaped, name, operator, argument, bare = match.groups()
        if escaped:
            return "$"
        name = name or bare
        current = env.get(name)
        if operator in (":-", "-"):
            missing = current is None or (operator == ":-" and current == "")
            return argument if missing else str(current)
        if operator in (":?", "?") and (current is None or (operator == ":?" and current == "")):
            raise ValueError(f"required variable {name} is not set: {argument}")
        return current or ""

    return _INTERPOLATION.sub(replace, value)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    """``node`` with every string interpolated (mapping keys too), as Compose does before validating."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {interpolate_tree(k, env): interpolate_tree(v, env) for k, v in node.items()}
    return node


def compose_environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A Compose service's ``environment`` (mapping or ``KEY=value`` list) as strings."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.partition("=")[::2] for item in environment)
    return {key: _env_string(value) for key, value in environment.items()}


def _env_string(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def load_compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """docker-compose.yml, interpolated with ``env`` (none: every variable at its default)."""
    return interpolate_tree(yaml.safe_load(COMPOSE_FILE.read_text()), env or {})


# ---------------------------------------------------------------- Kubernetes


def k8s_files() -> list[Path]:
    """The manifest files of deploy/k8s (the kustomization included)."""
    return sorted(K8S_DIR.glob("*.yaml"))


def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    """Every Kubernetes object in deploy/k8s (the Kustomization excluded), with its file."""
    found: list[tuple[Path, dict[str, Any]]] = []
    for path in k8s_files():
        for document in yaml.safe_load_all(path.read_text()):
            if document is not None and document.get("kind") != "Kustomization":
                found.append((path, document))
    return found


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` named ``name``."""
    matches = [d for _, d in k8s_documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected exactly one {kind} {name}, found {len(matches)}"
    return matches[0]


def pod_spec(workload: Mapping[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment or Job."""
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def container_env(container: Mapping[str, Any], sources: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The environment a container gets: ``envFrom`` first, then ``env`` (which wins).

    ``sources`` maps ``ConfigMap/<name>`` and ``Secret/<name>`` to their data. A reference to
    a missing object or key fails, unless the reference is marked ``optional``.
    """
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        for kind, ref_field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if ref_field in source:
                ref = source[ref_field]
                data = sources.get(f"{kind}/{ref['name']}")
                assert data is not None or ref.get("optional"), f"envFrom: no {kind} {ref['name']}"
                env.update(data or {})
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        for kind, ref_field in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            if ref := item.get("valueFrom", {}).get(ref_field):
                data = sources.get(f"{kind}/{ref['name']}", {})
                assert ref["key"] in data or ref.get("optional"), (
                    f"env {item['name']}: {kind} {ref['name']} has no key {ref['key']}"
                )
                if ref["key"] in data:
                    env[item["name"]] = data[ref["key"]]
    return env


def k8s_env_sources() -> dict[str, dict[str, str]]:
    """``ConfigMap/<name>`` and ``Secret/<name>`` to their string data."""
    sources: dict[str, dict[str, str]] = {}
    for _, document in k8s_documents():
        if document["kind"] == "ConfigMap":
            sources[f"ConfigMap/{document['metadata']['name']}"] = dict(document.get("data", {}))
        elif document["kind"] == "Secret":
            sources[f"Secret/{document['metadata']['name']}"] = dict(document.get("stringData", {}))
    return sources


# ---------------------------------------------------------------- olgraph's own names


def settings_env_names(model: type[BaseModel], prefix: str = "OLGRAPH_") -> set[str]:
    """Every ``OLGRAPH_*`` variable that sets one leaf setting of ``model``, walking nested groups."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= settings_env_names(annotation, f"{prefix}{name.upper()}__")
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def parse_olgraph_command(cli: click.Group, argv: list[str]) -> click.Context:
    """Parse ``olgraph ARGV`` as a container would run it, without running it.

    Fails the test when the command or an option does not exist, a value does not convert,
    or a required option is missing.
    """
    assert argv, "no olgraph command"
    assert argv[0] in cli.commands, f"`olgraph {argv[0]}` is not a command: {sorted(cli.commands)}"
    command = cli.commands[argv[0]]
    try:
        return command.make_context(argv[0], list(argv[1:]))
    except click.UsageError as exc:
        pytest.fail(f"`olgraph {' '.join(argv)}`: {exc.format_message()}")


def cli_envvars(command: click.Command) -> set[str]:
    """Environment variables the options of ``command`` and its subcommands read themselves."""
    names: set[str] = set()
    for param in command.params:
        envvar = param.envvar
        if isinstance(envvar, str):
            names.add(envvar)
        elif envvar:
            names.update(envvar)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            names |= cli_envvars(sub)
    return names


def clean_env() -> dict[str, str]:
    """This process's environment without olgraph settings, with ``src`` importable (for subprocesses)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("OLGRAPH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def olgraph_env(env: Mapping[str, str]) -> dict[str, str]:
    """The ``OLGRAPH_*`` part of an environment."""
    return {key: value for key, value in env.items() if key.upper().startswith("OLGRAPH_")}


def iter_strings(node: Any) -> Iterator[str]:
    """Every string in a parsed YAML/JSON tree (keys and values)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from iter_strings(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from iter_strings(key)
            yield from iter_strings(value)
