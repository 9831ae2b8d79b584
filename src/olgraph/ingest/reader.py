"""Bytes in, validated and redacted events out: what HTTP ingest and both consumers share.

An :class:`EventReader` holds the structural limits (:mod:`olgraph.ingest.limits`) and the
redaction rules (:mod:`olgraph.ingest.redact`). It is CPU work only, no I/O: the API runs it
in a worker thread so that a large or hostile body never holds up the event loop.

Example::

    reader = EventReader(JsonLimits(max_event_values=100_000), Redactor.default())
    event, logged = reader.read_event(body)      # logged: the bytes to append to the log
    for outcome in reader.read_batch(body):      # one per element: (event, bytes) or the error
        ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from olgraph.errors import InvalidEvent, OlgraphError, PayloadTooLarge
from olgraph.ingest.event import ParsedEvent
from olgraph.ingest.limits import JsonLimits, check_event, decode
from olgraph.ingest.parse import canonical_json, parse_event, parse_validated
from olgraph.ingest.redact import Redactor

ElementOutcome = tuple[ParsedEvent, bytes] | OlgraphError
"""One batch element: the event and the bytes to log, or why it was refused."""


@dataclass(frozen=True)
class EventReader:
    """Decodes, checks, redacts and parses events (see the module docstring).

    ``redactor`` None: nothing is redacted. ``max_batch_events``: most elements of a batch.
    """

    limits: JsonLimits = field(default_factory=JsonLimits)
    redactor: Redactor | None = None
    max_batch_events: int = 1000

    def read_event(self, body: bytes) -> tuple[ParsedEvent, bytes]:
        """One event body → the event and what to log (``body`` itself unless redacted).

        Raises :class:`InvalidEvent` (400) or :class:`PayloadTooLarge` (413).
        """
        data, redacted = self.redact(decode(body, self.limits))
        return parse_event(data), canonical_json(data) if redacted else body

    def read_batch(self, body: bytes) -> list[ElementOutcome]:
        """A batch body (JSON array) → one outcome per element, in order.

        The body as a whole must keep to the body limits (else :class:`InvalidEvent` or
        :class:`PayloadTooLarge` for the whole request); each element that breaks an event
        limit or is no valid event fails alone.
        """
        data = decode(body, self.limits, batch=True)
        if not isinstance(data, list):
            raise InvalidEvent("a batch must be a JSON array of events")
        if len(data) > self.max_batch_events:
            raise PayloadTooLarge(
                f"a batch may hold at most {self.max_batch_events} events, got {len(data)} "
                "(limits.max_batch_events)"
            )
        return [self._element(element, len(body)) for element in data]

    def read_logged(self, raw: bytes) -> ParsedEvent:
        """An event read back from the log or a Kafka topic (the consumers' path)."""
        data, _ = self.redact(decode(raw, self.limits))
        return parse_event(data)

    def read_validated(self, raw: bytes, content_id: str) -> ParsedEvent | None:
        """An event read back from a log that only this deployment's ingest writes.

        It was checked against the limits and validated when it was accepted, so it is only
        decoded (and redacted, in case redaction was turned on since) and its identity
        extracted (:func:`~olgraph.ingest.parse.parse_validated`). None when it is not what
        ingest logs after all: the caller then reads it in full (:meth:`read_logged`).
        """
        try:
            data, _ = self.redact(orjson.loads(raw))
            return parse_validated(data, content_id)
        except Exception:  # anything unexpected: the full checks will say what is wrong
            return None

    def redact(self, data: Any) -> tuple[Any, bool]:
        """``data`` with secrets replaced, and whether anything was."""
        if self.redactor is None:
            return data, False
        redacted, count = self.redactor.redact(data)
        return (redacted, True) if count else (data, False)

    def _element(self, element: Any, body_size: int) -> ElementOutcome:
        try:
            check_event(element, self.limits, body_size)
            data, _ = self.redact(element)
            return parse_event(data), canonical_json(data)
        except (InvalidEvent, PayloadTooLarge) as exc:
            return exc
