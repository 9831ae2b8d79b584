"""docs/deployment.md and the deployment files say only true things about olgraph: the
variables, commands, options, files and metrics they name exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from deploy_files import (
    COMPOSE_FILE,
    DECISION_DOC,
    DEPLOYMENT_DOC,
    DOCKERFILE,
    K8S_DIR,
    cli_envvars,
    k8s_files,
    parse_olgraph_command,
    settings_env_names,
)

from olgraph.config import Settings
from olgraph.metrics import Metrics

TEXTS = [DEPLOYMENT_DOC, DECISION_DOC, COMPOSE_FILE, DOCKERFILE, *sorted(K8S_DIR.glob("*.yaml"))]


def shell_blocks(markdown: str) -> list[str]:
    """The contents of the document's ```bash code blocks."""
    blocks: list[str] = []
    current: list[str] | None = None
    language = ""
    for line in markdown.splitlines():
        if not line.startswith("```"):
            if current is not None:
                current.append(line)
        elif current is None:
            current, language = [], line[3:].strip()
        else:
            if language in ("bash", "sh", "console"):
                blocks.append("\n".join(current))
            current = None
    return blocks


def command_lines(markdown: str) -> list[list[str]]:
    """``olgraph ...`` command lines in the document's shell blocks (continuations joined)."""
    lines = "\n".join(shell_blocks(markdown)).replace("\\\n", " ").splitlines()
    return [
        shlex.split(line.strip().removeprefix("$ "))
        for line in lines
        if re.match(r"\s*(\$ )?olgraph\s", line)
    ]


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.name)
def test_every_olgraph_variable_named_is_a_real_one(path: Path, olgraph_cli: click.Group):
    known = settings_env_names(Settings) | cli_envvars(olgraph_cli)
    groups = {name.rsplit("__", 1)[0] for name in known if "__" in name}  # "OLGRAPH_LOG__KAFKA__*"
    named = set(re.findall(r"\bOLGRAPH_[A-Z0-9_]*[A-Z0-9]", path.read_text()))
    assert named - known - groups == set()


def test_the_documented_command_lines_parse(olgraph_cli: click.Group):
    commands = command_lines(DEPLOYMENT_DOC.read_text())
    assert {argv[1] for argv in commands} >= {"api", "consume"}
    for argv in commands:
        parse_olgraph_command(olgraph_cli, argv[1:])


def test_relative_links_resolve():
    for target in re.findall(r"\]\(((?!https?:|#)[^)#]+)", DEPLOYMENT_DOC.read_text()):
        assert (DEPLOYMENT_DOC.parent / target).exists(), target


def test_the_kubernetes_file_table_is_complete():
    text = DEPLOYMENT_DOC.read_text()
    for path in k8s_files():
        if path.name != "kustomization.yaml":
            assert f"`{path.name}`" in text, f"docs/deployment.md does not describe {path.name}"


def test_the_metrics_named_exist():
    exported = set(re.findall(r"^# TYPE (\w+)", Metrics().render().decode(), flags=re.MULTILINE))
    exported |= {f"{name}_total" for name in exported}
    named = set(re.findall(r"\bolgraph_[a-z_]+[a-z]", DEPLOYMENT_DOC.read_text()))
    assert named, "the metrics table is gone"
    assert named - exported == set()
