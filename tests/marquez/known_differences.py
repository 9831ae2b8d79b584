"""The differences between Marquez's answers and olgraph's that remain by design.

Each entry names the routes (a regex) and JSON paths (globs, ``[*]`` for any list item) it
covers and says why; docs/migrating-from-marquez.md explains each under its ``id``.
"""

from __future__ import annotations

from differential import Known

ANY = r"."
DATASETS = r"/datasets|/lineage|/search"
RUNS = r"/jobs|/runs|/datasets/\{ds\}/versions|/lineage"

KNOWN: list[Known] = [
    Known(
        "event-times",
        ANY,
        ("*createdAt", "*updatedAt", "*lastModifiedAt"),
        "olgraph's times are the producers' event times; Marquez stamps most rows with the time it "
        "stored them, so its answers change when the same events are replayed",
    ),
    Known(
        "run-order",
        RUNS,
        (
            "*latestRun.state",
            "*latestRun.id",
            "*latestRun.startedAt",
            "*latestRun.endedAt",
            "*latestRun.durationMs",
            "*latestRun.facets*",
            "*latestRun.*DatasetVersions*",
            "*latestRuns*",
            "*latestRun",
            "runs[*].state",
            "runs[*].endedAt",
            "runs[*].startedAt",
            "runs[*].durationMs",
            "state",
            "startedAt",
            "endedAt",
            "durationMs",
        ),
        "olgraph orders a run's events by event time (events may arrive in any order); Marquez "
        "applies them in arrival order, so a late START can reopen a completed run",
    ),
    Known(
        "dataset-versions",
        r"/datasets",
        (
            "totalCount",
            "versions",
            "versions[*]",
            "versions[*].*",
            "currentVersion",
            "datasets[*].currentVersion",
            "<listed>",
        ),
        "Marquez makes a dataset version for every event naming the dataset as an output (START and "
        "COMPLETE each); olgraph makes one per run that wrote it; version ids are each side's own",
    ),
    Known(
        "version-by-id",
        r"/versions/\{version\}",
        ("*",),
        "each side's newest version is a different one (see dataset-versions); Marquez also answers "
        "500 for some of its own listed version ids",
    ),
    Known(
        "current-schema",
        DATASETS,
        ("fields[*]", "fields", "*.fields[*]", "*.fields", "facets.schema*", "*.facets.schema*"),
        "a dataset's current schema is the newest by event time in olgraph, the last stored in Marquez",
    ),
    Known(
        "dataset-facets",
        DATASETS,
        (
            "description",
            "*.description",
            "lastLifecycleState",
            "*.lastLifecycleState",
            "facets.*",
            "*.facets.*",
            "columnLineage",
            "*.columnLineage",
            "columnLineage[*]",
            "columnLineage[*].inputFields[*]",
            "datasets[*].columnLineage[*]",
            "datasets[*].columnLineage[*].inputFields[*]",
            "tags",
            "*.tags",
        ),
        "olgraph reads a dataset's description, lifecycle state, tags, facets and column lineage from "
        "every event that names it (inputs too); Marquez only from the events that wrote it",
    ),
    Known(
        "seeded-rows",
        r"/namespaces|/tags",
        ("namespaces[*].description", "description", "namespaces[*].ownerName", "ownerName", "tags[*]"),
        "Marquez seeds a `default` namespace with a description and the tags PII and SENSITIVE; olgraph "
        "lists only what events reported (tags as key=value)",
    ),
    Known(
        "run-facets-empty",
        r"/facets",
        ("",),
        "for a run without facets of the asked type Marquez answers an empty body; olgraph answers "
        "{runId, facets: {}}",
    ),
    Known(
        "column-field-type",
        r"/column-lineage",
        ("graph[*].data.fieldType",),
        "olgraph's column nodes carry the column's type from the schema facet; Marquez leaves it empty",
    ),
    Known(
        "job-io",
        r"/jobs|/lineage|/search",
        (
            "*inputs[*]",
            "*outputs[*]",
            "inputs",
            "outputs",
            "*.inputs",
            "*.outputs",
            "graph[*]",
            "graph[*].inEdges[*]",
            "graph[*].outEdges[*]",
            "graph[*].data.*",
            "results[*]",
            "totalCount",
        ),
        "a job's inputs and outputs, and so its lineage graph, are every dataset it read or wrote in "
        "olgraph; in Marquez those of its current job version, and datasets only named as symlinks or "
        "parents are left out",
    ),
    Known(
        "job-facets",
        r"/jobs",
        (
            "*facets.*",
            "*labels",
            "*type",
            "*location",
            "*description",
            "*currentVersion",
            "*jobVersion*",
            "*tags",
        ),
        "olgraph keeps every job facet reported for the job (jobType and tags included) and derives "
        "labels and tags from them; Marquez returns the facets of the job's current version only",
    ),
    Known(
        "parent-jobs",
        r"/jobs",
        ("jobs[*]", "totalCount", "*parentJobName", "*simpleName", "*parentJobUuid"),
        "a job named only in a child run's parent facet is a job in olgraph; Marquez lists it only "
        "once it sent events of its own",
    ),
    Known(
        "run-args-nominal",
        RUNS,
        ("*nominalStartTime", "*nominalEndTime", "*args.*", "*args"),
        "olgraph answers a run's nominal times from its nominalTime facet; Marquez keeps them in args "
        "and leaves the fields empty on this path",
    ),
    Known(
        "stored-events",
        r"/events",
        (
            "events[*].*.facets.*",
            "events[*].*[*].facets.*",
            "events[*].*[*].*Facets",
            "events[*].*[*].*Facets.*",
            "events[*].job.facets",
            "events[*].run.facets",
            "events[*].eventType",
            "events[*].schemaURL",
            "events[*].producer",
            "totalCount",
        ),
        "olgraph answers the events as received (secrets redacted); Marquez re-serialises them through "
        "its model, adding null facets (and a null eventType) and dropping fields it does not know. "
        "Marquez's totalCount also "
        "counts DatasetEvents and JobEvents, which neither lists",
    ),
    Known(
        "symlinked-datasets",
        DATASETS,
        ("physicalName", "*.physicalName", "datasets[*]", "totalCount"),
        "Marquez gives a dataset named by another's symlinks facet the physical name of the dataset "
        "that names it; olgraph its own name. A dataset named only in column lineage or as a symlink "
        "is listed by olgraph and not by Marquez",
    ),
    Known(
        "source-name",
        DATASETS,
        ("sourceName", "*.sourceName"),
        "Marquez keeps the source of the event that first named a dataset; olgraph the latest dataSource "
        "facet's name (both answer `default` without one)",
    ),
    Known(
        "run-io",
        RUNS,
        (
            "*inputDatasetVersions",
            "*outputDatasetVersions",
            "*inputDatasetVersions[*]",
            "*outputDatasetVersions[*]",
            "runs[*]",
            "totalCount",
        ),
        "a run's inputs and outputs are each dataset once as events named it in olgraph; Marquez "
        "also lists the datasets its symlinks resolve to and keeps a run that several jobs' events "
        "share under the first job",
    ),
    Known(
        "transformation-types",
        r"/column-lineage|/datasets",
        ("*transformationType", "*transformationDescription"),
        "olgraph records the deprecated per-column transformationType as the equivalent transformation "
        "and answers Marquez's name (IDENTITY, MASKED) for every such transformation, also one sent in "
        "the newer form, where Marquez answers null",
    ),
    Known(
        "job-versions",
        r"/jobs/\{job\}/versions",
        ("versions[*]", "totalCount"),
        "Marquez makes a job version for each distinct set of inputs, outputs and location its runs "
        "reported; olgraph keeps no job versions and answers one per job, the job as it is now",
    ),
    Known(
        "column-lineage-graph",
        r"/column-lineage",
        (
            "graph[*]",
            "graph[*].data.inputFields[*]",
            "graph[*].inEdges[*]",
            "graph[*].outEdges[*]",
            "graph",
            "<status>",
            "code",
            "message",
        ),
        "olgraph's column lineage is the union of every columnLineage facet reported and follows "
        "withDownstream=true to the columns derived downstream; Marquez 0.50 answers the lineage of "
        "each dataset's current version and, in these scenarios, nothing downstream",
    ),
    Known(
        "marquez-500",
        r"/sources|/runlineage",
        ("*",),
        "the Marquez 0.50 build answers 500 to GET /sources and GET /runlineage/upstream after "
        "OpenLineage ingestion; olgraph answers them (see the unit tests)",
    ),
    Known(
        "colon-namespaces",
        r"/lineage",
        ("<status>", "code", "message", "graph"),
        "Marquez cannot resolve a nodeId whose namespace holds a colon (an AWS Glue ARN: it takes the "
        "namespace up to the first colon and answers 404); olgraph resolves it",
    ),
]
