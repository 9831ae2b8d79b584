"""The MLflow plugin over openlineage-python's Kafka transport, into the graph through ``olgraph consume``.

A training script, in its own interpreter configured only by the client's
``OPENLINEAGE__TRANSPORT__*`` variables (``type: kafka``), trains on a dataset logged from
``s3://bucket/train.parquet``, logs a model and registers it twice. The events on the topic
are keyed as the Java client and ``olgraph api`` key them (one run → one partition, in order);
a real ``olgraph consume`` applies them to Neo4j, and the graph then says which run produced
``churn`` version 2 and what it read.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from consume_support import read_topic
from neo4j import GraphDatabase

from olgraph.config import KafkaConfig
from olgraph.ingest.kafka_key import kafka_key
from olgraph.ingest.parse import parse_event
from olgraph.integrations.mlflow import naming

pytestmark = [pytest.mark.kafka, pytest.mark.neo4j]

APPLY_TIMEOUT = 90.0
WORKLOAD = """
import json, sys
import mlflow, pandas as pd
from sklearn.linear_model import LogisticRegression

mlflow.set_experiment("churn-kafka")
df = pd.DataFrame({"tenure": [1.0, 5.0, 9.0, 12.0], "churned": [1, 1, 0, 0]})
with mlflow.start_run() as run:
    data = mlflow.data.from_pandas(df, source="s3://bucket/train.parquet", targets="churned")
    mlflow.log_input(data, context="training")
    model = LogisticRegression().fit(df[["tenure"]], df["churned"])
    info = mlflow.sklearn.log_model(model, name="model")
mlflow.register_model(info.model_uri, "churn")
version = mlflow.register_model(info.model_uri, "churn")
print(json.dumps({"run": run.info.run_id, "digest": data.digest, "version": version.version}))
"""


def run_workload(config: KafkaConfig, folder: Path) -> dict[str, Any]:
    """Train in a fresh interpreter whose OpenLineage client sends to Kafka."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(folder),
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "OPENLINEAGE__TRANSPORT__TYPE": "kafka",
        "OPENLINEAGE__TRANSPORT__TOPIC": config.topic,
        "OPENLINEAGE__TRANSPORT__CONFIG": json.dumps(
            {"bootstrap.servers": config.bootstrap_servers, "acks": "all", "partitioner": "murmur2_random"}
        ),
        "OLGRAPH_MLFLOW_FLUSH_TIMEOUT": "30",
    }
    done = subprocess.run(
        [sys.executable, "-c", WORKLOAD],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def produced_by(uri: str, model_key: str, version: str) -> list[dict[str, Any]]:
    """Query 4 of docs/graph-model.md: the run behind a model version and what it read."""
    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    auth = (user, password) if user and password else None
    cypher = """
    MATCH (m:Model {key: $model})<-[:VERSION_OF]-(v:DatasetVersion {version: $version})
    MATCH (r:Run)-[:WROTE]->(v)
    OPTIONAL MATCH (input:DatasetVersion)-[:READ_BY]->(r)
    RETURN r.runId AS run, r.state AS state, collect(input.dataset + '@' + input.version) AS trainedOn
    """
    with GraphDatabase.driver(uri, auth=auth) as driver, driver.session() as session:
        return [dict(row) for row in session.run(cypher, model=model_key, version=version)]


async def test_mlflow_events_over_kafka_reach_the_graph(
    kafka_config: KafkaConfig,
    neo4j_uri: str,
    clean_neo4j: None,
    consume_process: Callable[..., Any],
    tmp_path: Path,
) -> None:
    out = run_workload(kafka_config, tmp_path)
    run_uuid = str(uuid.UUID(hex=out["run"]))

    # START, the logged input, the logged model, COMPLETE, two registrations (+ the registry state)
    records = await read_topic(kafka_config.bootstrap_servers, kafka_config.topic, count=6)
    run_records = [r for r in records if orjson.loads(r.value).get("run", {}).get("runId") == run_uuid]
    assert len(run_records) == 6, [orjson.loads(r.value) for r in records]
    for record in run_records:
        assert record.key.decode() == kafka_key(parse_event(orjson.loads(record.value)))
    assert len({r.partition for r in run_records}) == 1, "one run's events must stay in one partition"

    consumer = consume_process()
    consumer.wait_started()
    namespace = naming.mlflow_namespace(f"sqlite:///{tmp_path / 'mlflow.db'}")
    model_key = f"dataset:{namespace}:models/churn"
    deadline = time.monotonic() + APPLY_TIMEOUT
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = produced_by(neo4j_uri, model_key, str(out["version"]))
        if rows and rows[0]["state"] == "COMPLETE" and rows[0]["trainedOn"]:
            break
        await asyncio.sleep(0.5)
    assert consumer.terminate() == 0, consumer.stderr()
    assert rows == [
        {
            "run": run_uuid,
            "state": "COMPLETE",
            "trainedOn": [f"dataset:s3://bucket:train.parquet@{out['digest']}"],
        }
    ]
