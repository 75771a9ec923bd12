"""Hostile input: addresses in disguise, proxies, a served folder, robots.txt patterns, headers
that never end or overflow, files where a store should be, YAML bombs. Each must not get in,
stop a run, or destroy data. All traffic stays on this machine."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import http.server
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import pytest

from newsbeam.fetching.addresses import AddressPolicy, is_public_address
from newsbeam.fetching.client import FetchError, HttpClient
from newsbeam.fetching.politeness import HostLedger, PoliteScheduler
from newsbeam.fetching.robots import RobotsCache
from newsbeam.fetching.settings import FetchSettings
from newsbeam.pipeline.cli import main
from newsbeam.pipeline.runners import pipeline_options
from newsbeam.state.store import open_store
from tests.conftest import BEAM_ARGS, POLL_S, ROOT, RUN_ARGS, local_options, serving, write_feeds_file

MB = 1024 * 1024


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.1.2.3", "0.0.0.0", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "192.0.0.8", "198.18.0.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fec0::1",
    "::ffff:127.0.0.1", "0:0:0:0:0:ffff:7f00:1", "::ffff:0:127.0.0.1", "::127.0.0.1",
    "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1", "64:ff9b:1::a00:1", "2002:a9fe:a9fe::1", "2001:db8::1", "ff02::1",
])
def test_special_purpose_addresses_are_not_public(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2001:4860:4860::8888",
                                     "64:ff9b::808:808", "2002:808:808::1"])
def test_public_addresses_stay_public(address):
    """Including the NAT64 and 6to4 forms of a public address: judged by the address they reach."""
    assert is_public_address(address)


# --- Proxies ------------------------------------------------------------------------------------
class LoggingProxy(http.server.ThreadingHTTPServer):
    """A forwarding HTTP proxy on 127.0.0.1 that logs every request it is asked to make and
    forwards only to 127.0.0.1 (nothing leaves this machine)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.asked: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                proxy.asked.append(self.path)
                target = urllib.parse.urlsplit(self.path)
                if target.hostname != "127.0.0.1":
                    self.send_error(502)
                    return
                # one request, answered verbatim (redirects included): nothing else is followed
                upstream = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
                upstream.request("GET", target.path or "/")
                answer = upstream.getresponse()
                body = answer.read()
                upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def proxy(monkeypatch):
    server = LoggingProxy()
    threading.Thread(target=server.serve_forever, args=(POLL_S,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/", "http://10.0.0.1/admin",
    "http://[::1]:9/secret", "http://localhost:9/secret", "http://[64:ff9b::a9fe:a9fe]/latest/",
])
def test_behind_a_proxy_private_targets_are_refused_before_they_leave(proxy, target):
    with pytest.raises(FetchError, match="refused") as error:
        HttpClient().get(target, max_bytes=MB)
    assert error.value.final
    assert proxy.asked == []


def test_behind_a_proxy_a_redirect_to_a_private_address_is_refused(proxy, tmp_path):
    with serving(tmp_path) as site:
        site.routes["/go"] = lambda h: h.send_body(302, b"", headers={"Location": "http://10.0.0.1/admin"})
        client = HttpClient(AddressPolicy(opened=[site.base_url]))
        with pytest.raises(FetchError, match="refused"):
            client.get(site.base_url + "go", max_bytes=MB)
        assert site.paths_requested() == ["/go"]  # the served endpoint itself goes direct
    assert proxy.asked == []  # the refused hop never left


def test_the_served_folder_never_goes_through_the_proxy(proxy, tmp_path):
    (tmp_path / "page.html").write_text("fine")
    with serving(tmp_path) as site:
        client = HttpClient(AddressPolicy(opened=[site.base_url]))
        assert client.get(site.base_url + "page.html", max_bytes=MB).body == b"fine"
        assert site.paths_requested() == ["/page.html"]
    assert proxy.asked == []


