"""The write plans both stores execute: batch split, merging, ReplaceLinks, implicit reads."""

from __future__ import annotations

from olgraph.normalize.mutations import (
    MODEL_LABEL,
    Label,
    Link,
    Merge,
    Prop,
    PropValue,
    ReadVersion,
    RelType,
    ReplaceLinks,
    UpsertEdge,
    UpsertNode,
)
from olgraph.store import plan
from olgraph.store.merge import links_win

DS = "dataset:ns:t"
INITIAL = "datasetVersion:ns:t@initial"

# ---------------------------------------------------------------- the batch


def test_a_batch_splits_by_kind_in_batch_order_and_names_what_it_references() -> None:
    nodes = [UpsertNode("job:b", Label.JOB), UpsertNode("job:a", Label.JOB)]
    edge = UpsertEdge(RelType.PRODUCES, "job:j", DS)
    link = ReplaceLinks(DS, RelType.OWNS, (Link("owner:o"),), incoming=True, version="1", slot="ownership")
    read = ReadVersion("run:r", "dataset:ns:u", "2024")

    parts = plan.BatchParts.of([nodes[0], read, edge, link, nodes[1]])

    assert parts == plan.BatchParts(tuple(nodes), (edge,), (link,), (read,))
    assert parts.referenced() == {"job:j", DS, "owner:o", "run:r", "dataset:ns:u"}


# ---------------------------------------------------------------- nodes and relationships


def test_repeated_upserts_of_a_node_group_in_batch_order() -> None:
    first, second = Prop("description", "old", version="1"), Prop("description", "new", version="2")
    writes = plan.node_writes(
        [
            UpsertNode("job:b", Label.JOB),
            UpsertNode(DS, Label.DATASET, (first,)),
            UpsertNode(DS, Label.DATASET, (second,), frozenset({MODEL_LABEL})),
        ]
    )

    assert list(writes) == ["job:b", DS]
    assert writes[DS] == plan.NodeWrites("Dataset", {"Dataset", MODEL_LABEL}, [first, second])
    assert writes["job:b"] == plan.NodeWrites("Job", {"Job"}, [])


def test_merge_node_merges_then_derives() -> None:
    writes = [Prop("name", "T", version="1"), Prop("droppedAt", "t1", Merge.MAX)]

    props, versions = plan.merge_node("Dataset", {"lastModifiedAt": "t0"}, {}, writes)

    assert props == {
        "lastModifiedAt": "t0",
        "name": "T",
        "droppedAt": "t1",
        "deleted": True,
        "searchName": "t",
    }
    assert versions == {"name": "1"}


def test_touched_datasets_are_those_with_new_explicit_versions_at_their_earliest() -> None:
    written: list[tuple[str, dict[str, PropValue]]] = [
        ("DatasetVersion", {"dataset": DS, "createdAt": "t3"}),
        ("DatasetVersion", {"dataset": DS, "createdAt": "t2"}),
        ("DatasetVersion", {"dataset": "dataset:ns:i", "createdAt": "t1", "implicit": True}),
        ("DatasetVersion", {"dataset": "dataset:ns:x"}),  # no createdAt: never picked, moves nothing
        ("Dataset", {"dataset": "dataset:ns:y", "createdAt": "t1"}),
    ]

    assert plan.touched_datasets(written) == {DS: "t2"}


def test_edge_writes_skip_missing_ends_and_come_in_lock_order() -> None:
    t1, t3 = Prop("lastSeenAt", "t1", Merge.MAX), Prop("lastSeenAt", "t3", Merge.MAX)
    edges = [
        UpsertEdge(RelType.PRODUCES, "job:b", DS, (t1,)),
        UpsertEdge(RelType.PRODUCES, "job:a", DS, (t3,)),
        UpsertEdge(RelType.PRODUCES, "job:b", DS, (t3,)),
        UpsertEdge(RelType.PRODUCES, "job:ghost", DS, (t1,)),
    ]

    writes = plan.edge_writes(edges, {"job:a", "job:b", DS})

    assert writes == {("PRODUCES", "job:a", DS): [t3], ("PRODUCES", "job:b", DS): [t1, t3]}
    assert list(writes) == [("PRODUCES", "job:a", DS), ("PRODUCES", "job:b", DS)]


