"""What the stores rely on when they execute the write plans (Hypothesis): planning a batch at once
equals planning its mutations one by one, executing a plan gives what it planned, and planning
again on the result writes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hypothesis import given
from hypothesis import strategies as st

from olgraph.normalize.mutations import Link, Merge, Prop, PropValue, RelType, ReplaceLinks
from olgraph.store import plan
from olgraph.store.merge import merge_props

TIMES = st.sampled_from(["t1", "t2", "t3", "t4", "t5"])
DS = "dataset:ns:t"


# ---------------------------------------------------------------- merging writes at once


def _value(merge: Merge) -> st.SearchStrategy[PropValue]:
    """Values of one type per merge rule, as the normalizer writes them (``None``: a tombstone)."""
    if merge is Merge.OR:
        return st.one_of(st.none(), st.booleans())
    if merge is Merge.UNION:
        return st.one_of(st.none(), st.lists(st.sampled_from("abc"), max_size=3))
    return st.one_of(st.none(), TIMES)


RULES = {"a": Merge.LWW, "b": Merge.LWW, "c": Merge.MIN, "d": Merge.MAX, "e": Merge.OR, "f": Merge.UNION}
PROPS = st.sampled_from(sorted(RULES)).flatmap(
    lambda name: st.builds(Prop, st.just(name), _value(RULES[name]), st.just(RULES[name]), TIMES)
)
UPSERTS = st.lists(st.lists(PROPS, max_size=4), max_size=5)
"""The props of a node's (or relationship's) upserts in one batch, in order."""


@given(UPSERTS, st.lists(PROPS, max_size=4), st.sampled_from(["Dataset", "Job", "Run"]))
def test_merging_a_nodes_writes_at_once_equals_merging_upsert_by_upsert(
    upserts: list[list[Prop]], stored_writes: list[Prop], label: str
) -> None:
    stored, versions = merge_props({}, {}, stored_writes)

    at_once = plan.merge_node(label, stored, versions, [p for props in upserts for p in props])

    props, vers = stored, versions
    for writes in upserts:
        props, vers = merge_props(props, vers, writes)
    assert at_once == plan.merge_node(label, props, vers, [])


# ---------------------------------------------------------------- ReplaceLinks

OTHERS = ["owner:a", "owner:b", "owner:c", "owner:ghost"]
PRESENT = frozenset(OTHERS[:3])
GROUP = (DS, "OWNS", True)

LINKS = st.builds(
    ReplaceLinks,
    st.just(DS),
    st.just(RelType.OWNS),
    st.lists(
        st.builds(Link, st.sampled_from(OTHERS), st.sampled_from([(), (("type", "t"),), (("type", None),)])),
        max_size=3,
    ).map(tuple),
    st.just(True),
    TIMES,
    st.sampled_from(["ownership", "other"]),
)
STORED_LINKS = st.dictionaries(
    st.sampled_from(OTHERS[:3]),
    st.sampled_from([{}, {"type": "t"}, {"type": "t", "_versions": '{"type":"t1"}'}]),
)
SLOTS = st.dictionaries(st.sampled_from(["links:ownership", "links:other"]), TIMES)


def _executed(
    before: Mapping[str, dict[str, PropValue]], out: plan.LinksPlan
) -> dict[str, dict[str, PropValue]]:
    """The group's links once a store deleted ``removed`` and wrote ``written``."""
    if GROUP not in out.after:
        return dict(before)
    links = {k: v for k, v in before.items() if k not in out.removed(GROUP)}
    links.update(out.written(GROUP))
    return links