def test_the_proxy_carries_allowed_requests_and_no_proxy_is_honoured(proxy, tmp_path, monkeypatch):
    (tmp_path / "page.html").write_text("fine")
    with serving(tmp_path) as site:
        client = HttpClient(AddressPolicy(allow_private=True))
        assert client.get(site.base_url + "page.html", max_bytes=MB).body == b"fine"
        assert proxy.asked == [site.base_url + "page.html"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert client.get(site.base_url + "page.html", max_bytes=MB).body == b"fine"
        assert len(proxy.asked) == 1 and len(site.requests) == 2  # the second went direct


# --- The served folder -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_opens_exactly_the_served_host_and_port(tmp_path):
    """A feed in the served folder links to another local site: that link is refused, as any
    private address would be, and the other site sees no request."""
    (tmp_path / "other").mkdir()
    with serving(tmp_path / "other") as other:
        (other.folder / "secret.html").write_text("<p>secret</p>" * 50)
        folder = tmp_path / "served"
        (folder / "feeds").mkdir(parents=True)
        (folder / ".hidden").write_text("not for anyone")
        (folder / "feeds" / "local.rss").write_text(
            "<rss version='2.0'><channel><title>L</title><item><title>Secret</title>"
            f"<link>{other.base_url}secret.html</link></item></channel></rss>")
        port = free_port()
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(f"serve: served\nserve_port: {port}\nfeeds:\n  - url: feeds/local.rss\n")
        # its only page refused: the pass is failing (exit 3), as when every page due failed
        assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *BEAM_ARGS]) == 3
        assert other.requests == []
    letters = open_store(str(tmp_path / "out" / "state.db")).dead_letters.all()
    assert [(d.stage, d.final) for d in letters] == [("page_fetch", True)]
    assert "refused: non-public address 127.0.0.1" in letters[0].reason


def test_the_served_folder_hides_dotfiles_and_symlinks_out_of_it(tmp_path):
    from newsbeam.pipeline.served_folder import serve_folder

    folder = tmp_path / "served"
    folder.mkdir()
    (folder / ".env").write_text("SECRET=1")
    (folder / "feed.xml").write_text("<rss/>")
    (tmp_path / "outside.txt").write_text("outside")
    (folder / "link.txt").symlink_to(tmp_path / "outside.txt")
    port = free_port()
    with serve_folder(str(folder), port):
        def status(path: str) -> int:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=5).status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert status("feed.xml") == 200
        assert status(".env") == 404 and status("link.txt") == 404


# --- robots.txt ----------------------------------------------------------------------------------
def test_robots_txt_wildcards_and_end_anchors_as_rfc_9309_says(tmp_path):
    with serving(tmp_path) as site:
        site.routes["/robots.txt"] = lambda h: h.send_body(
            200, b"User-agent: *\nDisallow: /*/print/\nDisallow: /*.pdf$\nDisallow: /news/\nAllow: /news/open/\n",
            "text/plain")
        robots = RobotsCache(HttpClient(AddressPolicy(opened=[site.base_url])))
        for path in ("news/print/1", "a/print/", "a.pdf", "docs/b.pdf", "news/2", "news/open-not/"):
            with pytest.raises(FetchError, match="disallowed by robots.txt"):
                robots.check(site.base_url + path)
        for path in ("a.pdf?page=2", "a.pdfx", "print/", "news/open/1", "other/1"):
            robots.check(site.base_url + path)  # allowed: no exception


# --- Refusals are final ----------------------------------------------------------------------------
def served_feeds_file(tmp_path: pathlib.Path, feed: str) -> pathlib.Path:
    """A feeds file whose one feed is served from its own folder (as the demo's are)."""
    folder = tmp_path / "served"
    folder.mkdir(exist_ok=True)
    (folder / "feed.rss").write_text(f"<rss version='2.0'><channel><title>T</title>{feed}</channel></rss>")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"serve: served\nserve_port: {free_port()}\nfeeds:\n  - url: feed.rss\n")
    return feeds


def test_a_refused_link_is_recorded_once_and_never_retried(tmp_path, capsys):
    feeds = served_feeds_file(
        tmp_path, "<item><title>Metadata</title><link>http://169.254.169.254/latest/meta-data/</link></item>"
                  "<item><title>Intranet</title><link>http://10.0.0.1/admin</link></item>")
    output = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(output), *BEAM_ARGS]) == 3  # every page refused
    assert "2 refused" in capsys.readouterr().out
    store = open_store(str(output / "state.db"))
    assert sorted((d.url, d.final, d.next_due) for d in store.dead_letters.all()) == [
        ("http://10.0.0.1/admin", True, None), ("http://169.254.169.254/latest/meta-data/", True, None)]
    assert store.dead_letters.due("page_fetch", now="2999-01-01T00:00:00+00:00") == []
    assert main(["errors", "--output", str(output)]) == 0
    assert capsys.readouterr().out.count("next=never (refused)") == 2


