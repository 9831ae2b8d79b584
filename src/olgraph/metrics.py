"""Prometheus metrics of one olgraph process (served at ``/metrics``).

Each process builds one :class:`Metrics` with its own registry (no import-time globals), and
passes it to what it instruments: the HTTP app times every request, ingest counts accepted
and rejected events, consumers count applied events and dead letters, time store batches and
report their lag per partition.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The ``Content-Type`` of :meth:`Metrics.render`."""

REJECT_REASONS = ("invalid", "too_large", "unsupported_media_type", "unauthorized", "unavailable")
"""Values of the ``reason`` label of ``olgraph_events_rejected_total``."""

_BATCH_SIZES = (1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000)
_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The metrics olgraph exports. Label values are bounded sets, never event data.

    >>> m = Metrics()
    >>> m.events_accepted.labels(endpoint="lineage").inc()
    >>> b"olgraph_events_accepted_total" in m.render()
    True
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_accepted = Counter(
            "olgraph_events_accepted",
            "Events ingest accepted (durably logged or acknowledged by Kafka).",
            ["endpoint"],
            registry=self.registry,
        )
        self.events_rejected = Counter(
            "olgraph_events_rejected",
            f"Events or requests ingest refused, by reason ({', '.join(REJECT_REASONS)}).",
            ["reason"],
            registry=self.registry,
        )
        self.events_applied = Counter(
            "olgraph_events_applied",
            "Events the consumer applied to the graph store.",
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "olgraph_dead_letters",
            "Events the consumer could not apply (sent to the dead-letter table or topic), by stage.",
            ["stage"],
            registry=self.registry,
        )
        self.store_batch_events = Histogram(
            "olgraph_store_batch_events",
            "Events per graph-store write batch.",
            buckets=_BATCH_SIZES,
            registry=self.registry,
        )
        self.store_batch_seconds = Histogram(
            "olgraph_store_batch_seconds",
            "Seconds to apply one batch to the graph store (successful batches).",
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.store_errors = Counter(
            "olgraph_store_errors",
            "Failed graph-store batches, by whether retrying can help.",
            ["retriable"],
            registry=self.registry,
        )
        self.http_request_seconds = Histogram(
            "olgraph_http_request_duration_seconds",
            "Seconds from receiving an HTTP request to its last response byte, by method, route "
            "template and status.",
            ["method", "route", "status"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.consumer_backoffs = Counter(
            "olgraph_consumer_backoffs",
            "Back-offs of the Kafka consumer after a failed batch: `all` partitions (the store or "
            "Kafka unavailable, one store attempt each) or one `partition` (its events failed).",
            ["scope"],
            registry=self.registry,
        )
        self.consumer_rebalances = Counter(
            "olgraph_consumer_rebalances",
            "Rebalances that took partitions from this consumer (a member joined, left or was evicted).",
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "olgraph_consumer_lag",
            "Events not yet applied, per topic partition (the local log is partition 0 of `local`).",
            ["topic", "partition"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition format, for ``GET /metrics``."""
        return generate_latest(self.registry)
