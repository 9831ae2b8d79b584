"""Field-level structure and lineage: schema fields, column lineage, the ``lineage`` facets.

* ``schema`` → ``(Dataset)-[:HAS_FIELD]->(Field)``; nested ``fields`` give dotted paths.
* ``columnLineage`` → ``(input Field)-[:DERIVES]->(output Field)`` per output/input field
  pair, and the dataset-wide ``dataset`` dependencies → ``(Field)-[:INFLUENCES]->(Dataset)``.
  Transformations become ``TYPE/SUBTYPE`` strings (a set, unioned across events); the
  deprecated per-field ``transformationType`` is used when an input field lists none.
* The job ``lineage`` facet (declared lineage) → static CONSUMED_BY/PRODUCES edges, with
  field-level DERIVES/INFLUENCES where it names fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from olgraph.ingest.facets import is_deleted
from olgraph.keys import field_key
from olgraph.normalize._facets import as_dict, as_list, as_str
from olgraph.normalize._graph import GraphBuilder, fixed, lww, seen
from olgraph.normalize.mutations import Label, Merge, Prop, RelType

# Deprecated ColumnLineage `transformationType` values in today's TYPE/SUBTYPE terms.
_LEGACY_TRANSFORMATIONS = {"IDENTITY": ("DIRECT/IDENTITY", False), "MASKED": ("DIRECT/TRANSFORMATION", True)}


def field_node(g: GraphBuilder, dataset: str, path: str, *props: Prop) -> str:
    """Upsert the Field ``path`` of ``dataset`` (already upserted) and its HAS_FIELD edge."""
    key = g.node(
        field_key(dataset, path), Label.FIELD, fixed("dataset", dataset), fixed("name", path), *props
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


def _transformation_props(transformations: Any, legacy: Any = None) -> tuple[Prop, Prop]:
    """``transformations`` (UNION of ``TYPE/SUBTYPE``) and ``masking`` (OR) of one dependency."""
    names: set[str] = set()
    masking = False
    for spec in map(as_dict, as_list(transformations)):
        kind = as_str(spec.get("type"))
        if kind is None:
            continue
        subtype = as_str(spec.get("subtype"))
        names.add(f"{kind}/{subtype}".upper() if subtype else kind.upper())
        masking = masking or spec.get("masking") is True
    legacy_type = as_str(legacy)
    if not names and legacy_type:
        name, masked = _LEGACY_TRANSFORMATIONS.get(legacy_type.upper(), (legacy_type.upper(), False))
        names.add(name)
        masking = masked
    return Prop("transformations", sorted(names), Merge.UNION), Prop("masking", masking, Merge.OR)


def _input_field(g: GraphBuilder, ref: Any, field_name: str = "field") -> str | None:
    """The Field a column-lineage input reference names (with its dataset), if well formed."""
    ref = as_dict(ref)
    namespace, name = as_str(ref.get("namespace")), as_str(ref.get("name"))
    path = ref.get(field_name)
    if namespace is None or name is None or not isinstance(path, str):
        return None
    return field_node(g, g.dataset(namespace, name), path)


def column_lineage(g: GraphBuilder, dataset: str, facets: Mapping[str, Any]) -> None:
    """``columnLineage`` facet of ``dataset`` → DERIVES and INFLUENCES edges."""
    facet = as_dict(facets.get("columnLineage"))
    if is_deleted(facet):
        return
    for out_name, spec in as_dict(facet.get("fields")).items():
        entry = as_dict(spec)
        target = field_node(g, dataset, out_name)
        for ref in as_list(entry.get("inputFields")):
            source = _input_field(g, ref)
            if source is not None:
                legacy = entry.get("transformationType")
                props = _transformation_props(as_dict(ref).get("transformations"), legacy)
                g.edge(RelType.DERIVES, source, target, *props)
    for ref in as_list(facet.get("dataset")):
        source = _input_field(g, ref)
        if source is not None:
            g.edge(
                RelType.INFLUENCES,
                source,
                dataset,
                *_transformation_props(as_dict(ref).get("transformations")),
            )


def _static_edge(g: GraphBuilder, rel: RelType, source: str, target: str, at: str) -> None:
    g.edge(rel, source, target, *seen(at), Prop("static", True, Merge.OR))


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
    path = ref.get("field")
    if isinstance(path, str):
        props = _transformation_props(ref.get("transformations"))
        if target_field is None:
            g.edge(RelType.INFLUENCES, field_node(g, key, path), target, *props)
        else:
            g.edge(RelType.DERIVES, field_node(g, key, path), field_node(g, target, target_field), *props)


def _feed_job(g: GraphBuilder, target: str, ref: Any, own_job: str, at: str) -> None:
    """One lineage-facet input feeding job ``target``: datasets are CONSUMED_BY it.

    Job-to-job entries have no data-flow relationship in the graph model; they stay in
    the facet JSON.
    """
    ref = as_dict(ref)
    source = _lineage_source(g, ref, own_job)
    if source is not None and source[0] == "dataset":
        _static_edge(g, RelType.CONSUMED_BY, source[1], target, at)
        path = ref.get("field")
        if isinstance(path, str):
            field_node(g, source[1], path)


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