def test_sitemaps_a_server_lists_at_refused_addresses_are_final_and_no_feeds(tmp_path, capsys):
    """A sitemap index naming sitemaps on the intranet: each is a final dead letter, not a
    failed feed of the user's (the pass is healthy, the feeds' health shows the one feed)."""
    feeds = served_feeds_file(tmp_path, "")
    (tmp_path / "served" / "index.xml").write_text(
        "<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        "<sitemap><loc>http://10.0.0.1/sitemap.xml</loc></sitemap>"
        "<sitemap><loc>http://169.254.169.254/latest/sitemap.xml</loc></sitemap></sitemapindex>")
    feeds.write_text(feeds.read_text().replace("feed.rss", "index.xml"))
    output = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(output), *BEAM_ARGS]) == 0
    summary = json.loads(next(output.glob("summary-*.json")).read_text())
    assert summary["sitemaps_refused"] == 2 and summary["feeds_failed"] == 0 and summary["health"] == "ok"
    store = open_store(str(output / "state.db"))
    letters = store.dead_letters.all()
    assert sorted(d.url for d in letters) == ["http://10.0.0.1/sitemap.xml",
                                              "http://169.254.169.254/latest/sitemap.xml"]
    assert all(d.final for d in letters)
    assert store.dead_letters.due("feed_fetch", now="2999-01-01T00:00:00+00:00") == []
    assert not [row for row in store.feeds.health() if "10.0.0.1" in row["url"] or "169.254" in row["url"]]


def test_refused_links_cost_no_politeness_delay():
    """Twenty links of one host that the policy refuses before connecting: none is charged the
    host's delay, because no request was sent (the host's next start is given back each time)."""
    ledger = HostLedger()

    def work(item: int) -> None:
        raise FetchError("refused: non-public address 10.0.0.1", final=True)

    scheduler = PoliteScheduler(work, lambda item: "http://10.0.0.1", ledger,
                                FetchSettings(fetch_threads=4, per_host_connections=2, per_host_delay_s=600.0))
    outcomes = list(scheduler.run(range(20)))  # with the delay charged, this would take hours
    scheduler.close()
    assert len(outcomes) == 20 and all(isinstance(o, FetchError) and not o.sent for _, o in outcomes)
    assert ledger.next_start.get("http://10.0.0.1", 0.0) == 0.0


# --- Headers and deadlines ------------------------------------------------------------------------
def test_a_server_dripping_its_headers_is_cut_off_at_the_deadline(tmp_path):
    stop = threading.Event()

    def drip(handler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        handler.wfile.flush()
        while not stop.is_set():
            try:
                handler.wfile.write(b"X")
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.2)

    with serving(tmp_path) as site:
        site.routes["/drip"] = drip
        started = time.monotonic()
        with pytest.raises(FetchError):
            HttpClient(AddressPolicy(opened=[site.base_url])).get(site.base_url + "drip", max_bytes=MB, deadline_s=2)
        elapsed = time.monotonic() - started
        stop.set()
    assert elapsed < 10  # without a deadline on the headers it never ends


@pytest.mark.parametrize("retry_after, clamped", [
    ("999999999999", True), ("Fri, 31 Dec 9999 23:59:59 GMT", True), ("-5", None), ("soon", None), ("1e309", None),
    ("9" * 5000, None)])
def test_an_absurd_retry_after_is_clamped_or_ignored(retry_after, clamped):
    from newsbeam.fetching.client import retry_after_time
    from newsbeam.schemas import parse_time

    when = retry_after_time(retry_after)
    if clamped is None:
        assert when is None
    else:
        assert parse_time(when) - dt.datetime.now(dt.UTC) <= dt.timedelta(days=1, seconds=5)


@pytest.mark.slow
@pytest.mark.parametrize("retry_after", ["999999999999", "1e309"])
def test_an_absurd_retry_after_neither_stops_the_run_nor_loses_the_feed(site, tmp_path, retry_after):
    site.routes["/busy.rss"] = lambda h: h.send_body(429, b"busy", headers={"Retry-After": retry_after})
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "busy.rss", site.base_url + "feeds/herald.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 0
    store = open_store(str(tmp_path / "out" / "state.db"))
    assert len(store.stories.story_ids()) == 2  # the good feed was ingested
    (letter,) = store.dead_letters.all()
    assert letter.url.endswith("/busy.rss") and letter.next_due


