"""Airflow DAG: a newsbeam pass every hour, as the `newsbeam run` command.

Copy this file into the DAGs folder of an Airflow whose workers can run newsbeam (`pip install`
from this repository into their environment, or into a venv of its own: Airflow's pins and
Beam's clash, so a venv of newsbeam's own is the usual way). Nothing beyond Airflow itself is
needed: the task is a BashOperator, and the pass runs on newsbeam's local runner inside the
worker, against the shared PostgreSQL store.

Each run reuses one output folder (its vector cache and, with SQLite, its store), so an hourly
pass reads only what is new. The exit code says what happened (README, "Exit codes"): 3 (a pass
whose feeds or pages all failed) fails the task so that it alerts; 4 (the PostgreSQL store did
not answer) fails it too, and Airflow's retry tries again.

Settings, from the worker's environment (or edit the defaults below):
    NEWSBEAM_COMMAND  the newsbeam program (default: `newsbeam` on the PATH)
    NEWSBEAM_FEEDS    the feeds file
    NEWSBEAM_OUTPUT   the output folder, the same every hour
    NEWSBEAM_STORE    the store: postgresql://... (empty: SQLite in the output folder)

For a cluster runner (Dataflow, Flink), the Apache Beam provider's BeamRunPythonPipelineOperator
can start `python -m newsbeam run ...` instead; its Dataflow path needs the Google provider too.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex

from airflow import DAG
from airflow.operators.bash import BashOperator

COMMAND = os.environ.get("NEWSBEAM_COMMAND", "newsbeam")
FEEDS = os.environ.get("NEWSBEAM_FEEDS", "/etc/newsbeam/feeds.yaml")
OUTPUT = os.environ.get("NEWSBEAM_OUTPUT", "/var/lib/newsbeam/out")
STORE = os.environ.get("NEWSBEAM_STORE", "postgresql://newsbeam@postgres:5432/newsbeam")


def run_command() -> str:
    """The pass as a shell command line, each value quoted."""
    words = [*shlex.split(COMMAND), "run", "--feeds", FEEDS, "--output", OUTPUT, "--prune"]
    if STORE:
        words += ["--store", STORE]
    return shlex.join(words)


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
    ingest = BashOperator(
        task_id="newsbeam_run",
        bash_command=run_command(),
        # newsbeam's own exit codes fail the task (Airflow skips only on 99, which it never uses)
        execution_timeout=dt.timedelta(minutes=50),
    )
