"""Airflow DAG: a newsbeam pass every hour, through the Apache Beam provider's operator.

Copy this file into the DAGs folder of an Airflow that has `apache-airflow-providers-apache-beam`
and newsbeam installed (`pip install newsbeam` from this repository). The pipeline runs on the
DirectRunner inside the worker; set `runner` to "DataflowRunner" or "FlinkRunner" (with their
options in `pipeline_options`) to run it on a cluster, with the shared PostgreSQL store.
"""

from __future__ import annotations

import datetime as dt

from airflow import DAG
from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator

FEEDS = "/etc/newsbeam/feeds.yaml"
STORE = "postgresql://newsbeam@postgres:5432/newsbeam"

with DAG(
    dag_id="newsbeam_hourly",
    description="Ingest the feeds and merge story variants (newsbeam)",
    schedule="@hourly",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": dt.timedelta(minutes=5)},
    tags=["newsbeam"],
) as dag:
    ingest = BeamRunPythonPipelineOperator(
        task_id="newsbeam_run",
        # The operator runs `python <py_options> <py_file> --feeds=... --runner=...`; with the
        # options first, `python -m newsbeam` runs a pass.
        py_options=["-m"],
        py_file="newsbeam",
        runner="DirectRunner",
        pipeline_options={
            "feeds": FEEDS,
            "output": "/data/newsbeam/{{ ds_nodash }}T{{ logical_date.strftime('%H') }}",
            "store": STORE,
        },
        py_interpreter="python3",
        py_system_site_packages=True,
        execution_timeout=dt.timedelta(minutes=50),
    )
