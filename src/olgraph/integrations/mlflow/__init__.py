"""The MLflow plugin: MLflow workloads emit OpenLineage events with no code change.

Installed with ``pip install 'olgraph-integrations[mlflow]'`` (the plugins' distribution, built
from ``integrations/`` in the olgraph repository); MLflow finds it through its plugin entry
points (``mlflow.run_context_provider``, ``mlflow.tracking_store``,
``mlflow.model_registry_store``, ``mlflow.artifact_repository``), see
:mod:`olgraph.integrations.mlflow.entrypoints`. Names of what it emits are defined in
:mod:`olgraph.integrations.mlflow.naming` and ``docs/decisions/0008-mlflow-naming.md``.

Nothing here imports MLflow at import time: MLflow imports these modules while it is
itself being imported.
"""