# ---------------------------------------------------------------- ReplaceLinks

GROUP = (DS, "OWNS", True)


def _owners(version: str, *names: str, slot: str = "ownership") -> ReplaceLinks:
    links = tuple(Link(f"owner:{n}", (("type", "t"),) if n == "typed" else ()) for n in names)
    return ReplaceLinks(DS, RelType.OWNS, links, incoming=True, version=version, slot=slot)


OWNERS = {f"owner:{n}" for n in ("a", "b", "c", "typed")}


def test_link_groups_are_distinct_sorted_and_only_of_present_nodes() -> None:
    tags = ReplaceLinks("dataset:ns:a", RelType.TAGGED, (), incoming=False, version="1", slot="tags")
    ghost = ReplaceLinks("dataset:ns:ghost", RelType.TAGGED, (), incoming=False, version="1", slot="tags")

    groups = plan.link_groups([_owners("1"), tags, _owners("2"), ghost], {DS, "dataset:ns:a"})

    assert groups == [("dataset:ns:a", "TAGGED", False), GROUP]


def test_repeated_replacements_apply_in_batch_order_last_writer_wins() -> None:
    current: dict[plan.LinkGroup, plan.LinkSet] = {GROUP: {"owner:a": {}}}

    out = plan.plan_links(
        [_owners("2", "b"), _owners("1", "c"), _owners("2", "a", "b")], {DS: {}}, OWNERS, current
    )

    # "1" loses to "2"; of the two "2" writes the larger canonical JSON wins, whatever the order
    assert out.before == {GROUP: {"owner:a": {}}}
    assert out.after == {GROUP: {"owner:b": {}}}
    assert out.slots == {DS: {"links:ownership": "2"}}
    assert out.removed(GROUP) == ["owner:a"]
    assert out.written(GROUP) == [("owner:b", {})]


def test_a_replacement_drops_and_adds_and_rewrites_only_what_differs() -> None:
    current = {
        GROUP: {"owner:a": {}, "owner:b": {}, "owner:typed": {"type": "t", "_versions": '{"type":"1"}'}}
    }

    out = plan.plan_links([_owners("3", "b", "c", "typed")], {DS: {"links:ownership": "2"}}, OWNERS, current)

    assert out.after == {GROUP: {"owner:b": {}, "owner:c": {}, "owner:typed": {"type": "t"}}}
    assert out.removed(GROUP) == ["owner:a"]
    # owner:b is left alone; the typed link is rewritten without the version map an upsert gave it
    assert out.written(GROUP) == [("owner:c", {}), ("owner:typed", {"type": "t"})]
    assert out.slots == {DS: {"links:ownership": "3"}}


def test_links_to_missing_others_are_compared_but_not_written() -> None:
    out = plan.plan_links([_owners("1", "a", "ghost")], {DS: {}}, {"owner:a"}, {GROUP: {}})

    assert out.after == {GROUP: {"owner:a": {}}}


def test_an_older_link_set_or_a_missing_node_changes_nothing() -> None:
    older = plan.plan_links([_owners("4", "a")], {DS: {"links:ownership": "5"}}, OWNERS, {GROUP: {}})
    missing = plan.plan_links([_owners("9", "a")], {}, OWNERS, {})

    assert (older.after, older.slots) == ({}, {})
    assert (missing.after, missing.slots) == ({}, {})


def test_slots_are_versioned_apart() -> None:
    batch = [_owners("5", "a"), _owners("1", "b", slot="other")]

    out = plan.plan_links(batch, {DS: {"links:ownership": "3", "links:other": "2"}}, OWNERS, {GROUP: {}})

    # the "other" slot's older write loses to its own version, not to the ownership slot's
    assert out.after == {GROUP: {"owner:a": {}}}
    assert out.slots == {DS: {"links:ownership": "5"}}


# ---------------------------------------------------------------- link sets


