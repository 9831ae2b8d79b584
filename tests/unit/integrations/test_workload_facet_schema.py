"""``schemas/facets/WorkloadRunFacet.json`` describes the ``olgraph_workload`` facet the plugins send.

The schema extends the official ``RunFacet``, which is resolved offline from
``../shared/openlineage`` (as the conformance tests do).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from olgraph.integrations._common import WORKLOAD_FACET, Workload

REPO = Path(__file__).resolve().parents[3]
SCHEMA_PATH = REPO / "schemas" / "facets" / "WorkloadRunFacet.json"
CORE = REPO / ".." / "shared" / "openlineage" / "spec" / "OpenLineage.json"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


SCHEMA = _load(SCHEMA_PATH)
REGISTRY: Registry[Any] = Registry().with_resources(
    (doc["$id"], Resource.from_contents(doc)) for doc in (_load(CORE), SCHEMA)
)
FACET_VALIDATOR = Draft202012Validator(
    {"$ref": f"{SCHEMA['$id']}#/$defs/WorkloadRunFacet"}, registry=REGISTRY
)
RUN_FACETS_VALIDATOR = Draft202012Validator(SCHEMA, registry=REGISTRY)


def _ray_facet() -> dict[str, Any]:
    extra = {"rayVersion": "2.60.0", "rayJobId": "01000000", "rayNamespace": "etl", "rayAddress": None}
    return Workload("ray", workload_id="01000000", extra=extra).facet("ray")


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_facet_a_plugin_sends_is_valid_and_points_at_this_schema() -> None:
    facet = _ray_facet()
    assert list(FACET_VALIDATOR.iter_errors(facet)) == []
    assert list(RUN_FACETS_VALIDATOR.iter_errors({WORKLOAD_FACET: facet})) == []
    assert facet["_schemaURL"] == f"{SCHEMA['$id']}#/$defs/WorkloadRunFacet"
    assert "rayAddress" not in facet  # unknown values are left out, not sent as null


def test_a_minimal_facet_of_another_plugin_is_valid() -> None:
    facet = Workload("mlflow", None, {"mlflowVersion": "3.1.0", "experimentId": "1"}).facet("mlflow")
    assert list(FACET_VALIDATOR.iter_errors(facet)) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda f: f.pop("workloadType"), "'workloadType' is a required property"),
        (lambda f: f.pop("_producer"), "'_producer' is a required property"),
        (lambda f: f.update(pid="4242"), "'4242' is not of type 'integer'"),
        (lambda f: f.update(rayJobId=1), "1 is not of type 'string'"),
        (lambda f: f.update(somethingElse={"nested": True}), "is not of type 'string'"),
    ],
)
def test_an_invalid_facet_fails(change: Any, reason: str) -> None:
    facet = _ray_facet()
    change(facet)
    errors = [e.message for e in FACET_VALIDATOR.iter_errors(facet)]
    assert any(reason in message for message in errors), errors
