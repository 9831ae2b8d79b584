"""Ingest: decoding, validating and keying OpenLineage events (no I/O here).

``decode_json`` turns a body into JSON, ``parse_event`` validates it into a
:class:`ParsedEvent`, and ``kafka_key`` gives the Kafka message key the OpenLineage clients
would use for it.
"""

from olgraph.ingest.event import EventKind, ParsedEvent
from olgraph.ingest.kafka_key import kafka_key
from olgraph.ingest.parse import canonical_json, decode_json, parse_event
from olgraph.ingest.times import normalize_time

__all__ = [
    "EventKind",
    "ParsedEvent",
    "canonical_json",
    "decode_json",
    "kafka_key",
    "normalize_time",
    "parse_event",
]
