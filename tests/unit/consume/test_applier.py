"""The shared applier: stages of rejection, batch application, isolation and retry hooks.

The store is the real embedded store; failures are injected around it by tests/faulty_store.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import orjson
import pytest

from faulty_store import FaultyStore, Rule, always, first_calls, touching, upserted_jobs
from olgraph.config import ConsumerSettings
from olgraph.consume.applier import (
    BatchApplier,
    Prepared,
    Rejected,
    Rejection,
    backoff_delay,
    count_dead_letters,
    event_mutations,
    prepare_batch,
)
from olgraph.errors import InvalidEvent, StoreError, StoreUnavailable
from olgraph.ingest.event import ParsedEvent
from olgraph.ingest.limits import JsonLimits
from olgraph.ingest.parse import decode_json, parse_event
from olgraph.ingest.reader import EventReader
from olgraph.ingest.redact import Redactor
from olgraph.metrics import Metrics
from olgraph.normalize.mutations import Mutation
from olgraph.normalize.normalizer import normalize
from olgraph.store.embedded import EmbeddedStore


def run_event(n: int, job: str = "job") -> bytes:
    return orjson.dumps(
        {
            "eventType": "COMPLETE",
            "eventTime": f"2024-05-01T12:00:{n % 60:02d}Z",
            "run": {"runId": str(uuid.UUID(int=n))},
            "job": {"namespace": "ns", "name": job},
            "outputs": [{"namespace": "db", "name": f"out{n}"}],
            "producer": "https://example.org/test",
        }
    )


def poison_rule(unavailable_when_isolating: bool = False) -> Rule:
    """Batches touching ``job:ns:poison`` are refused; optionally the store goes away as soon as
    a single-event batch is tried (to fail during isolation)."""
    refuse = touching("job:ns:poison", StoreError("constraint violated"))

    def rule(store: FaultyStore, mutations: Sequence[Mutation]) -> BaseException | None:
        if unavailable_when_isolating and len(upserted_jobs(mutations)) == 1:
            return StoreUnavailable("went away")
        return refuse(store, mutations)

    return rule


def batch_sizes(store: FaultyStore) -> list[int]:
    """How many events (distinct jobs) each batch given to the store held."""
    return [len(upserted_jobs(batch)) for batch in store.batches]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EmbeddedStore]:
    graph = EmbeddedStore(tmp_path / "graph.db")
    await graph.open()
    yield graph
    await graph.close()


def prepared(*ns: int, poison: Sequence[int] = ()) -> list[Prepared[int]]:
    items = []
    for n in ns:
        raw = run_event(n, job="poison" if n in poison else f"job{n}")
        mutations = event_mutations(raw)
        assert isinstance(mutations, list)
        items.append(Prepared(n, mutations))
    return items


async def never_retry(attempt: int, exc: StoreUnavailable) -> None:
    raise exc


# ------------------------------------------------------------------ preparing events


def test_a_valid_event_gives_the_normalizers_mutations() -> None:
    raw = run_event(1)
    assert event_mutations(raw) == normalize(parse_event(decode_json(raw)))


@pytest.mark.parametrize(
    ("raw", "stage", "reason"),
    [
        (None, "decode", "invalid event: the message has no value"),
        (b"{not json", "decode", "invalid event: invalid JSON at line 1"),
        (b'{"a": "\xff\xfe"}', "decode", "invalid event: invalid JSON"),
        (b"[" * 70 + b"]" * 70, "decode", "invalid event: JSON nested deeper than 64 levels"),
        (b"[1, 2]", "parse", "invalid event: an OpenLineage event must be a JSON object"),
        (
            b'{"eventTime": "2024-05-01T00:00:00Z", "run": {}, "job": {"namespace": "n", "name": "j"}}',
            "parse",
            "invalid event: run.runId",
        ),
        (  # from the clients' Kafka transport, which no ingest check saw: dead-lettered, not lost
            b'{"eventTime": "2024-05-01T00:00:00Z", "job": {"namespace": "n", "name": "'
            + b"j" * 9000
            + b'"}}',
            "parse",
            "invalid event: job.name: 9000 bytes long; a name may hold at most 2048 bytes",
        ),
    ],
)
def test_refused_events_name_the_stage_and_reason(raw: bytes | None, stage: str, reason: str) -> None:
    outcome = event_mutations(raw)
    assert isinstance(outcome, Rejection)
    assert outcome.stage == stage
    assert outcome.reason.startswith(reason), outcome.reason


@pytest.mark.parametrize(
    ("raw", "stage", "reason"),
    [
        (b"{not json", "decode", "invalid event: invalid JSON at line 1"),
        (b"[1, 2]", "parse", "invalid event: an OpenLineage event must be a JSON object"),
        (b'{"eventTime": "2024-05-01T00:00:00Z", "job": {"namespace": 7, "name": "j"}}', "parse", "invalid"),
    ],
)
def test_a_validated_event_that_is_not_valid_after_all_is_refused_the_same(
    raw: bytes, stage: str, reason: str
) -> None:
    """The fast path for what ingest logged declines anything unexpected: full validation
    then refuses it with the same stage and reason as without the fast path."""
    outcome = event_mutations(raw, validated="cid")
    assert outcome == event_mutations(raw)
    assert isinstance(outcome, Rejection)
    assert (outcome.stage, outcome.reason[: len(reason)]) == (stage, reason)


def test_validated_events_give_the_same_mutations() -> None:
    """Skipping validation of what ingest validated changes nothing the store is asked to do."""
    events = [run_event(n, job=f"job{n % 3}") for n in range(20)]
    full, refused = prepare_batch(events, raw_of=bytes, describe=str)
    fast, refused_fast = prepare_batch(
        events, raw_of=bytes, describe=str, validated_of=lambda raw: parse_event(decode_json(raw)).content_id
    )
    assert refused == refused_fast == []
    assert [p.mutations for p in fast] == [p.mutations for p in full]


def test_json_depth_limit_is_the_callers() -> None:
    raw = b'{"a": {"b": {"c": 1}}}'
    too_deep = event_mutations(raw, EventReader(JsonLimits(max_depth=2)))
    deep_enough = event_mutations(raw, EventReader(JsonLimits(max_depth=3)))
    assert isinstance(too_deep, Rejection)
    assert too_deep.stage == "decode"
    assert isinstance(deep_enough, Rejection)
    assert deep_enough.stage == "parse"  # decoded, but it is no OpenLineage event


def test_events_over_a_limit_are_refused_at_decode_naming_it() -> None:
    """An event put on Kafka directly meets the HTTP API's limits: it is dead-lettered."""
    fields = [{"name": f"c{i}", "type": "int"} for i in range(50)]
    event = {
        "eventTime": "2024-05-01T00:00:00Z",
        "job": {"namespace": "n", "name": "j"},
        "outputs": [{"namespace": "n", "name": "d", "facets": {"schema": {"fields": fields}}}],
    }
    outcome = event_mutations(orjson.dumps(event), EventReader(JsonLimits(max_container_items=20)))
    assert isinstance(outcome, Rejection)
    assert outcome.stage == "decode"
    assert "outputs[0].facets.schema.fields: 50 items" in outcome.reason
    assert "limits.max_container_items" in outcome.reason


