"""The consume side of the pipeline: from the event log into the graph store.

``consumer`` drives the local log (``olgraph serve``), ``kafka_consumer`` and ``kafka_backoff`` the
Kafka topic (``olgraph consume``); both hand batches to ``applier``, which parses, normalizes and
applies them and sets poison events aside as dead letters. ``health`` serves the consumer's
``/healthz``, ``/readyz`` and ``/metrics``.
"""