@given(st.lists(LINKS, max_size=5), STORED_LINKS, SLOTS)
def test_replacing_links_at_once_equals_one_by_one_and_executes_to_the_plan(
    links: list[ReplaceLinks], stored: dict[str, dict[str, PropValue]], slots: dict[str, str]
) -> None:
    at_once = plan.plan_links(links, {DS: slots}, PRESENT, {GROUP: stored})

    current, versions = stored, dict(slots)
    for m in links:
        step = plan.plan_links([m], {DS: versions}, PRESENT, {GROUP: current})
        current = _executed(current, step)
        versions.update(step.slots.get(DS, {}))
    assert _executed(stored, at_once) == current
    assert {**slots, **at_once.slots.get(DS, {})} == versions
    if GROUP in at_once.after:
        assert _executed(stored, at_once) == at_once.after[GROUP]


# ---------------------------------------------------------------- implicit reads

RUNS = st.sampled_from(["run:r1", "run:r2", "run:r3"])
CANDIDATES = st.lists(
    st.tuples(
        st.sampled_from(["v1", "v2", "v3"]), st.one_of(st.none(), TIMES), st.sampled_from([None, "r1", "r2"])
    ),
    max_size=3,
    unique_by=lambda v: v[0],
)
FACET = st.builds(
    Prop, st.just("inputFacet.x"), st.sampled_from(['{"n":1}', '{"n":2}']), st.just(Merge.LWW), TIMES
)
READS = st.lists(st.tuples(RUNS, TIMES, st.lists(FACET, max_size=1)), min_size=1, max_size=5)
"""A batch's reads of the dataset: (run, at, input facets)."""

Reads = dict[str, plan.ImplicitRead]


def _relinked(
    current: Reads, reads: Sequence[tuple[str, str, list[Prop]]], versions: list[plan.VersionCandidate]
) -> Reads:
    """Plan ``reads`` (one batch) on every stored read and execute the plan as a store does."""
    batch_reads: dict[str, str] = {}
    batch_props: dict[tuple[str, str], list[Prop]] = {}
    for run, at, props in reads:
        batch_reads[run] = min(at, batch_reads.get(run, at))
        batch_props.setdefault((DS, run), []).extend(props)
    out = plan.plan_reads(DS, current, batch_reads, versions, batch_props)
    after = {run: read for run, read in current.items() if (read.version, run) not in out.stale}
    for run, read in out.fresh:  # stored, then fetched back as the next batch would
        after[run] = plan.ImplicitRead.of(read.version, read.at, read.relationship_props(), read.versions)
    return after


@given(READS, CANDIDATES)
def test_reads_planned_at_once_equal_reads_planned_one_by_one(
    reads: list[tuple[str, str, list[Prop]]], versions: list[plan.VersionCandidate]
) -> None:
    one_by_one: Reads = {}
    for read in reads:
        one_by_one = _relinked(one_by_one, [read], versions)

    assert _relinked({}, reads, versions) == one_by_one


@given(READS, CANDIDATES)
def test_planning_the_same_batch_again_writes_nothing(
    reads: list[tuple[str, str, list[Prop]]], versions: list[plan.VersionCandidate]
) -> None:
    once = _relinked({}, reads, versions)
    batch_reads = {run: min(at for r, at, _ in reads if r == run) for run, _, _ in reads}
    batch_props = {(DS, run): [p for r, _, props in reads if r == run for p in props] for run, _, _ in reads}

    again = plan.plan_reads(DS, once, batch_reads, versions, batch_props)

    assert (again.stale, again.fresh) == ([], [])
    assert again.needs_initial == (plan.initial_version_key(DS) in {r.version for r in once.values()})


@given(READS, CANDIDATES, CANDIDATES)
def test_a_read_lands_where_it_would_had_the_new_versions_come_first(
    reads: list[tuple[str, str, list[Prop]]],
    old: list[plan.VersionCandidate],
    new: list[plan.VersionCandidate],
) -> None:
    """Re-linking when versions arrive after the reads gives what reading after them gives."""
    names = {v[0] for v in old}
    versions = old + [(f"n{key}", created, writer) for key, created, writer in new if f"n{key}" not in names]

    relinked = _relinked(_relinked({}, reads, old), [], versions)

    assert relinked == _relinked({}, reads, versions)
