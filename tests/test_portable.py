"""The same pipeline through Beam's portable job API, with SDK workers in separate processes
(the shape of a cluster run, without Java), on the shared PostgreSQL store: the same stories
and variants as on the local runner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from newsbeam.pipeline.cli import main
from tests.conftest import latest_stories, write_feeds_file

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

DEMO_FEEDS = ["feeds/kurier.rss", "feeds/herald.rss", "feeds/wire.atom", "feeds/gazette.rss"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def job_service():
    job_port, worker_port = _free_port(), _free_port()
    # The worker pool starts SDK workers as `python` from PATH: this environment's python, as
    # a cluster's worker image would have newsbeam installed.
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    processes = [
        subprocess.Popen([sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
                          "--port", str(job_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main",
                          "--service_port", str(worker_port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        _wait_for_port(job_port, processes[0])
        _wait_for_port(worker_port, processes[1])
        yield job_port, worker_port
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def _path(url: str) -> str:
    return url.split("/", 3)[3].split("?")[0]


def _shape(stories: dict[str, dict]) -> tuple[list, list]:
    """What must agree between runners: each story's variants with their relations, and which
    stories share an event. (Ids may differ: they come from whichever article arrived first.)"""
    variants = sorted((_path(s["url"]), s["language"], sorted((_path(v["url"]), v["relation"]) for v in s["variants"]))
                      for s in stories.values())
    events: dict[str, list[str]] = {}
    for story in stories.values():
        events.setdefault(story["event_id"], []).append(_path(story["url"]))
    return variants, sorted(sorted(members) for members in events.values())


def test_portable_runner_with_external_workers_matches_the_local_runner(site, tmp_path, job_service, request):
    job_port, worker_port = job_service
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + f for f in DEMO_FEEDS])
    common = ["--allow-private-network", "--per-host-delay", "0"]

    local_store = request.getfixturevalue("postgres_url")
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "local"), "--store", local_store,
                 *common, "--runner", "FnApiRunner"]) == 0

    import psycopg  # a second database for the portable run, on the same server

    portable_store = local_store + "_portable"
    server = local_store.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {portable_store.rsplit('/', 1)[1]}")
    try:
        assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "portable"), "--store", portable_store,
                     *common, "--runner", "PortableRunner", "--job_endpoint", f"localhost:{job_port}",
                     "--environment_type", "EXTERNAL", "--environment_config", f"localhost:{worker_port}"]) == 0
        local, portable = latest_stories(tmp_path / "local"), latest_stories(tmp_path / "portable")
        assert len(local) == 5
        assert _shape(portable) == _shape(local)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {portable_store.rsplit('/', 1)[1]} WITH (FORCE)")