# --- Files where a store or an output should be ---------------------------------------------------
def test_an_export_never_writes_over_its_store(site, tmp_path, capsys):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/herald.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 0
    store = tmp_path / "out" / "state.db"
    size = store.stat().st_size
    for output in (str(store), str(store) + "-wal"):
        assert main(["stories", "export", "-o", output, "--store", f"sqlite:///{store}"]) == 2
    assert store.stat().st_size == size
    assert len(open_store(str(store)).stories.story_ids()) == 2
    assert "must not replace" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", b"just some text", b"SQLite format 3\x00" + b"\x00" * 100])
def test_a_file_that_is_not_a_newsbeam_store_is_refused(tmp_path, capsys, content):
    path = tmp_path / "state.db"
    path.write_bytes(content)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", ["http://127.0.0.1:9/feed.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), "--store", f"sqlite:///{path}",
                 *RUN_ARGS]) == 2
    assert path.read_bytes() == content  # untouched
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "newsbeam: error: store" in err[0]


def test_a_foreign_sqlite_database_is_refused(tmp_path, capsys):
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE accounts (id INTEGER)")
    assert main(["errors", "--store", f"sqlite:///{path}"]) == 2
    assert "not a newsbeam store" in capsys.readouterr().err


@pytest.mark.parametrize("store, output", [("folder", "out"), ("file/under", "out"), ("state.db", "afile")])
def test_store_and_output_paths_are_checked_first(tmp_path, capsys, store, output):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    (tmp_path / "afile").write_text("x")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", ["http://127.0.0.1:9/feed.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / output),
                 "--store", f"sqlite:///{tmp_path / store}", *RUN_ARGS]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# --- The feeds file --------------------------------------------------------------------------------
@pytest.mark.parametrize("content, message", [
    ("a: &a [x, x]\nb: &b [*a, *a]\nfeeds:\n  - url: http://x/\n    name: *b\n", "YAML aliases"),
    ("feeds:\n  - url: http://x/\n    name: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("serve: .\nserve_port: true\nfeeds:\n  - feed.xml\n", "serve_port must be a port number"),
    ("feeds:\n  - url: http://x/\n    name: {a: 1}\n", "'name' must be text"),
])
def test_hostile_feeds_files_exit_2_with_one_line(tmp_path, capsys, content, message):
    (tmp_path / "feed.xml").write_text("<rss/>")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(content)
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_no_runner_means_the_local_runner_and_nothing_downloaded():
    from apache_beam.options.pipeline_options import StandardOptions

    chosen = pipeline_options(()).view_as(StandardOptions).runner
    assert chosen == "FnApiRunner"
    named = pipeline_options(("--runner", "DaskRunner"))
    assert named.view_as(StandardOptions).runner == "apache_beam.runners.dask.dask_runner.DaskRunner"


# --- dedup and errors --------------------------------------------------------------------------------
def test_dedup_writes_all_or_nothing_and_names_the_bad_line(tmp_path, capsys):
    output = tmp_path / "out.jsonl"
    output.write_text("the previous output\n")
    lines = [json.dumps({"id": n, "title": "t", "text": f"text {n}"}) for n in range(50)]
    lines.insert(40, json.dumps({"id": "x", "title": "t", "text": "t", "url": ["not", "a", "string"]}))
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    assert main(["dedup", str(source), "-o", str(output), "--encoder", "hashing"]) == 2
    assert "line 41" in capsys.readouterr().err
    assert output.read_text() == "the previous output\n"
    source.write_text(json.dumps({"id": 1, "title": "\ud800", "text": ""}) + "\n")
    assert main(["dedup", str(source), "-o", str(output), "--encoder", "hashing"]) == 2
    source.write_text('{"id": 1, "title": ' + "[" * 100000 + "]" * 100000 + "}\n")
    assert main(["dedup", str(source), "-o", str(output), "--encoder", "hashing"]) == 2
    assert output.read_text() == "the previous output\n"


def test_empty_and_identical_texts_stay_apart_in_dedup(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": n, "title": "", "text": ""}) + "\n" for n in range(300)))
    output = tmp_path / "out.jsonl"
    assert main(["dedup", str(source), "-o", str(output), "--encoder", "hashing"]) == 0
    stories = {json.loads(line)["story_id"] for line in output.read_text().splitlines()}
    assert len(stories) == 300


def test_errors_shows_control_characters_from_servers_escaped(tmp_path, capsys):
    from newsbeam.schemas import DeadLetter

    store = open_store(str(tmp_path / "state.db"))
    store.dead_letters.record([DeadLetter(url="http://x/\x1b[2J", stage="page_fetch",
                                          reason="HTTP 500 \x1b]0;pwned\x07 \u202egnp.exe",
                                          at="2026-11-28T00:00:00+00:00")])
    assert main(["errors", "--store", str(tmp_path / "state.db")]) == 0
    out = capsys.readouterr().out
    # The store never kept the control characters (schemas.text); a bidirectional override,
    # which is no control character, is shown escaped.
    assert "\x1b" not in out and "\x07" not in out and "http://x/[2J" in out
    assert "\u202e" not in out and "\\u202egnp.exe" in out


def test_feeds_with_too_many_entries_are_capped(site, tmp_path):
    from newsbeam.pipeline.config import load_feeds
    from newsbeam.pipeline.run import run_once

    items = "".join(f"<item><title>Item {n}</title><link>{site.base_url}none/{n}.html</link>"
                    f"<description>Short text {n}.</description></item>" for n in range(10))
    (site.folder / "many.rss").write_text(f"<rss version='2.0'><channel><title>M</title>{items}</channel></rss>")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "many.rss"])
    # the reading library's cap, set for the run
    options = local_options(tmp_path, feeds=load_feeds(feeds).feeds, max_entries_per_feed=3, store_url="",
                            beam_args=BEAM_ARGS)
    summary = run_once(options)
    assert summary["health"] != "ok"  # no page exists
    assert summary["entries_seen"] == 3 and summary["entries_dropped"] == 7
    assert os.path.exists(tmp_path / "out" / "state.db")


