"""Standard-facet rules: required properties, JSON types, enums and the full error path."""

from __future__ import annotations

from typing import Any

import pytest

from olgraph.errors import InvalidEvent
from olgraph.ingest._spec import Arr, Obj, Scalar, child
from olgraph.ingest.facets import FACET_RULES, is_deleted, validate_facet, validate_facets


def error_of(kind: Any, name: str, facet: Any, path: str = "f") -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        validate_facet(kind, name, facet, path)
    return info.value


def test_paths_quote_keys_that_are_not_plain() -> None:
    assert child("run.facets", "environment-variables") == "run.facets.environment-variables"
    assert child("a", "spark.logicalPlan") == 'a["spark.logicalPlan"]'
    assert child("", "job") == "job"


@pytest.mark.parametrize(
    ("kind", "name", "facet", "field", "message"),
    [
        ("dataset", "ownership", {"owners": [{"no-name": "x"}]}, "f.owners[0].name", "missing"),
        ("job", "ownership", {"owners": [{"name": 5}]}, "f.owners[0].name", "expected a string, got 5"),
        (
            "run",
            "parent",
            {"run": {"noRunId": 1}, "job": {"namespace": "n", "name": "j"}},
            "f.run.runId",
            "missing",
        ),
        ("run", "parent", {"run": {"runId": "x"}}, "f.job", "missing"),
        (
            "run",
            "parent",
            {"run": {"runId": "x"}, "job": {"namespace": "n", "name": "j"}, "root": {"run": {"runId": "r"}}},
            "f.root.job",
            "missing",
        ),
        (
            "output",
            "outputStatistics",
            {"rowCount": "wrong"},
            "f.rowCount",
            'expected an integer, got "wrong"',
        ),
        ("output", "outputStatistics", {"size": True}, "f.size", "expected an integer, got true"),
        ("input", "dataQualityMetrics", {"noRowCount": 1}, "f", "rowCount, columnMetrics"),
        (
            "input",
            "dataQualityMetrics",
            {"columnMetrics": {"c": {"sum": "x"}}},
            "f.columnMetrics.c.sum",
            "number",
        ),
        (
            "input",
            "dataQualityAssertions",
            {"assertions": [{"assertion": "a"}]},
            "f.assertions[0].success",
            "missing",
        ),
        (
            "dataset",
            "schema",
            {"fields": [{"name": "a", "fields": [{"type": "x"}]}]},
            "f.fields[0].fields[0].name",
            "",
        ),
        ("dataset", "schema", {"fields": {"a": 1}}, "f.fields", "expected an array, got an object"),
        (
            "dataset",
            "symlinks",
            {"identifiers": [{"namespace": "n", "name": "x"}]},
            "f.identifiers[0].type",
            "",
        ),
        (
            "dataset",
            "lifecycleStateChange",
            {"lifecycleStateChange": "EXPLODE"},
            "f.lifecycleStateChange",
            "DROP",
        ),
        ("dataset", "columnLineage", {"fields": {"a": {}}}, "f.fields.a.inputFields", "missing"),
        (
            "dataset",
            "columnLineage",
            {
                "fields": {
                    "a": {
                        "inputFields": [
                            {"namespace": "n", "name": "t", "field": "c", "transformations": [{}]}
                        ]
                    }
                }
            },
            "f.fields.a.inputFields[0].transformations[0].type",
            "missing",
        ),
        ("dataset", "version", {"datasetVersion": 3}, "f.datasetVersion", "string"),
        ("dataset", "subset", {"other": 1}, "f", "inputCondition, outputCondition"),
        ("dataset", "catalog", {"framework": "iceberg", "type": "glue"}, "f.name", "missing"),
        ("job", "jobType", {"processingType": "BATCH"}, "f.integration", "missing"),
        ("job", "sql", {"dialect": "x"}, "f.query", "missing"),
        ("job", "lineage", {"entries": [{"type": "TABLE"}]}, "f.entries[0].type", "DATASET, JOB"),
        (
            "job",
            "lineage",
            {"entries": [{"type": "JOB", "name": "x"}]},
            "f.entries[0].namespace",
            "name is given",
        ),
        (
            "run",
            "environment-variables",
            {"environmentVariables": [{"name": "A"}]},
            "f.environmentVariables[0].value",
            "",
        ),
        ("run", "extractionError", {"errors": [{}]}, "f.errors[0].errorMessage", "missing"),
        ("run", "tags", {"tags": [{"key": "k"}]}, "f.tags[0].value", "missing"),
        ("run", "nominalTime", {"nominalEndTime": "2024-01-01"}, "f.nominalStartTime", "missing"),
    ],
)
def test_malformed_standard_facets_are_rejected(
    kind: Any, name: str, facet: Any, field: str, message: str
) -> None:
    error = error_of(kind, name, facet)
    assert error.field == field
    assert message in str(error)


