"""Dead letters of the Kafka consumer: their headers (sending them: tests/integration/kafka)."""

from __future__ import annotations

from types import SimpleNamespace

from olgraph.consume.kafka_rejects import MAX_REASON_BYTES, dead_letter_headers


def record(topic: str = "events", partition: int = 1, offset: int = 42) -> SimpleNamespace:
    return SimpleNamespace(topic=topic, partition=partition, offset=offset)


def test_dead_letter_headers_say_why_where_and_at_which_stage() -> None:
    headers = dead_letter_headers(record(), "parse", "invalid event: run.runId: is required")
    assert headers == [
        ("olgraph.reason", b"invalid event: run.runId: is required"),
        ("olgraph.stage", b"parse"),
        ("olgraph.source.topic", b"events"),
        ("olgraph.source.partition", b"1"),
        ("olgraph.source.offset", b"42"),
    ]


def test_dead_letter_reason_is_utf8_and_bounded() -> None:
    reason = "ünïcode " + "x" * 10_000
    value = dict(dead_letter_headers(record(), "store", reason))["olgraph.reason"]
    assert len(value) <= MAX_REASON_BYTES
    assert value.endswith(b"...")
    assert value.decode("utf-8").startswith("ünïcode xxx")
    # a cut inside a multi-byte character still decodes
    wide = "é" * 5000
    assert dict(dead_letter_headers(record(), "store", wide))["olgraph.reason"].decode("utf-8")
