"""The Neo4j side of the shared write plans: node and relationship states, the rows it writes."""

from __future__ import annotations

import pytest

from olgraph.normalize.mutations import (
    MODEL_LABEL,
    Label,
    Link,
    Merge,
    Prop,
    ReadVersion,
    RelType,
    ReplaceLinks,
    UpsertEdge,
    UpsertNode,
)
from olgraph.store import plan
from olgraph.store.neo4j import batch as b
from olgraph.store.plan import initial_version_key

DS = "dataset:ns:t"


def _state(key: str, label: Label = Label.DATASET, **stored: object) -> b.NodeState:
    return b.NodeState.from_record(key, f"id-{key}", label.value, [label.value], {"key": key, **stored})


def test_batch_rejects_extra_labels_outside_the_allow_list() -> None:
    with pytest.raises(ValueError, match="unsupported extra labels"):
        b.Batch.of([UpsertNode(DS, Label.DATASET, extra_labels=frozenset({"Admin"}))])

    ok = b.Batch.of([UpsertNode(DS, Label.DATASET, extra_labels=frozenset({MODEL_LABEL}))])
    assert ok.node_rows(ok.fresh_nodes()) == [
        {"key": DS, "label": "Dataset", "model": True, "new": {"key": DS, "deleted": False}}
    ]


def test_a_new_node_is_written_as_the_batch_merged_into_nothing() -> None:
    batch = b.Batch.of(
        [
            UpsertNode("job:a", Label.JOB, (Prop("description", "old", version="1"),)),
            UpsertNode("job:a", Label.JOB, (Prop("description", "new", version="2"),)),
            UpsertNode("job:a", Label.JOB, (Prop("firstSeenAt", "t2", Merge.MIN),)),
            UpsertNode("job:a", Label.JOB, (Prop("firstSeenAt", "t1", Merge.MIN),)),
        ]
    )

    (row,) = batch.node_rows(batch.fresh_nodes())

    assert row["new"] == {
        "key": "job:a",
        "description": "new",
        "firstSeenAt": "t1",
        "_versions": '{"description":"2"}',
    }


def test_a_new_relationship_is_written_as_the_batch_merged_into_nothing() -> None:
    edge = ("PRODUCES", "job:a", DS)
    batch = b.Batch.of(
        [
            UpsertEdge(RelType.PRODUCES, "job:a", DS, (Prop("lastSeenAt", "t1", Merge.MAX),)),
            UpsertEdge(RelType.PRODUCES, "job:a", DS, (Prop("lastSeenAt", "t3", Merge.MAX),)),
            UpsertEdge(RelType.PRODUCES, "job:b", DS, (Prop("lastSeenAt", "t9", Merge.MAX),)),
        ]
    )

    writes = plan.edge_writes(batch.edges, {"job:a", DS})

    assert b.fresh_edge_forms(writes) == {edge: ({"lastSeenAt": "t3"}, {}, {"lastSeenAt": "t3"})}


def test_node_rows_are_one_per_key_in_key_order() -> None:
    batch = b.Batch.of([UpsertNode(k, Label.JOB) for k in ("job:b", "job:a", "job:b")])

    assert [r["key"] for r in batch.node_rows(batch.fresh_nodes())] == ["job:a", "job:b"]


def test_referenced_keys_cover_edges_links_and_reads() -> None:
    batch = b.Batch.of(
        [
            UpsertEdge(RelType.PRODUCES, "job:j", DS),
            ReplaceLinks(DS, RelType.OWNS, (Link("owner:o"),), incoming=True, version="1", slot="ownership"),
            ReadVersion("run:r", "dataset:ns:u", "2024"),
        ]
    )

    assert batch.referenced() == {"job:j", DS, "owner:o", "run:r", "dataset:ns:u"}


