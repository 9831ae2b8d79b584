"""The MLflow sync's deletion plan: what vanished, and the DROP events saying so (no MLflow server)."""

from __future__ import annotations

from olgraph.integrations.mlflow.sync.deletions import DeletionPlan, Present, plan_deletions
from olgraph.integrations.mlflow.sync.graph import GraphNode, Previous


def test_models_of_a_kind_the_server_cannot_list_are_never_called_vanished() -> None:
    previous = Previous(
        models=(GraphNode("ns", "logged_models/m-1", None), GraphNode("ns", "models/a", None)),
    )
    plan = plan_deletions(previous, Present(logged_models_listed=False))
    assert [m.name for m in plan.vanished] == ["models/a"]
    assert plan.fraction == 0.5


def test_a_drop_is_dated_just_after_the_graph_last_saw_the_model() -> None:
    plan = DeletionPlan(1, (GraphNode("ns", "models/a", "2024-05-01T00:00:00.123456789Z"),))
    (drop,) = plan.events("ns")
    assert drop["eventTime"] == "2024-05-01T00:00:00.124Z"
    assert drop == plan.events("ns")[0]  # deterministic
