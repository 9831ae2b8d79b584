"""The never-break guard: a plugin's failure is logged, never raised into the workload
(unless ``OLGRAPH_<PLUGIN>_IGNORE_ERRORS=false``)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from olgraph.integrations._common.settings import PluginSettings


class Guard:
    """Runs plugin code so that its errors never reach the user's workload.

    An error is logged as a warning once per kind of work (then at debug level, so a broken
    collector does not flood the job's log) and swallowed, unless the settings ask for
    errors to be raised.
    """

    def __init__(self, settings: PluginSettings, logger: logging.Logger) -> None:
        self.settings = settings
        self.logger = logger
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        """``with guard("log_inputs"): …`` — swallow and log what fails inside."""
        try:
            yield
        except Exception as exc:
            if not self.settings.ignore_errors:
                raise
            self.report(what, exc)

    def report(self, what: str, exc: BaseException) -> None:
        """Log a swallowed error: a warning the first time per ``what``, debug afterwards."""
        with self._lock:
            first = what not in self._warned
            self._warned.add(what)
        message = "olgraph %s plugin: %s failed (%s: %s); the workload goes on"
        if first:
            hint = f" Set {self.settings.env_prefix}DEBUG=true for details."
            self.logger.warning(message + "." + hint, self.settings.plugin, what, type(exc).__name__, exc)
        self.logger.debug(message, self.settings.plugin, what, type(exc).__name__, exc, exc_info=exc)