# --- URLs the parsers read differently ---------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "http://127.0.0.2:8081\\@1.2.3.4/x",  # the standard library reads 1.2.3.4, urllib3 connects to 127.0.0.2
    "http://127.0.0.2:8081\\@example.com/x",
    "http://[", "http://[x]/", f"http://{'a' * 64}.example/", "http://" + "a." * 130 + "example/",
])
def test_a_url_the_parsers_disagree_on_or_cannot_read_is_refused(url):
    from newsbeam.fetching.addresses import parse_target

    with pytest.raises(FetchError, match="refused") as error:
        parse_target(url)
    assert error.value.final


def test_behind_a_proxy_a_backslash_url_never_reaches_the_private_host(proxy, tmp_path):
    with serving(tmp_path, "127.0.0.2") as secret:
        (tmp_path / "x").write_text("secret")
        port = secret.server_address[1]
        for url in (f"http://127.0.0.2:{port}\\@1.2.3.4/x", f"http://127.0.0.2:{port}\\@93.184.216.34/x"):
            with pytest.raises(FetchError, match="refused"):
                HttpClient().get(url, max_bytes=MB)
        # and as a redirect target, from a host the operator opened
        with serving(tmp_path, "127.0.0.3") as opened:
            opened.routes["/go"] = lambda h: h.send_body(
                302, b"", headers={"Location": f"http://127.0.0.2:{port}\\@1.2.3.4/x"})
            with pytest.raises(FetchError, match="refused"):
                HttpClient(AddressPolicy(opened=[opened.base_url])).get(opened.base_url + "go", max_bytes=MB)
        assert secret.requests == []
    assert proxy.asked == []


def test_a_max_age_of_thousands_of_digits_is_read_as_the_longest_wait():
    from newsbeam.sources.feeds import max_age_due
    from newsbeam.sources.settings import ReaderSettings

    due = max_age_due({"cache-control": "max-age=" + "9" * 5000}, "2026-11-20T08:00:00+00:00")
    assert due == (dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)
                   + dt.timedelta(seconds=ReaderSettings().max_feed_interval_s)).isoformat(timespec="seconds")