@pytest.mark.parametrize(
    ("kind", "name", "facet"),
    [
        ("input", "dataQualityMetrics", {"rowCount": 1000, "bytes": 1}),  # Marquez's full event
        ("input", "dataQualityMetrics", {"columnMetrics": {}}),
        ("run", "processing_engine", {"engine_version": "1"}),  # facet 1-0-0
        ("run", "processing_engine", {"version": "2.5"}),
        ("run", "extractionError", {"totalElements": 1, "failedElements": 1, "errors": []}),  # 1-0-0
        ("run", "nominalTime", {"nominalStartTime": "2020-01-01", "nominalEndTime": None}),
        ("output", "outputStatistics", {"rowCount": 5.0}),  # an integral number is an integer
        ("output", "outputStatistics", {}),
        ("dataset", "lifecycleStateChange", {"lifecycleStateChange": "drop"}),
        ("dataset", "schema", {"_deleted": True}),
        ("job", "ownership", {"_deleted": True, "owners": "ignored"}),
        ("job", "ownership", {"owners": [{"name": ""}]}),  # the schema allows it; the normalizer skips it
        ("run", "environmentVariables", {"environmentVariables": [{"name": "A", "value": "1"}]}),
        ("dataset", "subset", {"inputCondition": {"type": "future", "anything": 1}}),
        ("job", "lineage", {"entries": [{"type": "JOB", "inputs": [{"type": "JOB"}]}]}),
        ("dataset", "somethingCustom", {"fields": 12}),
    ],
)
def test_liberal_variants_are_accepted(kind: Any, name: str, facet: Any) -> None:
    validate_facet(kind, name, facet, "f")


def test_a_facet_must_be_an_object_but_may_be_null() -> None:
    validate_facet("job", "documentation", None, "f")
    assert "must be an object" in str(error_of("job", "custom", [1]))


def test_validate_facets_checks_the_map() -> None:
    validate_facets("run", None, "run.facets")
    with pytest.raises(InvalidEvent, match="expected an object of facets"):
        validate_facets("run", [1], "run.facets")
    with pytest.raises(InvalidEvent) as info:
        validate_facets("dataset", {"ok": {}, "documentation": {"description": 1}}, "dataset.facets")
    assert info.value.field == "dataset.facets.documentation.description"


def test_is_deleted_needs_a_true_boolean() -> None:
    assert is_deleted({"_deleted": True})
    assert not is_deleted({"_deleted": "true"})
    assert not is_deleted({"_deleted": False})
    assert not is_deleted(None)


def test_rules_cover_the_standard_facets_of_the_brief() -> None:
    assert set(FACET_RULES["run"]) >= {
        "parent",
        "nominalTime",
        "errorMessage",
        "processing_engine",
        "environment-variables",
        "externalQuery",
        "extractionError",
        "tags",
    }
    assert set(FACET_RULES["job"]) >= {
        "documentation",
        "sql",
        "sourceCode",
        "sourceCodeLocation",
        "ownership",
        "jobType",
        "tags",
        "lineage",
    }
    assert set(FACET_RULES["dataset"]) >= {
        "schema",
        "dataSource",
        "documentation",
        "lifecycleStateChange",
        "version",
        "storage",
        "symlinks",
        "ownership",
        "columnLineage",
        "datasetType",
        "hierarchy",
        "catalog",
        "tags",
        "subset",
    }
    assert set(FACET_RULES["input"]) >= {"dataQualityMetrics", "dataQualityAssertions", "inputStatistics"}
    assert set(FACET_RULES["output"]) >= {"outputStatistics"}


def test_combinators_report_types() -> None:
    with pytest.raises(InvalidEvent, match="expected a boolean, got 1"):
        Scalar("boolean").check(1, "p")
    with pytest.raises(InvalidEvent, match="expected a number, got false"):
        Scalar("number").check(False, "p")
    with pytest.raises(InvalidEvent, match=r"p\[1\]: expected a string"):
        Arr(Scalar("string")).check(["a", 2], "p")
    Obj({"a": Scalar("string")}).check({"a": "x", "unknown": [1]}, "p")
    with pytest.raises(InvalidEvent, match=r"p\.a: required property is missing"):
        Obj({"a": Scalar("string")}).check({"a": None}, "p")
