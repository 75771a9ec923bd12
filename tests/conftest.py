"""Shared test fixtures: a local HTTP site on 127.0.0.1 and helpers to run newsbeam on it.

Nothing here touches the internet: feeds and pages are the project's own fixtures (the demo
under examples/demo/site and tests/fixtures), served from a temporary folder that tests may
change between runs.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import pathlib
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from newsbeam.transforms.options import RunOptions

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEMO_SITE = ROOT / "examples" / "demo" / "site"
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_data(relative: str) -> pathlib.Path:
    """A file or folder of the third-party data beside the checkout (../shared/data; never
    copied into the repository). A fresh clone has none: a test that needs it is skipped, with
    this reason, on a developer's machine, and fails in CI."""
    path = SHARED_DATA / relative
    if not path.exists():
        reason = f"{path} is not there (third-party test data, kept beside the checkout in ../shared/data)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path

# Beam options for tests: the FnApiRunner directly (DirectRunner would first try to download
# Prism, which fails offline and falls back to the same runner).
BEAM_ARGS = ("--runner", "FnApiRunner")
# For `newsbeam run` in tests: the test's own server needs no politeness delay.
RUN_ARGS = ("--allow-private-network", "--per-host-delay", "0", *BEAM_ARGS)
# How often a test's HTTP server looks for its shutdown (the standard library's 0.5 s made
# stopping each server cost half a second).
POLL_S = 0.02

Route = Callable[["SiteHandler"], None]


def local_options(tmp_path: pathlib.Path, **overrides: Any) -> RunOptions:
    """RunOptions for steps run in a test: the test's own servers, no politeness delay."""
    fields: dict[str, Any] = {"feeds": (), "output_dir": str(tmp_path / "out"), "store_url": str(tmp_path / "state.db"),
                              "allow_private_network": True, "per_host_delay_s": 0.0}
    return RunOptions.of(**{**fields, **overrides})


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    server: SiteServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.requests.append((self.path, dict(self.headers)))
        self.server.times.append(time.monotonic())
        route = self.server.routes.get(self.path.split("?")[0])
        if route is not None:
            route(self)
        else:
            super().do_GET()

    def send_body(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
                  headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class SiteServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder: pathlib.Path, host: str = "127.0.0.1"):
        self.folder = folder
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.times: list[float] = []  # when each request arrived (time.monotonic())
        self.routes: dict[str, Route] = {}

        def handler(*args: Any) -> SiteHandler:
            return SiteHandler(*args, directory=str(folder))

        super().__init__((host, 0), handler)

    @property
    def base_url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}/"

    def paths_requested(self) -> list[str]:
        return [path for path, _ in self.requests]


@contextlib.contextmanager
def serving(folder: pathlib.Path, host: str = "127.0.0.1") -> Iterator[SiteServer]:
    """A SiteServer for `folder` on `host` (any 127.x.y.z address is this machine: a "site" of
    its own for politeness), for the length of the `with` block."""
    server = SiteServer(folder, host)
    thread = threading.Thread(target=server.serve_forever, args=(POLL_S,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def site(tmp_path: pathlib.Path) -> Iterator[SiteServer]:
    """The demo site and the test fixtures, served from a copy the test may change."""
    folder = tmp_path / "site"
    shutil.copytree(DEMO_SITE, folder)
    shutil.copytree(FIXTURES / "site", folder, dirs_exist_ok=True)
    with serving(folder) as server:
        yield server


class S3Server:
    """An S3 endpoint on 127.0.0.1 (moto's server: the S3 protocol over HTTP, buckets in its
    memory), and the Beam options that point newsbeam at it."""

    def __init__(self) -> None:
        import boto3
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.client = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="newsbeam",
                                   aws_secret_access_key="test", region_name="us-east-1")
        self.beam_args = ("--s3_endpoint_url", self.endpoint, "--s3_access_key_id", "newsbeam",
                          "--s3_secret_access_key", "test", "--s3_region_name", "us-east-1")

    def put(self, bucket: str, key: str, path: pathlib.Path) -> str:
        """Upload a file (making the bucket); its s3:// URL."""
        if bucket not in {b["Name"] for b in self.client.list_buckets()["Buckets"]}:
            self.client.create_bucket(Bucket=bucket)
        self.client.upload_file(str(path), bucket, key)
        return f"s3://{bucket}/{key}"


@pytest.fixture
def s3() -> Iterator[S3Server]:
    server = S3Server()
    try:
        yield server
    finally:
        server.server.stop()


def write_feeds_file(path: pathlib.Path, urls: list[str]) -> pathlib.Path:
    path.write_text("feeds:\n" + "".join(f"  - url: {url}\n" for url in urls), encoding="utf-8")
    return path


def read_jsonl(folder: pathlib.Path) -> list[dict[str, Any]]:
    return [json.loads(line) for file in sorted(folder.glob("*.jsonl"))
            for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]


def latest_stories(output: pathlib.Path) -> dict[str, dict[str, Any]]:
    """The current record of each story: the last one written (files are per run, in order)."""
    return {record["story_id"]: record for record in read_jsonl(output / "stories")}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the PostgreSQL server are marked `postgres`, by their fixtures."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "postgres_url" in getattr(item, "fixturenames", ()) or "postgres" in params.values():
            item.add_marker(pytest.mark.postgres)


# --- Stores -------------------------------------------------------------------------------------
POSTGRES_ENV = "NEWSBEAM_TEST_POSTGRES"


def required_service(variable: str, what: str) -> str:
    """A service .ci/run starts for the tests, named by an environment variable. In CI a
    missing one fails the tests that need it; on a developer's machine they are skipped."""
    value = os.environ.get(variable)
    if not value:
        if os.environ.get("CI"):
            pytest.fail(f"{variable} is not set: CI must start {what}")
        pytest.skip(f"set {variable} to run the tests on {what}")
    return value


def postgres_server_url() -> str:
    """The PostgreSQL server the tests use."""
    return required_service(POSTGRES_ENV, "PostgreSQL (.ci/start-postgres)")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    import psycopg

    server = postgres_server_url()
    name = f"newsbeam_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield server.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path) -> str:
    """The same test against both stores."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("postgres_url")
