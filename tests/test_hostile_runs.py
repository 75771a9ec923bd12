"""Hostile input against whole runs: one bad feed, page or host never stops or stalls the pass,
and what newsbeam writes never goes through a link. Every site lives on this machine (each
127.x.y.z address is a host of its own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from newsbeam.pipeline.cli import main
from newsbeam.pipeline.config import load_feeds
from newsbeam.pipeline.run import run_once
from newsbeam.state.store import open_store
from tests.conftest import (
    BEAM_ARGS,
    ROOT,
    RUN_ARGS,
    latest_stories,
    local_options,
    read_jsonl,
    serving,
    write_feeds_file,
)

MB = 1024 * 1024


def rss(*links: str, title: str = "Feed") -> bytes:
    items = "".join(f"<item><title>Item {n}</title><link>{link}</link></item>" for n, link in enumerate(links))
    return f"<rss version='2.0'><channel><title>{title}</title>{items}</channel></rss>".encode()


def article_page(words: str) -> bytes:
    paragraphs = "".join(f"<p>{words}: the council discussed point {n} of the agenda on Monday, at length and "
                         f"in detail, and decided to come back to it in week {n + 2}.</p>" for n in range(12))
    return f"<html><head><title>{words}</title></head><body><article><h1>{words}</h1>{paragraphs}</article>" \
           "</body></html>".encode()


def letters_by_url(output) -> dict[str, dict]:
    return {letter["url"]: letter for letter in read_jsonl(output / "dead_letters")}


def test_broken_urls_and_headers_in_one_feed_leave_every_other_feed_ingested(site, tmp_path):
    """A page redirecting to 'http://[', a feed redirecting to '//[x]/', a link with a
    64-character host label, a Cache-Control max-age of 5,000 digits: each is a dead letter of
    its own, and the innocent feed is ingested in the same pass."""
    base = site.base_url
    site.routes["/bad-redirect.html"] = lambda h: h.send_body(302, b"", headers={"Location": "http://["})
    site.routes["/links.rss"] = lambda h: h.send_body(200, rss(
        base + "bad-redirect.html", f"http://{'a' * 64}.example/story.html"), "application/rss+xml")
    site.routes["/moved.rss"] = lambda h: h.send_body(301, b"", headers={"Location": "//[x]/"})
    site.routes["/max-age.rss"] = lambda h: h.send_body(
        200, rss(base + "herald/half-marathon-record-field.html"), "application/rss+xml",
        {"Cache-Control": "max-age=" + "9" * 5000})
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [base + "links.rss", base + "moved.rss", base + "max-age.rss",
                                                        base + "feeds/kurier.rss"])
    for _ in range(2):  # and the same at the next run
        assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 0
    titles = {story["title"] for story in latest_stories(tmp_path / "out").values()}
    assert {"Lindenau baut eine Seilbahn über den Fluss", "Record field expected for the autumn half marathon",
            "Stadtbibliothek öffnet künftig auch sonntags"} <= titles
    letters = letters_by_url(tmp_path / "out")
    assert "invalid URL" in letters[base + "bad-redirect.html"]["reason"]
    assert "invalid URL" in letters[base + "moved.rss"]["reason"]
    long_label = next(letter for url, letter in letters.items() if "aaaa" in url)
    assert long_label["final"] and "not a valid host name" in long_label["reason"]


@pytest.mark.slow
def test_a_crawl_delay_of_a_day_is_not_waited_out(tmp_path):
    """robots.txt asks for a Crawl-delay of 100,000 s: that host's pages are dead letters at
    once, tried again later; the other host's page is ingested. (The subprocess's timeout only
    catches a run that waits the delay out.)"""
    with serving(tmp_path / "slow", "127.0.0.2") as slow, serving(tmp_path / "fine", "127.0.0.3") as fine:
        slow.routes["/robots.txt"] = lambda h: h.send_body(200, b"User-agent: *\nCrawl-delay: 100000\n", "text/plain")
        for name in ("a", "b"):
            slow.routes[f"/{name}.html"] = lambda h: h.send_body(200, article_page("Slow host"))
        fine.routes["/c.html"] = lambda h: h.send_body(200, article_page("Ferry timetable"))
        fine.routes["/feed.rss"] = lambda h: h.send_body(
            200, rss(slow.base_url + "a.html", slow.base_url + "b.html", fine.base_url + "c.html"),
            "application/rss+xml")
        feeds = write_feeds_file(tmp_path / "feeds.yaml", [fine.base_url + "feed.rss"])
        result = subprocess.run([sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds), "--output",
                                 str(tmp_path / "out"), *RUN_ARGS], cwd=ROOT, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        assert [path for path in slow.paths_requested() if path != "/robots.txt"] == []
    assert [s["title"] for s in latest_stories(tmp_path / "out").values()] == ["Ferry timetable"]
    letters = letters_by_url(tmp_path / "out")
    assert {url.rsplit("/", 1)[1] for url in letters} == {"a.html", "b.html"}
    assert all("Crawl-delay of 100000 s" in letter["reason"] and not letter["final"] for letter in letters.values())


@pytest.mark.slow
def test_a_host_of_dripping_pages_gives_up_its_place_in_the_pass(tmp_path):
    """Eight pages that drip their headers, each cut at the request deadline: after three
    failures in a row the host's remaining pages wait for a later pass, and the other host's
    pages are ingested."""
    import threading
    import time

    stop = threading.Event()

    def drip(handler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        while not stop.is_set():
            try:
                handler.wfile.write(b"X")
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.1)

    try:
        with serving(tmp_path / "drip", "127.0.0.2") as dripping, serving(tmp_path / "fine", "127.0.0.3") as fine:
            for n in range(8):
                dripping.routes[f"/{n}.html"] = drip
            fine.routes["/c.html"] = lambda h: h.send_body(200, article_page("Ferry timetable"))
            fine.routes["/feed.rss"] = lambda h: h.send_body(
                200, rss(*[dripping.base_url + f"{n}.html" for n in range(8)], fine.base_url + "c.html"),
                "application/rss+xml")
            feeds = write_feeds_file(tmp_path / "feeds.yaml", [fine.base_url + "feed.rss"])
            # the run's options, with a request deadline of a second (the library's setting)
            options = local_options(tmp_path, feeds=load_feeds(feeds).feeds, request_deadline_s=1.0,
                                    store_url="", beam_args=BEAM_ARGS)
            assert run_once(options)["health"] == "ok"
            pages_asked = [p for p in dripping.paths_requested() if p != "/robots.txt"]
    finally:
        stop.set()
    assert len(pages_asked) <= 4  # three failures in a row, and one more already in flight
    letters = letters_by_url(tmp_path / "out")
    assert len(letters) == 8
    deferred = [letter for letter in letters.values() if letter["reason"].startswith("deferred to a later pass")]
    assert len(deferred) == 8 - len(pages_asked) and all(not letter["final"] for letter in deferred)
    # what went wrong, not only the breaker's decision
    assert all("requests in a row (the first: " in letter["reason"] for letter in deferred), deferred
    assert [s["title"] for s in latest_stories(tmp_path / "out").values()] == ["Ferry timetable"]


def test_a_page_of_endless_markup_is_refused_and_the_pass_goes_on(site, tmp_path):
    """9.5 MB of short paragraphs would keep the extractor busy for minutes: it is refused by
    its size before extraction, with a dead letter saying so."""
    base = site.base_url
    (site.folder / "huge.html").write_bytes(b"<html><body>" + b"<p>Short paragraph.</p>" * 430_000 + b"</body></html>")
    site.routes["/mixed.rss"] = lambda h: h.send_body(200, rss(base + "huge.html", base + "kurier/seilbahn-beschlossen"
                                                                                     ".html"), "application/rss+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [base + "mixed.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 0
    assert [s["language"] for s in latest_stories(tmp_path / "out").values() if s["body_source"] == "page"] == ["de"]
    letter = letters_by_url(tmp_path / "out")[base + "huge.html"]
    assert letter["stage"] == "extract" and "page too large to extract" in letter["reason"]


@pytest.mark.slow  # paced in real seconds
@pytest.mark.parametrize("workers", [1, 2])
def test_redirects_from_many_hosts_obey_the_target_hosts_robots_and_pace(tmp_path, workers):
    """Twenty hosts redirect to one host: its robots.txt decides (the disallowed path is never
    asked for), and its pace holds across the twenty redirects, with two worker processes too.
    A request that starts late after its slot holds the next one back (state.hosts.confirm);
    the test's own servers, answering in this process, may note an arrival a little late: the
    delay is long enough that such a note never looks like two requests at once."""
    delay = 0.6
    with serving(tmp_path / "victim", "127.0.0.2") as victim, serving(tmp_path / "feeds", "127.0.0.3") as feed_host:
        victim.routes["/robots.txt"] = lambda h: h.send_body(200, b"User-agent: *\nDisallow: /private/\n",
                                                             "text/plain")
        victim.routes["/private/secret.html"] = lambda h: h.send_body(200, article_page("Secret"))
        victim.routes["/public/story.html"] = lambda h: h.send_body(200, article_page("Public story"))
        hosts = [serving(tmp_path / f"h{n}", f"127.0.1.{n + 1}") for n in range(20)]
        redirectors = [host.__enter__() for host in hosts]
        try:
            links = []
            for n, server in enumerate(redirectors):
                target = victim.base_url + ("private/secret.html" if n % 2 else "public/story.html")
                server.routes["/go"] = lambda h, target=target: h.send_body(302, b"", headers={"Location": target})
                links.append(server.base_url + "go")
            for shard in range(2):  # two feeds on two hosts: with two workers, each has half the links
                host = feed_host if shard == 0 else redirectors[0]
                host.routes[f"/feed{shard}.rss"] = lambda h, part=links[shard::2]: h.send_body(
                    200, rss(*part), "application/rss+xml")
            feeds = write_feeds_file(tmp_path / "feeds.yaml", [feed_host.base_url + "feed0.rss",
                                                                redirectors[0].base_url + "feed1.rss"])
            beam = [] if workers == 1 else ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]
            assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), "--allow-private-network",
                         "--per-host-delay", str(delay), *BEAM_ARGS, *beam]) == 0
        finally:
            for host in hosts:
                host.__exit__(None, None, None)
        asked = [(path, when) for (path, _), when in zip(victim.requests, victim.times, strict=True)]
    assert not any(path.startswith("/private/") for path, _ in asked)
    starts = sorted(when for path, when in asked if path.startswith("/public/"))
    assert len(starts) == 10
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # Requests start `delay` apart; they arrive with the jitter of the network stack around that
    # (without the pace, the twenty arrived within 30 ms).
    assert min(gaps) >= delay / 2 and sum(gaps) >= delay * (len(gaps) - 0.5)
    letters = letters_by_url(tmp_path / "out")
    assert sum("disallowed by robots.txt" in letter["reason"] for letter in letters.values()) == 10


# --- Writing through links -------------------------------------------------------------------------
def test_an_export_never_replaces_its_store_under_another_name(site, tmp_path, capsys):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/herald.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 0
    store = tmp_path / "out" / "state.db"
    (tmp_path / "link").symlink_to(tmp_path / "out")
    before = store.read_bytes()
    for spelling in (tmp_path / "link" / "state.db", f"/proc/self/cwd/{os.path.relpath(store)}",
                     tmp_path / "out" / ".." / "out" / "state.db"):
        assert main(["stories", "export", "-o", str(spelling), "--store", f"sqlite:///{store}"]) == 2
    assert store.read_bytes() == before
    assert "must not replace" in capsys.readouterr().err


def test_an_export_does_not_follow_a_link_where_its_temporary_file_would_be(site, tmp_path):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/herald.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 0
    outside = tmp_path / "outside.txt"
    outside.write_text("sixteen bytes ok")
    (tmp_path / f".all.jsonl.{os.getpid()}.tmp").symlink_to(outside)  # the name an older release would use
    assert main(["stories", "export", "-o", str(tmp_path / "all.jsonl"), "--output", str(tmp_path / "out")]) == 0
    assert outside.read_text() == "sixteen bytes ok"
    assert len((tmp_path / "all.jsonl").read_text().splitlines()) == 2
    assert [p.name for p in tmp_path.glob(".all.jsonl.*")] == [f".all.jsonl.{os.getpid()}.tmp"]  # ours: gone


@pytest.mark.parametrize("link", ["stories.db", "dead_letters"])
def test_links_inside_the_output_folder_are_refused(site, tmp_path, capsys, link):
    output = tmp_path / "out"
    output.mkdir()
    elsewhere = tmp_path / "elsewhere"
    if link == "stories.db":
        import sqlite3

        with sqlite3.connect(elsewhere) as db:
            db.execute("CREATE TABLE precious (id INTEGER)")
    else:
        elsewhere.mkdir()
    (output / link).symlink_to(elsewhere)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/dead-links.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(output), "--sink", "jsonl,sqlite", *RUN_ARGS]) == 2
    assert "symbolic link" in capsys.readouterr().err
    if link == "stories.db":
        import sqlite3

        with sqlite3.connect(elsewhere) as db:
            assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["precious"]
    else:
        assert list(elsewhere.iterdir()) == []


def test_a_stories_folder_deliberately_elsewhere_keeps_working(site, tmp_path):
    output, disk = tmp_path / "out", tmp_path / "other-disk"
    output.mkdir()
    disk.mkdir()
    (output / "stories").symlink_to(disk)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/herald.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(output), *RUN_ARGS]) == 0
    assert len(read_jsonl(disk)) == 2


@pytest.mark.parametrize("where, message", [
    (["--output", "relative/out", "--store", "postgresql://u@db.example/newsbeam"], "absolute path"),
    (["--output", "/shared/out"], "PostgreSQL store"),
])
def test_a_cluster_runner_needs_shared_output_and_the_shared_store(tmp_path, capsys, where, message):
    pytest.importorskip("distributed", reason="the Dask runner needs the dask extra")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", ["http://127.0.0.1:9/feed.rss"])
    assert main(["run", "--feeds", str(feeds), *where, "--runner", "DaskRunner",
                 "--dask_client_address", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


# --- What the terminal shows -------------------------------------------------------------------------
def test_controls_and_bidi_overrides_from_servers_never_reach_the_terminal_raw(site, tmp_path, capsys):
    base = site.base_url
    site.routes["/tricky.rss"] = lambda h: h.send_body(200, (
        "<rss version='2.0'><channel><title>T</title><item><title>Evil \u202egnp.exe</title>"
        f"<link>{base}missing.html</link><description>Text \u0085 with a C1 control</description></item>"
        "</channel></rss>").encode(), "application/rss+xml")
    site.routes["/missing.html"] = lambda h: h.send_body(503, "Busy \u202e\u0085".encode())
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [base + "tricky.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 3  # its page failed
    (story,) = latest_stories(tmp_path / "out").values()
    capsys.readouterr()
    assert main(["stories", "show", story["story_id"], "--output", str(tmp_path / "out")]) == 0
    assert main(["errors", "--json", "--output", str(tmp_path / "out")]) == 0
    assert main(["errors", "--output", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "\u202e" not in out and "\u0085" not in out
    shown = json.loads(out.split("\n}\n")[0] + "\n}")
    assert shown["title"] == "Evil \u202egnp.exe"  # the same data, escaped


def test_a_reader_that_stops_early_ends_errors_quietly(tmp_path):
    store = open_store(str(tmp_path / "out" / "state.db"))
    from newsbeam.schemas import DeadLetter, utc_now

    store.dead_letters.record([DeadLetter(url=f"http://x.example/{n}", stage="page_fetch", reason="HTTP 500 " * 20,
                                          at=utc_now()) for n in range(3000)])
    result = subprocess.run(f"{sys.executable} -m newsbeam errors --output {tmp_path / 'out'} | head -n 1",
                            shell=True, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr == ""


def test_a_store_password_appears_in_no_message(postgres_url, capsys):
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    secret = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:s3cr3t-pw@")
    assert main(["errors", "--store", secret]) == 2
    err = capsys.readouterr().err
    assert "newer than this newsbeam" in err and "s3cr3t-pw" not in err


# --- Round three ---------------------------------------------------------------------------------
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_nul_from_a_server_never_stops_a_pass(site, tmp_path, store, request):
    """'&#0;' in a feed's title and an item's, '\\0' in a robots.txt Sitemap line and '\\u0000'
    in a page's JSON-LD headline: PostgreSQL refuses NUL in text, so the control characters go
    before any store sees them, the same on both stores; this run and the next end well."""
    base = site.base_url
    page = article_page("Harbour pier approved").replace(
        b"<head>", b'<head><script type="application/ld+json">{"@type": "NewsArticle", '
                   b'"headline": "Harbour\\u0000 pier approved"}</script>')
    site.routes["/nul/pier.html"] = lambda h: h.send_body(200, page, "text/html")
    feed = (f"<rss version='2.0'><channel><title>Nul&#0;Feed</title><item><title>Harbour&#0; pier approved</title>"
            f"<link>{base}nul/pier.html</link></item></channel></rss>").encode()
    site.routes["/nul.rss"] = lambda h: h.send_body(200, feed, "application/rss+xml")
    site.routes["/robots.txt"] = lambda h: h.send_body(200, f"Sitemap: {base}map\0.xml\n".encode(), "text/plain")
    store_url = request.getfixturevalue("postgres_url") if store == "postgres" else f"sqlite:///{tmp_path}/s.db"
    feeds = write_feeds_file(tmp_path / "feeds.yaml",
                             [base + "nul.rss", base + "robots.txt", base + "feeds/kurier.rss"])
    for _ in range(2):
        assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), "--store", store_url,
                     *RUN_ARGS]) == 0
    titles = {story["title"] for story in latest_stories(tmp_path / "out").values()}
    assert "Harbour pier approved" in titles and "Lindenau baut eine Seilbahn über den Fluss" in titles
    with open_store(store_url) as opened:
        assert all("\0" not in story.title for story in opened.find_stories(limit=100))


def test_a_remote_sitemap_index_or_robots_txt_never_makes_newsbeam_read_a_local_file(site, tmp_path):
    """A server's sitemap index that lists file:///etc/passwd and a private sitemap on this
    machine, and its robots.txt naming a FIFO: nothing local is read (the FIFO would hang the
    pass), the private sitemap's pages are never requested; the user's own file: feed still is."""
    base = site.base_url
    private = tmp_path / "private-sitemap.xml"
    private.write_text(f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><url><loc>{base}secret.html"
                       "</loc></url></urlset>", encoding="utf-8")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    index = ("<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
             f"<sitemap><loc>file:///etc/passwd</loc></sitemap><sitemap><loc>{private.as_uri()}</loc></sitemap>"
             "</sitemapindex>").encode()
    site.routes["/sitemap-index.xml"] = lambda h: h.send_body(200, index, "application/xml")
    site.routes["/robots.txt"] = lambda h: h.send_body(200, f"Sitemap: {fifo.as_uri()}\n".encode(), "text/plain")
    own = tmp_path / "own.rss"
    own.write_bytes(rss(base + "kurier/seilbahn-beschlossen.html"))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {base}sitemap-index.xml\n  - url: {base}robots.txt\n  - url: own.rss\n",
                     encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds), "--output",
                           str(tmp_path / "out"), *RUN_ARGS], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "/secret.html" not in site.paths_requested()
    titles = {story["title"] for story in latest_stories(tmp_path / "out").values()}
    assert "Lindenau baut eine Seilbahn über den Fluss" in titles
    summary = json.loads(next((tmp_path / "out").glob("summary-*.json")).read_text())
    assert summary["sitemaps_not_on_the_web"] == 3  # the two of the index, the robots.txt's one


def test_a_local_feed_is_read_only_when_it_is_a_regular_file(tmp_path):
    from newsbeam.fetching.client import FetchError, read_local_file

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(FetchError, match="not a regular file"):
        read_local_file(fifo.as_uri(), 1000)
    with pytest.raises(FetchError, match="not a regular file"):
        read_local_file(tmp_path.as_uri(), 1000)
    (tmp_path / "feed.xml").write_bytes(b"<rss/>")
    assert read_local_file((tmp_path / "feed.xml").as_uri(), 1000).body == b"<rss/>"


def test_a_home_the_run_cannot_write_does_not_stop_a_run_on_postgresql(site, tmp_path, postgres_url):
    """A systemd unit with a read-only home: the story index's cache folder cannot be made
    (here: $XDG_CACHE_HOME lies under a file); the run goes on without that cache."""
    (tmp_path / "a-file").write_text("")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/kurier.rss"])
    done = subprocess.run([sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds), "--output",
                           str(tmp_path / "out"), "--store", postgres_url, *RUN_ARGS], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "a-file" / "c")})
    assert done.returncode == 0, done.stderr
    assert latest_stories(tmp_path / "out")
