"""The plugins' settings (``OLGRAPH_<PLUGIN>_*``) and their logger."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return default


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    try:
        value = float(environ.get(name, default))
    except ValueError:
        return default
    return value if value >= 0 else default


@dataclass(frozen=True)
class PluginSettings:
    """One plugin's settings, read from ``OLGRAPH_<PLUGIN>_*`` environment variables.

    - ``OLGRAPH_<PLUGIN>_DISABLED=true`` switches the plugin off (so does the standard
      ``OPENLINEAGE_DISABLED=true``);
    - ``OLGRAPH_<PLUGIN>_DEBUG=true`` logs what the plugin does, at debug level, to stderr;
    - ``OLGRAPH_<PLUGIN>_IGNORE_ERRORS=false`` raises errors inside the plugin instead of
      logging and swallowing them (for debugging the plugin, never for production);
    - ``OLGRAPH_<PLUGIN>_FLUSH_TIMEOUT`` (seconds, default 5) bounds the wait for unsent
      events at interpreter exit.
    """

    plugin: str
    disabled: bool = False
    debug: bool = False
    ignore_errors: bool = True
    flush_timeout: float = 5.0

    @classmethod
    def from_env(cls, plugin: str, environ: Mapping[str, str] | None = None) -> PluginSettings:
        """Read the settings of ``plugin`` (``"mlflow"`` or ``"ray"``) from the environment."""
        env = os.environ if environ is None else environ
        prefix = f"OLGRAPH_{plugin.upper()}_"
        return cls(
            plugin=plugin,
            disabled=_flag(env, prefix + "DISABLED", False) or _flag(env, "OPENLINEAGE_DISABLED", False),
            debug=_flag(env, prefix + "DEBUG", False),
            ignore_errors=_flag(env, prefix + "IGNORE_ERRORS", True),
            flush_timeout=_seconds(env, prefix + "FLUSH_TIMEOUT", 5.0),
        )

    @property
    def env_prefix(self) -> str:
        """``OLGRAPH_<PLUGIN>_``, for messages that name a setting."""
        return f"OLGRAPH_{self.plugin.upper()}_"


def plugin_logger(settings: PluginSettings) -> logging.Logger:
    """The plugin's logger; with the debug setting on, it logs at debug level to stderr."""
    logger = logging.getLogger(f"olgraph.integrations.{settings.plugin}")
    if settings.debug:
        logger.setLevel(logging.DEBUG)
        if not any(getattr(h, "_olgraph", False) for h in logger.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
            handler._olgraph = True  # type: ignore[attr-defined]
            logger.addHandler(handler)
    return logger


def openlineage_configured(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> bool:
    """Whether the standard OpenLineage client configuration names a transport.

    Checked without importing openlineage-python: ``OPENLINEAGE_URL``, any
    ``OPENLINEAGE__TRANSPORT__*`` variable, ``OPENLINEAGE_CONFIG``, or an ``openlineage.yml``
    in the working directory or ``~/.openlineage``. Without one, the client would print
    events to the console; the plugins stay quiet instead.
    """
    env = os.environ if environ is None else environ
    if env.get("OPENLINEAGE_URL") or env.get("OPENLINEAGE_CONFIG"):
        return True
    if any(name.startswith("OPENLINEAGE__TRANSPORT") for name in env):
        return True
    here = Path.cwd() if cwd is None else cwd
    home = Path(env.get("HOME", str(Path.home())))
    return (here / "openlineage.yml").is_file() or (home / ".openlineage" / "openlineage.yml").is_file()
