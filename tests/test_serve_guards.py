"""`newsbeam serve` answers only whom it should: requests naming another host (DNS rebinding),
sockets that never send a request, the OpenAPI document without the token, forged cursors and
filters no store could answer. Each through HTTP to a real server process."""

from __future__ import annotations

import base64
import resource
import socket
import subprocess
import sys

import pytest
import requests

from newsbeam.pipeline.cli import main
from newsbeam.state.store import open_store
from tests.conftest import ROOT
from tests.test_serve import start_server


@pytest.fixture
def where(tmp_path) -> list[str]:
    (tmp_path / "out").mkdir()
    open_store(str(tmp_path / "out" / "state.db")).close()  # an empty store
    return ["--output", str(tmp_path / "out")]


@pytest.fixture
def server(where):
    process, base = start_server(*where, "--allowed-host", "news.example")
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def get(base: str, path: str, host: str | None = None, headers: dict[str, str] | None = None,
        **kwargs) -> requests.Response:
    return requests.get(base + path, headers={**({"Host": host} if host else {}), **(headers or {})}, timeout=30,
                        **kwargs)


def test_a_request_naming_another_host_is_refused(server):
    """A page of rebind.attacker.example whose name now resolves to 127.0.0.1 must not read the
    token-less loopback API."""
    port = server.rsplit(":", 1)[1]
    for path in ("/api/feeds", "/api/stories", "/metrics", "/"):
        assert get(server, path, f"rebind.attacker.example:{port}").status_code == 421, path
        assert get(server, path, f"localhost:{port}").status_code == 200, path
        assert get(server, path).status_code == 200, path  # 127.0.0.1:PORT
        assert get(server, path, "news.example").status_code == 200, path  # a name the user allows


def test_the_openapi_document_needs_the_token_as_every_route_does(where, tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    process, base = start_server(*where, "--token-file", str(token))
    try:
        assert get(base, "/openapi.json").status_code == 401
        answer = get(base, "/openapi.json", headers={"Authorization": "Bearer s3cret"})
        assert answer.status_code == 200 and "/api/stories" in answer.json()["paths"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_forged_cursors_and_overlong_filters_are_400_never_500(server, where, capsys):
    nested = base64.urlsafe_b64encode(b"[" * 8_000).decode().rstrip("=")
    assert get(server, "/api/stories", params={"cursor": nested}).status_code == 400
    assert get(server, "/api/dead-letters", params={"cursor": nested}).status_code == 400
    assert get(server, "/api/stories", params={"site": "a" * 10_000}).status_code == 400
    assert get(server, "/", params={"site": "a" * 10_000}).status_code == 400
    assert get(server, "/api/stories", params={"language": "x" * 1000}).status_code == 400
    capsys.readouterr()
    assert main(["stories", "list", *where, "--site", "a" * 50_000]) == 2
    assert "site: at most 253 characters" in capsys.readouterr().err


def limited_files(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    return apply


@pytest.mark.slow
def test_idle_sockets_never_starve_an_authorised_request(where):
    """A server under systemd's default limit of 1,024 open files; 1,100 sockets opened and left
    silent. Without a cap and a deadline for headers, accept() fails with 'Too many open files'
    and the request times out."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"this test opens 1,100 sockets: the hard limit of open files here is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    process = subprocess.Popen([sys.executable, "-m", "newsbeam", "serve", *where, "--port", "0"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=limited_files(1024))
    idle: list[socket.socket] = []
    try:
        line = process.stdout.readline()
        port = int(line.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
        for _ in range(1100):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=30))
        answer = requests.get(f"http://127.0.0.1:{port}/api/feeds", timeout=30)
        assert answer.status_code == 200
        # the oldest silent sockets were closed to make room: the server reads their end
        idle[0].settimeout(30)
        assert idle[0].recv(1) == b""
    finally:
        for connection in idle:
            connection.close()
        process.terminate()
        process.wait(timeout=30)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert "Too many open files" not in process.stderr.read()


def test_localhost_is_resolved_and_an_ipv6_address_printed_as_a_url_writes_it(where):
    process, base = start_server(*where, "--host", "localhost")
    try:
        assert base.startswith("http://127.0.0.1:")
    finally:
        process.terminate()
        process.wait(timeout=30)
    if not socket.has_ipv6:
        return
    process = subprocess.Popen([sys.executable, "-m", "newsbeam", "serve", *where, "--host", "::1", "--port", "0"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        if "cannot listen" in line or not line:  # a machine without IPv6 on loopback
            return
        assert "http://[::1]:" in line
    finally:
        process.terminate()
        process.wait(timeout=30)
