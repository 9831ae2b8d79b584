"""What the MLflow sync reads back from the graph: only what it owns (no MLflow server needed)."""

from __future__ import annotations

from olgraph.integrations.mlflow.sync.graph import Previous
from olgraph.integrations.mlflow.sync.source import Source


def test_previous_keeps_only_what_the_sync_owns() -> None:
    source = Source("http://mlflow:5000")
    ns = source.tracking_namespace
    datasets = [
        {"type": "model", "namespace": ns, "name": "models/a", "deleted": False, "lastSeenAt": "t"},
        {"type": "model", "namespace": ns, "name": "models/gone", "deleted": True},
        {"type": "dataset", "namespace": ns, "name": "datasets/frame", "deleted": False},
        {"type": "model", "namespace": "mlflow://other:5000", "name": "models/b", "deleted": False},
        {"type": "model", "namespace": ns, "name": "runs/abc/model", "deleted": False},
    ]
    jobs = [
        {"namespace": ns, "name": "exp", "integration": "MLFLOW", "jobType": "EXPERIMENT"},
        {"namespace": ns, "name": "train.py", "integration": "MLFLOW", "jobType": "WORKLOAD"},
    ]
    previous = Previous.from_listings(source, datasets, jobs)
    assert [(m.name, m.last_seen, m.run_id) for m in previous.models] == [
        ("models/a", "t", None),
        ("runs/abc/model", None, "abc"),
    ]
    assert list(previous.experiments) == ["exp"]
