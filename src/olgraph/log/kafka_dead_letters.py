"""The dead letters of the distributed deployment: the Kafka dead-letter topic, listed and replayed.

``olgraph consume`` sends every event it cannot apply to ``dead_letter_topic`` with its reason in
headers (``olgraph.reason``, ``olgraph.stage``, ``olgraph.source.*``). :class:`KafkaDeadLetters`
is that topic as a :class:`~olgraph.log.dead_letters.DeadLetterQueue`:

* listing reads the topic from the beginning up to its end offsets at the time of the call
  (without a consumer group: nothing is committed, nobody else's progress moves), at most
  :data:`MAX_SCANNED` records;
* replaying produces the event again, with its original key, to the events topic (acks from all
  in-sync replicas, header ``olgraph.replay.of``), and then a small *marker* record to the
  dead-letter topic itself (header ``olgraph.marker: replayed``) saying which dead letter went
  where and when. Listing folds markers into the dead letters they name, so every API replica
  sees the same history and a dead letter is replayed once unless ``force`` is given. Should the
  process die between the two sends, a later replay sends the event again: harmless, because
  applying an event is an idempotent upsert.

Ids are ``partition-offset`` on the dead-letter topic (``"0-15"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from olgraph.config import KafkaConfig
from olgraph.errors import EventLogUnavailable
from olgraph.log.dead_letters import DeadLetterPage, DeadLetterView, ReplayOutcome
from olgraph.log.kafka_options import client_options

MAX_SCANNED = 100_000
"""Most records of the dead-letter topic one call reads (older ones beyond it are not listed)."""

MARKER_HEADER = "olgraph.marker"
REPLAYED = b"replayed"
REPLAY_OF_HEADER = "olgraph.replay.of"


@dataclass(frozen=True, slots=True)
class _Letter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    timestamp_ms: int

    @property
    def id(self) -> str:
        return f"{self.partition}-{self.offset}"


@dataclass(frozen=True, slots=True)
class _Replay:
    at: str
    to: str


def _utc(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def _header(headers: dict[str, bytes], name: str) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("utf-8", "replace")


def _parse_id(dead_letter_id: str) -> tuple[int, int] | None:
    partition, _, offset = dead_letter_id.strip().partition("-")
    if partition.isdecimal() and offset.isdecimal() and len(partition) < 10 and len(offset) < 19:
        return int(partition), int(offset)
    return None


class KafkaDeadLetters:
    """The dead-letter topic of ``config`` as a :class:`~olgraph.log.dead_letters.DeadLetterQueue`.

    Example::

        queue = KafkaDeadLetters(settings.log.kafka)
        page = await queue.list_dead_letters(limit=50)
        await queue.replay_dead_letters([page.items[0].id])
    """

    def __init__(self, config: KafkaConfig, *, timeout: float = 30.0) -> None:
        self.config = config
        self.timeout = timeout

    async def list_dead_letters(
        self, limit: int, after: str | None = None, *, include_replayed: bool = True
    ) -> DeadLetterPage:
        """Up to ``limit`` dead letters after the one with id ``after``, by partition and offset."""
        letters, replays = await self._scan()
        start = _parse_id(after) if after else None
        views = [
            self._view(letter, replays.get(letter.id))
            for letter in letters
            if start is None or (letter.partition, letter.offset) > start
        ]
        pending = sum(1 for letter in letters if letter.id not in replays)
        if not include_replayed:
            views = [view for view in views if view.replayed_at is None]
        page = views[:limit]
        more = len(views) > limit
        return DeadLetterPage(page, len(letters), pending, page[-1].id if more and page else None)

    async def get_dead_letter(self, dead_letter_id: str) -> DeadLetterView | None:
        """The dead letter at ``partition-offset`` of the dead-letter topic, or None."""
        if _parse_id(dead_letter_id) is None:
            return None
        letters, replays = await self._scan()
        for letter in letters:
            if letter.id == dead_letter_id.strip():
                return self._view(letter, replays.get(letter.id))
        return None

    async def replay_dead_letters(
        self, ids: Sequence[str] | None, *, force: bool = False, limit: int = 1000
    ) -> list[ReplayOutcome]:
        """Send the events of ``ids`` (None: every dead letter not replayed yet, up to ``limit``) to
        the events topic again and record each replay with a marker on the dead-letter topic."""
        letters, replays = await self._scan()
        by_id = {letter.id: letter for letter in letters}
        wanted = [letter.id for letter in letters if letter.id not in replays][:limit] if ids is None else ids
        outcomes: list[ReplayOutcome] = []
        producer = await self._producer()
        try:
            for dead_letter_id in dict.fromkeys(i.strip() for i in wanted):
                outcomes.append(await self._replay_one(producer, by_id, replays, dead_letter_id, force))
        finally:
            await _stop(producer)
        return outcomes

    async def _replay_one(
        self,
        producer: Any,
        by_id: dict[str, _Letter],
        replays: dict[str, _Replay],
        dead_letter_id: str,
        force: bool,
    ) -> ReplayOutcome:
        letter = by_id.get(dead_letter_id)
        if letter is None:
            return ReplayOutcome(dead_letter_id, "not_found", detail="no dead letter with this id")
        done = replays.get(dead_letter_id)
        if done is not None and not force:
            detail = f"already replayed at {done.at} (force replays it again)"
            return ReplayOutcome(dead_letter_id, "skipped", replayed_to=done.to, detail=detail)
        origin = f"{self.config.dead_letter_topic}:{letter.partition}:{letter.offset}".encode()
        try:
            sent = await asyncio.wait_for(
                await producer.send(
                    self.config.topic,
                    value=letter.value,
                    key=letter.key,
                    headers=[(REPLAY_OF_HEADER, origin)],
                ),
                self.config.send_timeout_seconds,
            )
            to = f"{self.config.topic}[{sent.partition}]@{sent.offset}"
            marker = {"replayed": letter.id, "to": to, "at": _utc(int(time.time() * 1000))}
            await asyncio.wait_for(
                await producer.send(
                    self.config.dead_letter_topic,
                    value=orjson.dumps(marker),
                    key=f"olgraph.replayed:{letter.id}".encode(),
                    partition=letter.partition,
                    headers=[(MARKER_HEADER, REPLAYED)],
                ),
                self.config.send_timeout_seconds,
            )
        except (TimeoutError, KafkaError) as exc:
            raise EventLogUnavailable(f"Kafka did not take the replay of {letter.id}: {exc!r}") from exc
        replays[letter.id] = _Replay(str(marker["at"]), to)
        return ReplayOutcome(dead_letter_id, "replayed", replayed_to=to)

    def _view(self, letter: _Letter, replay: _Replay | None) -> DeadLetterView:
        headers = letter.headers
        topic = _header(headers, "olgraph.source.topic")
        partition, offset = (
            _header(headers, "olgraph.source.partition"),
            _header(headers, "olgraph.source.offset"),
        )
        source = f"{topic}[{partition}]@{offset}" if topic is not None else "unknown"
        return DeadLetterView(
            id=letter.id,
            source=source,
            stage=_header(headers, "olgraph.stage"),
            reason=_header(headers, "olgraph.reason") or "",
            at=_utc(letter.timestamp_ms),
            raw=letter.value,
            replayed_at=None if replay is None else replay.at,
            replayed_to=None if replay is None else replay.to,
        )

    # ------------------------------------------------------------ Kafka

    async def _producer(self) -> Any:
        producer = AIOKafkaProducer(
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=int(self.config.send_timeout_seconds * 1000),
            **client_options(self.config),
        )
        try:
            await asyncio.wait_for(producer.start(), self.timeout)
        except (TimeoutError, KafkaError, OSError) as exc:
            await _stop(producer)
            raise EventLogUnavailable(
                f"cannot reach Kafka at {self.config.bootstrap_servers}: {exc!r}"
            ) from exc
        return producer

    async def _scan(self) -> tuple[list[_Letter], dict[str, _Replay]]:
        """Every dead letter and replay marker, up to the end offsets read first."""
        consumer = AIOKafkaConsumer(
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            **client_options(self.config),
        )
        try:
            await asyncio.wait_for(consumer.start(), self.timeout)
            return await asyncio.wait_for(self._read_all(consumer), self.timeout)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise EventLogUnavailable(
                f"cannot read the dead-letter topic {self.config.dead_letter_topic}: {exc!r}"
            ) from exc
        finally:
            await _stop(consumer)

    async def _read_all(self, consumer: Any) -> tuple[list[_Letter], dict[str, _Replay]]:
        topic = self.config.dead_letter_topic
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(self.config, topic))]
        if not partitions:
            return [], {}
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = {tp: int(end) for tp, end in (await consumer.end_offsets(partitions)).items()}
        letters: list[_Letter] = []
        replays: dict[str, _Replay] = {}
        remaining = {tp for tp in partitions if ends[tp] > await consumer.position(tp)}
        scanned = 0
        while remaining and scanned < MAX_SCANNED:
            batch = await consumer.getmany(*remaining, timeout_ms=500, max_records=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    scanned += 1
                    self._take(record, letters, replays)
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        letters.sort(key=lambda letter: (letter.partition, letter.offset))
        return letters, replays

    @staticmethod
    def _take(record: Any, letters: list[_Letter], replays: dict[str, _Replay]) -> None:
        headers = {name: bytes(value) for name, value in (record.headers or ())}
        if headers.get(MARKER_HEADER) == REPLAYED:
            try:
                marker = orjson.loads(record.value or b"{}")
                replays[str(marker["replayed"])] = _Replay(str(marker["at"]), str(marker["to"]))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                pass  # not one of ours: ignored
            return
        letters.append(
            _Letter(
                record.partition, record.offset, record.key, record.value or b"", headers, record.timestamp
            )
        )


async def _partitions(config: KafkaConfig, topic: str) -> set[int]:
    """The partitions of ``topic`` (empty when it does not exist), asked of the brokers."""
    admin = AIOKafkaAdminClient(**client_options(config))
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described.get("error_code", 0) != 0:  # unknown topic: nothing was ever dead-lettered
        return set()
    return {int(partition["partition"]) for partition in described.get("partitions", ())}


async def _stop(client: Any) -> None:
    with contextlib.suppress(Exception):  # the client is discarded either way
        await asyncio.wait_for(client.stop(), 10)
