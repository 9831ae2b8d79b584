"""Client-side plugins that make ML workloads emit OpenLineage events with no code change.

- :mod:`olgraph.integrations.mlflow`: MLflow runs, dataset inputs, logged and registered
  models, loads and downloads (through MLflow's own plugin entry points).
- :mod:`olgraph.integrations.ray`: Ray Data executions that read or write data.

They run inside the user's training or data job, so they import nothing of the server
(no FastAPI, no Neo4j driver) and never break the workload they observe: see
``docs/integrations.md``.
"""
