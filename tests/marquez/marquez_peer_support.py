"""What the Marquez differential and browser tests share: paths, the events posted and the
types of the session fixtures. Test modules import from here (``conftest`` is an ambiguous
module name across the tree).

``OLGRAPH_MARQUEZ_FULL=1`` (``make test-marquez``) compares every route on every node; without
it (``make test``) a fixed sample: the scenarios' namespaces and a few corpus namespaces.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus"
FULL = os.environ.get("OLGRAPH_MARQUEZ_FULL", "") not in ("", "0", "false")
for _folder in (REPO / "bench", REPO / "tests" / "e2e"):  # marquez*.py; e2e_support, explorer_support
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from marquez_scenarios import all_scenarios  # noqa: E402


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Olgraph:
    """``olgraph serve`` with its own API at ``url`` and the Marquez-compatible one at ``marquez_url``."""

    url: str
    marquez_url: str
    server: Any


@dataclass
class Fed:
    """What was posted: events both took, and the ones left out with the reason."""

    posted: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


def corpus_events() -> list[tuple[str, bytes]]:
    """The shared corpus, by file name."""
    return [(p.relative_to(CORPUS).as_posix(), p.read_bytes()) for p in sorted(CORPUS.rglob("*.json"))]


def scenario_events() -> list[tuple[str, bytes]]:
    """The scenarios' events, named ``scenario#n``."""
    return [
        (f"{name}#{n}", json.dumps(event).encode())
        for name, events in all_scenarios().items()
        for n, event in enumerate(events)
    ]
