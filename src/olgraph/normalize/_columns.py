"""Field-level structure and lineage: schema fields, column lineage, the ``lineage`` facets.

* ``schema`` → ``(Dataset)-[:HAS_FIELD]->(Field)``; nested ``fields`` give dotted paths.
* ``columnLineage`` → ``(input Field)-[:DERIVES]->(output Field)`` per output/input field
  pair, and the dataset-wide ``dataset`` dependencies → ``(Field)-[:INFLUENCES]->(Dataset)``.
  Transformations become ``TYPE/SUBTYPE`` strings (a set, unioned across events) and, in
  full, ``transformationDetails`` (canonical JSON of each, unioned too); the deprecated
  per-field ``transformationType`` is used when an input field lists none. ``jobs`` lists
  the jobs whose runs reported the edge.
* The job ``lineage`` facet (declared lineage) → static CONSUMED_BY/PRODUCES edges, with
  field-level DERIVES/INFLUENCES where it names fields; job-to-job entries → static
  ``(Job)-[:FEEDS]->(Job)``.
* The dataset ``lineage`` facet (a dataset's own declared sources, no job in between) →
  static ``(Dataset)-[:FEEDS]->(Dataset)`` from source datasets, PRODUCES from source jobs,
  DERIVES/INFLUENCES where it names fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from olgraph.ingest.facets import is_deleted
from olgraph.keys import field_key
from olgraph.normalize._facets import as_dict, as_list, as_str
from olgraph.normalize._graph import GraphBuilder, canonical, fixed, lww, seen
from olgraph.normalize.mutations import Label, Merge, Prop, RelType

# Deprecated ColumnLineage `transformationType` values in today's TYPE/SUBTYPE terms.
_LEGACY_TRANSFORMATIONS = {"IDENTITY": ("DIRECT/IDENTITY", False), "MASKED": ("DIRECT/TRANSFORMATION", True)}


def field_node(g: GraphBuilder, dataset: str, path: str, *props: Prop) -> str:
    """Upsert the Field ``path`` of ``dataset`` (already upserted) and its HAS_FIELD edge.

    A field carries its dataset's ``namespace`` (so it is listed and searched by namespace).
    """
    key = g.node(
        field_key(dataset, path), Label.FIELD, *g.field_identity(dataset), fixed("name", path), *props
    )
    g.edge(RelType.HAS_FIELD, dataset, key)
    return key


def schema_fields(g: GraphBuilder, dataset: str, facets: Mapping[str, Any], at: str) -> None:
    """``schema`` facet → Field nodes with ``type``/``description`` (nested → dotted paths)."""
    facet = as_dict(facets.get("schema"))
    if is_deleted(facet):
        return
    stack = [("", f) for f in reversed(as_list(facet.get("fields")))]
    while stack:  # iterative: nesting depth is the producer's choice
        prefix, spec = stack.pop()
        spec = as_dict(spec)
        name = as_str(spec.get("name"))
        if name is None:
            continue
        path = f"{prefix}{name}"
        props = [lww(p, as_str(spec.get(p)), at) for p in ("type", "description") if as_str(spec.get(p))]
        field_node(g, dataset, path, *props)
        stack.extend((f"{path}.", f) for f in reversed(as_list(spec.get("fields"))))


def _transformation_props(
    transformations: Any, legacy: Any = None, description: Any = None
) -> tuple[Prop, ...]:
    """``transformations`` (UNION of ``TYPE/SUBTYPE``), ``transformationDetails`` (UNION of
    canonical ``{type, subtype, description, masking}`` JSON) and ``masking`` (OR) of one
    dependency. ``legacy``/``description``: the deprecated per-field type and description."""
    names: set[str] = set()
    details: set[str] = set()
    masking = False
    for spec in map(as_dict, as_list(transformations)):
        kind = as_str(spec.get("type"))
        if kind is None:
            continue
        subtype = as_str(spec.get("subtype"))
        names.add(f"{kind}/{subtype}".upper() if subtype else kind.upper())
        masked = spec.get("masking") is True
        masking = masking or masked
        details.add(_detail(kind, subtype, spec.get("description"), masked))
    legacy_type = as_str(legacy)
    if not names and legacy_type:
        name, masked = _LEGACY_TRANSFORMATIONS.get(legacy_type.upper(), (legacy_type.upper(), False))
        names.add(name)
        masking = masked
        kind, _, subtype = name.partition("/")
        details.add(_detail(kind, subtype or None, description, masked))
    return (
        Prop("transformations", sorted(names), Merge.UNION),
        Prop("transformationDetails", sorted(details), Merge.UNION),
        Prop("masking", masking, Merge.OR),
    )


def _detail(kind: str, subtype: str | None, description: Any, masking: bool) -> str:
    """One transformation as stored in ``transformationDetails`` (canonical JSON)."""
    return canonical(
        {
            "type": kind.upper(),
            "subtype": subtype.upper() if subtype else None,
            "description": as_str(description),
            "masking": masking,
        }
    )


def _input_field(g: GraphBuilder, ref: Any, field_name: str = "field") -> str | None:
    """The Field a column-lineage input reference names (with its dataset), if well formed."""
    ref = as_dict(ref)
    namespace, name = as_str(ref.get("namespace")), as_str(ref.get("name"))
    path = ref.get(field_name)
    if namespace is None or name is None or not isinstance(path, str):
        return None
    return field_node(g, g.dataset(namespace, name), path)


def column_lineage(
    g: GraphBuilder, dataset: str, facets: Mapping[str, Any], at: str, job: str | None = None
) -> None:
    """``columnLineage`` facet of ``dataset`` → DERIVES and INFLUENCES edges (``job``: the reporting job)."""
    facet = as_dict(facets.get("columnLineage"))
    if is_deleted(facet):
        return
    common = (*seen(at), *([Prop("jobs", [job], Merge.UNION)] if job else []))
    for out_name, spec in as_dict(facet.get("fields")).items():
        entry = as_dict(spec)
        target = field_node(g, dataset, out_name)
        for ref in as_list(entry.get("inputFields")):
            source = _input_field(g, ref)
            if source is not None:
                legacy, text = entry.get("transformationType"), entry.get("transformationDescription")
                props = _transformation_props(as_dict(ref).get("transformations"), legacy, text)
                g.edge(RelType.DERIVES, source, target, *props, *common)
    for ref in as_list(facet.get("dataset")):
        source = _input_field(g, ref)
        if source is not None:
            props = _transformation_props(as_dict(ref).get("transformations"))
            g.edge(RelType.INFLUENCES, source, dataset, *props, *common)


def _static_edge(g: GraphBuilder, rel: RelType, source: str, target: str, at: str, *props: Prop) -> None:
    g.edge(rel, source, target, *seen(at), Prop("static", True, Merge.OR), *props)


def _lineage_source(g: GraphBuilder, ref: dict[str, Any], own_job: str) -> tuple[str, str] | None:
    """``("dataset"|"job", key)`` of a lineage-facet input (a job without a name is the event's own)."""
    kind = as_str(ref.get("type"))
    namespace, name = as_str(ref.get("namespace")), as_str(ref.get("name"))
    if kind is not None and kind.upper() == "JOB":
        return ("job", g.job(namespace, name) if namespace and name else own_job)
    if kind is not None and kind.upper() == "DATASET" and namespace and name:
        return ("dataset", g.dataset(namespace, name))
    return None


def _feed_dataset(
    g: GraphBuilder, target: str, ref: Any, own_job: str, at: str, *, target_field: str | None
) -> None:
    """One lineage-facet input feeding dataset ``target`` (or its field ``target_field``).

    A dataset source reaches the target through the event's job (a job's declared lineage
    is what that job does); a job source produces the target directly.
    """
    ref = as_dict(ref)
    source = _lineage_source(g, ref, own_job)
    if source is None:
        return
    kind, key = source
    if kind == "job":
        _static_edge(g, RelType.PRODUCES, key, target, at)
        return
    _static_edge(g, RelType.CONSUMED_BY, key, own_job, at)
    _static_edge(g, RelType.PRODUCES, own_job, target, at)
    _field_edge(g, key, ref, target, target_field=target_field, at=at)


def _field_edge(
    g: GraphBuilder, source: str, ref: dict[str, Any], target: str, *, target_field: str | None, at: str
) -> None:
    """The DERIVES (into ``target_field``) or INFLUENCES (into ``target``) edge of a source field."""
    path = ref.get("field")
    if not isinstance(path, str):
        return
    props = (*_transformation_props(ref.get("transformations")), *seen(at), Prop("static", True, Merge.OR))
    if target_field is None:
        g.edge(RelType.INFLUENCES, field_node(g, source, path), target, *props)
    else:
        g.edge(RelType.DERIVES, field_node(g, source, path), field_node(g, target, target_field), *props)


def _feed_job(g: GraphBuilder, target: str, ref: Any, own_job: str, at: str) -> None:
    """One lineage-facet input feeding job ``target``: datasets are CONSUMED_BY it, a job FEEDS it."""
    ref = as_dict(ref)
    source = _lineage_source(g, ref, own_job)
    if source is None:
        return
    kind, key = source
    if kind == "job":
        if key != target:
            _static_edge(g, RelType.FEEDS, key, target, at)
        return
    _static_edge(g, RelType.CONSUMED_BY, key, target, at)
    path = ref.get("field")
    if isinstance(path, str):
        field_node(g, key, path)


def job_lineage(g: GraphBuilder, own_job: str, facets: Mapping[str, Any], at: str) -> None:
    """The job ``lineage`` facet → static lineage edges (facets/1-0-0/LineageFacet.json)."""
    facet = as_dict(facets.get("lineage"))
    if is_deleted(facet):
        return
    for entry in map(as_dict, as_list(facet.get("entries"))):
        target = _lineage_source(g, entry, own_job)
        if target is None:
            continue
        kind, key = target
        if kind == "job":
            for ref in as_list(entry.get("inputs")):
                _feed_job(g, key, ref, own_job, at)
            continue
        for ref in as_list(entry.get("inputs")):
            _feed_dataset(g, key, ref, own_job, at, target_field=None)
        for field_name, spec in as_dict(entry.get("fields")).items():
            for ref in as_list(as_dict(spec).get("inputs")):
                _feed_dataset(g, key, ref, own_job, at, target_field=field_name)


def dataset_lineage(
    g: GraphBuilder, target: str, facets: Mapping[str, Any], at: str, own_job: str | None
) -> None:
    """The dataset ``lineage`` facet of ``target`` → static FEEDS / PRODUCES / DERIVES / INFLUENCES.

    Unlike the job facet there is no job in between: a source dataset FEEDS the target
    directly. A source job without a name is the event's own job (``own_job``; none in a
    DatasetEvent, where such a source is skipped).
    """
    facet = as_dict(facets.get("lineage"))
    if is_deleted(facet) or "entries" in facet:  # a job-shaped facet on a dataset: not ours to read
        return
    entries: list[tuple[Any, str | None]] = [(ref, None) for ref in as_list(facet.get("inputs"))]
    for field_name, spec in as_dict(facet.get("fields")).items():
        entries.extend((ref, field_name) for ref in as_list(as_dict(spec).get("inputs")))
    for raw, target_field in entries:
        ref = as_dict(raw)
        source = _dataset_lineage_source(g, ref, own_job)
        if source is None:
            continue
        kind, key = source
        if kind == "job":
            _static_edge(g, RelType.PRODUCES, key, target, at)
            continue
        if key != target:
            _static_edge(g, RelType.FEEDS, key, target, at)
        _field_edge(g, key, ref, target, target_field=target_field, at=at)


def _dataset_lineage_source(
    g: GraphBuilder, ref: dict[str, Any], own_job: str | None
) -> tuple[str, str] | None:
    kind = as_str(ref.get("type"))
    namespace, name = as_str(ref.get("namespace")), as_str(ref.get("name"))
    if kind is not None and kind.upper() == "JOB":
        if namespace and name:
            return ("job", g.job(namespace, name))
        return ("job", own_job) if own_job else None
    if kind is not None and kind.upper() == "DATASET" and namespace and name:
        return ("dataset", g.dataset(namespace, name))
    return None
