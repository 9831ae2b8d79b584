"""How MLflow entities are named (docs/decisions/0008-mlflow-naming.md): the edge cases.

The plugin and ``olgraph sync mlflow`` must name one tracking server, run or model the same
way whatever URI spelling each of them was given, or one model becomes two nodes.
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from olgraph.integrations.mlflow import naming


@pytest.mark.parametrize(
    ("uri", "namespace"),
    [
        ("http://mlflow:5000", "mlflow://mlflow:5000"),
        ("http://mlflow:5000/", "mlflow://mlflow:5000"),
        ("HTTP://MLflow.Example.com:5000", "mlflow://mlflow.example.com:5000"),
        (
            "https://user:secret@mlflow.example.com/tracking/?token=x#frag",
            "mlflow://mlflow.example.com/tracking",
        ),
        ("https://mlflow.example.com:443/a/b//", "mlflow://mlflow.example.com:443/a/b"),
        ("/srv/mlruns", "mlflow+file:///srv/mlruns"),
        ("/srv/mlruns/", "mlflow+file:///srv/mlruns"),
        ("file:///srv/mlruns", "mlflow+file:///srv/mlruns"),
        ("file:/srv/mlruns", "mlflow+file:///srv/mlruns"),
        ("sqlite:////srv/mlflow.db", "mlflow+sqlite:////srv/mlflow.db"),
        ("postgresql://mlflow:pw@db:5432/mlflow?sslmode=require", "mlflow+postgresql://db:5432/mlflow"),
        ("mysql+pymysql://u:p@db/mlflow", "mlflow+mysql+pymysql://db/mlflow"),
        ("  http://mlflow:5000  ", "mlflow://mlflow:5000"),
    ],
)
def test_namespace_of_a_tracking_uri(uri: str, namespace: str) -> None:
    assert naming.mlflow_namespace(uri) == namespace


@given(
    user=st.text(alphabet="abcxyz019", min_size=1, max_size=8),
    password=st.text(alphabet="abcxyz019-_.~", min_size=1, max_size=12),
    scheme=st.sampled_from(["http", "https", "postgresql", "mysql"]),
)
def test_credentials_never_reach_a_namespace_or_public_uri(user: str, password: str, scheme: str) -> None:
    uri = f"{scheme}://{user}:{password}@host:1234/db?password={password}#{password}"
    prefix = "mlflow" if scheme.startswith("http") else f"mlflow+{scheme}"
    assert naming.mlflow_namespace(uri) == f"{prefix}://host:1234/db"
    assert naming.public_uri(uri) == f"{scheme}://host:1234/db"


def test_the_same_server_spelt_two_ways_is_one_namespace() -> None:
    assert naming.mlflow_namespace("http://h:5000") == naming.mlflow_namespace("http://me:pw@H:5000/")


def test_an_ipv6_tracking_server_keeps_its_brackets() -> None:
    assert naming.mlflow_namespace("http://[::1]:5000") == "mlflow://[::1]:5000"


@pytest.mark.parametrize(
    ("uri", "public"),
    [
        ("models:/churn/7", "models:/churn/7"),
        ("models:/churn@champion", "models:/churn@champion"),
        ("runs:/0123abc/model", "runs:/0123abc/model"),
        ("s3://bucket/key?versionId=3", "s3://bucket/key"),
        ("https://u:p@host:8443/artifacts#x", "https://host:8443/artifacts"),
        ("/local/path", "/local/path"),
        ("file:///tmp/mlruns/1/abc/artifacts", "file:///tmp/mlruns/1/abc/artifacts"),
    ],
)
def test_public_uri_keeps_the_location_and_drops_secrets(uri: str, public: str) -> None:
    assert naming.public_uri(uri) == public


def test_run_uuid_is_the_run_id_digits() -> None:
    run_id = "9c44a83ee23b407795d55eefa53388e3"
    assert naming.run_uuid(run_id, "mlflow://h") == "9c44a83e-e23b-4077-95d5-5eefa53388e3"
    assert naming.run_uuid(run_id.upper(), "mlflow://h") == naming.run_uuid(run_id, "mlflow://other")


@given(run_id=st.text(min_size=1, max_size=40).filter(lambda s: not _is_hex32(s)))
def test_run_uuid_of_any_other_id_is_stable_and_per_server(run_id: str) -> None:
    first = naming.run_uuid(run_id, "mlflow://a")
    assert first == naming.run_uuid(run_id, "mlflow://a")
    assert uuid.UUID(first).version == 5
    assert first != naming.run_uuid(run_id, "mlflow://b")


def _is_hex32(text: str) -> bool:
    try:
        uuid.UUID(hex=text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("churn", "models/churn"),
        ("team.churn model", "models/team.churn model"),
        ('it\'s "quoted"', 'models/it\'s "quoted"'),
        ("catalog.schema.model", "models/catalog.schema.model"),
    ],
)
def test_registered_model_names_are_kept_verbatim(name: str, expected: str) -> None:
    assert naming.registered_model(name) == expected


def test_logged_models_and_artifacts() -> None:
    assert naming.logged_model("m-1ac7") == "logged_models/m-1ac7"
    assert naming.run_artifact("abc", "model") == "runs/abc/model"
    assert naming.run_artifact("abc", "/nested/dir/model/") == "runs/abc/nested/dir/model"
    assert naming.experiment_job("Default") == "Default"
    assert naming.experiment_job("/Users/me@example.com/exp") == "/Users/me@example.com/exp"