def test_merged_nodes_keep_versions_and_derive_props() -> None:
    states = {DS: _state(DS, _versions='{"description":"2"}', description="new")}
    batch = b.Batch.of(
        [
            UpsertNode(
                DS,
                Label.DATASET,
                (Prop("description", "old", version="1"), Prop("droppedAt", "t1", Merge.MAX)),
            )
        ]
    )

    b.merge_nodes(batch, states)

    assert states[DS].props == {"description": "new", "droppedAt": "t1", "deleted": True}
    row = states[DS].write_row()
    assert row is not None
    assert row["props"] == {
        "key": DS,
        "description": "new",
        "droppedAt": "t1",
        "deleted": True,
        "_versions": '{"description":"2"}',
    }


def test_an_unchanged_node_is_not_written() -> None:
    state = _state(DS, deleted=False, firstSeenAt="t")
    states = {DS: state}

    b.merge_nodes(b.Batch.of([UpsertNode(DS, Label.DATASET, (Prop("firstSeenAt", "u", Merge.MIN),))]), states)

    assert state.write_row() is None


_FACETED = {
    "at": "2024-02",
    "implicit": True,
    "inputFacet.dataQualityMetrics": '{"rowCount":3}',
    "_versions": '{"inputFacet.dataQualityMetrics":"2024-02"}',
}


def test_a_read_before_any_version_links_to_the_initial_version() -> None:
    dataset = b.DatasetReads(DS, "id-ds", versions=[], current={}, ids={})
    out = b.Relink()

    b.relink(dataset, {"run:r": "2024-01"}, {"run:r": "id-r"}, out)

    initial = initial_version_key(DS)
    assert [row["key"] for row in out.initial] == [initial]
    assert out.fresh == [{"v": initial, "r": "id-r", "props": {"at": "2024-01", "implicit": True}}]
    assert out.stale == []
    assert out.unused == [initial]


def test_a_new_version_moves_a_later_read_and_leaves_the_initial_unused() -> None:
    initial = initial_version_key(DS)
    dataset = b.DatasetReads.from_record(
        DS, "id-ds", [["v1", "2024-01", "r0"]], [["run:r", initial, "2024-02", "id-r", "id-init", _FACETED]]
    )
    out = b.Relink()

    b.relink(dataset, {}, {}, out)

    assert out.initial == []
    assert out.stale == [{"v": "id-init", "r": "id-r"}]
    # the read's input facets (and their LWW versions) move with it
    assert out.fresh == [{"v": "v1", "r": "id-r", "props": {**_FACETED, "at": "2024-02", "implicit": True}}]
    assert out.unused == [initial]


def test_a_read_already_in_place_is_not_rewritten() -> None:
    dataset = b.DatasetReads.from_record(
        DS,
        "id-ds",
        [["v1", "2024-01", "r0"]],
        [["run:r", "v1", "2024-02", "id-r", "id-v1", {"at": "2024-02", "implicit": True}]],
    )
    out = b.Relink()

    b.relink(
        dataset, {"run:r": "2024-03"}, {"run:r": "id-r"}, out
    )  # a later read of the same run: keeps the earliest

    assert (out.initial, out.stale, out.fresh) == ([], [], [])


def test_new_input_facets_of_a_read_in_place_are_merged_into_it() -> None:
    dataset = b.DatasetReads.from_record(
        DS, "id-ds", [["v1", "2024-01", "r0"]], [["run:r", "v1", "2024-02", "id-r", "id-v1", _FACETED]]
    )
    out = b.Relink()
    newer = Prop("inputFacet.dataQualityMetrics", '{"rowCount":4}', Merge.LWW, "2024-03")
    older = Prop("inputFacet.dataQualityMetrics", '{"rowCount":1}', Merge.LWW, "2024-01")

    b.relink(dataset, {"run:r": "2024-03"}, {"run:r": "id-r"}, out, {(DS, "run:r"): [older]})
    assert out.fresh == []
    b.relink(dataset, {"run:r": "2024-03"}, {"run:r": "id-r"}, out, {(DS, "run:r"): [newer]})
    [row] = out.fresh
    assert row["props"]["inputFacet.dataQualityMetrics"] == '{"rowCount":4}'
    assert row["props"]["at"] == "2024-02"
    assert out.stale == [{"v": "id-v1", "r": "id-r"}]
