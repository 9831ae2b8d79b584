"""The pure normalizer: one parsed OpenLineage event → the graph mutations it implies.

No I/O, clock, globals or randomness: the same event always gives the same mutations in
the same order, which is what golden-file tests and the two stores rely on. Every write
merges commutatively (docs/graph-model.md), so the graph does not depend on the order in
which a run's events arrive:

* times merge by MIN/MAX; facets and promoted properties are last-writer-wins by eventTime;
* run ``state``/``endedAt`` are last-writer-wins by ``"{rank}|{eventTime}|{state}"`` where
  rank is 1 for COMPLETE/FAIL/ABORT, so a late START never overwrites a terminal state;
  an event without ``eventType`` writes no state at all (it only carries metadata);
* a RunEvent's outputs give one DatasetVersion per ``version`` facet value, else one per
  run (``run:{runId}``): the START and COMPLETE events of a run share it.

>>> from olgraph.ingest import parse_event
>>> muts = normalize(parse_event({"eventTime": "2024-05-01T00:00:00Z", "eventType": "START",
...     "run": {"runId": "0176a8c2-fe01-7439-87e6-56a1a1b4029f"}, "job": {"namespace": "n", "name": "j"}}))
>>> [m.key for m in muts if hasattr(m, "key")]
['job:n:j', 'namespace:n', 'run:0176a8c2-fe01-7439-87e6-56a1a1b4029f']
"""

from __future__ import annotations

from typing import Any

from olgraph.ingest.event import ParsedEvent
from olgraph.ingest.facets import is_deleted
from olgraph.keys import dataset_version_key, namespace_key, normalize_run_id
from olgraph.normalize._columns import column_lineage, dataset_lineage, job_lineage, schema_fields
from olgraph.normalize._facets import (
    DATASET_PROMOTIONS,
    JOB_PROMOTIONS,
    RUN_PROMOTIONS,
    as_dict,
    as_int,
    as_list,
    as_str,
    facet_json_props,
    is_model,
    owner_links,
    promoted_props,
    symlink_edges,
    tag_links,
)
from olgraph.normalize._graph import GraphBuilder, fixed, lww, seen
from olgraph.normalize.mutations import MODEL_LABEL, TIMELINE_PREFIX, Label, Merge, Mutation, Prop, RelType

TERMINAL_STATES = frozenset({"COMPLETE", "FAIL", "ABORT"})
_STATIC = Prop("static", True, Merge.OR)
_RUNTIME = Prop("runtime", True, Merge.OR)
_EXPLICIT = Prop("implicit", False, Merge.OR)


def normalize(event: ParsedEvent) -> list[Mutation]:
    """The mutations ``event`` implies: nodes first, then edges, link sets and reads."""
    g = GraphBuilder()
    if event.kind == "run":
        _run_event(g, event)
    elif event.kind == "job":
        _job_event(g, event)
    else:
        _dataset(g, as_dict(event.raw.get("dataset")), event.event_time, static=True)
    return g.mutations()


def _job(g: GraphBuilder, job: dict[str, Any], at: str, *, static: bool) -> str:
    """Upsert the event's job with its facets, owners and tags."""
    facets = as_dict(job.get("facets"))
    props = [
        *seen(at),
        *facet_json_props("facet", facets, at, deletable=True),
        *promoted_props(JOB_PROMOTIONS, facets, at, deletable=True),
    ]
    if static:
        props.append(_STATIC)
    namespace = str(job.get("namespace"))
    key = g.job(namespace, str(job.get("name")), *props)
    g.node(namespace_key(namespace), Label.NAMESPACE, *seen(at))
    owner_links(g, key, facets, at)
    tag_links(g, key, facets, at)
    return key


