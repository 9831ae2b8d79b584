// A small program on the openlineage-java client, as a Java service would use it: the client
// comes from Clients.newClient(), configured only by the openlineage.yml that OPENLINEAGE_CONFIG
// names (HTTP with gzip and an API key, or Kafka). It emits, at fixed times so that the tests can
// check exact values:
//   1. RunEvent START and 2. COMPLETE of job java-client/orders.daily_revenue (child of the
//      run java-client/orders_pipeline), reading shop.public.orders (with its schema) and
//      writing reports/daily_revenue (schema, and column lineage revenue <- amount, day <- ordered_at,
//      plus orders.status as a dataset-wide filter);
//   3. a DatasetEvent saying the report table is also the Hive table analytics.daily_revenue;
//   4. a JobEvent declaring that java-client/reports.publish reads the report and writes a dashboard.
// Usage: java EmitLineage RUN_ID PARENT_RUN_ID
import io.openlineage.client.Clients;
import io.openlineage.client.OpenLineage;
import io.openlineage.client.OpenLineageClient;
import java.net.URI;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.UUID;

public final class EmitLineage {
  static final String NS = "java-client";
  static final String DB = "postgres://db:5432";
  static final String LAKE = "s3://lake";
  static final OpenLineage OL =
      new OpenLineage(URI.create("https://github.com/olgraph/olgraph/tests/producers/java"));

  public static void main(String[] args) throws Exception {
    UUID runId = UUID.fromString(args[0]);
    UUID parentRunId = UUID.fromString(args[1]);
    ZonedDateTime start = ZonedDateTime.parse("2026-11-20T10:00:00Z");
    try (OpenLineageClient client = Clients.newClient()) {
      OpenLineage.Job job = OL.newJobBuilder().namespace(NS).name("orders.daily_revenue").build();
      OpenLineage.Run run =
          OL.newRunBuilder()
              .runId(runId)
              .facets(OL.newRunFacetsBuilder().parent(parent(parentRunId)).build())
              .build();
      List<OpenLineage.InputDataset> inputs = List.of(orders());
      client.emit(
          OL.newRunEventBuilder()
              .eventType(OpenLineage.RunEvent.EventType.START)
              .eventTime(start)
              .run(run)
              .job(job)
              .inputs(inputs)
              .outputs(List.of(report(false)))
              .build());
      client.emit(
          OL.newRunEventBuilder()
              .eventType(OpenLineage.RunEvent.EventType.COMPLETE)
              .eventTime(start.plusMinutes(3))
              .run(run)
              .job(job)
              .inputs(inputs)
              .outputs(List.of(report(true)))
              .build());
      client.emit(OL.newDatasetEvent(start.plusMinutes(4), hiveAlias()));
      client.emit(
          OL.newJobEventBuilder()
              .eventTime(start.plusMinutes(5))
              .job(OL.newJobBuilder().namespace(NS).name("reports.publish").build())
              .inputs(List.of(OL.newInputDatasetBuilder().namespace(LAKE).name("reports/daily_revenue").build()))
              .outputs(
                  List.of(
                      OL.newOutputDatasetBuilder()
                          .namespace("https://dashboards.example.com")
                          .name("revenue")
                          .build()))
              .build());
    }
    System.out.println("emitted 4");
  }

  static OpenLineage.ParentRunFacet parent(UUID parentRunId) {
    return OL.newParentRunFacetBuilder()
        .run(OL.newParentRunFacetRunBuilder().runId(parentRunId).build())
        .job(OL.newParentRunFacetJobBuilder().namespace(NS).name("orders_pipeline").build())
        .build();
  }

  static OpenLineage.SchemaDatasetFacetFields column(String name, String type) {
    return OL.newSchemaDatasetFacetFieldsBuilder().name(name).type(type).build();
  }

  static OpenLineage.InputDataset orders() {
    return OL.newInputDatasetBuilder()
        .namespace(DB)
        .name("shop.public.orders")
        .facets(
            OL.newDatasetFacetsBuilder()
                .schema(
                    OL.newSchemaDatasetFacet(
                        List.of(
                            column("id", "BIGINT"),
                            column("ordered_at", "TIMESTAMP"),
                            column("amount", "DECIMAL(12,2)"),
                            column("status", "VARCHAR"))))
                .build())
        .build();
  }

  static OpenLineage.InputField from(String field, String type, String subtype) {
    return OL.newInputFieldBuilder()
        .namespace(DB)
        .name("shop.public.orders")
        .field(field)
        .transformations(
            List.of(OL.newInputFieldTransformationsBuilder().type(type).subtype(subtype).build()))
        .build();
  }

  static OpenLineage.OutputDataset report(boolean withStatistics) {
    OpenLineage.ColumnLineageDatasetFacetFields fields =
        OL.newColumnLineageDatasetFacetFieldsBuilder()
            .put(
                "revenue",
                OL.newColumnLineageDatasetFacetFieldsAdditionalBuilder()
                    .inputFields(List.of(from("amount", "DIRECT", "AGGREGATION")))
                    .build())
            .put(
                "day",
                OL.newColumnLineageDatasetFacetFieldsAdditionalBuilder()
                    .inputFields(List.of(from("ordered_at", "DIRECT", "TRANSFORMATION")))
                    .build())
            .build();
    OpenLineage.OutputDatasetBuilder builder =
        OL.newOutputDatasetBuilder()
            .namespace(LAKE)
            .name("reports/daily_revenue")
            .facets(
                OL.newDatasetFacetsBuilder()
                    .schema(
                        OL.newSchemaDatasetFacet(
                            List.of(column("day", "DATE"), column("revenue", "DECIMAL(14,2)"))))
                    .columnLineage(
                        OL.newColumnLineageDatasetFacet(
                            fields, List.of(from("status", "INDIRECT", "FILTER"))))
                    .build());
    if (withStatistics) {
      builder.outputFacets(
          OL.newOutputDatasetOutputFacetsBuilder()
              .outputStatistics(OL.newOutputStatisticsOutputDatasetFacet(31L, 2048L, 1L))
              .build());
    }
    return builder.build();
  }

  static OpenLineage.StaticDataset hiveAlias() {
    return OL.newStaticDatasetBuilder()
        .namespace(LAKE)
        .name("reports/daily_revenue")
        .facets(
            OL.newDatasetFacetsBuilder()
                .symlinks(
                    OL.newSymlinksDatasetFacet(
                        List.of(
                            OL.newSymlinksDatasetFacetIdentifiers(
                                "hive://metastore:9083", "analytics.daily_revenue", "TABLE"))))
                .build())
        .build();
  }
}
