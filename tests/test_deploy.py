"""What deploy/ gives an operator is valid and runs the right command."""

from __future__ import annotations

import configparser
import os
import pathlib
import shlex
import subprocess

import pytest
import yaml

from newsbeam.pipeline.cli import _parser
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


def deploy_commands() -> dict[str, list[str]]:
    """Every newsbeam command line that deploy/ runs, by where it is."""
    (cron,) = [line for line in (DEPLOY / "crontab").read_text().splitlines() if line and not line.startswith("#")]
    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.read(DEPLOY / "systemd" / "newsbeam.service")
    cronjob = yaml.safe_load((DEPLOY / "kubernetes" / "cronjob.yaml").read_text())
    *_, dask_cronjob = yaml.safe_load_all((DEPLOY / "kubernetes" / "dask-cluster.yaml").read_text())
    return {
        "crontab": shlex.split(cron.split(None, 6)[6].split(">>")[0]),  # minute ... weekday, user, command
        "systemd": shlex.split(service["Service"]["ExecStart"]),
        "kubernetes": ["newsbeam", *_container(cronjob)["args"]],
        "dask": ["newsbeam", *_container(dask_cronjob)["args"]],
    }


def _container(cronjob: dict) -> dict:
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize("where", ["crontab", "systemd", "kubernetes", "dask"])
def test_every_deployed_command_is_one_newsbeam_accepts(where):
    """The options deploy/ passes still exist (a renamed option would fail every hour there)."""
    beam = ("--runner", "--dask_client_address") if where == "dask" else ()
    newsbeam_args(deploy_commands()[where], beam)


def test_the_image_holds_every_package_the_project_installs():
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    copied = {line.split()[1] for line in lines if line.startswith("COPY")}
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages <= copied, packages - copied


def test_the_dask_cluster_speaks_only_tls_to_holders_of_its_certificates():
    """Whoever reaches the scheduler runs code on the workers: scheduler, workers and driver
    all use TLS with certificates of one authority, and only the driver and the cluster may
    connect to it."""
    documents = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "dask-cluster.yaml").read_text()))
    cluster = next(d for d in documents if d["kind"] == "DaskCluster")
    policies = [d for d in documents if d["kind"] == "NetworkPolicy"]
    (worker,) = cluster["spec"]["worker"]["spec"]["containers"]
    (scheduler,) = cluster["spec"]["scheduler"]["spec"]["containers"]
    for role in (worker, scheduler):
        args = role["args"]
        assert {"--tls-ca-file", "--tls-cert", "--tls-key"} <= set(args), role["name"]
        assert {"name": "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION", "value": "True"} in role["env"]
        dashboard = args[args.index("--dashboard-address") + 1]
        assert dashboard.startswith("127.0.0.1:"), "a dashboard on all addresses runs code too"
    assert scheduler["args"][scheduler["args"].index("--protocol") + 1] == "tls"
    assert cluster["spec"]["scheduler"]["service"]["type"] == "ClusterIP"
    driver = _container(documents[-1])
    address = driver["args"][driver["args"].index("--dask_client_address") + 1]
    assert address == f"tls://{cluster['metadata']['name']}-scheduler:8786"
    client_env = {e["name"] for e in driver["env"]}
    assert {"DASK_DISTRIBUTED__COMM__TLS__CA_FILE", "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT",
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY"} <= client_env
    guarded = {p["spec"]["podSelector"]["matchLabels"]["dask.org/component"] for p in policies}
    assert guarded == {"scheduler", "worker"}
    for policy in policies:
        allowed = [source["podSelector"]["matchLabels"]
                   for rule in policy["spec"]["ingress"] for source in rule["from"]]
        assert all(labels in ({"app": "newsbeam"}, {"dask.org/cluster-name": "newsbeam-dask"}) for labels in allowed)


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
    assert command == ["-m", "newsbeam"]
    args = [f"--{key}={value}" for key, value in loaded["options"].items()] + [f"--runner={loaded['runner']}"]
    parsed, extra = _parser().parse_known_args(["run", *args])
    assert parsed.feeds and parsed.store.startswith("postgresql://") and extra == ["--runner=DirectRunner"]
