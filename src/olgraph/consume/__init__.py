"""The consume side of the pipeline: from the event log into the graph store.

``consumer`` drives the local log (``olgraph serve``), ``kafka_consumer`` the Kafka topic
(``olgraph consume``) with its parts: ``kafka_clients`` (opening the clients, their timings),
``kafka_loop`` (poll, apply, commit), ``kafka_partitions`` (rewinds, pauses, lag),
``kafka_backoff`` (back-off bookkeeping) and ``kafka_rejects`` (dead letters). Both consumers
hand batches to ``applier``, which parses, normalizes and applies them and sets poison events
aside as dead letters. ``health`` serves the consumer's ``/healthz``, ``/readyz`` and ``/metrics``.
"""
