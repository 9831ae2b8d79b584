"""The tree is the architecture: imports point one way along the data flow.

ingest → normalize → store → (consume, query) → runtime → api → cli. A module may import
from its own layer or layers to its left, never to its right. ``normalize`` is pure: no I/O,
no clock, no concurrency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "olgraph"

# Lower rank = closer to the wire. A module may import olgraph modules of equal or lower rank.
RANKS: dict[str, int] = {
    "errors": 0,
    "keys": 0,
    "filesystem": 0,
    "ingest": 1,
    "devservices": 1,
    "normalize": 2,
    "store": 3,
    "log": 3,
    "config": 3,
    "metrics": 3,
    "consume": 4,
    "query": 4,
    "runtime": 5,
    "api": 6,
    "cli": 7,
    "__main__": 8,
    "__init__": 0,
    # Client-side plugins run inside users' jobs: they may import nothing of the server.
    "integrations": 0,
}

# Server-side helpers that live beside the plugins (run by the olgraph CLI, not in a workload):
# of the MLflow sync, only its errors derive from the server's error tree.
SERVER_SIDE_INTEGRATIONS = {"mlflow/sync/errors.py"}
SERVER_PACKAGES = {
    "fastapi",
    "uvicorn",
    "pydantic",
    "pydantic_settings",
    "neo4j",
    "aiokafka",
    "click",
    "orjson",
}

# What the pure normalizer may never touch.
IMPURE = {"asyncio", "sqlite3", "socket", "os", "time", "random", "subprocess", "threading", "neo4j", "httpx"}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py"))


def _area(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_every_area_has_a_rank() -> None:
    areas = {_area(p) for p in _modules()}
    assert areas <= set(RANKS), f"give these a rank in RANKS: {sorted(areas - set(RANKS))}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_one_way(path: Path) -> None:
    own = RANKS[_area(path)]
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] != "olgraph" or len(parts) < 2:
            continue
        target = RANKS[parts[1]]
        assert target <= own, f"{path.relative_to(SRC)} imports {name} (rank {target} > {own})"


@pytest.mark.parametrize(
    "path", sorted((SRC / "normalize").rglob("*.py")), ids=lambda p: str(p.relative_to(SRC))
)
def test_normalize_is_pure(path: Path) -> None:
    for name in _imports(path):
        assert name.split(".")[0] not in IMPURE, f"{path.name} imports {name}: normalize must stay pure"
        assert not name.startswith(("olgraph.store", "olgraph.api", "olgraph.log")), name


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for p in (SRC / "integrations").rglob("*.py")
        if str(p.relative_to(SRC / "integrations")) not in SERVER_SIDE_INTEGRATIONS
    ),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_plugins_stay_light(path: Path) -> None:
    """A training job installing olgraph[mlflow] or olgraph[ray] never pulls in the server."""
    for name in _imports(path):
        parts = name.split(".")
        assert parts[0] not in SERVER_PACKAGES, f"{path.name} imports {name}: plugins must stay light"
        if parts[0] == "olgraph" and len(parts) > 1:
            assert parts[1] == "integrations", (
                f"{path.name} imports {name}: plugins import only olgraph.integrations"
            )


def test_rank_table_catches_a_violation(tmp_path: Path) -> None:
    """The check itself can fail: a store module importing the API is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("from olgraph.api.app import create_app\n", encoding="utf-8")
    imported = _imports(bad)
    assert imported == ["olgraph.api.app"]
    assert RANKS[imported[0].split(".")[1]] > RANKS["store"]
