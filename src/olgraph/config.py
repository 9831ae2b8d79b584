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
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from olgraph.errors import InsecureSettings
from olgraph.ingest.limits import JsonLimits
from olgraph.ingest.reader import EventReader
from olgraph.ingest.redact import DEFAULT_KEY_PATTERNS, DEFAULT_VALUE_PATTERNS, REPLACEMENT, Redactor
from olgraph.store.cypher_guard import DEFAULT_ALLOWED_PROCEDURES, CypherQuery

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
    min_free_bytes: int = Field(
        default=1 * MIB,
        ge=0,
        description="`/readyz` reports the store unable to take writes below this much free disk space.",
    )


class Neo4jStoreConfig(_Group):
    """A Neo4j server or cluster."""

    uri: str = Field(
        default="bolt://127.0.0.1:7687",
        description="Bolt URI; `neo4j://` for cluster routing, `bolt+s://`/`neo4j+s://` for TLS.",
    )
    user: str | None = Field(default=None, description="User name (no authentication when unset).")
    password: SecretStr | None = Field(default=None, description="Password of `user`.")
    database: str | None = Field(default=None, description="Database name; the server's default when unset.")
    create_schema: bool = Field(
        default=False,
        description="Create olgraph's constraints and indexes in a database that has none of them. "
        "Without it, olgraph refuses to write into a Neo4j that does not hold its schema "
        "(somebody else's database, or a mistyped URI).",
    )
    connection_timeout_seconds: float = Field(
        default=2.0, gt=0, description="How long opening a connection to Neo4j may take before it fails."
    )
    write_retry_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long a batch write is retried on transient errors before the consumer backs off.",
    )
    query_retry_seconds: float = Field(
        default=0.0,
        ge=0,
        description=(
            "How long a query is retried on transient errors; 0 answers 503 at once while Neo4j is "
            "unreachable (within about the connection timeout)."
        ),
    )


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
    min_free_bytes: int = Field(
        default=1 * MIB,
        ge=0,
        description="`/readyz` reports the log unable to take events below this much free disk space.",
    )
    retention_days: float | None = Field(
        default=30.0,
        gt=0,
        description=(
            "Applied events older than this are pruned from the log (and from `/runs/{runId}/events`); "
            "kept for ever when unset. Events not applied yet and dead letters are never pruned."
        ),
    )
    retention_max_bytes: int | None = Field(
        default=None,
        ge=1 * MIB,
        description="Also prune the oldest applied events while the logged events take more than this.",
    )
    retention_check_seconds: float = Field(
        default=300.0, gt=0, description="How often applied events are checked for pruning."
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
    max_body_values: int = Field(
        default=1_000_000,
        ge=1,
        description="Most JSON values (objects, arrays, strings, numbers…) in one body (413 above).",
    )
    max_event_values: int = Field(
        default=200_000,
        ge=1,
        description="Most JSON values in one event (413 above; in a batch only that element fails).",
    )
    max_container_items: int = Field(
        default=10_000,
        ge=1,
        description=(
            "Most items of one array or members of one object inside an event, e.g. a schema's "
            "fields (413 above)."
        ),
    )
    max_string_chars: int = Field(
        default=1_048_576, ge=1, description="Longest string or object key in an event (413 above)."
    )

    def json_limits(self) -> JsonLimits:
        """The structural limits, as the ingest layer takes them."""
        return JsonLimits(
            max_depth=self.max_json_depth,
            max_body_values=self.max_body_values,
            max_event_values=self.max_event_values,
            max_container_items=self.max_container_items,
            max_string_chars=self.max_string_chars,
        )


class RedactionSettings(_Group):
    """Secret-looking values replaced in every event before it is logged or stored."""

    enabled: bool = Field(default=True, description="Redact secrets (docs/security.md lists the patterns).")
    key_patterns: list[str] | None = Field(
        default=None,
        description=(
            "Regexes searched in lower-cased keys and pair names; a string under a matching key is "
            "replaced whole. Unset: the built-in list."
        ),
    )
    value_patterns: list[str] | None = Field(
        default=None,
        description=(
            "Regexes searched in every string; the group named `secret` is replaced. "
            "Unset: the built-in list."
        ),
    )
    extra_key_patterns: list[str] = Field(
        default_factory=list, description="Key patterns added to `key_patterns`."
    )
    extra_value_patterns: list[str] = Field(
        default_factory=list, description="Value patterns added to `value_patterns`."
    )
    replacement: str = Field(default=REPLACEMENT, min_length=1, description="What a secret is replaced by.")

    @model_validator(mode="after")
    def _check_patterns(self) -> RedactionSettings:
        self.redactor()  # a pattern that does not compile is a settings error, at start-up
        return self

    def redactor(self) -> Redactor | None:
        """The redactor these settings describe (None when disabled)."""
        if not self.enabled:
            return None
        keys = DEFAULT_KEY_PATTERNS if self.key_patterns is None else tuple(self.key_patterns)
        values = DEFAULT_VALUE_PATTERNS if self.value_patterns is None else tuple(self.value_patterns)
        return Redactor(
            (*keys, *self.extra_key_patterns), (*values, *self.extra_value_patterns), self.replacement
        )


class QuerySettings(_Group):
    """Caps on lineage and listing queries."""

    default_depth: int = Field(default=5, ge=1, description="Traversal depth when a query does not give one.")
    max_depth: int = Field(default=50, ge=1, description="Deepest traversal a query may ask for.")
    max_nodes: int = Field(
        default=10_000,
        ge=1,
        description="Most nodes one lineage/impact answer holds (a request may ask for fewer: `maxNodes`).",
    )
    stale_after_days: int = Field(
        default=30,
        ge=0,
        description="A node not seen for this many days (before now, or before `asOf`) is marked "
        "`stale` in lineage answers; 0 turns stale marks off.",
    )
    default_page: int = Field(default=100, ge=1, description="Page size of listings when none is asked for.")
    max_page: int = Field(default=1000, ge=1, description="Largest page size a listing may ask for.")
    max_page_bytes: int = Field(
        default=8 * MIB,
        ge=1024,
        description=(
            "Most bytes of raw events one page of `/runs/{runId}/events` holds (a page always has "
            "at least one event; the rest follow with the `next` cursor)."
        ),
    )


class CypherSettings(_Group):
    """Analysts' read-only Cypher (`POST /api/v1/cypher`, Neo4j store only)."""

    timeout_seconds: float = Field(
        default=10.0, gt=0, description="Transaction timeout of one query (400 when it runs longer)."
    )
    max_rows: int = Field(
        default=1000, ge=1, description="Most rows one answer holds (`truncated` says when there were more)."
    )
    max_query_chars: int = Field(default=10_000, ge=1, description="Longest query text accepted.")
    allowed_procedures: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_PROCEDURES),
        description="Procedures a query may CALL (all read-only; any other is refused).",
    )

    def query(self, text: str, parameters: Mapping[str, Any], max_rows: int | None = None) -> CypherQuery:
        """``text`` and ``parameters`` within these bounds (``max_rows`` may only lower the cap)."""
        return CypherQuery(
            text=text,
            parameters=parameters,
            timeout_seconds=self.timeout_seconds,
            max_rows=min(max_rows or self.max_rows, self.max_rows),
            max_query_chars=self.max_query_chars,
            allowed_procedures=tuple(self.allowed_procedures),
        )


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
    shutdown_grace_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "On SIGTERM, how long the batch in flight may take to finish and commit; after that it "
            "is abandoned uncommitted (applied again later) and the process exits."
        ),
    )


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
    redaction: RedactionSettings = Field(default_factory=RedactionSettings, description="Secret redaction.")
    query: QuerySettings = Field(default_factory=QuerySettings, description="Query caps.")
    cypher: CypherSettings = Field(default_factory=CypherSettings, description="Analysts' Cypher.")
    auth: AuthSettings = Field(default_factory=AuthSettings, description="Authentication.")
    consumer: ConsumerSettings = Field(default_factory=ConsumerSettings, description="Consumer.")
    retention: RetentionSettings = Field(default_factory=RetentionSettings, description="History retention.")

    def embedded_store_path(self) -> Path:
        """Where the embedded graph file lives."""
        return self.store.embedded.path or self.data_dir / "graph.db"

    def local_log_path(self) -> Path:
        """Where the local event log file lives."""
        return self.log.local.path or self.data_dir / "events.db"

    def event_reader(self) -> EventReader:
        """What turns bodies and logged messages into events: the limits and the redaction."""
        return EventReader(
            self.limits.json_limits(),
            self.redaction.redactor(),
            max_batch_events=self.limits.max_batch_events,
        )


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
