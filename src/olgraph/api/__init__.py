"""The HTTP API: OpenLineage ingest, lineage queries and operational endpoints (FastAPI)."""
