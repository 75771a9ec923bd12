"""Backfill as users run it: web archives (WARC files the tests write from the project's own
pages) and sitemaps, through `newsbeam run`, with the `hashing` encoder (what is tested is the
reading, filing and resuming, not the encoder)."""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from newsbeam.pipeline.cli import main
from newsbeam.state.store import open_store
from tests.conftest import DEMO_SITE, FIXTURES, ROOT, RUN_ARGS, latest_stories, read_jsonl, write_feeds_file
from tests.warcs import warc_record, write_warc

ARGS = (*RUN_ARGS, "--encoder", "hashing")
DEMO_PAGES = sorted(DEMO_SITE.glob("*/*.html"))


def demo_pages(base: str) -> list[tuple[str, bytes]]:
    return [(f"{base}{path.parent.name}/{path.name}", path.read_bytes()) for path in DEMO_PAGES]


def archive_feeds(tmp_path, *archives: dict, feeds: list[str] = ()) -> str:
    doc = {"archives": list(archives), **({"feeds": [{"url": url} for url in feeds]} if feeds else {})}
    path = tmp_path / "feeds.yaml"
    path.write_text(json.dumps(doc))  # JSON is YAML
    return str(path)


def run(feeds: str, output, *extra: str) -> dict:
    assert main(["run", "--feeds", feeds, "--output", str(output), *ARGS, *extra]) == 0
    return json.loads(sorted(output.glob("summary-*.json"))[-1].read_text())


def article_urls(output) -> list[str]:
    return [r[0] for r in open_store(str(output / "state.db")).db.read().execute("SELECT url FROM articles")]


def test_an_archive_is_read_once_filtered_and_its_damage_recorded(tmp_path):
    pages = demo_pages("https://lindenau.example/")
    archive = tmp_path / "cc-news"
    write_warc(archive / "a.warc.gz", pages[:4])
    with open(archive / "b.warc.gz", "wb") as out:  # a damaged member between two good ones
        out.write(warc_record(pages[4][0], pages[4][1]))
        out.write(warc_record("https://lindenau.example/broken.html", pages[5][1])[:300])
        out.write(warc_record(pages[6][0], pages[6][1]))
        out.write(warc_record("https://elsewhere.example/x.html", pages[0][1]))  # another host: filtered out
    feeds = archive_feeds(tmp_path, {"warc": "cc-news/*.warc.gz", "hosts": ["lindenau.example"],
                                     "since": "2026-11-01"})
    first = run(feeds, tmp_path / "out")
    assert first["archive_pages"] == 6 and first["archive_damaged"] == 1 and first["archive_skipped host"] == 1
    assert first["archive_skipped request"] == 4
    assert sorted(article_urls(tmp_path / "out")) == sorted(url for url, _ in pages if url != pages[5][0])
    (letter,) = read_jsonl(tmp_path / "out" / "dead_letters")
    assert letter["stage"] == "archive" and letter["final"] and "b.warc.gz" in letter["reason"]
    second = run(feeds, tmp_path / "out")  # the files were read to their end: nothing to read
    assert second.get("archive_pages", 0) == 0 and second["stories_new"] == second["stories_updated"] == 0


def test_a_feed_listing_archived_pages_does_not_fetch_them_again(site, tmp_path):
    archive = write_warc(tmp_path / "archive" / "site.warc.gz", demo_pages(site.base_url))
    run(archive_feeds(tmp_path, {"warc": str(archive)}), tmp_path / "out")
    site.requests.clear()
    live = run(str(write_feeds_file(tmp_path / "live.yaml", [site.base_url + f"feeds/{name}" for name in
                                                               ("kurier.rss", "herald.rss", "wire.atom")])),
               tmp_path / "out")
    assert live["feeds_fetched"] == 3 and live["articles_new"] == 0 and live["pages_fetched"] == 0
    assert all(path.startswith("/feeds/") for path in site.paths_requested())


