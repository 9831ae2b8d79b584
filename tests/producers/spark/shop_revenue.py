"""A small PySpark batch job for the producer scenario (tests/producers/test_spark.py).

It knows nothing about OpenLineage: the listener is attached by spark-submit's --conf options,
as the OpenLineage Spark documentation describes. It reads orders from CSV and customers from
Parquet, joins and aggregates them into a table with CREATE TABLE AS SELECT, then adds a row
with an INSERT.

Usage: spark-submit [--conf ...] shop_revenue.py ORDERS_CSV CUSTOMERS_PARQUET
"""

import sys

from pyspark.sql import SparkSession

ORDERS_SCHEMA = "order_id INT, customer_id INT, amount DOUBLE, status STRING"


def main(orders_csv: str, customers_parquet: str) -> None:
    spark = SparkSession.builder.appName("shop_revenue").getOrCreate()
    spark.read.option("header", True).schema(ORDERS_SCHEMA).csv(orders_csv).createOrReplaceTempView("orders")
    spark.read.parquet(customers_parquet).createOrReplaceTempView("customers")
    spark.sql(
        "CREATE TABLE revenue_by_country USING parquet AS "
        "SELECT c.country, SUM(o.amount) AS revenue "
        "FROM orders o JOIN customers c ON o.customer_id = c.customer_id "
        "WHERE o.status = 'paid' GROUP BY c.country"
    )
    spark.sql(
        "INSERT INTO revenue_by_country "
        "SELECT 'refunds' AS country, -SUM(amount) AS revenue FROM orders WHERE status = 'refunded'"
    )
    rows = sorted((r.country, r.revenue) for r in spark.table("revenue_by_country").collect())
    print(f"revenue_by_country: {rows}")
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
