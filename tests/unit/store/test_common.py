"""The pure helpers both stores share: views, versions, the lineage walk, impact."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from olgraph.store import common
from olgraph.store.base import EdgeView, NodeView, VersionView
from olgraph.store.walk import (
    PROBE_LIMIT,
    ExpandRequest,
    ExpandResponse,
    LineageWalk,
    build_impact,
    pick_last_run,
    walk_async,
    walk_sync,
)

# ---------------------------------------------------------------- views


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["Dataset"], "dataset"),
        (["Model", "Dataset"], "model"),
        (["Job"], "job"),
        (["Run"], "run"),
        (["Owner"], None),
        (["DatasetVersion"], None),
    ],
)
def test_node_type_follows_labels(labels: list[str], expected: str | None) -> None:
    assert common.node_type(labels) == expected


def test_node_view_hides_facets_bookkeeping_and_field_duplicates() -> None:
    props = {
        "namespace": "db",
        "name": "orders",
        "deleted": True,
        "description": "all orders",
        "facet.schema": '{"fields": []}',
        "_versions": '{"description": "t"}',
        "lastSeenAt": "2024-01-01",
    }
    view = common.node_view("dataset:db:orders", ["Dataset"], props)
    assert view == NodeView(
        id="dataset:db:orders",
        type="dataset",
        namespace="db",
        name="orders",
        deleted=True,
        props={"description": "all orders", "lastSeenAt": "2024-01-01"},
    )


def test_node_view_of_a_run_uses_the_run_id() -> None:
    view = common.node_view("run:abc", ["Run"], {"runId": "abc", "state": "COMPLETE"})
    assert (view.type, view.namespace, view.name, view.props) == (
        "run",
        "",
        "abc",
        {"runId": "abc", "state": "COMPLETE"},
    )


def test_node_view_refuses_other_labels() -> None:
    with pytest.raises(ValueError, match="owner:x"):
        common.node_view("owner:x", ["Owner"], {})


def test_edge_view_drops_facets_and_versions() -> None:
    edge = common.edge_view(
        "CONSUMED_BY", "dataset:a", "job:b", {"runtime": True, "inputFacet.x": "{}", "_versions": "{}"}
    )
    assert edge == EdgeView("dataset:a", "job:b", "CONSUMED_BY", {"runtime": True})


def test_facets_from_props_parses_json_by_facet_name() -> None:
    props = {"facet.schema": '{"fields": [{"name": "id"}]}', "facet.sql": '{"query": "q"}', "name": "n"}
    assert common.facets_from_props(props) == {"schema": {"fields": [{"name": "id"}]}, "sql": {"query": "q"}}
    assert common.facets_from_props({"inputFacet.stats": '{"rows": 1}'}, prefix="inputFacet.") == {
        "stats": {"rows": 1}
    }


@pytest.mark.parametrize("versions", [{}, "{}", None, ""])
def test_dump_props_omits_empty_version_maps(versions: object) -> None:
    assert common.dump_props({"key": "k", "a": 1, "gone": None}, versions) == {"a": 1}  # type: ignore[arg-type]


def test_dump_props_renders_versions_canonically() -> None:
    out = common.dump_props({"a": 1}, {"z": "2", "b": "1"})
    assert out == {"a": 1, "_versions": '{"b":"1","z":"2"}'}
    assert common.dump_props({"a": 1}, '{"z":"2","b":"1"}') == out


def test_owner_and_tag_names() -> None:
    assert common.owner_name("owner:team:x", {"name": "team:x"}) == "team:x"
    assert common.owner_name("owner:team:y", {}) == "team:y"
    assert common.tag_name("tag:pii=true") == "pii=true"


# ---------------------------------------------------------------- versions


def test_versions_sort_newest_first_and_undated_last() -> None:
    views = [
        common.version_view("v:init", {"version": "initial", "implicit": True}),
        common.version_view("v:b", {"version": "b", "createdAt": "2024-02", "runId": "r", "rowCount": 3}),
        common.version_view("v:a", {"version": "a", "createdAt": "2024-03"}),
        common.version_view("v:c", {"version": "c", "createdAt": "2024-02"}),
    ]
    ordered = common.sort_versions(views)
    assert [v.id for v in ordered] == ["v:a", "v:b", "v:c", "v:init"]
    assert ordered[1] == VersionView("v:b", "b", "2024-02", "r", False, {"rowCount": 3})
    assert ordered[3].implicit is True


# ---------------------------------------------------------------- runs


def test_run_view_collects_facets_and_sorts_inputs() -> None:
    props = {"runId": "r1", "state": "FAIL", "startedAt": "t1", "facet.errorMessage": '{"message": "boom"}'}
    refs = [
        common.version_ref("v2", {"dataset": "dataset:b", "version": "2"}),
        common.version_ref("v1", {"dataset": "dataset:a"}),
    ]
    view = common.run_view(props, None, refs, [])
    assert (view.run_id, view.state, view.started_at, view.ended_at) == ("r1", "FAIL", "t1", None)
    assert [r.dataset for r in view.inputs] == ["dataset:a", "dataset:b"]
    assert view.facets == {"errorMessage": {"message": "boom"}}
    assert common.run_view({"job": "job:x"}, None, [], []).job == "job:x"


def test_pick_last_run_by_update_time_then_key() -> None:
    assert pick_last_run([]) == (None, None)
    assert pick_last_run([("run:a", "t2", "COMPLETE"), ("run:b", "t2", "FAIL"), ("run:c", "t1", "X")]) == (
        "t2",
        "FAIL",
    )
    assert pick_last_run([("run:a", None, "START")]) == (None, "START")


# ---------------------------------------------------------------- lineage walk over an in-memory graph


class MemoryGraph:
    """A tiny adjacency store answering walk requests, and counting them."""

    def __init__(self, edges: Iterable[tuple[str, str, str]], deleted: Iterable[str] = ()) -> None:
        self.edges = [EdgeView(s, t, ty) for s, ty, t in edges]
        gone = set(deleted)
        keys = {k for e in self.edges for k in (e.source, e.target)}
        self.nodes = {k: _view(k, deleted=k in gone) for k in keys}
        self.requests: list[ExpandRequest] = []

    def fetch(self, request: ExpandRequest) -> ExpandResponse:
        self.requests.append(request)
        found = []
        traversal = request.traversal
        for e in self.edges:
            hop = e.type in traversal.hop_types
            if request.probe and (
                (e.source in request.downstream and e.target in request.exclude)
                or (e.target in request.upstream and e.source in request.exclude)
            ):
                continue
            if (
                (hop and e.source in request.downstream)
                or (hop and e.target in request.upstream)
                or (
                    e.type in traversal.alias_types
                    and (e.source in request.aliases or e.target in request.aliases)
                )
            ):
                found.append(e)
        if request.probe:
            found = found[:PROBE_LIMIT]
        return ExpandResponse(found, {k: self.nodes[k] for e in found for k in (e.source, e.target)})

    def walk(
        self, start: str, direction: str = "downstream", depth: int = 10, max_nodes: int = 100, **kw: bool
    ) -> LineageWalk:
        walk = LineageWalk(self.nodes[start], direction, depth, max_nodes, **kw)  # type: ignore[arg-type]
        walk_sync(walk, self.fetch)
        return walk


def _view(key: str, deleted: bool = False) -> NodeView:
    kind = "job" if key.startswith("j") else "dataset"
    return NodeView(key, kind, "ns", key, deleted=deleted)  # type: ignore[arg-type]


C, P, A = "CONSUMED_BY", "PRODUCES", "ALIAS_OF"
CHAIN = [("d1", C, "j1"), ("j1", P, "d2"), ("d2", C, "j2"), ("j2", P, "d3"), ("d0", C, "j0"), ("j0", P, "d1")]


def _ids(walk: LineageWalk) -> list[tuple[str, int]]:
    return [(n.id, walk.distances[n.id]) for n in walk.result().nodes]


def test_hop_requests_say_how_far_and_how_many_more_the_walk_may_go() -> None:
    graph = MemoryGraph(CHAIN)
    graph.walk("d1", depth=3, max_nodes=10)
    hops = [(r.downstream, r.ahead, r.room) for r in graph.requests if r.downstream and not r.probe]
    assert hops == [(("d1",), 2, 9), (("j1",), 1, 8), (("d2",), 0, 7)]
    probes = [r for r in graph.requests if r.probe]
    assert [(r.downstream, r.ahead) for r in probes] == [(("j2",), 0)]


def test_walk_downstream_counts_lineage_edges() -> None:
    walk = MemoryGraph(CHAIN).walk("d1")
    assert _ids(walk) == [("d1", 0), ("j1", 1), ("d2", 2), ("j2", 3), ("d3", 4)]
    assert not walk.truncated


def test_walk_upstream_and_both() -> None:
    graph = MemoryGraph(CHAIN)
    assert _ids(graph.walk("d2", "upstream")) == [("d2", 0), ("j1", 1), ("d1", 2), ("j0", 3), ("d0", 4)]
    both = graph.walk("d1", "both", depth=1)
    assert _ids(both) == [("d1", 0), ("j0", 1), ("j1", 1)]
    assert [(e.source, e.target) for e in both.result().edges] == [("d1", "j1"), ("j0", "d1")]


def test_walk_both_is_the_union_not_the_component() -> None:
    # j1 also reads d9: a sibling input of a downstream job is not up- or downstream of d1
    graph = MemoryGraph([*CHAIN, ("d9", C, "j1")])
    assert "d9" not in dict(_ids(graph.walk("d1", "both")))


def test_walk_cut_by_its_depth_is_truncated() -> None:
    """A depth that hides part of the answer must say so (a CI gate must never under-report)."""
    walk = MemoryGraph(CHAIN).walk("d1", depth=2)
    assert _ids(walk) == [("d1", 0), ("j1", 1), ("d2", 2)]
    assert walk.truncated
    assert walk.result().truncated_by == ("depth",)
    assert walk.result().edges == MemoryGraph(CHAIN).walk("d1", depth=2).result().edges


def test_walk_ending_exactly_at_its_depth_is_not_truncated() -> None:
    walk = MemoryGraph(CHAIN).walk("d1", depth=4)
    assert _ids(walk)[-1] == ("d3", 4)
    assert not walk.truncated
    upstream = MemoryGraph(CHAIN).walk("d1", "upstream", depth=1)
    assert upstream.result().truncated_by == ("depth",)
    # what lies past the depth is only a node already returned: nothing more to see
    cycle = MemoryGraph([("d1", C, "j1"), ("j1", P, "d1")]).walk("d1", depth=1)
    assert not cycle.truncated


def test_walk_past_depth_ignores_deleted_nodes_and_probes_once() -> None:
    graph = MemoryGraph([("d1", C, "j1"), ("j1", P, "dgone")], deleted=["dgone"])
    walk = graph.walk("d1", depth=1)
    assert not walk.truncated
    assert [r.probe for r in graph.requests if r.downstream] == [False, True]
    assert graph.walk("d1", depth=1, include_deleted=True).truncated


def test_walk_past_depth_is_conservative_when_the_probe_is_full() -> None:
    fan = [("d1", C, "j1")] + [("j1", P, f"gone{i:03}") for i in range(PROBE_LIMIT)]
    walk = MemoryGraph(fan, deleted=[f"gone{i:03}" for i in range(PROBE_LIMIT)]).walk("d1", depth=1)
    assert walk.truncated


def test_walk_node_cap_cuts_the_level_by_id_and_truncates() -> None:
    fan = [("d1", C, "jb"), ("d1", C, "ja"), ("d1", C, "jc"), ("ja", P, "dz")]
    walk = MemoryGraph(fan).walk("d1", max_nodes=3)
    assert _ids(walk) == [("d1", 0), ("ja", 1), ("jb", 1)]
    assert walk.truncated
    assert walk.result().truncated_by == ("nodes",)
    assert all(e.target != "jc" for e in walk.result().edges)


def test_walk_cap_of_one_keeps_the_start_even_with_aliases() -> None:
    walk = MemoryGraph([("d5", A, "d0"), ("d5", C, "j")]).walk("d5", max_nodes=1)
    assert _ids(walk) == [("d5", 0)]
    assert walk.truncated


def test_walk_aliases_cost_nothing_both_ways_and_start_stays_first() -> None:
    edges = [("da", C, "j1"), ("dz", A, "da"), ("j1", P, "dout"), ("dout2", A, "dout"), ("dout2", C, "j2")]
    graph = MemoryGraph(edges)
    walk = graph.walk("dz")
    assert _ids(walk) == [("dz", 0), ("da", 0), ("j1", 1), ("dout", 2), ("dout2", 2), ("j2", 3)]
    assert ("dout2", "dout", "ALIAS_OF") in {(e.source, e.target, e.type) for e in walk.result().edges}
    upstream = graph.walk("j2", "upstream")
    assert _ids(upstream) == [("j2", 0), ("dout", 1), ("dout2", 1), ("j1", 2), ("da", 3), ("dz", 3)]


def test_walk_deleted_nodes_neither_returned_nor_bridging() -> None:
    edges = [("d1", C, "j1"), ("j1", P, "dx"), ("dx", C, "j2"), ("j2", P, "d3"), ("d1", A, "dgone")]
    graph = MemoryGraph(edges, deleted=["dx", "dgone"])
    assert _ids(graph.walk("d1")) == [("d1", 0), ("j1", 1)]
    everything = graph.walk("d1", include_deleted=True)
    assert [k for k, _ in _ids(everything)] == ["d1", "dgone", "j1", "dx", "j2", "d3"]
    # the start node is always returned and crossed, even when deleted
    assert _ids(graph.walk("dx")) == [("dx", 0), ("j2", 1), ("d3", 2)]


def test_walk_survives_cycles() -> None:
    graph = MemoryGraph([("d1", C, "j1"), ("j1", P, "d1"), ("j1", P, "d2")])
    assert _ids(graph.walk("d1", "both")) == [("d1", 0), ("j1", 1), ("d2", 2)]


def test_walk_asks_one_request_per_hop_for_the_whole_frontier() -> None:
    fan = [("d1", C, f"j{i}") for i in range(20)] + [(f"j{i}", P, f"d{i}x") for i in range(20)]
    graph = MemoryGraph(fan)
    graph.walk("d1")
    hops = [r for r in graph.requests if r.downstream]
    assert len(hops) == 3
    assert len(hops[1].downstream) == 20


async def test_walk_async_gives_the_sync_answer() -> None:
    graph = MemoryGraph(CHAIN)

    async def fetch(request: ExpandRequest) -> ExpandResponse:
        return graph.fetch(request)

    walk = LineageWalk(graph.nodes["d1"], "both", 3, 100)
    result = await walk_async(walk, fetch)
    assert result == graph.walk("d1", "both", depth=3).result()


def test_build_impact_lists_live_dependents_by_distance() -> None:
    edges = [("d1", C, "jb"), ("d1", C, "ja"), ("ja", P, "d2"), ("jb", P, "dgone"), ("dz", A, "d1")]
    walk = MemoryGraph(edges, deleted=["dgone"]).walk("d1")
    impact = build_impact(walk, {"ja": ["team:b", "team:a", "team:a"]}, {"d2": ("t", "COMPLETE")})
    assert [(i.id, i.distance) for i in impact.affected] == [("ja", 1), ("jb", 1), ("d2", 2)]
    assert impact.affected[0].owners == ["team:a", "team:b"]
    assert (impact.affected[2].last_run_at, impact.affected[2].last_run_state) == ("t", "COMPLETE")
    assert impact.root.id == "d1"
    assert not impact.truncated