def test_an_archived_page_that_will_not_extract_is_never_fetched_live(site, tmp_path):
    """Archived pages with no article on them (empty; a notice only) are final dead letters:
    a later run does not fetch their WARC-Target-URI from the live site."""
    empty = [(f"{site.base_url}empty/{n}.html", b"<html><body><p>Log in</p></body></html>") for n in range(3)]
    archive = write_warc(tmp_path / "archive" / "site.warc.gz", [*demo_pages(site.base_url)[:2], *empty])
    feeds = archive_feeds(tmp_path, {"warc": str(archive)})
    run(feeds, tmp_path / "out")
    letters = {letter["url"]: letter for letter in read_jsonl(tmp_path / "out" / "dead_letters")}
    assert all(letters[url]["final"] and "archived page" in letters[url]["reason"] for url, _ in empty)
    site.requests.clear()
    later = run(feeds, tmp_path / "out")
    assert later.get("pages_fetched", 0) == 0 and not site.paths_requested()


def test_a_local_archive_pattern_matches_folder_by_folder_and_regular_files_only(tmp_path):
    """`*` stays within its folder and `**` crosses folders, as the pattern says; nothing else
    below the pattern's prefix is walked (Beam's local listing walks it all: `/*.warc.gz`
    walked the whole filesystem every pass). A FIFO with a WARC's name is not a file to read."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from newsbeam.pipeline.backfill import matched_files
    from newsbeam.schemas import ArchiveSource

    for name in ("a.warc.gz", "b.warc.gz", "deep/c.warc.gz", "deep/deeper/d.warc.gz", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x" * len(name))
    os.mkfifo(tmp_path / "pipe.warc.gz")

    def matched(pattern: str) -> list[str]:
        files = matched_files(ArchiveSource(pattern=str(tmp_path / pattern)), PipelineOptions([]))
        return sorted(os.path.relpath(path, tmp_path) for path in files)

    assert matched("*.warc.gz") == ["a.warc.gz", "b.warc.gz"]
    assert matched("**/*.warc.gz") == ["a.warc.gz", "b.warc.gz", "deep/c.warc.gz", "deep/deeper/d.warc.gz"]
    assert matched("deep/*/*.warc.gz") == ["deep/deeper/d.warc.gz"]


def test_the_story_window_counts_in_the_articles_own_time(tmp_path):
    """The same report (no date on the page) captured three weeks apart under two URLs: two
    stories; captured a day apart: one."""
    html = (FIXTURES / "pages" / "json-ld-teaser.html").read_bytes()
    with open(tmp_path / "a.warc.gz", "wb") as out:
        out.write(warc_record("https://a.example/early", html, date="2026-10-01T10:00:00Z"))
        out.write(warc_record("https://b.example/late", html, date="2026-10-25T10:00:00Z"))
        out.write(warc_record("https://c.example/next-day", html, date="2026-10-26T09:00:00Z"))
    run(archive_feeds(tmp_path, {"warc": "a.warc.gz"}), tmp_path / "out")
    stories = {tuple(sorted(v["url"] for v in s["variants"])) for s in latest_stories(tmp_path / "out").values()}
    assert stories == {("https://a.example/early",), ("https://b.example/late", "https://c.example/next-day")}
    published = {v["url"]: v["published"] for s in latest_stories(tmp_path / "out").values() for v in s["variants"]}
    assert published["https://a.example/early"] == "2026-10-01T10:00:00+00:00"  # the capture's time


def test_archive_patterns_that_cannot_exist_and_ones_that_match_nothing_yet(tmp_path, capsys):
    (tmp_path / "incoming").mkdir()
    assert run(archive_feeds(tmp_path, {"warc": "incoming/*.warc.gz"}), tmp_path / "out")["stories_new"] == 0
    assert "matches no file yet" in capsys.readouterr().err
    for pattern, message in (("missing/*.warc.gz", "does not exist"), ("nosuchscheme://bucket/*.warc.gz", "archive")):
        assert main(["run", "--feeds", archive_feeds(tmp_path, {"warc": pattern}), "--output", str(tmp_path / "x"),
                     *ARGS]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0]


@pytest.mark.slow
def test_a_run_killed_mid_file_resumes_without_doubling_or_losing_a_page(tmp_path):
    pages = [(f"{url}?copy={n}", html) for n in range(40) for url, html in demo_pages("https://lindenau.example/")]
    write_warc(tmp_path / "big.warc.gz", pages)
    feeds = archive_feeds(tmp_path, {"warc": "big.warc.gz"})
    command = [sys.executable, "-m", "newsbeam", "run", "--feeds", feeds, "--output", str(tmp_path / "out"), *ARGS]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    store = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until part of the file is filed, then kill
        time.sleep(0.2)
        if (tmp_path / "out" / "state.db").exists():
            store = store or open_store(str(tmp_path / "out" / "state.db"), migrate=False)
            try:
                if store.db.read().execute("SELECT COUNT(*) FROM articles").fetchone()[0] >= 50:
                    break
            except Exception:  # the tables are being made
                continue
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    filed_when_killed = len(article_urls(tmp_path / "out"))
    assert 0 < filed_when_killed < len(pages)
    run(feeds, tmp_path / "out")
    urls = article_urls(tmp_path / "out")
    assert len(urls) == len(set(urls)) == len(pages)
    written = {v["url"] for s in latest_stories(tmp_path / "out").values() for v in s["variants"]}
    assert written == {url.replace("https://lindenau.example/", "https://lindenau.example/") for url, _ in pages}


# --- Sitemaps -----------------------------------------------------------------------------------------
def sitemap(urls: list[tuple[str, str]], news: bool = False) -> bytes:
    items = "".join(
        f"<url><loc>{url}</loc><lastmod>{when}</lastmod>"
        + (f"<news:news><news:publication><news:name>Lindenau News</news:name><news:language>en</news:language>"
           f"</news:publication><news:publication_date>{when}</news:publication_date>"
           f"<news:title>Listed {n}</news:title></news:news>" if news else "") + "</url>"
        for n, (url, when) in enumerate(urls))
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{items}</urlset>').encode()


def test_sitemaps_and_robots_txt_beside_feeds(site, tmp_path):
    base = site.base_url
    now = dt.datetime.now(dt.UTC)
    recent, old = (now - dt.timedelta(days=1)).isoformat(timespec="seconds"), (
        now - dt.timedelta(days=60)).isoformat(timespec="seconds")
    site.routes["/robots.txt"] = lambda h: h.send_body(200, f"User-agent: *\nAllow: /\nSitemap: {base}index.xml\n"
                                                            .encode(), "text/plain")
    site.routes["/index.xml"] = lambda h: h.send_body(200, (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}news.xml</loc><lastmod>{recent}</lastmod></sitemap>"
        f"<sitemap><loc>{base}archive.xml</loc><lastmod>{old}</lastmod></sitemap></sitemapindex>").encode(),
        "application/xml")
    site.routes["/news.xml"] = lambda h: h.send_body(200, sitemap(
        [(base + "kurier/seilbahn-beschlossen.html", recent), (base + "wire/harbour-ferry-timetable.html", recent)],
        news=True), "application/xml")
    site.routes["/archive.xml"] = lambda h: h.send_body(200, sitemap(
        [(base + "herald/half-marathon-record-field.html", old)]), "application/xml")
    feeds = str(write_feeds_file(tmp_path / "feeds.yaml", [base + "robots.txt"]))
    first = run(feeds, tmp_path / "out")
    assert first["articles_new"] == 2 and first["entries_older_than_the_window"] == 1
    assert sorted(article_urls(tmp_path / "out")) == [base + "kurier/seilbahn-beschlossen.html",
                                                       base + "wire/harbour-ferry-timetable.html"]
    site.requests.clear()
    store = open_store(str(tmp_path / "out" / "state.db"))
    store.db.read().execute("UPDATE feeds SET next_due = NULL")
    second = run(feeds, tmp_path / "out")  # nothing changed: robots.txt and the index only
    assert second["articles_new"] == 0
    assert sorted(site.paths_requested()) == ["/index.xml", "/robots.txt"]


def test_an_archive_on_object_storage_is_listed_read_and_read_once(s3, tmp_path):
    """s3:// through Beam's S3 filesystem, against a local server that speaks S3: the endpoint
    and keys are the run's Beam options."""
    pages = demo_pages("https://lindenau.example/")
    for n in (0, 1):
        s3.put("news-archive", f"cc-news/2026/11/part-{n}.warc.gz",
               write_warc(tmp_path / f"part-{n}.warc.gz", pages[n::2]))
    feeds = archive_feeds(tmp_path, {"warc": "s3://news-archive/cc-news/2026/11/*.warc.gz"})
    first = run(feeds, tmp_path / "out", *s3.beam_args)
    assert first["archive_pages"] == len(pages)
    assert sorted(article_urls(tmp_path / "out")) == sorted(url for url, _ in pages)
    assert run(feeds, tmp_path / "out", *s3.beam_args).get("archive_pages", 0) == 0


