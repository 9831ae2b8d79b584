"""Fixtures for the normalizer tests: event builders and a reference in-memory graph.

``MiniGraph`` applies mutations with the shared merge rules (``olgraph.store.merge``), the
same way every store must, so tests can check what a *sequence* of events leaves in the
graph (order independence) without a database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from olgraph.ingest import ParsedEvent, parse_event
from olgraph.normalize.mutations import (
    Mutation,
    PropValue,
    ReadVersion,
    ReplaceLinks,
    UpsertEdge,
    UpsertNode,
)
from olgraph.store.merge import canonical, links_win, merge_props

RUN_ID = "0176a8c2-fe01-7439-87e6-56a1a1b4029f"


class MiniGraph:
    """Nodes, edges, link sets and reads after applying mutation batches."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.links: dict[tuple[str, str], tuple[str, str]] = {}
        self.reads: dict[tuple[str, str], str] = {}

    def apply(self, mutations: Iterable[Mutation]) -> MiniGraph:
        batch = list(mutations)
        for m in batch:
            if isinstance(m, UpsertNode):
                node = self.nodes.setdefault(
                    m.key, {"label": m.label.value, "labels": set(), "p": {}, "v": {}}
                )
                assert node["label"] == m.label.value, f"{m.key} changed label"
                node["labels"] |= set(m.extra_labels)
                node["p"], node["v"] = merge_props(node["p"], node["v"], m.props)
        for m in batch:
            if isinstance(m, UpsertEdge):
                assert {m.source, m.target} <= self.nodes.keys(), m
                edge = self.edges.setdefault((m.type.value, m.source, m.target), {"p": {}, "v": {}})
                edge["p"], edge["v"] = merge_props(edge["p"], edge["v"], m.props)
            elif isinstance(m, ReplaceLinks):
                assert all(link.key in self.nodes for link in m.others), m
                others = canonical([[link.key, dict(link.props)] for link in m.others])
                old = self.links.get((m.node, m.slot))
                if links_win(m.version, others, old[0] if old else None, old[1] if old else None):
                    self.links[(m.node, m.slot)] = (m.version, others)
            elif isinstance(m, ReadVersion):
                key = (m.run, m.dataset)
                self.reads[key] = min(m.at, self.reads.get(key, m.at))
        return self

    def props(self, key: str) -> dict[str, PropValue]:
        return dict(self.nodes[key]["p"])

    def snapshot(self) -> Any:
        """A comparable rendering of the whole graph."""
        return canonical(
            {
                "nodes": {k: [n["label"], sorted(n["labels"]), n["p"]] for k, n in self.nodes.items()},
                "edges": {"|".join(k): e["p"] for k, e in self.edges.items()},
                "links": {"|".join(k): v[1] for k, v in self.links.items()},
                "reads": {"|".join(k): v for k, v in self.reads.items()},
            }
        )


@pytest.fixture
def mini_graph() -> type[MiniGraph]:
    """The :class:`MiniGraph` class."""
    return MiniGraph


@pytest.fixture
def run_event() -> Callable[..., ParsedEvent]:
    """Build and parse a RunEvent: ``run_event(event_type, time, **top_level_overrides)``."""

    def build(
        event_type: str | None = "START", time: str = "2024-05-01T12:00:00Z", **extra: Any
    ) -> ParsedEvent:
        data: dict[str, Any] = {
            "eventTime": time,
            "run": {"runId": RUN_ID},
            "job": {"namespace": "airflow", "name": "etl"},
            "producer": "https://example.com",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        }
        if event_type is not None:
            data["eventType"] = event_type
        data.update(extra)
        return parse_event(data)

    return build