def test_the_reader_redacts_before_normalizing() -> None:
    """Secrets of events put on Kafka directly never reach the graph."""
    event = {
        "eventTime": "2024-05-01T00:00:00Z",
        "eventType": "START",
        "run": {
            "runId": "0176a8c2-fe01-7439-87e6-56a1a1b4029f",
            "facets": {
                "environment-variables": {
                    "environmentVariables": [{"name": "DB_PASSWORD", "value": "hunter2"}]
                }
            },
        },
        "job": {"namespace": "n", "name": "j"},
    }
    plain = event_mutations(orjson.dumps(event))
    redacted = event_mutations(orjson.dumps(event), EventReader(redactor=Redactor.default()))
    assert "hunter2" in repr(plain)
    assert "hunter2" not in repr(redacted)
    assert '"value":"***"' in repr(redacted)


def test_normalizer_failures_are_rejections_at_the_normalize_stage() -> None:
    def buggy(event: ParsedEvent) -> list[Mutation]:
        raise KeyError("surprise")

    def refusing(event: ParsedEvent) -> list[Mutation]:
        raise InvalidEvent("cannot be stored", field="job.name")

    bug = event_mutations(run_event(1), normalizer=buggy)
    assert bug == Rejection("normalize", "normalization failed: KeyError: 'surprise'")
    refused = event_mutations(run_event(1), normalizer=refusing)
    assert refused == Rejection("normalize", "invalid event: job.name: cannot be stored")


def test_prepare_batch_splits_and_keeps_order() -> None:
    sources = [(1, run_event(1)), (2, b"nope"), (3, run_event(3)), (4, None)]
    ok, bad = prepare_batch(sources, raw_of=lambda s: s[1], describe=lambda s: f"#{s[0]}")
    assert [p.source[0] for p in ok] == [1, 3]
    assert all(p.mutations for p in ok)
    assert [(r.source[0], r.stage) for r in bad] == [(2, "decode"), (4, "decode")]