def test_canonical_links_is_order_independent_and_ignores_bookkeeping() -> None:
    a = plan.canonical_links([("owner:b", {}), ("owner:a", {"type": "x", "_versions": "{}"})])
    b = plan.canonical_links([("owner:a", {"type": "x", "none": None}), ("owner:b", {})])
    assert a == b == [["owner:a", {"type": "x"}], ["owner:b", {}]]


def test_link_props_drop_none_and_slot_names() -> None:
    assert plan.link_props(Link("owner:a", (("type", None), ("x", "y")))) == {"x": "y"}
    assert plan.links_slot("owners") == "links:owners"


def test_equal_link_versions_break_ties_the_same_way_in_both_orders() -> None:
    one = plan.canonical_links([("owner:a", {})])
    two = plan.canonical_links([("owner:b", {})])
    assert links_win("t1", one, "t1", two) != links_win("t1", two, "t1", one)


# ---------------------------------------------------------------- versions


def test_pick_version_takes_the_newest_not_after_the_read() -> None:
    versions = [("v1", "2024-01", "r1"), ("v2", "2024-03", "r2"), ("v3", "2024-02", "r3"), ("vx", None, None)]
    assert plan.pick_version(versions, "2024-02") == "v3"
    assert plan.pick_version(versions, "2024-03") == "v2"
    assert plan.pick_version(versions, "2023-12") is None
    assert plan.pick_version([], "2024") is None


def test_pick_version_breaks_equal_times_by_key() -> None:
    assert plan.pick_version([("b", "t", None), ("a", "t", None)], "t") == "b"
    assert plan.pick_version([("a", "t", None), ("b", "t", None)], "t") == "b"


def test_a_run_never_reads_the_version_it_wrote_itself() -> None:
    """An append or MERGE INTO reads and writes one table: its read is of the version before."""
    versions = [("v1", "2024-01", "r1"), ("v2", "2024-02", "r2")]
    assert plan.pick_version(versions, "2024-02", reader="r2") == "v1"
    assert plan.pick_version(versions, "2024-02", reader="r9") == "v2"
    assert plan.pick_version(versions[1:], "2024-02", reader="r2") is None
    targets = plan.resolve_reads("dataset:db:t", {"run:r2": "2024-02", "run:r3": "2024-02"}, versions)
    assert targets == {"run:r2": "v1", "run:r3": "v2"}


def test_resolve_reads_falls_back_to_the_initial_version() -> None:
    targets = plan.resolve_reads(
        "dataset:db:t", {"run:1": "2024-01", "run:2": "2024-05"}, [("v", "2024-02", "0")]
    )
    assert targets == {"run:1": "datasetVersion:db:t@initial", "run:2": "v"}
    assert plan.initial_version_props("dataset:db:t") == {
        "dataset": "dataset:db:t",
        "version": "initial",
        "implicit": True,
    }
    assert plan.implicit_read_props("t") == {"at": "t", "implicit": True}


# ---------------------------------------------------------------- implicit reads: what moves


def test_new_reads_keep_the_earliest_of_present_runs_and_datasets() -> None:
    reads = [
        ReadVersion("run:r", DS, "t3"),
        ReadVersion("run:r", DS, "t1"),
        ReadVersion("run:s", DS, "t2", (Prop("inputFacet.x", "{}", version="t2"),)),
        ReadVersion("run:ghost", DS, "t1"),
    ]

    assert plan.new_reads(reads, {DS, "run:r", "run:s"}) == {DS: {"run:r": "t1", "run:s": "t2"}}
    assert plan.read_props(reads) == {(DS, "run:s"): [Prop("inputFacet.x", "{}", version="t2")]}


def test_datasets_to_fetch_are_the_read_and_the_touched_ones() -> None:
    queries = plan.reads_to_fetch({DS: {"run:s": "t2", "run:r": "t1"}}, {"dataset:ns:a": "t5", DS: "t4"})

    assert queries == [
        plan.ReadsQuery("dataset:ns:a", [], "t5"),
        plan.ReadsQuery(DS, ["run:r", "run:s"], "t4"),
    ]


def test_a_read_seen_before_any_version_exists_links_to_the_initial_version() -> None:
    out = plan.plan_reads(DS, {}, {"run:r": "t1"}, [])

    assert out == plan.ReadsPlan(
        DS,
        INITIAL,
        needs_initial=True,
        fresh=[("run:r", plan.ImplicitRead(INITIAL, "t1", {}, {}))],
    )


