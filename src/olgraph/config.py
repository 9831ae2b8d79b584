"""olgraph's settings: one pydantic-settings root, built once and passed down.

Every setting can come from the environment: the prefix is ``OLGRAPH_`` and ``__`` separates
nested groups, so ``settings.store.neo4j.uri`` is ``OLGRAPH_STORE__NEO4J__URI``. Lists (API
keys) are given as JSON. ``docs/configuration.md`` is generated from this module by
``scripts/gen_config_docs.py``; every field therefore carries a description.

Example::

    settings = Settings(data_dir=Path("/var/lib/olgraph"))   # plus whatever OLGRAPH_* says
    app = create_app(settings)
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from olgraph.errors import InsecureSettings

Role = Literal["ingest", "read", "analyst", "admin"]
"""What an API key may do: ``ingest`` POSTs events, ``read`` queries, ``analyst`` reads (and
runs read-only Cypher), ``admin`` may do everything."""

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MIB = 1024 * 1024


class _Group(BaseModel):
    """Base of every settings group: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Group):
    """Where the HTTP API listens."""

    host: str = Field(default="127.0.0.1", description="Interface the HTTP API binds to.")
    port: int = Field(default=5000, ge=0, le=65535, description="TCP port of the HTTP API.")
    retry_after_seconds: int = Field(
        default=5, ge=1, description="`Retry-After` seconds sent with a 503 (log or store unavailable)."
    )


class MarquezSettings(_Group):
    """The Marquez-compatible API: Marquez 0.50's REST API, for Marquez Web and marquez-python."""

    port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="TCP port of the Marquez-compatible API, on `server.host` "
        "(off when unset; 0: any free port).",
    )


class EmbeddedStoreConfig(_Group):
    """The embedded single-file graph store (SQLite)."""

    path: Path | None = Field(default=None, description="Graph file; default `{data_dir}/graph.db`.")


class Neo4jStoreConfig(_Group):
    """A Neo4j server or cluster."""

    uri: str = Field(
        default="bolt://127.0.0.1:7687",
        description="Bolt URI; `neo4j://` for cluster routing, `bolt+s://`/`neo4j+s://` for TLS.",
    )
    user: str | None = Field(default=None, description="User name (no authentication when unset).")
    password: SecretStr | None = Field(default=None, description="Password of `user`.")
    database: str | None = Field(default=None, description="Database name; the server's default when unset.")


class StoreSettings(_Group):
    """Which graph store holds the graph; `kind` selects one of the groups below it."""

    kind: Literal["embedded", "neo4j"] = Field(
        default="embedded", description="`embedded` (one SQLite file, zero setup) or `neo4j`."
    )
    embedded: EmbeddedStoreConfig = Field(
        default_factory=EmbeddedStoreConfig, description="Embedded store settings."
    )
    neo4j: Neo4jStoreConfig = Field(default_factory=Neo4jStoreConfig, description="Neo4j settings.")


class LocalLogConfig(_Group):
    """The local durable event log (SQLite in WAL mode, fsynced on every append)."""

    path: Path | None = Field(default=None, description="Log file; default `{data_dir}/events.db`.")
    max_size_bytes: int | None = Field(
        default=None,
        ge=1 * MIB,
        description="Refuse events (503) once the log file reaches this size; unbounded when unset.",
    )


