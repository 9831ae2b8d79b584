"""The OpenLineage facets and RunEvents of a workload, built from its tables and steps.

Every facet is a standard one, stamped with this generator as producer and its schema's
version; plus the event times and run ids the generators draw.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from _workload_model import FACETS_URL, PRODUCER, SPEC_URL, JsonDict, Lineage, Step, Table

_FACET_VERSIONS = {
    "ParentRunFacet": "1-2-0", "NominalTimeRunFacet": "1-0-1", "ProcessingEngineRunFacet": "1-1-1",
    "ErrorMessageRunFacet": "1-0-1", "JobTypeJobFacet": "2-0-4", "SQLJobFacet": "1-1-0",
    "OwnershipJobFacet": "1-0-1", "SourceCodeLocationJobFacet": "1-1-0", "SchemaDatasetFacet": "1-2-0",
    "ColumnLineageDatasetFacet": "1-2-0", "DatasourceDatasetFacet": "1-0-1", "SymlinksDatasetFacet": "1-0-1",
    "DatasetTypeDatasetFacet": "1-0-1", "DatasetVersionDatasetFacet": "1-0-1",
    "OutputStatisticsOutputDatasetFacet": "1-0-2",
}  # fmt: skip
_REPO = "https://github.com/acme/data-pipelines"
_STACKS = {  # kind: (job namespace, integration, engine, engine version)
    "airflow": ("airflow-prod", "AIRFLOW", "Airflow", "2.10.3"),
    "dbt": ("dbt-prod", "DBT", "dbt", "1.8.7"),
    "spark": ("spark-prod", "SPARK", "spark", "3.5.1"),
    "ml": ("ml-platform", "KUBEFLOW", "python", "3.11.9"),
    "streaming": ("flink-prod", "FLINK", "flink", "1.18.1"),
}


def _facet(definition: str, **fields: Any) -> JsonDict:
    url = f"{FACETS_URL}/{_FACET_VERSIONS[definition]}/{definition}.json#/$defs/{definition}"
    return {"_producer": PRODUCER, "_schemaURL": url, **fields}


def _job(
    kind: str, name: str, job_type: str, team: str, *, parent: bool = False, **facets: JsonDict
) -> JsonDict:
    """A job of ``kind`` with its type and owner; a job that is no parent also says where its code is."""
    namespace, integration, _, _ = _STACKS[kind]
    processing = "STREAMING" if kind == "streaming" else "BATCH"
    typed = _facet("JobTypeJobFacet", processingType=processing, integration=integration, jobType=job_type)
    if kind == "streaming":
        pattern = {"eventTrigger": "PERIODIC", "eventContentMode": "ACCUMULATIVE", "windowDuration": 60}
        typed["emissionPattern"] = pattern
    owners = _facet("OwnershipJobFacet", owners=[{"name": team, "type": "TEAM"}])
    job_facets = {"jobType": typed, "ownership": owners, **facets}
    if not parent:
        url = f"{_REPO}/blob/main/{kind}/{name.replace('.', '/')}.py"
        job_facets["sourceCodeLocation"] = _facet(
            "SourceCodeLocationJobFacet", type="git", url=url, repoUrl=_REPO
        )
    return {"namespace": namespace, "name": name, "facets": job_facets}


def _engine(kind: str) -> JsonDict:
    """The ``processing_engine`` run facet of ``kind``'s stack."""
    _, _, name, version = _STACKS[kind]
    return _facet("ProcessingEngineRunFacet", name=name, version=version, openlineageAdapterVersion="1.23.0")


def _parent(run_id: str, job: JsonDict) -> JsonDict:
    ref = {"namespace": job["namespace"], "name": job["name"]}
    return _facet(
        "ParentRunFacet", run={"runId": run_id}, job=ref, root={"run": {"runId": run_id}, "job": ref}
    )