def _dataset(
    g: GraphBuilder,
    dataset: dict[str, Any],
    at: str,
    *,
    static: bool = False,
    written: bool = False,
    job: str | None = None,
) -> str | None:
    """Upsert a dataset named by the event, with everything its facets imply.

    ``written``: an output of a RunEvent (a DROP sets ``droppedAt``, any other write
    ``lastModifiedAt``). A DatasetEvent's DROP also sets ``droppedAt``. ``job``: the event's
    job (reported column lineage names it; a dataset ``lineage`` facet may refer to it).
    """
    namespace, name = as_str(dataset.get("namespace")), as_str(dataset.get("name"))
    if namespace is None or name is None:
        return None
    facets = as_dict(dataset.get("facets"))
    props = [
        *seen(at),
        *facet_json_props("facet", facets, at, deletable=True),
        *promoted_props(DATASET_PROMOTIONS, facets, at, deletable=True),
    ]
    if static:
        props.append(_STATIC)
    dropped = _lifecycle_state(facets) == "DROP"
    if dropped and (written or static):
        props.append(Prop("droppedAt", at, Merge.MAX))
    elif written:
        props.append(Prop("lastModifiedAt", at, Merge.MAX))
    key = g.dataset(namespace, name, *props, extra_labels=(MODEL_LABEL,) if is_model(facets) else ())
    g.node(namespace_key(namespace), Label.NAMESPACE, *seen(at))
    schema_fields(g, key, facets, at)
    symlink_edges(g, key, facets, at)
    owner_links(g, key, facets, at)
    tag_links(g, key, facets, at)
    column_lineage(g, key, facets, at, job)
    dataset_lineage(g, key, facets, at, job)
    return key


def _lifecycle_state(facets: dict[str, Any]) -> str | None:
    facet = as_dict(facets.get("lifecycleStateChange"))
    state = as_str(facet.get("lifecycleStateChange"))
    return None if is_deleted(facet) or state is None else state.upper()


def _dataset_version(facets: dict[str, Any]) -> str | None:
    """The ``version`` dataset facet's ``datasetVersion``, if any."""
    facet = as_dict(facets.get("version"))
    return None if is_deleted(facet) else as_str(facet.get("datasetVersion"))


def _job_event(g: GraphBuilder, event: ParsedEvent) -> None:
    """A JobEvent: design-time (static) lineage, no run, no versions."""
    at, raw = event.event_time, event.raw
    job = _job(g, as_dict(raw.get("job")), at, static=True)
    for dataset in map(as_dict, as_list(raw.get("inputs"))):
        key = _dataset(g, dataset, at, static=True, job=job)
        if key is not None:
            g.edge(RelType.CONSUMED_BY, key, job, *seen(at), _STATIC)
    for dataset in map(as_dict, as_list(raw.get("outputs"))):
        key = _dataset(g, dataset, at, static=True, job=job)
        if key is not None:
            g.edge(RelType.PRODUCES, job, key, *seen(at), _STATIC)
    job_lineage(g, job, as_dict(as_dict(raw.get("job")).get("facets")), at)


def _state_props(event_type: str | None, at: str) -> list[Prop]:
    """Run state, endedAt, startedAt and timeline writes of one event (none without an eventType).

    ``timeline.{STATE}`` is the earliest eventTime that reported the state: a bounded
    history (one property per state) however many RUNNING events a run sends.
    """
    if event_type is None:
        return []
    terminal = event_type in TERMINAL_STATES
    version = f"{int(terminal)}|{at}|{event_type}"
    props = [
        lww("state", event_type, version),
        lww("endedAt", at if terminal else None, version),
        Prop(f"{TIMELINE_PREFIX}{event_type}", at, Merge.MIN),
    ]
    if event_type == "START":
        props.append(Prop("startedAt", at, Merge.MIN))
    return props


def _run_event(g: GraphBuilder, event: ParsedEvent) -> None:
    """A RunEvent: the job, the run, its hierarchy and its job- and run-level lineage."""
    at, raw = event.event_time, event.raw
    job = _job(g, as_dict(raw.get("job")), at, static=False)
    run_id = str(event.run_id)
    facets = as_dict(as_dict(raw.get("run")).get("facets"))
    run = g.run(
        run_id,
        fixed("job", job),
        *seen(at, "firstSeenAt", "updatedAt"),
        *_state_props(event.event_type, at),
        *facet_json_props("facet", facets, at, deletable=False),
        *promoted_props(RUN_PROMOTIONS, facets, at, deletable=False),
    )
    g.edge(RelType.RUN_OF, run, job)
    _parent(g, run, job, as_dict(facets.get("parent")), at)
    tag_links(g, run, facets, at)
    for dataset in map(as_dict, as_list(raw.get("inputs"))):
        _input(g, dataset, job, run, at)
    for dataset in map(as_dict, as_list(raw.get("outputs"))):
        _output(g, dataset, job, run, run_id=run_id, at=at)
    job_lineage(g, job, as_dict(as_dict(raw.get("job")).get("facets")), at)


