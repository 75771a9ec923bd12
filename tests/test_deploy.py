"""What deploy/ gives an operator is valid and runs the right command."""

from __future__ import annotations

import argparse
import configparser
import importlib.util
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from newsbeam.pipeline.cli import _parser
from tests.conftest import ROOT, RUN_ARGS, required_service, write_feeds_file

DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"


def newsbeam_args(command: list[str], beam: tuple[str, ...] = ()) -> argparse.Namespace:
    """The arguments after the newsbeam executable, checked against the real CLI parser (and
    the options of Beam given in `beam`, which newsbeam passes on)."""
    index = next(i for i, part in enumerate(command) if part.endswith("newsbeam"))
    args = command[index + 1:]
    parsed, extra = _parser().parse_known_args(args)
    assert [a for a in extra if a.startswith("--")] == list(beam), args
    if parsed.command != "run":
        assert not extra, args
    return parsed


def _unit(path: pathlib.Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # systemd's keys are case-sensitive
    unit.read(path)
    return unit


def _exec_start(path: pathlib.Path) -> list[str]:
    """A unit's (or a drop-in's) command: the last ExecStart= (a drop-in first clears it)."""
    lines = [line.partition("=")[2] for line in path.read_text().splitlines() if line.startswith("ExecStart=")]
    return shlex.split(lines[-1])


def _cron_command(path: pathlib.Path) -> list[str]:
    (line,) = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return shlex.split(line.split(None, 6)[6].split(">>")[0])  # minute ... weekday, user, command


def deploy_commands() -> dict[str, list[str]]:
    """Every newsbeam command line that deploy/ runs, by where it is."""
    documents = {path.name: list(yaml.safe_load_all(path.read_text())) for path in KUBERNETES.glob("*.yaml")}
    return {
        "cron": _cron_command(DEPLOY / "cron" / "newsbeam"),
        "cron-postgresql": _cron_command(DEPLOY / "cron" / "newsbeam-postgresql"),
        "systemd": _exec_start(DEPLOY / "systemd" / "newsbeam.service"),
        "systemd-postgresql": _exec_start(DEPLOY / "systemd" / "newsbeam.service.d" / "postgresql.conf"),
        "systemd-serve": _exec_start(DEPLOY / "systemd" / "newsbeam-serve.service"),
        "kubernetes": ["newsbeam", *_container(documents["cronjob.yaml"][0])["args"]],
        "kubernetes-serve": ["newsbeam", *_pod(documents["serve.yaml"][0])["containers"][0]["args"]],
        "dask": ["newsbeam", *_container(documents["dask-cluster.yaml"][-1])["args"]],
    }


def _pod(workload: dict) -> dict:
    """The pod spec of a Deployment, StatefulSet, Job or CronJob."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def _container(cronjob: dict) -> dict:
    (container,) = _pod(cronjob)["containers"]
    return container


@pytest.mark.parametrize("where", ["cron", "cron-postgresql", "systemd", "systemd-postgresql", "systemd-serve",
                                   "kubernetes", "kubernetes-serve", "dask"])
def test_every_deployed_command_is_one_newsbeam_accepts(where):
    """The options deploy/ passes still exist (a renamed option would fail every hour there)."""
    beam = ("--runner", "--dask_client_address") if where == "dask" else ()
    parsed = newsbeam_args(deploy_commands()[where], beam)
    assert parsed.command == ("serve" if where.endswith("serve") else "run")
    if parsed.command == "run":
        assert parsed.feeds and parsed.output
    postgresql = where.endswith("postgresql") or where.startswith(("kubernetes", "dask"))
    assert (parsed.store or "").startswith("postgresql://") == postgresql, where


def test_the_image_holds_every_package_the_project_installs():
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    copied = {line.split()[1] for line in lines if line.startswith("COPY")}
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages <= copied, packages - copied


def test_the_dask_cluster_speaks_only_tls_to_holders_of_its_certificates():
    """Whoever reaches the scheduler runs code on the workers: scheduler, workers and driver
    all use TLS with certificates of one authority, and only the driver and the cluster may
    connect to it."""
    documents = list(yaml.safe_load_all((KUBERNETES / "dask-cluster.yaml").read_text()))
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
def test_the_airflow_dags_task_runs_a_pass_on_the_demo(tmp_path):
    """A real Airflow (CI installs one in a venv of its own: Airflow's pins clash with the
    pipeline's) loads the DAG and runs its task for real (`airflow tasks test`) on the demo, twice:
    one output folder, reused, so the second hour reads nothing again."""
    airflow_python = required_service("NEWSBEAM_TEST_AIRFLOW_PYTHON", "Airflow (.ci/run)")
    airflow = str(pathlib.Path(airflow_python).parent / "airflow")
    output = tmp_path / "out"
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(DEPLOY / "airflow"),
           "NEWSBEAM_COMMAND": f"{sys.executable} -m newsbeam", "NEWSBEAM_FEEDS": str(ROOT / "examples" / "demo" /
                                                                                     "feeds.yaml"),
           "NEWSBEAM_OUTPUT": str(output), "NEWSBEAM_STORE": ""}
    migrate = subprocess.run([airflow, "db", "migrate"], capture_output=True, text=True, timeout=600, env=env)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    for hour in ("2026-12-01T10:00:00+00:00", "2026-12-01T11:00:00+00:00"):
        result = subprocess.run([airflow, "tasks", "test", "newsbeam_hourly", "newsbeam_run", hour],
                                capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    summaries = sorted(output.glob("summary-*.json"))
    assert len(summaries) == 2
    first, second = (json.loads(path.read_text()) for path in summaries)
    assert first["stories_new"] == 5 and second["feeds_not_modified"] == 3 and second["stories_new"] == 0


# --- Kubernetes: every manifest, and what they refer to ---------------------------------------------
def _manifests() -> dict[str, list[dict]]:
    return {path.name: [d for d in yaml.safe_load_all(path.read_text()) if d]
            for path in sorted(KUBERNETES.glob("*.yaml"))}


GUIDE = ROOT / "docs" / "deploy.md"


def test_every_manifest_parses_and_the_kustomization_applies_them_all():
    manifests = _manifests()
    (kustomization,) = manifests.pop("kustomization.yaml")
    for name, documents in manifests.items():
        for document in documents:
            assert document["apiVersion"] and document["kind"] and document["metadata"]["name"], name
    # every manifest but the Dask cluster's (it needs the Dask operator's resource kinds)
    assert sorted(kustomization["resources"]) == sorted(set(manifests) - {"dask-cluster.yaml"})


def test_every_volume_claim_a_manifest_mounts_is_one_a_manifest_makes():
    documents = [d for ds in _manifests().values() for d in ds]
    made = {d["metadata"]["name"] for d in documents if d.get("kind") == "PersistentVolumeClaim"}
    mounted = set(re.findall(r"claimName: ([\w-]+)", "".join(p.read_text() for p in KUBERNETES.glob("*.yaml"))))
    assert mounted and mounted <= made, mounted - made


def test_the_manifests_name_only_what_they_or_the_deploy_guide_create():
    manifests = _manifests()
    manifests.pop("kustomization.yaml")
    manifests.pop("dask-cluster.yaml")  # checked by the TLS test above
    documents = [d for ds in manifests.values() for d in ds]
    guide = GUIDE.read_text()
    defined = {(d["kind"], d["metadata"]["name"]) for d in documents}
    defined |= {("Secret", name) for name in re.findall(r"kubectl create secret generic ([\w-]+)", guide)}
    workloads = [d for d in documents if d["kind"] in ("CronJob", "Deployment", "StatefulSet")]
    assert {w["kind"] for w in workloads} == {"CronJob", "Deployment", "StatefulSet"}
    image_user = re.search(r"^USER (\d+):(\d+)$", (DEPLOY / "Dockerfile").read_text(), re.M)
    for workload in workloads:
        pod = _pod(workload)
        claims = {t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])}
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in defined
            if "persistentVolumeClaim" in volume:
                assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in defined
        for container in pod["containers"]:
            mounts = {m["name"] for m in container.get("volumeMounts", [])}
            assert mounts <= {v["name"] for v in pod.get("volumes", [])} | claims, workload["metadata"]["name"]
            for variable in container.get("env", []):
                secret = variable.get("valueFrom", {}).get("secretKeyRef")
                if secret:
                    assert ("Secret", secret["name"]) in defined, secret
            if container["image"].startswith("registry.example.org/newsbeam"):
                # the image's own user, and (for a pod with a volume to write) the volume given to it
                context = pod["securityContext"]
                assert (str(context["runAsUser"]), str(context["runAsGroup"])) == image_user.groups()
                if pod.get("volumes") and any("persistentVolumeClaim" in v for v in pod["volumes"]):
                    assert str(context["fsGroup"]) == image_user.group(2)
                store = container["args"][container["args"].index("--store") + 1]
                host = re.match(r"postgresql://[^@]+@([^:/]+)", store).group(1)
                assert ("Service", host) in defined, store  # the PostgreSQL of postgres.yaml


# --- the guide ----------------------------------------------------------------------------------------
def _guide_commands() -> list[list[str]]:
    """Each command line of the guide's shell blocks, continuation lines joined."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                commands.append(shlex.split(line))
    return commands


def test_the_deploy_guide_names_files_that_exist_and_newsbeam_commands_it_accepts():
    from newsbeam.pipeline.runners import unknown_options

    guide = GUIDE.read_text()
    named = set(re.findall(r"\bdeploy/[\w./-]+[\w]", guide))
    assert named and all((ROOT / path).exists() for path in named), [p for p in named if not (ROOT / p).exists()]
    checked = 0
    dask = importlib.util.find_spec("distributed") is not None  # without the dask extra its flags are unknown
    for command in _guide_commands():
        if not dask and "DaskRunner" in command:
            continue
        for index, word in enumerate(command):
            if (index == 0 and word == "newsbeam") or word.endswith("/bin/newsbeam"):  # not the user newsbeam
                args = command[index + 1:]
                args = args[:next((i for i, a in enumerate(args) if a in ("|", "&", "&&", ">")), len(args))]
                try:
                    parsed, extra = _parser().parse_known_args(args)
                except SystemExit:
                    pytest.fail(f"newsbeam refuses the guide's command: newsbeam {shlex.join(args)}")
                assert parsed.command, args
                assert not unknown_options(extra) and (parsed.command == "run" or not extra), args
                checked += 1
    assert checked >= 5  # the guide has this many at least: none was missed by the parsing above


# --- systemd ---------------------------------------------------------------------------------------------
def _tool(name: str) -> str:
    """A program the tests need from the system (.ci/run installs it)."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed: CI must install it")
        pytest.skip(f"{name} is not installed")
    return found


def test_the_systemd_units_verify(tmp_path):
    """systemd's own checker reads each unit and drop-in (with this machine's newsbeam as the
    command): no unknown key, nothing it refuses."""
    analyze = _tool("systemd-analyze")
    newsbeam = shutil.which("newsbeam", path=os.path.dirname(sys.executable))
    units = tmp_path / "units"
    shutil.copytree(DEPLOY / "systemd", units)
    for path in units.rglob("*"):  # the units and the drop-in
        if path.is_file():
            path.write_text(path.read_text().replace("/opt/newsbeam/.venv/bin/newsbeam", newsbeam))
    for unit in ("newsbeam.service", "newsbeam.timer", "newsbeam-serve.service"):
        checked = subprocess.run([analyze, "verify", str(units / unit)], capture_output=True, text=True,
                                 timeout=120, cwd=units)
        complaints = [line for line in (checked.stdout + checked.stderr).splitlines() if str(units) in line]
        assert checked.returncode == 0 and not complaints, (unit, checked.stdout, checked.stderr)
    for unit in (_unit(units / "newsbeam.service"), _unit(units / "newsbeam-serve.service")):
        assert unit["Service"]["ProtectSystem"] == "strict" and unit["Service"]["ProtectHome"] == "read-only"


@pytest.mark.slow
def test_the_hourly_unit_runs_on_postgresql_with_a_read_only_home(site, tmp_path, postgres_url):
    """The unit's own command (its PostgreSQL drop-in), with its environment, in its working
    folder, and a home folder that cannot be written (ProtectHome=read-only): the pass works,
    and its vector cache goes to the output folder."""
    home = tmp_path / "home"
    home.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(home)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a read-only tmpfs here (needs root)")
    try:
        state, etc = tmp_path / "var-lib-newsbeam", tmp_path / "etc-newsbeam"
        state.mkdir()
        etc.mkdir()
        write_feeds_file(etc / "feeds.yaml", [site.base_url + "feeds/kurier.rss"])
        service = _unit(DEPLOY / "systemd" / "newsbeam.service")["Service"]
        command = _exec_start(DEPLOY / "systemd" / "newsbeam.service.d" / "postgresql.conf")
        assert command[0] == "/opt/newsbeam/.venv/bin/newsbeam"
        mapped = [arg.replace("/etc/newsbeam", str(etc)).replace("/var/lib/newsbeam", str(state))
                  for arg in command[1:]]
        mapped[mapped.index("--store") + 1] = postgres_url
        environment = dict(line.split("=", 1) for line in [service["Environment"]])
        env = {key: value for key, value in os.environ.items() if not key.startswith("XDG_")}
        done = subprocess.run([sys.executable, "-m", "newsbeam", *mapped, *RUN_ARGS], capture_output=True, text=True,
                              timeout=300, cwd=service["WorkingDirectory"].replace("/var/lib/newsbeam", str(state)),
                              env={**env, **environment, "HOME": str(home)})
        assert done.returncode == 0, done.stderr[-3000:]
        assert list(home.iterdir()) == []
        assert list((state / "out" / "cache").glob("*.vectors")), "the vector cache is in OUTPUT/cache"
    finally:
        subprocess.run(["umount", "--lazy", str(home)], capture_output=True)