def _dataset(table: Table, lineage: Lineage = (), rows: int = 0) -> JsonDict:
    """The event entry for ``table``; ``lineage`` and ``rows`` only on outputs."""
    facets: JsonDict = {
        "dataSource": _facet("DatasourceDatasetFacet", name=table.namespace, uri=table.namespace)
    }
    if table.columns:
        fields = [{"name": n, "type": t, "ordinal_position": i} for i, (n, t) in enumerate(table.columns, 1)]
        facets["schema"] = _facet("SchemaDatasetFacet", fields=fields)
    facets["datasetType"] = _facet("DatasetTypeDatasetFacet", datasetType=table.type)
    if table.version is not None:
        facets["version"] = _facet("DatasetVersionDatasetFacet", datasetVersion=table.version)
    if table.symlink is not None:
        ident = {"namespace": table.symlink[0], "name": table.symlink[1], "type": "TABLE"}
        facets["symlinks"] = _facet("SymlinksDatasetFacet", identifiers=[ident])
    if lineage:
        facets["columnLineage"] = _column_lineage(lineage)
    entry: JsonDict = {"namespace": table.namespace, "name": table.name, "facets": facets}
    if rows:
        stats = {"rowCount": rows, "size": rows * 96, "fileCount": 1 + rows // 500_000}
        entry["outputFacets"] = {"outputStatistics": _facet("OutputStatisticsOutputDatasetFacet", **stats)}
    return entry


def _column_lineage(lineage: Lineage) -> JsonDict:
    fields = {}
    for out, ins in lineage:
        change = {
            "type": "DIRECT",
            "subtype": "IDENTITY" if len(ins) == 1 else "TRANSFORMATION",
            "masking": False,
        }
        refs = [
            {"namespace": t.namespace, "name": t.name, "field": c, "transformations": [change]}
            for t, c in ins
        ]
        fields[out] = {"inputFields": refs}
    table, column = lineage[0][1][0]
    change = {"type": "INDIRECT", "subtype": "FILTER", "masking": False}
    where = {"namespace": table.namespace, "name": table.name, "field": column, "transformations": [change]}
    return _facet("ColumnLineageDatasetFacet", fields=fields, dataset=[where])


def _event(
    event_type: str, at: str, run_id: str, run_facets: JsonDict, step: Step, *, final: bool
) -> JsonDict:
    """A RunEvent of ``step``; ``final`` events carry the output's column lineage and statistics."""
    outputs = []
    if step.target is not None:
        outputs = [_dataset(step.target, step.lineage, step.rows) if final else _dataset(step.target)]
    return {
        "eventType": event_type,
        "eventTime": at,
        "producer": PRODUCER,
        "schemaURL": f"{SPEC_URL}#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": run_facets},
        "job": step.job,
        "inputs": [_dataset(t) for t in step.sources],
        "outputs": outputs,
    }


def _sql(step: Step, dialect: str) -> JsonDict:
    """The INSERT … SELECT … JOIN that computes ``step``'s column lineage."""
    alias = {t: f"s{i}" for i, t in enumerate(t for t in step.sources if t.columns)}
    first, *rest = alias
    select = ",\n    ".join(
        " + ".join(f"{alias[t]}.{c}" for t, c in ins) + f" AS {out}" for out, ins in step.lineage
    )
    joins = "".join(f"\nLEFT JOIN {t.name} AS {alias[t]} ON s0.id = {alias[t]}.id" for t in rest)
    target = step.target.name if step.target else "dual"
    columns = ", ".join(out for out, _ in step.lineage)
    where = f"s0.{step.lineage[0][1][0][1]} IS NOT NULL"
    query = f"INSERT INTO {target} ({columns})\nSELECT\n    {select}\nFROM {first.name} AS s0{joins}"
    query += f"\nWHERE {where}"
    return _facet("SQLJobFacet", query=query, dialect=dialect)


def _iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def _run_id(rng: random.Random) -> str:
    """A random (version 4) UUID drawn from ``rng``, so it is reproducible."""
    value = (rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
