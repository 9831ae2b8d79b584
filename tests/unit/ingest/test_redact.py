"""Secret redaction: the shapes producers leak secrets in, generated cases, the corpus, and speed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus_events import corpus_events
from olgraph.ingest.redact import DEFAULT_KEY_PATTERNS, DEFAULT_VALUE_PATTERNS, Redactor

REDACTOR = Redactor.default()


def redacted(data: Any) -> Any:
    out, _ = REDACTOR.redact(data)
    return out


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        # environment-variables run facet
        ({"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "DB_PASSWORD", "value": "***"}),
        ({"name": "GITHUB_TOKEN", "value": "ghp_x"}, {"name": "GITHUB_TOKEN", "value": "***"}),
        ({"name": "AWS_SECRET_ACCESS_KEY", "value": "k"}, {"name": "AWS_SECRET_ACCESS_KEY", "value": "***"}),
        ({"name": "PWD", "value": "/home/etl"}, None),
        ({"name": "HOME", "value": "/root"}, None),
        ({"key": "api_token", "value": "t"}, {"key": "api_token", "value": "***"}),
        # Spark properties
        (
            {"spark.hadoop.fs.s3a.secret.key": "abc", "spark.master": "local[*]"},
            {"spark.hadoop.fs.s3a.secret.key": "***", "spark.master": "local[*]"},
        ),
        (
            {"fs.azure.account.key.acct.blob.core.windows.net": "zz", "spark.app.name": "etl"},
            {"fs.azure.account.key.acct.blob.core.windows.net": "***", "spark.app.name": "etl"},
        ),
        ({"spark.datasource.password": "p"}, {"spark.datasource.password": "***"}),
        # camelCase keys, and what must stay
        (
            {"clientSecret": "s", "apiKey": "k", "author": "me", "tokenizer": "bpe", "max_tokens": 5},
            {"clientSecret": "***", "apiKey": "***", "author": "me", "tokenizer": "bpe", "max_tokens": 5},
        ),
        ({"auth": {"type": "api_key", "apiKey": "k"}}, {"auth": {"type": "***", "apiKey": "***"}}),
        # URLs and connection strings
        ({"ns": "postgres://etl:hunter2@db:5432"}, {"ns": "postgres://etl:***@db:5432"}),
        ({"ns": "abfss://container@account.dfs.core.windows.net"}, None),
        (
            {"uri": "jdbc:postgresql://db:5432/x?user=u&password=p&ssl=true"},
            {"uri": "jdbc:postgresql://db:5432/x?user=u&password=***&ssl=true"},
        ),
        (
            {"uri": "jdbc:sqlserver://h;user=u;password=p;db=x"},
            {"uri": "jdbc:sqlserver://h;user=u;password=***;db=x"},
        ),
        ({"uri": "jdbc:mysql://etl:pw@h:3306/db"}, {"uri": "jdbc:mysql://etl:***@h:3306/db"}),
        ({"c": "Driver={x};Server=h;UID=u;PWD=pw;"}, {"c": "Driver={x};Server=h;UID=u;PWD=***;"}),
        (
            {"c": ["database.password=postgres", "database.user=postgres"]},
            {"c": ["database.password=***", "database.user=postgres"]},
        ),
        # SQL
        (
            {"query": "CREATE USER bob IDENTIFIED BY 'pa''ss'"},
            {"query": "CREATE USER bob IDENTIFIED BY '***'"},
        ),
        ({"query": "ALTER USER x WITH PASSWORD 'abc'"}, {"query": "ALTER USER x WITH PASSWORD '***'"}),
        ({"query": "create user x password 'abc'"}, {"query": "create user x password '***'"}),
        ({"query": "SELECT password, token FROM users"}, None),
        (
            {"query": "COPY t FROM 's3://b/k' CREDENTIALS 'aws_secret_access_key=XYZ' IAM_ROLE 'r'"},
            {"query": "COPY t FROM 's3://b/k' CREDENTIALS 'aws_secret_access_key=***' IAM_ROLE 'r'"},
        ),
        (
            {"query": "CREATE STAGE s CREDENTIALS=(AWS_SECRET_KEY='x')"},
            {"query": "CREATE STAGE s CREDENTIALS=(AWS_SECRET_KEY='***')"},
        ),
        # HTTP credentials, embedded JSON/YAML, PEM
        ({"h": "Authorization: Bearer abcdefghijkl.mnop"}, {"h": "Authorization: Bearer ***"}),
        ({"h": "curl -H 'X-Api-Key: abc'"}, {"h": "curl -H 'X-Api-Key: ***'"}),
        ({"j": '{"password": "x", "user": "y"}'}, {"j": '{"password": "***", "user": "y"}'}),
        ({"y": "password: hunter2\nuser: bob"}, {"y": "password: ***\nuser: bob"}),
        (
            {"k": "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIB\n-----END RSA PRIVATE KEY-----"},
            {"k": "-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----"},
        ),
        # prose and times stay
        ({"e": "Error: token expired at 2024-01-01T10:00:00Z"}, None),
    ],
)
def test_secret_shapes(given_value: Any, expected: Any) -> None:
    out, count = REDACTOR.redact(given_value)
    assert out == (given_value if expected is None else expected)
    assert (count > 0) == (expected is not None)


def test_redaction_is_idempotent_and_leaves_the_input_alone() -> None:
    event = {"name": "DB_PASSWORD", "value": "hunter2", "uri": "postgres://a:b@c"}
    once, count = REDACTOR.redact(event)
    assert count == 2
    assert REDACTOR.redact(once) == (once, 0)
    assert event["value"] == "hunter2"


_SECRET = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+!%", min_size=6, max_size=24
).map(lambda text: f"Zq{text}")  # never a piece of the event around it
_SECRET_NAMES = st.sampled_from(
    ["DB_PASSWORD", "password", "SNOWFLAKE_PASSWORD", "api_key", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY",
     "client_secret", "slackWebhookToken", "MLFLOW_TRACKING_TOKEN", "azure.sas", "spark.ssl.keyPassword"]
)  # fmt: skip
_HOSTS = st.sampled_from(["db", "warehouse.internal", "10.0.0.5", "pg-primary"])


def _run_event(run_facets: dict[str, Any], job_facets: dict[str, Any], namespace: str) -> dict[str, Any]:
    return {
        "eventType": "START",
        "eventTime": "2024-05-01T00:00:00Z",
        "run": {"runId": "0176a8c2-fe01-7439-87e6-56a1a1b4029f", "facets": run_facets},
        "job": {"namespace": "etl", "name": "load", "facets": job_facets},
        "inputs": [{"namespace": namespace, "name": "public.orders"}],
    }


@given(secret=_SECRET, name=_SECRET_NAMES, host=_HOSTS, shape=st.integers(0, 5))
@settings(max_examples=300)
def test_generated_secrets_never_survive(secret: str, name: str, host: str, shape: int) -> None:
    """A secret placed where producers put them is gone from the whole event; the rest stays."""
    run_facets: dict[str, Any] = {}
    job_facets: dict[str, Any] = {}
    namespace = f"postgres://{host}:5432"
    if shape == 0:
        variables = [{"name": "HOME", "value": "/home/etl"}, {"name": name, "value": secret}]
        run_facets["environment-variables"] = {"environmentVariables": variables}
    elif shape == 1:
        run_facets["spark_properties"] = {"properties": {"spark.master": "yarn", f"spark.x.{name}": secret}}
    elif shape == 2:
        namespace = f"postgres://etl:{secret}@{host}:5432"
    elif shape == 3:
        run_facets["spark_properties"] = {
            "properties": {"url": f"jdbc:postgresql://{host}/db?user=etl&{name}={secret}"}
        }
    elif shape == 4:
        job_facets["sql"] = {"query": f"CREATE USER etl IDENTIFIED BY '{secret}'; SELECT 1"}
    else:
        job_facets["sql"] = {"query": f"ALTER USER etl WITH PASSWORD '{secret}'"}
    event = _run_event(run_facets, job_facets, namespace)
    out, count = REDACTOR.redact(event)
    text = orjson.dumps(out).decode()
    assert count >= 1
    assert secret not in text
    assert host in text  # the identity around the secret is kept
    assert out["job"]["name"] == "load"


def test_the_corpus_secret_is_redacted_and_nothing_else_changes() -> None:
    """Of the corpus, only Debezium's connector config carries a secret (database.password)."""
    changed = {}
    for name, event in corpus_events():
        out, count = REDACTOR.redact(event)
        if count:
            changed[name] = (event, out)
    assert set(changed) == {"datahub-events/debezium_event.json"}
    before, after = changed["datahub-events/debezium_event.json"]
    configs = after["run"]["facets"]["debezium_config"]["configs"]
    assert "database.password=***" in configs
    assert "database.user=postgres" in configs  # the user name is no secret
    assert "database.password=postgres" in before["run"]["facets"]["debezium_config"]["configs"]


