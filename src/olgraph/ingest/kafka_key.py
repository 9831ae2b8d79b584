"""The Kafka message key of an event, as the OpenLineage clients compute it.

Keying by job keeps one job's events — and a whole parent → child → grandchild chain of
runs — in one partition, hence in order. olgraph's HTTP ingest writes to Kafka with the
same keys so events from both paths interleave correctly.
"""

from __future__ import annotations

from typing import Any

from olgraph.ingest.event import ParsedEvent


def _job_of(ref: Any) -> tuple[str, str] | None:
    """``(namespace, name)`` of a ``{"job": {...}}`` reference, when both are non-empty."""
    job = ref.get("job") if isinstance(ref, dict) else None
    if not isinstance(job, dict):
        return None
    namespace, name = job.get("namespace"), job.get("name")
    if isinstance(namespace, str) and isinstance(name, str) and namespace and name:
        return namespace, name
    return None


def _run_key_job(event: ParsedEvent) -> tuple[str, str]:
    """The job a run event is keyed by: the root job, else the parent job, else its own.

    As in the client, a present ``root`` is decisive: when its job is unusable the event
    falls back to its own job, not to the parent's.
    """
    own = (event.job_namespace or "", event.job_name or "")
    run = event.raw.get("run")
    facets = run.get("facets") if isinstance(run, dict) else None
    parent = facets.get("parent") if isinstance(facets, dict) else None
    if not isinstance(parent, dict) or not parent:
        return own
    if parent.get("root"):
        return _job_of(parent["root"]) or own
    return _job_of(parent) or own


def kafka_key(event: ParsedEvent) -> str:
    """The message key for ``event``: ``run:{ns}/{name}``, ``job:{ns}/{name}`` or ``dataset:{ns}/{name}``.

    >>> from olgraph.ingest import parse_event
    >>> kafka_key(parse_event({"eventTime": "2024-05-01T00:00:00Z", "job": {"namespace": "a", "name": "b"}}))
    'job:a/b'
    """
    if event.kind == "dataset":
        dataset = event.raw["dataset"]
        return f"dataset:{dataset['namespace']}/{dataset['name']}"
    if event.kind == "job":
        return f"job:{event.job_namespace}/{event.job_name}"
    namespace, name = _run_key_job(event)
    return f"run:{namespace}/{name}"
