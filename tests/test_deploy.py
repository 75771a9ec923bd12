"""What deploy/ gives an operator is valid and runs the right command."""

from __future__ import annotations

import configparser
import os
import pathlib
import shlex
import subprocess

import pytest
import yaml

from pipeline.cli import _parser
from tests.conftest import ROOT, required_service

DEPLOY = ROOT / "deploy"


def newsbeam_args(command: list[str], beam: tuple[str, ...] = ()) -> list[str]:
    """The arguments after the newsbeam executable, checked against the real CLI parser (and
    the options of Beam given in `beam`, which newsbeam passes on)."""
    index = next(i for i, part in enumerate(command) if part.endswith("newsbeam"))
    args = command[index + 1:]
    parsed, extra = _parser().parse_known_args(args)
    assert parsed.command == "run" and [a for a in extra if a.startswith("--")] == list(beam), args
    assert parsed.feeds and parsed.output and parsed.store.startswith("postgresql://")
    return args


def test_crontab_line_runs_a_pass_hourly():
    (line,) = [line for line in (DEPLOY / "crontab").read_text().splitlines() if line and not line.startswith("#")]
    fields = line.split(None, 6)
    assert fields[:5] == ["7", "*", "*", "*", "*"]
    command = shlex.split(fields[6].split(">>")[0])
    assert command[:3] == ["flock", "-n", "/var/lock/newsbeam.lock"]
    newsbeam_args(command)


def test_systemd_units():
    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.read(DEPLOY / "systemd" / "newsbeam.service")
    assert service["Service"]["Type"] == "oneshot"
    newsbeam_args(shlex.split(service["Service"]["ExecStart"]))
    timer = configparser.ConfigParser()
    timer.read(DEPLOY / "systemd" / "newsbeam.timer")
    assert timer["Timer"]["OnCalendar"] == "hourly" and timer["Timer"]["Unit"] == "newsbeam.service"


def test_kubernetes_cronjob():
    manifest = yaml.safe_load((DEPLOY / "kubernetes" / "cronjob.yaml").read_text())
    assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "CronJob")
    assert manifest["spec"]["schedule"] == "7 * * * *" and manifest["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    newsbeam_args(["newsbeam", *container["args"]])
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/etc/newsbeam" in mounts and "/data" in mounts


def test_dockerfile_installs_the_package_and_runs_newsbeam():
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    assert lines[[i for i, line in enumerate(lines) if line.startswith("FROM")][0]].startswith("FROM python:3.11")
    copied = {line.split()[1] for line in lines if line.startswith("COPY")}
    assert {"pipeline", "transforms", "state", "schemas"} <= copied
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages <= copied, packages - copied  # every package of the project is in the image
    assert 'ENTRYPOINT ["newsbeam"]' in lines
    assert any(line.startswith("RUN pip install '.[dask]'") for line in lines)


def test_dask_cluster_manifest():
    cluster, cronjob = yaml.safe_load_all((DEPLOY / "kubernetes" / "dask-cluster.yaml").read_text())
    assert (cluster["apiVersion"], cluster["kind"]) == ("kubernetes.dask.org/v1", "DaskCluster")
    (worker,) = cluster["spec"]["worker"]["spec"]["containers"]
    (scheduler,) = cluster["spec"]["scheduler"]["spec"]["containers"]
    (driver,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert worker["image"] == scheduler["image"] == driver["image"]  # one image for all three
    assert worker["command"] == scheduler["command"] == ["dask"]
    args = newsbeam_args(["newsbeam", *driver["args"]], beam=("--runner", "--dask_client_address"))
    address = args[args.index("--dask_client_address") + 1]
    assert address == f"tcp://{cluster['metadata']['name']}-scheduler:8786"  # the operator's service
    assert args[args.index("--runner") + 1] == "DaskRunner"


@pytest.mark.airflow
@pytest.mark.slow
def test_airflow_dag_imports_and_schedules_the_pass():
    """Loaded by a real Airflow with the Apache Beam provider (CI installs one in a venv of its
    own: Airflow's pins clash with the pipeline's)."""
    airflow_python = required_service("NEWSBEAM_TEST_AIRFLOW_PYTHON", "Airflow with its Beam provider (.ci/run)")
    check = f"""
import json, sys
from airflow.models import DagBag
bag = DagBag(dag_folder={str(DEPLOY / 'airflow')!r}, include_examples=False)
assert not bag.import_errors, bag.import_errors
dag = bag.dags["newsbeam_hourly"]
task = dag.get_task("newsbeam_run")
print(json.dumps({{"schedule": str(dag.schedule_interval), "operator": type(task).__name__,
                  "py_file": task.py_file, "py_options": task.py_options, "runner": task.runner,
                  "options": task.pipeline_options}}))
"""
    env = {**os.environ, "AIRFLOW_HOME": str(pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "newsbeam-airflow")}
    result = subprocess.run([airflow_python, "-c", check], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["schedule"] == "@hourly" and loaded["operator"] == "BeamRunPythonPipelineOperator"
    command = [*loaded["py_options"], loaded["py_file"]]
    assert command == ["-m", "pipeline"]
    args = [f"--{key}={value}" for key, value in loaded["options"].items()] + [f"--runner={loaded['runner']}"]
    parsed, extra = _parser().parse_known_args(["run", *args])
    assert parsed.feeds and parsed.store.startswith("postgresql://") and extra == ["--runner=DirectRunner"]
