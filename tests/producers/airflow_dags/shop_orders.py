"""An Airflow DAG for the producer scenario (tests/producers/test_airflow.py).

Its SQL runs on PostgreSQL (connection ``shop_pg``): a daily revenue table built from the
orders table with CREATE TABLE AS, then a row added with an INSERT. A Python task reads that
table (an Asset inlet) and writes an export (an Asset outlet). Nothing here mentions
OpenLineage: the provider reports what the operators and assets say.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG, Asset, task

EXPORT = Asset(os.environ.get("SHOP_EXPORT_URI", "file:///tmp/shop/daily_revenue.csv"))
REVENUE = Asset(os.environ.get("SHOP_REVENUE_URI", "postgres://127.0.0.1:5432/shop/public/daily_revenue"))

with DAG("shop_orders", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    build = SQLExecuteQueryOperator(
        task_id="build_daily_revenue",
        conn_id="shop_pg",
        sql=(
            "CREATE TABLE public.daily_revenue AS "
            "SELECT ordered_at AS day, SUM(amount) AS revenue FROM public.orders "
            "WHERE status = 'paid' GROUP BY ordered_at"
        ),
    )
    refunds = SQLExecuteQueryOperator(
        task_id="add_refunds",
        conn_id="shop_pg",
        sql=(
            "INSERT INTO public.daily_revenue (day, revenue) "
            "SELECT ordered_at AS day, -SUM(amount) AS revenue FROM public.orders "
            "WHERE status = 'refunded' GROUP BY ordered_at"
        ),
    )

    @task(inlets=[REVENUE], outlets=[EXPORT])
    def export_revenue() -> None:
        """Stands for a file export; the assets say what it reads and writes."""

    build >> refunds >> export_revenue()