def test_a_bucket_that_does_not_exist_is_a_mistake_and_an_empty_prefix_a_folder_that_fills_up(s3, tmp_path, capsys):
    """Beam's S3 filesystem lists a missing bucket as an empty one; newsbeam asks S3 which it is:
    a bucket that does not exist is one line and exit 2 (as a missing local folder is), a
    prefix with nothing yet a warning and exit 0."""
    feeds = archive_feeds(tmp_path, {"warc": "s3://no-such-bucket/cc-news/*.warc.gz"})
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS, *s3.beam_args]) == 2
    error = capsys.readouterr().err  # the S3 server's own log (werkzeug, in this process) besides
    assert "Traceback" not in error and error.strip().splitlines()[-1] == (
        "newsbeam: error: archive s3://no-such-bucket/cc-news/*.warc.gz: bucket no-such-bucket does not exist")
    s3.put("cc-news-test", "other/file.txt", pathlib.Path(__file__))
    feeds = archive_feeds(tmp_path, {"warc": "s3://cc-news-test/not-yet/*.warc.gz"})
    assert run(feeds, tmp_path / "out", *s3.beam_args).get("archive_pages", 0) == 0
    assert "s3://cc-news-test/not-yet/*.warc.gz matches no file yet" in capsys.readouterr().err


