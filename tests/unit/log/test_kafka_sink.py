"""KafkaEventSink without a broker: unreachable and unresponsive brokers become bounded
``EventLogUnavailable`` errors, never a hang; oversized events are refused before sending.

(The broker-backed behaviour is in tests/integration/kafka/test_api_to_kafka.py.)
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

from olgraph.config import KafkaConfig
from olgraph.errors import EventLogUnavailable, PayloadTooLarge
from olgraph.log.base import EventLog, EventSink, NewEvent
from olgraph.log.kafka import MAX_MESSAGE_BYTES, KafkaEventSink, describe_failure
from olgraph.log.local import LocalEventLog

HANG_GUARD = 30.0
"""Seconds after which a test fails instead of hanging: never what a test measures."""


def closed_port() -> int:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def event(raw: bytes = b'{"eventType": "START"}', key: str = "run:ns/job") -> NewEvent:
    return NewEvent(raw=raw, content_id="c", kind="run", run_id="r", job_key="job:ns:job", kafka_key=key)


@pytest.fixture
async def unresponsive_broker() -> AsyncIterator[str]:
    """``host:port`` of a server that accepts connections and never answers (a hung broker)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def test_both_logs_are_event_sinks(tmp_path: Path) -> None:
    assert isinstance(KafkaEventSink(KafkaConfig()), EventSink)
    assert isinstance(LocalEventLog(tmp_path / "events.db"), EventSink)
    assert not isinstance(KafkaEventSink(KafkaConfig()), EventLog)  # nothing to read back


async def test_unreachable_brokers_do_not_stop_open_and_fail_appends_clearly() -> None:
    servers = f"127.0.0.1:{closed_port()}"
    sink = KafkaEventSink(KafkaConfig(bootstrap_servers=servers, send_timeout_seconds=2))
    # Logs, does not raise: `olgraph api` starts and reports not-ready. The wait is a hang guard;
    # open() itself is bounded by the send timeout (the next test shows the bound in the message).
    await asyncio.wait_for(sink.open(), HANG_GUARD)
    try:
        with pytest.raises(EventLogUnavailable, match=f"Kafka at {servers} is unreachable") as raised:
            await sink.append([event()])
        with pytest.raises(EventLogUnavailable, match="unreachable"):
            await sink.check_writable()
    finally:
        await sink.close()
    assert raised.value.retriable


async def test_reconnects_are_rate_limited_then_retried() -> None:
    servers = f"127.0.0.1:{closed_port()}"
    sink = KafkaEventSink(KafkaConfig(bootstrap_servers=servers), reconnect_interval=0.3)
    try:
        with pytest.raises(EventLogUnavailable) as first:
            await sink.append([event()])
        assert isinstance(first.value.__cause__, KafkaConnectionError)
        # Within the interval the sink answers from memory instead of hammering the brokers.
        with pytest.raises(EventLogUnavailable) as cached:
            await sink.append([event()])
        assert cached.value.__cause__ is None
        assert str(cached.value) == str(first.value)
        # Once the interval has passed, the next append tries again: wait for that, not for a time.
        retried = await _until_a_new_attempt(sink)
        assert isinstance(retried.__cause__, KafkaConnectionError)  # a real new attempt
    finally:
        await sink.close()


async def _until_a_new_attempt(sink: KafkaEventSink) -> EventLogUnavailable:
    """Append until the failure comes from a new connection attempt (bounded by a hang guard)."""
    deadline = time.monotonic() + HANG_GUARD
    while True:
        with pytest.raises(EventLogUnavailable) as raised:
            await sink.append([event()])
        if raised.value.__cause__ is not None or time.monotonic() > deadline:
            return raised.value
        await asyncio.sleep(0.05)


async def test_a_broker_that_never_answers_costs_at_most_the_send_timeout(unresponsive_broker: str) -> None:
    """Bounded by the configured send timeout, which the errors name (no stopwatch in the test)."""
    config = KafkaConfig(bootstrap_servers=unresponsive_broker, send_timeout_seconds=0.5)
    sink = KafkaEventSink(config, reconnect_interval=0)
    await asyncio.wait_for(sink.open(), HANG_GUARD)
    try:
        with pytest.raises(EventLogUnavailable, match=r"unreachable: no answer within 0\.5s"):
            await asyncio.wait_for(sink.append([event()]), HANG_GUARD)
        with pytest.raises(EventLogUnavailable, match=r"within 0\.5s"):
            await asyncio.wait_for(sink.check_writable(), HANG_GUARD)
    finally:
        await sink.close()


async def test_an_event_over_the_message_limit_is_too_large_not_unavailable() -> None:
    sink = KafkaEventSink(KafkaConfig(bootstrap_servers=f"127.0.0.1:{closed_port()}"))
    huge = event(raw=b"x" * MAX_MESSAGE_BYTES)
    try:
        # Refused before any connection is tried: retrying would never help, so no 503.
        with pytest.raises(PayloadTooLarge, match="event 1 of the batch"):
            await sink.append([event(), huge])
        with pytest.raises(PayloadTooLarge, match="the event is"):
            await sink.append([huge])
        await sink.append([])  # nothing to send: no broker needed
    finally:
        await sink.close()


async def test_a_closed_sink_refuses() -> None:
    sink = KafkaEventSink(KafkaConfig(bootstrap_servers=f"127.0.0.1:{closed_port()}"))
    await sink.close()
    with pytest.raises(EventLogUnavailable, match="closed"):
        await sink.append([event()])
    with pytest.raises(EventLogUnavailable, match="closed"):
        await sink.check_writable()


def test_probe_timeout_never_exceeds_the_send_timeout() -> None:
    assert KafkaEventSink(KafkaConfig(send_timeout_seconds=1)).probe_timeout == 1
    assert KafkaEventSink(KafkaConfig(send_timeout_seconds=60)).probe_timeout == 3


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (KafkaConnectionError("Unable to bootstrap"), "KafkaConnectionError: Unable to bootstrap"),
        (KafkaTimeoutError(), "KafkaTimeoutError"),
        (TimeoutError(), "timed out"),
        (OSError("refused"), "OSError: refused"),
    ],
)
def test_failure_descriptions(error: BaseException, text: str) -> None:
    assert describe_failure(error) == text