# --- A host cannot hold the pass --------------------------------------------------------------------
def test_a_host_failing_again_and_again_gives_up_the_rest_of_its_queue():
    calls = []

    def work(item: str) -> str:
        calls.append(item)
        if item.startswith("bad"):
            raise FetchError("deadline exceeded while reading the headers", host_trouble=True)
        return item

    scheduler = PoliteScheduler(work, lambda item: item[:3], HostLedger(),
                                FetchSettings(fetch_threads=4, per_host_connections=1, per_host_delay_s=0.0,
                                              host_failures_in_a_row=3))
    outcomes = dict(scheduler.run([f"bad{n}" for n in range(10)] + [f"ok-{n}" for n in range(5)]))
    scheduler.close()
    assert [c for c in calls if c.startswith("bad")] == ["bad0", "bad1", "bad2"]  # then no more requests
    deferred = [o for o in outcomes.values() if isinstance(o, FetchError) and o.reason.startswith("deferred")]
    assert len(deferred) == 7 and all(not o.sent and not o.final for o in deferred)
    assert [outcomes[f"ok-{n}"] for n in range(5)] == [f"ok-{n}" for n in range(5)]


def test_a_host_that_used_its_share_of_the_pass_waits_for_the_next():
    import time as clock

    def work(item: str) -> str:
        clock.sleep(0.2)
        return item

    scheduler = PoliteScheduler(work, lambda item: "slow", HostLedger(),
                                FetchSettings(fetch_threads=2, per_host_connections=1, per_host_delay_s=0.0,
                                              host_budget_s=0.5))
    outcomes = dict(scheduler.run([f"page{n}" for n in range(10)]))
    done = [o for o in outcomes.values() if isinstance(o, str)]
    assert 3 <= len(done) <= 4  # 0.2 s each against a budget of 0.5 s
    assert all("share of the pass" in o.reason for o in outcomes.values() if not isinstance(o, str))
    assert dict(scheduler.run(["page10"])) == {"page10": "page10"}  # a new pass starts afresh
    scheduler.close()


# --- Input lines --------------------------------------------------------------------------------------
def test_an_overlong_input_line_is_named_and_nothing_is_written(tmp_path, capsys):
    from newsbeam.pipeline.inputs import MAX_LINE_BYTES

    source = tmp_path / "articles.jsonl"
    with source.open("w") as handle:
        handle.write(json.dumps({"id": 1, "title": "t", "text": "x" * 100}) + "\n")
        handle.write(json.dumps({"id": 2, "title": "t", "text": "x" * MAX_LINE_BYTES}) + "\n")
    assert main(["dedup", str(source), "-o", str(tmp_path / "out.jsonl"), "--encoder", "hashing"]) == 2
    assert f"line 2: longer than {MAX_LINE_BYTES} bytes" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


def test_a_worker_pinned_to_one_core_runs_its_matrix_library_on_one_thread():
    """os.cpu_count() counts the machine; a worker pinned to a core (taskset, a container's
    cpuset) that started a thread per machine core would run several times slower."""
    probe = ("from newsbeam.pipeline.runners import encoder_threads, pipeline_options, usable_cores; "
             "print(usable_cores(), encoder_threads(pipeline_options([])))")
    pinned = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert pinned.stdout.split() == ["1", "1"]


@pytest.mark.parametrize("flags, message", [
    (["stories", "list", "--since", "99999999999999999999d"], "further back than a calendar goes"),
    (["report", "--since", "99999999999999999999d"], "further back than a calendar goes"),
    (["stories", "list", "--limit", "99999999999999999999"], "at most 1,000,000"),
    (["stories", "list", "--query", "seilbahn " * 20000], "at most 32 words and 1000 characters"),
])
def test_absurd_values_for_reading_are_a_usage_mistake(tmp_path, capsys, flags, message):
    """Not a failed run (exit 1, 'the next run repeats ...'): one line naming the limit, exit 2."""
    open_store(str(tmp_path / "state.db")).close()
    try:
        code = main([*flags, "--store", str(tmp_path / "state.db"), *(["-o", str(tmp_path / "r.html")]
                                                                      if flags[0] == "report" else [])])
    except SystemExit as exc:  # argparse ends the program on a value it refuses
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err


