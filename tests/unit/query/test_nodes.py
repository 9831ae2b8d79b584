"""Node id resolution: ids are checked for shape, never split, and looked up exactly."""

from __future__ import annotations

import pytest

from olgraph.errors import InvalidQuery
from olgraph.query.nodes import check_node_id, resolve_dataset_key, resolve_job_key, resolve_node_key


@pytest.mark.parametrize(
    "node_id",
    [
        "dataset:gs://bucket:path/to:x",
        "dataset:postgres://host:5432:public.orders",
        "job:airflow:etl.load_orders",
        "job:a:b",
        "dataset:ns:name:with:colons",
        "dataset:s3://lake:raw/orders/ünïcode",
    ],
)
def test_well_formed_ids_are_the_key_unchanged(node_id: str) -> None:
    assert resolve_node_key(node_id=node_id) == node_id


@pytest.mark.parametrize(
    ("node_id", "reason"),
    [
        ("", "not a node id"),
        ("orders", "not a node id"),
        ("table:ns:name", "not a node id"),
        ("Dataset:ns:name", "not a node id"),
        ("run:0176a8c2-fe01-7439-87e6-56a1a1b4029f", "not a node id"),
        ("dataset:", "empty namespace or name"),
        ("dataset:ns", "empty namespace or name"),
        ("dataset:ns:", "empty namespace or name"),
        ("dataset::name", "empty namespace or name"),
        ("job::", "empty namespace or name"),
        ("job:a:", "empty namespace or name"),
    ],
)
def test_malformed_ids_are_refused_naming_node_id(node_id: str, reason: str) -> None:
    with pytest.raises(InvalidQuery, match=reason) as caught:
        check_node_id(node_id)
    assert str(caught.value).startswith("nodeId: ")


def test_parts_build_the_same_key_as_the_normalizer_would() -> None:
    assert resolve_node_key(node_type="dataset", namespace="gs://bucket", name="path/to:x") == (
        "dataset:gs://bucket:path/to:x"
    )
    assert resolve_node_key(node_type="model", namespace="mlflow", name="churn") == "dataset:mlflow:churn"
    assert (
        resolve_node_key(node_type="job", namespace="spark://h:7077", name="a:b") == "job:spark://h:7077:a:b"
    )


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({}, "nodeId"),
        ({"node_id": "job:a:b", "namespace": "a"}, "nodeId"),
        ({"node_type": "job", "namespace": "a"}, "name"),
        ({"node_type": "job", "name": "b"}, "namespace"),
        ({"namespace": "a", "name": "b"}, "type"),
        ({"node_type": "job", "namespace": "", "name": "b"}, "namespace"),
        ({"node_type": "run", "namespace": "a", "name": "b"}, "type"),
    ],
)
def test_incomplete_or_conflicting_parameters_name_the_culprit(kwargs: dict[str, str], param: str) -> None:
    with pytest.raises(InvalidQuery) as caught:
        resolve_node_key(**kwargs)
    assert str(caught.value).startswith(f"{param}: ")


def test_typed_resolvers_refuse_the_other_kind() -> None:
    assert resolve_dataset_key("dataset:a:b", None, None) == "dataset:a:b"
    assert resolve_dataset_key(None, "gs://b", "x:y") == "dataset:gs://b:x:y"
    assert resolve_job_key(None, "airflow", "dag.task") == "job:airflow:dag.task"
    with pytest.raises(InvalidQuery, match="not a dataset id"):
        resolve_dataset_key("job:a:b", None, None)
    with pytest.raises(InvalidQuery, match="not a job id"):
        resolve_job_key("dataset:a:b", None, None)