FACETS: dict[str, PropValue] = {"inputFacet.dataQualityMetrics": '{"rowCount":3}'}
FACET_VERSIONS = {"inputFacet.dataQualityMetrics": "t2"}


def test_an_implicit_read_is_relinked_when_its_version_arrives() -> None:
    stored: dict[str, PropValue] = {"at": "t2", "implicit": True, **FACETS}
    current = {"run:r": plan.ImplicitRead.of(INITIAL, "t2", stored, FACET_VERSIONS)}

    out = plan.plan_reads(DS, current, {}, [("v1", "t1", "r0")])

    # the read's input facets (and their LWW versions) move with it; the initial version goes unused
    moved = plan.ImplicitRead("v1", "t2", FACETS, FACET_VERSIONS)
    assert out == plan.ReadsPlan(
        DS, INITIAL, needs_initial=False, stale=[(INITIAL, "run:r")], fresh=[("run:r", moved)]
    )
    assert moved.relationship_props() == {**FACETS, "at": "t2", "implicit": True}


def test_a_read_in_place_is_left_alone_and_a_later_read_of_it_changes_nothing() -> None:
    current = {"run:r": plan.ImplicitRead.of("v1", "t2", {"at": "t2", "implicit": True}, {})}

    out = plan.plan_reads(DS, current, {"run:r": "t3"}, [("v1", "t1", "r0")])

    assert out == plan.ReadsPlan(DS, INITIAL)


def test_an_earlier_read_of_the_same_run_moves_it_back() -> None:
    current = {"run:r": plan.ImplicitRead.of("v2", "t3", {"at": "t3", "implicit": True}, {})}

    out = plan.plan_reads(DS, current, {"run:r": "t1"}, [("v1", "t0", "r0"), ("v2", "t2", "r1")])

    assert out.stale == [("v2", "run:r")]
    assert out.fresh == [("run:r", plan.ImplicitRead("v1", "t1", {}, {}))]


def test_newer_input_facets_of_a_read_in_place_are_merged_into_it_older_ones_not() -> None:
    current = {
        "run:r": plan.ImplicitRead.of("v1", "t2", {"at": "t2", "implicit": True, **FACETS}, FACET_VERSIONS)
    }
    older = Prop("inputFacet.dataQualityMetrics", '{"rowCount":1}', Merge.LWW, "t1")
    newer = Prop("inputFacet.dataQualityMetrics", '{"rowCount":4}', Merge.LWW, "t3")
    versions = [("v1", "t1", "r0")]

    unchanged = plan.plan_reads(DS, current, {"run:r": "t3"}, versions, {(DS, "run:r"): [older]})
    merged = plan.plan_reads(DS, current, {"run:r": "t3"}, versions, {(DS, "run:r"): [newer]})

    assert (unchanged.stale, unchanged.fresh) == ([], [])
    assert merged.stale == [("v1", "run:r")]
    assert merged.fresh == [
        (
            "run:r",
            plan.ImplicitRead(
                "v1",
                "t2",
                {"inputFacet.dataQualityMetrics": '{"rowCount":4}'},
                {"inputFacet.dataQualityMetrics": "t3"},
            ),
        )
    ]


def test_a_run_that_writes_what_it_reads_keeps_reading_the_version_before() -> None:
    out = plan.plan_reads(DS, {}, {"run:r1": "t2", "run:r2": "t2"}, [("v1", "t1", "r0"), ("v2", "t2", "r1")])

    assert [(run, read.version) for run, read in out.fresh] == [("run:r1", "v1"), ("run:r2", "v2")]
    assert not out.needs_initial


def test_implicit_reads_keep_only_their_facets_and_store_them_with_their_resolution() -> None:
    read = plan.ImplicitRead.of(
        "v", "t", {"at": "t", "implicit": True, "_versions": "{}", "x": None, "y": 1}, {}
    )

    assert read == plan.ImplicitRead("v", "t", {"y": 1}, {})
    assert read.relationship_props() == {"y": 1, "at": "t", "implicit": True}
