"""Event logs: where accepted events wait, durably, until the consumer applies them."""

from olgraph.log.base import DeadLetter, EventLog, EventSink, LogCounts, LoggedEvent, NewEvent
from olgraph.log.local import LocalEventLog

__all__ = ["DeadLetter", "EventLog", "EventSink", "LocalEventLog", "LogCounts", "LoggedEvent", "NewEvent"]
