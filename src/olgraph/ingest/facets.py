"""Validation rules for the standard OpenLineage facets, and the tiny validator they use.

olgraph validates only what it must store meaningfully, so a rule says which properties
are required, what JSON type each known property has, and (rarely) which values are
allowed. The rules are our own, derived from the official facet schemas: where facet
versions disagree, a rule is the most liberal union (e.g. ``processing_engine`` requires
``version`` since 1-1-0 but ``engine_version`` before, so it requires neither). The
``_producer``/``_schemaURL`` base properties are not required (producers omit them).

Identities inside facets (owners, symlinks, parents) may be empty strings as the schemas
allow; the normalizer skips what it cannot key. Unknown properties are always accepted and
a ``null`` optional property counts as absent:
real producers send both. Facets are recognised by their key in the facets map; unknown and
custom facets are not checked. A facet ``{"_deleted": true}`` is always valid. Every failure
is an :class:`InvalidEvent` whose ``field`` is the full path::

    outputs[0].outputFacets.outputStatistics.rowCount: expected an integer, got "wrong"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from olgraph.errors import InvalidEvent
from olgraph.ingest._spec import (
    BOOL,
    INT,
    NUM,
    OBJECT,
    STR,
    Arr,
    Deferred,
    MapOf,
    Obj,
    OneRequired,
    Path,
    Scalar,
    Spec,
    Tagged,
    describe,
    render,
)

# --- the standard facets -------------------------------------------------------------

FacetKind = Literal["run", "job", "dataset", "input", "output"]

_TAGS = Obj(optional={"tags": Arr(Obj({"key": STR, "value": STR}, {"source": STR, "field": STR}))})
_OWNERSHIP = Obj(optional={"owners": Arr(Obj({"name": STR}, {"type": STR}))})
_STATISTICS = Obj(optional={"rowCount": INT, "size": INT, "fileCount": INT})
_JOB_REF = Obj({"namespace": STR, "name": STR}, {"facets": OBJECT})
_RUN_REF = Obj({"runId": STR}, {"facets": OBJECT})

_SUBSET_CONDITION: Spec = Tagged(
    "type",
    {
        "location": Obj({"locations": Arr(STR)}),
        "partition": Obj({"partitions": Arr(Obj({"dimensions": OBJECT}, {"identifier": STR}))}),
        "binary": Obj(
            {
                "left": Deferred(lambda: _SUBSET_CONDITION),
                "right": Deferred(lambda: _SUBSET_CONDITION),
                "operator": STR,
            }
        ),
        "compare": Obj({"left": OBJECT, "right": OBJECT, "comparison": STR}),
    },
    open_tags=True,  # a future condition type is still storable as JSON
)
_SUBSET = OneRequired(
    ("inputCondition", "outputCondition"),
    Obj(optional={"inputCondition": _SUBSET_CONDITION, "outputCondition": _SUBSET_CONDITION}),
)

_COLUMN_METRICS = Obj(
    optional={
        "nullCount": INT,
        "distinctCount": INT,
        "sum": NUM,
        "count": NUM,
        "min": NUM,
        "max": NUM,
        "quantiles": MapOf(NUM),
    }
)
# Every published schema requires columnMetrics, but Marquez's and the proxy's own full
# events send only rowCount (as an early draft required): either one makes the facet useful.
_DATA_QUALITY_METRICS = OneRequired(
    ("rowCount", "columnMetrics"),
    Obj(
        optional={
            "columnMetrics": MapOf(_COLUMN_METRICS),
            "rowCount": INT,
            "bytes": INT,
            "fileCount": INT,
            "lastUpdated": STR,
        }
    ),
)

_SCHEMA_FIELD: Spec = Obj(
    {"name": STR},
    {
        "type": STR,
        "description": STR,
        "ordinal_position": INT,
        "fields": Arr(Deferred(lambda: _SCHEMA_FIELD)),
    },
)

_TRANSFORMATION = Obj({"type": STR}, {"subtype": STR, "description": STR, "masking": BOOL})
_INPUT_FIELD = Obj({"namespace": STR, "name": STR, "field": STR}, {"transformations": Arr(_TRANSFORMATION)})
_COLUMN_LINEAGE = Obj(
    {
        "fields": MapOf(
            Obj(
                {"inputFields": Arr(_INPUT_FIELD)},
                {"transformationDescription": STR, "transformationType": STR},
            )
        )
    },
    {"dataset": Arr(_INPUT_FIELD)},
)

# The `lineage` facet (facets/1-0-0/LineageFacet.json): `type` tells datasets from jobs.
_LINEAGE_INPUT = Tagged(
    "type",
    {
        "DATASET": Obj(
            {"namespace": STR, "name": STR}, {"field": STR, "transformations": Arr(_TRANSFORMATION)}
        ),
        "JOB": Obj(
            optional={"namespace": STR, "name": STR, "runId": STR, "transformations": Arr(_TRANSFORMATION)},
            together=(("namespace", "name"),),
        ),
    },
)
_LINEAGE_FIELDS = MapOf(Obj({"inputs": Arr(_LINEAGE_INPUT)}))
_LINEAGE_ENTRY = Tagged(
    "type",
    {
        "DATASET": Obj(
            {"namespace": STR, "name": STR}, {"inputs": Arr(_LINEAGE_INPUT), "fields": _LINEAGE_FIELDS}
        ),
        "JOB": Obj(
            optional={"namespace": STR, "name": STR, "runId": STR, "inputs": Arr(_LINEAGE_INPUT)},
            together=(("namespace", "name"),),
        ),
    },
)

_ENVIRONMENT = Obj({"environmentVariables": Arr(Obj({"name": STR, "value": STR}))})

_LIFECYCLE_STATES = ("ALTER", "CREATE", "DROP", "OVERWRITE", "RENAME", "TRUNCATE")

RUN_FACETS: Mapping[str, Spec] = {
    "parent": Obj({"run": _RUN_REF, "job": _JOB_REF}, {"root": Obj({"run": _RUN_REF, "job": _JOB_REF})}),
    "nominalTime": Obj({"nominalStartTime": STR}, {"nominalEndTime": STR}),
    "errorMessage": Obj({"message": STR, "programmingLanguage": STR}, {"stackTrace": STR}),
    "processing_engine": Obj(
        optional={"version": STR, "name": STR, "openlineageAdapterVersion": STR, "engine_version": STR}
    ),
    # The schema's key is environmentVariables; the Python client and Airflow send environment-variables.
    "environment-variables": _ENVIRONMENT,
    "environmentVariables": _ENVIRONMENT,
    "externalQuery": Obj({"externalQueryId": STR, "source": STR}),
    "extractionError": Obj(
        {"errors": Arr(Obj({"errorMessage": STR}, {"stackTrace": STR, "task": STR, "taskNumber": INT}))},
        {"totalTasks": INT, "failedTasks": INT, "totalElements": INT, "failedElements": INT},
    ),
    "tags": _TAGS,
}

JOB_FACETS: Mapping[str, Spec] = {
    "documentation": Obj({"description": STR}, {"contentType": STR}),
    "sql": Obj({"query": STR}, {"dialect": STR}),
    "sourceCode": Obj({"language": STR, "sourceCode": STR}),
    "sourceCodeLocation": Obj(
        {"type": STR, "url": STR},
        {k: STR for k in ("repoUrl", "path", "version", "tag", "branch", "pullRequestNumber")},
    ),
    "ownership": _OWNERSHIP,
    "jobType": Obj(
        {"processingType": STR, "integration": STR},
        {
            "jobType": STR,
            "emissionPattern": Obj({"eventTrigger": STR, "eventContentMode": STR}, {"windowDuration": INT}),
        },
    ),
    "tags": _TAGS,
    "lineage": Obj({"entries": Arr(_LINEAGE_ENTRY)}),
}

DATASET_FACETS: Mapping[str, Spec] = {
    "schema": Obj(optional={"fields": Arr(_SCHEMA_FIELD)}),
    "dataSource": Obj(optional={"name": STR, "uri": STR}),
    "documentation": Obj({"description": STR}, {"contentType": STR}),
    "lifecycleStateChange": Obj(
        {"lifecycleStateChange": Scalar("string", enum=_LIFECYCLE_STATES)},
        {"previousIdentifier": Obj({"name": STR, "namespace": STR})},
    ),
    "version": Obj({"datasetVersion": STR}),
    "storage": Obj({"storageLayer": STR}, {"fileFormat": STR}),
    "symlinks": Obj(optional={"identifiers": Arr(Obj({"namespace": STR, "name": STR, "type": STR}))}),
    "ownership": _OWNERSHIP,
    "columnLineage": _COLUMN_LINEAGE,
    "datasetType": Obj({"datasetType": STR}, {"subType": STR}),
    "hierarchy": Obj({"hierarchy": Arr(Obj({"type": STR, "name": STR}))}),
    "catalog": Obj(
        {"framework": STR, "type": STR, "name": STR},
        {"metadataUri": STR, "warehouseUri": STR, "source": STR, "catalogProperties": MapOf(STR)},
    ),
    "tags": _TAGS,
    "subset": _SUBSET,
    "dataQualityMetrics": _DATA_QUALITY_METRICS,
    "lineage": Obj(optional={"inputs": Arr(_LINEAGE_INPUT), "fields": _LINEAGE_FIELDS}),
}

INPUT_FACETS: Mapping[str, Spec] = {
    "dataQualityMetrics": _DATA_QUALITY_METRICS,
    "dataQualityAssertions": Obj(
        {"assertions": Arr(Obj({"assertion": STR, "success": BOOL}, {"column": STR, "params": OBJECT}))}
    ),
    "inputStatistics": _STATISTICS,
    "subset": _SUBSET,
}

OUTPUT_FACETS: Mapping[str, Spec] = {"outputStatistics": _STATISTICS, "subset": _SUBSET}

FACET_RULES: Mapping[FacetKind, Mapping[str, Spec]] = {
    "run": RUN_FACETS,
    "job": JOB_FACETS,
    "dataset": DATASET_FACETS,
    "input": INPUT_FACETS,
    "output": OUTPUT_FACETS,
}


def is_deleted(facet: Any) -> bool:
    """Whether ``facet`` is the spec's deletion marker (``{"_deleted": true, ...}``)."""
    return isinstance(facet, dict) and facet.get("_deleted") is True


def validate_facet(kind: FacetKind, name: str, facet: Any, path: Path) -> None:
    """Check one facet found under key ``name`` of a ``kind`` facets map at ``path``.

    A ``null`` facet is tolerated (nothing to store); any other facet must be an object.

    >>> validate_facet("output", "outputStatistics", {"rowCount": "x"}, "out.outputStatistics")
    Traceback (most recent call last):
    olgraph.errors.InvalidEvent: out.outputStatistics.rowCount: expected an integer, got "x"
    """
    if facet is None:
        return
    if not isinstance(facet, dict):
        raise InvalidEvent(f"a facet must be an object, got {describe(facet)}", field=render(path))
    if is_deleted(facet):
        return
    rule = FACET_RULES[kind].get(name)
    if rule is not None:
        rule.check(facet, path)


def validate_facets(kind: FacetKind, facets: Any, path: Path) -> None:
    """Check a facets map (absent/``null`` is fine) and every standard facet in it."""
    if facets is None:
        return
    if not isinstance(facets, dict):
        raise InvalidEvent(f"expected an object of facets, got {describe(facets)}", field=render(path))
    for name, facet in facets.items():
        validate_facet(kind, name, facet, (path, name))