def test_variants_in_one_archive_file_are_one_story(tmp_path):
    """A web archive's file holds pages of every site: unlike a feed's items, two of its pages
    under other headlines may well be one report (the German original and its translations)."""
    archive = write_warc(tmp_path / "archive" / "one.warc.gz", demo_pages("https://lindenau.example/"))
    feeds = archive_feeds(tmp_path, {"warc": str(archive)})
    # the built-in encoder: the hashing one never matches translations
    assert main(["run", "--feeds", feeds, "--output", str(tmp_path / "out"), *RUN_ARGS]) == 0
    cable = next(s for s in latest_stories(tmp_path / "out").values()
                 if any(v["url"].endswith("seilbahn-beschlossen.html") for v in s["variants"]))
    assert len(cable["variants"]) == 3 and {v["relation"] for v in cable["variants"]} == {"original", "translation"}


def test_an_archives_offset_is_recorded_with_the_pages_filed_not_when_they_are_read(tmp_path):
    """How far a WARC file is read travels with its pages (Batch.archive_progress) and is
    recorded in the transaction that files them: read and not filed (a worker killed before
    filing), the file is read again from where the last filed chunk ended."""
    import apache_beam as beam
    from apache_beam.testing import test_pipeline

    from newsbeam.schemas import ArchiveFile, Batch
    from newsbeam.transforms.archives import ReadArchivesFn
    from newsbeam.transforms.article_work import ArticleWork
    from tests.conftest import BEAM_ARGS, local_options

    archive = write_warc(tmp_path / "site.warc.gz", demo_pages("http://lindenau.example/"))
    options = local_options(tmp_path, encoder="hashing")
    store = open_store(options.store)
    shard = Batch(archives=(ArchiveFile(url=str(archive), size=archive.stat().st_size),))
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        _ = pipeline | beam.Create([shard]) | beam.ParDo(ReadArchivesFn(options))  # read, never filed
    assert store.archives.next_offset(str(archive)) == 0
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        _ = pipeline | beam.Create([shard]) | ArticleWork(options, "run-1")
    assert store.archives.next_offset(str(archive)) == archive.stat().st_size
    assert len(store.stories.story_ids()) >= 3