def _input(g: GraphBuilder, dataset: dict[str, Any], job: str, run: str, at: str) -> None:
    """A RunEvent input: CONSUMED_BY, and READ_BY of the named version or a ReadVersion."""
    key = _dataset(g, dataset, at, job=job)
    if key is None:
        return
    io_facets = facet_json_props("inputFacet", as_dict(dataset.get("inputFacets")), at, deletable=False)
    g.edge(RelType.CONSUMED_BY, key, job, *seen(at), _RUNTIME, *io_facets)
    facets = as_dict(dataset.get("facets"))
    version = _dataset_version(facets)
    if version is None:
        g.read_version(run, key, at, *io_facets)
        return
    dv = g.node(
        dataset_version_key(key, version),
        Label.DATASET_VERSION,
        fixed("dataset", key),
        fixed("version", version),
        *_version_schema(facets, at),
    )
    g.edge(RelType.VERSION_OF, dv, key)
    g.edge(RelType.READ_BY, dv, run, Prop("at", at, Merge.MIN), _EXPLICIT, *io_facets)


def _output(g: GraphBuilder, dataset: dict[str, Any], job: str, run: str, *, run_id: str, at: str) -> None:
    """A RunEvent output: PRODUCES, and the DatasetVersion the run WROTE."""
    key = _dataset(g, dataset, at, written=True, job=job)
    if key is None:
        return
    out_facets = as_dict(dataset.get("outputFacets"))
    io_facets = facet_json_props("outputFacet", out_facets, at, deletable=False)
    g.edge(RelType.PRODUCES, job, key, *seen(at), _RUNTIME, *io_facets)
    facets = as_dict(dataset.get("facets"))
    version = _dataset_version(facets) or f"run:{run_id}"
    stats = as_dict(out_facets.get("outputStatistics"))
    counts = {name: as_int(stats.get(name)) for name in ("rowCount", "size", "fileCount")}
    dv = g.node(
        dataset_version_key(key, version),
        Label.DATASET_VERSION,
        fixed("dataset", key),
        fixed("version", version),
        Prop("createdAt", at, Merge.MIN),
        lww("runId", run_id, at),
        _EXPLICIT,
        *(lww(name, value, at) for name, value in counts.items() if value is not None),
        *_version_schema(facets, at),
    )
    g.edge(RelType.VERSION_OF, dv, key)
    g.edge(RelType.WROTE, run, dv, Prop("at", at, Merge.MIN), *io_facets)


def _version_schema(facets: dict[str, Any], at: str) -> list[Prop]:
    """``facet.schema`` of a dataset version: the schema the event gave with it (history and diffs)."""
    schema = facets.get("schema")
    if not isinstance(schema, dict) or is_deleted(schema):
        return []
    return facet_json_props("facet", {"schema": schema}, at, deletable=False)


def _parent(g: GraphBuilder, run: str, job: str, parent: dict[str, Any], at: str) -> None:
    """``parent`` run facet → parent/root run and job stubs, CHILD_OF edges, parent/root ids."""
    if not parent or is_deleted(parent):
        return
    root = as_dict(parent.get("root"))
    root_run = _ref_run(g, root)
    parent_run = _ref_run(g, parent)
    if parent_run is not None and parent_run != run:
        g.node(run, Label.RUN, lww("parentRunId", parent_run.removeprefix("run:"), at))
        g.edge(RelType.CHILD_OF, run, parent_run)
    if root_run is not None:
        root_id = root_run.removeprefix("run:")
        for key in dict.fromkeys((run, parent_run or run)):  # ordered, de-duplicated
            if key != root_run:
                g.node(key, Label.RUN, lww("rootRunId", root_id, at))
    parent_job = _ref_job(g, parent)
    if parent_job is not None and parent_job != job:
        g.edge(RelType.CHILD_OF, job, parent_job)


def _ref_job(g: GraphBuilder, ref: dict[str, Any]) -> str | None:
    """The job stub a parent/root reference names, if well formed."""
    job = as_dict(ref.get("job"))
    namespace, name = as_str(job.get("namespace")), as_str(job.get("name"))
    return g.job(namespace, name) if namespace and name else None


def _ref_run(g: GraphBuilder, ref: dict[str, Any]) -> str | None:
    """The run stub (a run of the referenced job) a parent/root reference names."""
    run_id = as_str(as_dict(ref.get("run")).get("runId"))
    if run_id is None:
        return None
    job = _ref_job(g, ref)
    run = g.run(normalize_run_id(run_id), *([fixed("job", job)] if job else []))
    if job is not None:
        g.edge(RelType.RUN_OF, run, job)
    return run