def test_backoff_is_exponential_and_capped() -> None:
    settings = ConsumerSettings(backoff_initial_seconds=0.1, backoff_max_seconds=1.0)
    assert [backoff_delay(settings, n) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff_delay(settings, 10**6) == 1.0
    assert backoff_delay(settings, 0) == 0.1


def test_dead_letters_are_counted_by_stage() -> None:
    metrics = Metrics()
    rejected = [Rejected(1, "decode", "x"), Rejected(2, "store", "y"), Rejected(3, "decode", "z")]
    count_dead_letters(metrics, rejected)
    count_dead_letters(None, rejected)  # no metrics: nothing to do, no error
    assert metrics.registry.get_sample_value("olgraph_dead_letters_total", {"stage": "decode"}) == 2
    assert metrics.registry.get_sample_value("olgraph_dead_letters_total", {"stage": "store"}) == 1


# ------------------------------------------------------------------ applying batches


async def test_a_batch_is_applied_in_one_store_write_and_measured(store: EmbeddedStore) -> None:
    metrics = Metrics()
    counting = FaultyStore(store, poison_rule())
    applier: BatchApplier[int] = BatchApplier(counting, metrics)  # type: ignore[arg-type]
    assert await applier.apply(prepared(1, 2, 3), never_retry) == []
    assert batch_sizes(counting) == [3]
    for n in (1, 2, 3):
        assert await store.get_run(str(uuid.UUID(int=n))) is not None
    sample = metrics.registry.get_sample_value
    assert sample("olgraph_events_applied_total") == 3
    assert sample("olgraph_store_batch_events_count") == 1
    assert sample("olgraph_store_batch_events_sum") == 3
    assert sample("olgraph_store_batch_seconds_count") == 1


async def test_empty_batches_do_not_touch_the_store(store: EmbeddedStore) -> None:
    counting = FaultyStore(store, poison_rule())
    assert await BatchApplier(counting).apply([], never_retry) == []  # type: ignore[arg-type]
    assert counting.batches == []


async def test_rejected_batch_is_isolated_event_by_event(store: EmbeddedStore) -> None:
    metrics = Metrics()
    poison = FaultyStore(store, poison_rule())
    applier: BatchApplier[int] = BatchApplier(poison, metrics)  # type: ignore[arg-type]
    rejected = await applier.apply(prepared(1, 2, 3, poison=[2]), never_retry)
    assert rejected == [Rejected(2, "store", "store rejected the event: constraint violated")]
    assert batch_sizes(poison) == [3, 1, 1, 1]
    assert await store.get_run(str(uuid.UUID(int=1))) is not None
    assert await store.get_run(str(uuid.UUID(int=3))) is not None
    assert await store.get_node("job:ns:poison") is None
    sample = metrics.registry.get_sample_value
    assert sample("olgraph_store_errors_total", {"retriable": "false"}) == 2
    assert sample("olgraph_events_applied_total") == 2


async def test_unavailable_store_is_retried_while_the_hook_returns(store: EmbeddedStore) -> None:
    metrics = Metrics()
    flaky = FaultyStore(store, first_calls(3, StoreUnavailable("store down")))
    attempts: list[int] = []

    async def wait(attempt: int, exc: StoreUnavailable) -> None:
        assert str(exc) == "store down"
        attempts.append(attempt)

    applier: BatchApplier[int] = BatchApplier(flaky, metrics)  # type: ignore[arg-type]
    assert await applier.apply(prepared(1, 2), wait) == []
    assert attempts == [1, 2, 3]
    assert flaky.calls == 4
    assert metrics.registry.get_sample_value("olgraph_store_errors_total", {"retriable": "true"}) == 3
    assert await store.get_run(str(uuid.UUID(int=2))) is not None


async def test_giving_up_on_an_unavailable_store_propagates_without_isolating(
    store: EmbeddedStore,
) -> None:
    flaky = FaultyStore(store, first_calls(1, StoreUnavailable("store down")))
    applier: BatchApplier[int] = BatchApplier(flaky)  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable):
        await applier.apply(prepared(1, 2), never_retry)
    assert flaky.calls == 1  # not retried event by event: unavailable is not a rejection
    assert await store.get_run(str(uuid.UUID(int=1))) is None


async def test_store_going_away_while_isolating_propagates(store: EmbeddedStore) -> None:
    poison = FaultyStore(store, poison_rule(unavailable_when_isolating=True))
    applier: BatchApplier[int] = BatchApplier(poison)  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable):
        await applier.apply(prepared(1, 2, poison=[2]), never_retry)
    assert batch_sizes(poison) == [2, 1]


async def test_unexpected_store_errors_propagate(store: EmbeddedStore) -> None:
    broken = FaultyStore(store, always(RuntimeError("bug")))
    applier: BatchApplier[int] = BatchApplier(broken)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="bug"):
        await applier.apply(prepared(1), never_retry)
