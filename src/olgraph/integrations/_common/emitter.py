"""The emitter: a bounded queue and one background thread that send events with
openlineage-python (imported on that thread), flushed at interpreter exit for a bounded time."""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from olgraph.integrations._common.guard import Guard
from olgraph.integrations._common.settings import PluginSettings
from olgraph.integrations._common.spec import JsonDict

SendFn = Callable[[JsonDict], None]


def default_sender(logger: logging.Logger) -> SendFn:
    """Build the sender on openlineage-python's client, configured the standard way."""
    from openlineage.client import OpenLineageClient  # noqa: PLC0415 - on the emitter thread, never at import

    client = OpenLineageClient()
    logger.debug("OpenLineage transport: %s", getattr(client.transport, "kind", type(client.transport)))

    def send(event: JsonDict) -> None:
        client.emit(to_openlineage(event))

    return send


class Emitter:
    """A bounded queue of events and the one daemon thread that sends them, in order.

    ``emit`` never blocks and never raises: when the queue is full the event is dropped and
    counted. ``flush`` waits (bounded) until everything queued so far was sent or failed.
    """

    def __init__(
        self,
        settings: PluginSettings,
        logger: logging.Logger,
        *,
        sender: Callable[[], SendFn] | None = None,
        capacity: int = 10_000,
    ) -> None:
        self.settings = settings
        self.logger = logger
        self.guard = Guard(settings, logger)
        self._make_sender = sender or (lambda: default_sender(logger))
        self._queue: queue.Queue[JsonDict | None] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._exit_hook_registered = False
        if hasattr(os, "register_at_fork"):  # a forked child has no sending thread: start afresh
            os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue = queue.Queue(maxsize=self._queue.maxsize)
        self._pending = 0
        self._thread = None

    def emit(self, event: JsonDict) -> None:
        """Queue one event (a JSON-ready OpenLineage event dict) for sending."""
        self._start()
        with self._lock:
            self._pending += 1
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            with self._lock:
                self._pending -= 1
                self.dropped += 1
                self._idle.notify_all()
            self.guard.report("queueing an event", RuntimeError("the event queue is full; event dropped"))
            return
        self.logger.debug("queued %s event of %s", event.get("eventType", "static"), _describe(event))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event was sent or failed; ``False`` if ``timeout`` passed first."""
        limit = self.settings.flush_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(
                target=self._run, name=f"olgraph-{self.settings.plugin}-emitter", daemon=True
            )
            thread.start()
            self._thread = thread
            if not self._exit_hook_registered:
                atexit.register(self._at_exit)
                self._exit_hook_registered = True

    def _at_exit(self) -> None:
        if not self.flush():
            self.logger.warning(
                "olgraph %s plugin: %d event(s) not sent within %.1f s at exit (%s)",
                self.settings.plugin,
                self._pending,
                self.settings.flush_timeout,
                f"raise {self.settings.env_prefix}FLUSH_TIMEOUT to wait longer",
            )

    def _run(self) -> None:
        send: SendFn | None = None
        while True:
            event = self._queue.get()
            if event is None:  # pragma: no cover - only used by tests that stop the thread
                return
            ok = False
            try:
                if send is None:
                    send = self._make_sender()
                send(event)
                ok = True
            except Exception as exc:
                self.guard.report("sending an event", exc)
            finally:
                with self._lock:
                    self._pending -= 1
                    if ok:
                        self.sent += 1
                    else:
                        self.failed += 1
                    self._idle.notify_all()


def _describe(event: Mapping[str, Any]) -> str:
    job = event.get("job") or {}
    dataset = event.get("dataset") or {}
    if job:
        return f"job {job.get('namespace')}/{job.get('name')}"
    return f"dataset {dataset.get('namespace')}/{dataset.get('name')}"


def to_openlineage(event: Mapping[str, Any]) -> Any:
    """Turn one of our event dicts into the matching openlineage-python ``event_v2`` object.

    Facets stay plain dicts (the client serializes them as they are), so custom facets need
    no attrs classes.
    """
    from openlineage.client import event_v2 as ev  # noqa: PLC0415 - only when sending

    def inputs(items: list[JsonDict]) -> list[Any]:
        return [
            ev.InputDataset(
                namespace=d["namespace"],
                name=d["name"],
                facets=d.get("facets") or {},
                inputFacets=d.get("inputFacets") or {},
            )
            for d in items
        ]

    def outputs(items: list[JsonDict]) -> list[Any]:
        return [
            ev.OutputDataset(
                namespace=d["namespace"],
                name=d["name"],
                facets=d.get("facets") or {},
                outputFacets=d.get("outputFacets") or {},
            )
            for d in items
        ]

    # schemaURL is derived by the client from its own spec version, not passed in
    common = {"eventTime": event["eventTime"], "producer": event["producer"]}
    if "run" in event:
        job = event["job"]
        return ev.RunEvent(
            eventType=ev.RunState(event["eventType"]) if event.get("eventType") else None,
            run=ev.Run(runId=event["run"]["runId"], facets=event["run"].get("facets") or {}),
            job=ev.Job(namespace=job["namespace"], name=job["name"], facets=job.get("facets") or {}),
            inputs=inputs(event.get("inputs") or []),
            outputs=outputs(event.get("outputs") or []),
            **common,
        )
    if "dataset" in event:
        d = event["dataset"]
        return ev.DatasetEvent(
            dataset=ev.StaticDataset(namespace=d["namespace"], name=d["name"], facets=d.get("facets") or {}),
            **common,
        )
    job = event["job"]
    return ev.JobEvent(
        job=ev.Job(namespace=job["namespace"], name=job["name"], facets=job.get("facets") or {}),
        inputs=inputs(event.get("inputs") or []),
        outputs=outputs(event.get("outputs") or []),
        **common,
    )