class KafkaConfig(_Group):
    """Kafka: the event log of the distributed deployment.

    `olgraph api` appends accepted events to `topic`; `olgraph consume` replicas apply them.
    """

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Comma-separated `host:port` list of brokers."
    )
    topic: str = Field(
        default="openlineage.events",
        description="Topic of accepted events (the OpenLineage clients' default).",
    )
    dead_letter_topic: str = Field(
        default="openlineage.events.dlq",
        description="Where events that cannot be applied go, with the reason and source offset in headers.",
    )
    group_id: str = Field(default="olgraph-consume", description="Consumer group of the `consume` replicas.")
    client_id: str = Field(default="olgraph", description="Client id reported to the brokers.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How to talk to the brokers."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="SASL mechanism, with a `SASL_*` security protocol."
    )
    sasl_username: str | None = Field(default=None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    send_timeout_seconds: float = Field(
        default=4.0,
        gt=0,
        description=(
            "How long ingest waits for the brokers to acknowledge an event before answering 503. "
            "Keep it below the clients' HTTP timeout (openlineage-python: 5 s) so they see the 503."
        ),
    )


class LogSettings(_Group):
    """Where accepted events are kept until the consumer has applied them."""

    kind: Literal["local", "kafka"] = Field(
        default="local", description="`local`: a durable log file; `kafka`: a Kafka topic (distributed)."
    )
    local: LocalLogConfig = Field(default_factory=LocalLogConfig, description="Local log settings.")
    kafka: KafkaConfig = Field(default_factory=KafkaConfig, description="Kafka settings.")


class LimitSettings(_Group):
    """Bounds on what one ingest request may send."""

    max_body_bytes: int = Field(default=10 * MIB, ge=1, description="Largest body as sent (413 above).")
    max_decompressed_bytes: int = Field(
        default=50 * MIB, ge=1, description="Largest body after gzip/deflate decompression (413 above)."
    )
    max_json_depth: int = Field(default=64, ge=1, description="Deepest JSON nesting accepted (400 above).")
    max_batch_events: int = Field(default=1000, ge=1, description="Most events in one batch (413 above).")


class QuerySettings(_Group):
    """Caps on lineage and listing queries."""

    default_depth: int = Field(default=5, ge=1, description="Traversal depth when a query does not give one.")
    max_depth: int = Field(default=50, ge=1, description="Deepest traversal a query may ask for.")
    max_nodes: int = Field(default=10_000, ge=1, description="Most nodes one lineage/impact answer holds.")
    default_page: int = Field(default=100, ge=1, description="Page size of listings when none is asked for.")
    max_page: int = Field(default=1000, ge=1, description="Largest page size a listing may ask for.")


class ApiKey(_Group):
    """One API key: who it is, what it may do, and the sha256 of the secret (never the secret)."""

    name: str = Field(description="Who uses the key (shown in logs).")
    role: Role = Field(description="`ingest`, `read`, `analyst` or `admin`.")
    sha256: str = Field(description="Hex sha256 of the key as sent in `Authorization: Bearer <key>`.")

    @field_validator("sha256")
    @classmethod
    def _check_sha256(cls, value: str) -> str:
        value = value.strip().lower()
        if not _SHA256_HEX.fullmatch(value):
            raise ValueError("must be 64 hex digits (the sha256 of the key, not the key)")
        return value


class AuthSettings(_Group):
    """API keys. With none configured, authentication is off (loopback only, see `allow_anonymous`)."""

    api_keys: list[ApiKey] = Field(
        default_factory=list,
        description='API keys as JSON: `[{"name": "airflow", "role": "ingest", "sha256": "…"}]`.',
    )
    allow_anonymous: bool = Field(
        default=False, description="Serve without API keys on a non-loopback host (otherwise refused)."
    )


class ConsumerSettings(_Group):
    """The consumer that applies logged events to the graph store."""

    batch_size: int = Field(default=500, ge=1, description="Most events read and applied in one store batch.")
    poll_interval_seconds: float = Field(
        default=1.0, gt=0, description="How often the consumer checks the log when not woken by an append."
    )
    backoff_initial_seconds: float = Field(
        default=0.1, gt=0, description="First wait before retrying a batch the store could not take."
    )
    backoff_max_seconds: float = Field(default=30.0, gt=0, description="Longest wait between retries.")


class RetentionSettings(_Group):
    """Removing old history: runs, dataset versions and raw events older than ``days``."""

    days: int | None = Field(
        default=None,
        ge=1,
        le=36_500,
        description="Remove runs, dataset versions and raw events older than this many days, "
        "periodically (`olgraph serve`); unset: keep everything. Each dataset's latest version and "
        "every lineage edge stay.",
    )
    interval_seconds: float = Field(default=3600.0, gt=0, description="How often the periodic removal runs.")
    batch_size: int = Field(
        default=500,
        ge=1,
        description="Most runs or versions removed in one transaction (ingest goes on between).",
    )


class Settings(BaseSettings):
    """The root of olgraph's configuration."""

    model_config = SettingsConfigDict(env_prefix="OLGRAPH_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(
        default=Path(".olgraph"), description="Holds the event log and the embedded graph."
    )
    server: ServerSettings = Field(default_factory=ServerSettings, description="HTTP API.")
    marquez: MarquezSettings = Field(
        default_factory=MarquezSettings, description="Marquez-compatible API (a second listener)."
    )
    store: StoreSettings = Field(default_factory=StoreSettings, description="Graph store.")
    log: LogSettings = Field(default_factory=LogSettings, description="Event log.")
    limits: LimitSettings = Field(default_factory=LimitSettings, description="Ingest limits.")
    query: QuerySettings = Field(default_factory=QuerySettings, description="Query caps.")
    auth: AuthSettings = Field(default_factory=AuthSettings, description="Authentication.")
    consumer: ConsumerSettings = Field(default_factory=ConsumerSettings, description="Consumer.")
    retention: RetentionSettings = Field(default_factory=RetentionSettings, description="History retention.")

    def embedded_store_path(self) -> Path:
        """Where the embedded graph file lives."""
        return self.store.embedded.path or self.data_dir / "graph.db"

    def local_log_path(self) -> Path:
        """Where the local event log file lives."""
        return self.log.local.path or self.data_dir / "events.db"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_serving_security(settings: Settings) -> None:
    """Refuse to serve without API keys beyond loopback unless explicitly allowed.

    Raises :class:`InsecureSettings`.
    """
    auth = settings.auth
    if auth.api_keys or auth.allow_anonymous or is_loopback(settings.server.host):
        return
    raise InsecureSettings(
        f"refusing to serve on {settings.server.host} without API keys: configure "
        "OLGRAPH_AUTH__API_KEYS, or set OLGRAPH_AUTH__ALLOW_ANONYMOUS=true to accept anyone"
    )