def test_patterns_are_configurable() -> None:
    mine = Redactor(
        key_patterns=["^internal_"], value_patterns=[r"ticket=(?P<secret>\d+)"], replacement="[x]"
    )
    out, count = mine.redact({"internal_id": "7", "password": "p", "note": "see ticket=42"})
    assert out == {"internal_id": "[x]", "password": "p", "note": "see ticket=[x]"}
    assert count == 2


@pytest.mark.parametrize("pattern", ["(unclosed", "no-secret-group"])
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="redaction value pattern"):
        Redactor(value_patterns=[pattern])


def test_defaults_are_the_documented_ones() -> None:
    """docs/security.md lists the default patterns verbatim."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "security.md").read_text(encoding="utf-8")
    for pattern in (*DEFAULT_KEY_PATTERNS, *DEFAULT_VALUE_PATTERNS):
        assert f"`{pattern}`" in doc, pattern


@pytest.mark.parametrize(
    "text",
    [
        "p" * 300_000,
        "a=b " * 75_000,
        "x://y:z " * 40_000,
        "-----BEGIN PRIVATE KEY-----" * 10_000,
        "identified by '" * 20_000,
        "password " * 30_000,
        "Bearer " * 40_000,
    ],
    ids=["letters", "pairs", "urls", "pem-heads", "sql-heads", "password-words", "bearer-words"],
)
def test_hostile_strings_are_redacted_in_linear_time(text: str) -> None:
    """No pattern backtracks quadratically (a quadratic one takes minutes here and hits the
    test timeout, not a timing assertion)."""
    out, _ = REDACTOR.redact({"x": text})
    assert isinstance(out["x"], str)