def test_a_page_with_megabytes_of_json_ld_is_read_in_bounded_memory(tmp_path):
    """An 8 MB JSON-LD articleBody took 1.3 GB and 5 s (trafilatura's and htmldate's patterns
    over it): newsbeam reads it itself and keeps it from them. Measured against the same page
    with a short articleBody, in the same run (a process's peak memory varies with the machine)."""
    script = tmp_path / "big.py"
    script.write_text(
        "import json, resource, sys, newsbeam\n"
        "body = ' '.join(f'Sentence {n} of a very long article body about the harbour.' for n in range("
        "int(sys.argv[1])))\n"
        "html = ('<html><head><script type=\"application/ld+json\">' + json.dumps({'@type': 'NewsArticle', "
        "'headline': 'Big', 'articleBody': body}) + '</script></head><body><article><h1>Big</h1>' + ''.join("
        "f'<p>Paragraph {n} of the visible page text, long enough to count as a paragraph.</p>' for n in range(50))"
        " + '</article></body></html>')\n"
        "article = newsbeam.extract(html, 'https://news.example/big', publisher_parsers=False, encoder='hashing')\n"
        "print(len(article.text), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n")

    def peak(sentences: int) -> tuple[int, int]:
        done = subprocess.run([sys.executable, str(script), str(sentences)], capture_output=True, text=True,
                              cwd=ROOT, check=True)
        chars, megabytes = map(int, done.stdout.split())
        return chars, megabytes

    (chars, big), (_, small) = peak(140_000), peak(10)
    assert chars > 1000 and big - small < 600, (big, small)


def test_a_full_disk_when_the_store_opens_is_a_failure_not_a_mistake(tmp_path):
    """The disk (here: a file size limit of 8 KB) refuses the store's first writes: exit 1, as
    the README says for a failing disk, not 2 (a configuration mistake)."""
    # The limit is set by the child itself, not by a preexec_fn: that forks this test process,
    # where earlier tests loaded gRPC (through Beam), whose fork handler aborts the child.
    small_disk = ("import resource, runpy, signal, sys\n"
                  "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead\n"
                  "resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))\n"
                  "sys.argv[0] = 'newsbeam'\n"
                  "runpy.run_module('newsbeam', run_name='__main__', alter_sys=True)\n")
    done = subprocess.run([sys.executable, "-c", small_disk, "stories", "list", "--store", str(tmp_path / "state.db")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1 and "disk" in done.stderr, done.stderr
    assert not list(tmp_path.glob("*.tmp"))


def test_a_damaged_store_is_named_as_damaged_by_a_reading_command(tmp_path):
    """Zeroed pages where the dead letters are: `errors` says the store is damaged (exit 1),
    not that a run failed, and not '0 dead letters'."""
    import sqlite3

    from newsbeam.schemas import DeadLetter

    path = tmp_path / "state.db"
    with open_store(str(path)) as store:
        store.dead_letters.record([DeadLetter(url=f"http://x.example/{n}", stage="page_fetch", reason="HTTP 500 " * 40,
                                              at="2026-11-28T00:00:00+00:00") for n in range(500)])
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'dead_letters'").fetchone()
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as damaged:
        damaged.seek((root - 1) * page_size)
        damaged.write(b"\0" * page_size)
    done = subprocess.run([sys.executable, "-m", "newsbeam", "errors", "--store", str(path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1 and "the store is damaged" in done.stderr, (done.stdout, done.stderr)
    assert "dead letter" not in done.stdout and "the run" not in done.stderr


def test_a_store_on_a_read_only_disk_can_still_be_read(site, tmp_path, capsys):
    """Reading needs no write: stories list, errors and report read a store on a read-only
    mount (a backup, a snapshot); prune, which writes, says it cannot."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        feeds = write_feeds_file(tmp_path / "feeds.yaml",
                                 [site.base_url + f"feeds/{name}" for name in ("kurier.rss", "herald.rss")])
        assert main(["run", "--feeds", str(feeds), "--output", str(disk / "out"), *RUN_ARGS]) == 0
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        capsys.readouterr()
        assert main(["stories", "list", "--output", str(disk / "out")]) == 0
        assert "stories" in capsys.readouterr().err
        assert main(["errors", "--output", str(disk / "out")]) == 0
        assert main(["report", "--output", str(disk / "out"), "-o", str(tmp_path / "report.html")]) == 0
        assert main(["prune", "--output", str(disk / "out")]) == 2
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], capture_output=True)  # the test's own reads may hold it
