"""What the client-side plugins share: settings, the never-break guard, the emitter, facets, naming.

Everything here runs inside the user's workload, so three rules hold throughout:

- importing this module is cheap and has no side effect (openlineage-python is imported
  on the emitter's own thread, when the first event is sent);
- nothing raises into the workload unless the user asked for it
  (``OLGRAPH_<PLUGIN>_IGNORE_ERRORS=false``);
- events are handed to a bounded queue and sent by one background thread, so a slow or
  unreachable collector costs the workload nothing but a queue put. The queue is flushed
  at interpreter exit for at most ``OLGRAPH_<PLUGIN>_FLUSH_TIMEOUT`` seconds.

Events are built as plain JSON-ready dicts in the OpenLineage 2-0-2 shape and turned into
openlineage-python objects only when sent, so the transport (HTTP, Kafka, file, …), its
API key, compression and Kafka message keys are whatever the user configured for the
standard client (``OPENLINEAGE_URL``, ``OPENLINEAGE__TRANSPORT__*``, ``openlineage.yml``).
"""

from __future__ import annotations

from olgraph.integrations._common.emitter import Emitter, SendFn, default_sender, to_openlineage
from olgraph.integrations._common.events import (
    Workload,
    dataset,
    dataset_event,
    dataset_type_facet,
    facet,
    from_millis,
    job_type_facet,
    new_run_id,
    now,
    own_facet,
    parent_facet,
    processing_engine_facet,
    run_event,
    schema_facet,
    script_name,
    tags_facet,
    version_facet,
)
from olgraph.integrations._common.guard import Guard
from olgraph.integrations._common.naming import dataset_identity
from olgraph.integrations._common.process import ProcessRun
from olgraph.integrations._common.settings import PluginSettings, openlineage_configured, plugin_logger
from olgraph.integrations._common.spec import (
    FACETS_URL,
    OLGRAPH_SCHEMAS_URL,
    SPEC_URL,
    SPEC_VERSION,
    WORKLOAD_FACET,
    JsonDict,
    producer,
)

__all__ = [
    "FACETS_URL",
    "OLGRAPH_SCHEMAS_URL",
    "SPEC_URL",
    "SPEC_VERSION",
    "WORKLOAD_FACET",
    "Emitter",
    "Guard",
    "JsonDict",
    "PluginSettings",
    "ProcessRun",
    "SendFn",
    "Workload",
    "dataset",
    "dataset_event",
    "dataset_identity",
    "dataset_type_facet",
    "default_sender",
    "facet",
    "from_millis",
    "job_type_facet",
    "new_run_id",
    "now",
    "openlineage_configured",
    "own_facet",
    "parent_facet",
    "plugin_logger",
    "processing_engine_facet",
    "producer",
    "run_event",
    "schema_facet",
    "script_name",
    "tags_facet",
    "to_openlineage",
    "version_facet",
]
