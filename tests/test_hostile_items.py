"""Hostile round four: one hostile item never stops a pass. Each item below once made every
pass fail (nothing filed from any feed, no dead letter, the same failure at the next run); now
it is filed or kept as a dead letter, and the good feed beside it is filed in the same pass,
on both stores."""

from __future__ import annotations

import json
import random

import pytest

from newsbeam.pipeline.cli import main
from newsbeam.state.store import open_store
from tests.conftest import RUN_ARGS, latest_stories, read_jsonl, write_feeds_file

GOOD_TITLES = {"Lindenau baut eine Seilbahn über den Fluss", "Stadtbibliothek öffnet künftig auch sonntags"}


def run(site, tmp_path, store_url: str, hostile_feed: bytes) -> int:
    site.routes["/hostile.rss"] = lambda h: h.send_body(200, hostile_feed, "application/rss+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "hostile.rss",
                                                        site.base_url + "feeds/kurier.rss"])
    return main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), "--store", store_url, *RUN_ARGS])


def rss_item(title: str, link: str, description: str = "") -> bytes:
    return (f"<rss version='2.0'><channel><title>Hostile</title><item><title>{title}</title><link>{link}</link>"
            f"<description>{description}</description></item></channel></rss>").encode()


def good_feed_filed(tmp_path) -> set[str]:
    return {story["title"] for story in latest_stories(tmp_path / "out").values()}


def test_a_title_of_a_megabyte_of_distinct_words_is_filed_cut(site, tmp_path, store_url):
    """PostgreSQL's text-search vector holds at most 1 MB: a 1.2 MB title of distinct words
    overflowed it and failed every pass there."""
    words = " ".join(f"w{random.Random(1).getrandbits(64):x}{n}" for n in range(60_000))
    assert len(words) > 1_200_000
    site.routes["/long.html"] = lambda h: h.send_body(404, b"gone")
    for attempt in range(2):  # and the next run too
        assert run(site, tmp_path, store_url, rss_item(words, site.base_url + "long.html",
                                                       "The council met on Monday. " * 20)) == 0, attempt
    titles = good_feed_filed(tmp_path)
    assert GOOD_TITLES <= titles
    long_title = next(title for title in titles if title.startswith("w"))
    assert len(long_title) <= 1000


def test_an_article_url_longer_than_any_index_holds_is_counted_and_never_fetched(site, tmp_path, store_url, capsys):
    """A URL of ~3,000 bytes (PostgreSQL's B-tree keys stop near 2,700) in a feed: counted as a
    link newsbeam may not fetch; its page is not asked for; the other feed is filed."""
    link = site.base_url + "long/" + "a" * 3000 + ".html"
    # the hostile feed's only item has no usable link: that feed failed, the pass did not
    assert run(site, tmp_path, store_url, rss_item("Long", link, "Text " * 100)) == 0
    assert GOOD_TITLES <= good_feed_filed(tmp_path)
    assert "1 without a link newsbeam may fetch" in capsys.readouterr().out
    assert not any(path.startswith("/long/") for path in site.paths_requested())


def test_a_long_url_that_fails_is_a_dead_letter_with_a_bounded_key(tmp_path, store_url):
    """The dead letters' key holds the URL: whatever reaches it is bounded, and two long URLs
    stay two dead letters."""
    from newsbeam.schemas import DeadLetter, utc_now

    store = open_store(store_url)
    long_a, long_b = "http://example.org/" + "a" * 5000, "http://example.org/" + "a" * 4999 + "b"
    store.dead_letters.record([DeadLetter(url=url, stage="page_fetch", reason="gone", at=utc_now())
                               for url in (long_a, long_b)])
    kept = store.dead_letters.all()
    assert len(kept) == 2 and all(len(letter.url) <= 2048 for letter in kept)


def test_a_lone_surrogate_in_a_pages_json_ld_headline_is_replaced(site, tmp_path, store_url):
    """JSON's "\\ud800" makes a lone surrogate in Python, which UTF-8 cannot encode: the encoder
    failed on it and every pass with it. The article is filed with U+FFFD in its place."""
    paragraphs = "".join(f"<p>The harbour ferry timetable changes in week {n}, the operator said on "
                         f"Monday, and the night service ends earlier than before.</p>" for n in range(10))
    ld = json.dumps({"@type": "NewsArticle", "headline": "Ferry \\ud800 timetable"}).replace("\\\\", "\\")
    page = (f"<html><head><title>Ferry</title><script type='application/ld+json'>{ld}</script></head>"
            f"<body><article><h1>Ferry timetable</h1>{paragraphs}</article></body></html>").encode()
    site.routes["/ferry.html"] = lambda h: h.send_body(200, page)
    assert run(site, tmp_path, store_url, rss_item("Ferry \\ud800 timetable", site.base_url + "ferry.html")) == 0
    titles = good_feed_filed(tmp_path)
    assert GOOD_TITLES <= titles
    ferry = next(title for title in titles if "Ferry" in title)
    ferry.encode("utf-8")  # valid Unicode throughout
    for record in read_jsonl(tmp_path / "out" / "stories"):
        json.dumps(record, ensure_ascii=False).encode("utf-8")


def test_extract_keeps_every_good_page_beside_one_with_a_lone_surrogate(tmp_path):
    pages = tmp_path / "pages.jsonl"
    body = "".join(f"<p>Paragraph {n} of a report on the harbour ferry and its new timetable.</p>" for n in range(8))
    good = {"id": 1, "url": "https://example.org/a", "html": f"<html><body><article><h1>Good</h1>{body}</article>"
                                                              "</body></html>"}
    bad_ld = '{"@type": "NewsArticle", "headline": "Bad \\ud800 one"}'
    bad = {"id": 2, "url": "https://example.org/b",
           "html": f"<html><head><script type='application/ld+json'>{bad_ld}</script></head><body><article>"
                   f"<h1>Bad</h1>{body}</article></body></html>"}
    pages.write_text("\n".join(json.dumps(record) for record in (good, bad)) + "\n")
    assert main(["extract", str(pages), "-o", str(tmp_path / "out.jsonl"), "--encoder", "hashing"]) == 0
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["1", "2"] and all("error" not in line for line in lines)


def test_an_article_the_store_cannot_hold_is_a_dead_letter_and_its_chunk_is_filed(tmp_path, postgres_url):
    """A value past every bound at the entrance (an Article made by a program of the user's own,
    with a URL longer than PostgreSQL's B-tree keys hold): the chunk's transaction fails, each
    article is then filed alone, and only that one is a dead letter, its page tried again."""
    import apache_beam as beam
    from apache_beam.testing import test_pipeline
    from apache_beam.testing.util import assert_that

    from newsbeam.schemas import Article, Batch
    from newsbeam.transforms.stories import AssignStoriesFn
    from tests.conftest import BEAM_ARGS, local_options

    def article(url: str, text: str) -> Article:
        return Article(url=url, feed_url="http://feeds.example/rss", title=text[:30], text=text, language="en",
                       published="2026-11-20T08:00:00+00:00", authors=(), site_name=None, description=None,
                       image=None, tags=(), body_source="page")

    options = local_options(tmp_path, encoder="hashing", store_url=postgres_url)
    open_store(options.store)
    too_long = "http://a.example/" + "".join(f"{random.Random(7).getrandbits(32):08x}{n}" for n in range(900))
    batch = Batch(articles=(article("http://a.example/1", "The council voted on a cable car. " * 8),
                            article(too_long, "Ferries run every hour from the harbour. " * 8),
                            article("http://c.example/2", "The library opens on Sundays from March. " * 8)))

    def check(batches: list[Batch]) -> None:
        (out,) = batches
        assert sorted(story.url for story in out.stories) == ["http://a.example/1", "http://c.example/2"]
        (letter,) = out.dead_letters
        assert letter.stage == "extract" and "could not be filed" in letter.reason and len(letter.url) <= 2048
        assert dict(out.counts)["articles_not_filed"] == 1

    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        assert_that(pipeline | beam.Create([batch]) | beam.ParDo(AssignStoriesFn(options, "run-1")), check)


def test_dedup_and_extract_refuse_what_they_could_not_file(tmp_path, capsys):
    """A published date that is none, an id of 5,000 digits, a URL past any index: each a
    one-line mistake naming its line (exit 2), where they were filed and broke every later
    `dedup` and `run` on the store (or exited 1 unnamed)."""
    store = f"sqlite:///{tmp_path / 'state.db'}"
    good = {"id": "a", "title": "Ferry", "text": "The harbour ferry timetable changes next week. " * 5}
    cases = [({"published": "not a date"}, "line 2: 'published' is not an ISO 8601 date"),
             ({"id": "@digits"}, "line 2: invalid JSON"),
             ({"url": "https://example.org/" + "a" * 3000}, "line 2: 'url' is longer than 2048 characters"),
             ({"id": "x" * 2000}, "line 2: 'id' is longer than 1000 characters")]
    for change, message in cases:
        lines = tmp_path / "in.jsonl"
        bad = json.dumps({**good, "id": "b", **change}).replace('"@digits"', "9" * 5000)
        lines.write_text(json.dumps(good) + "\n" + bad + "\n")
        capsys.readouterr()
        assert main(["dedup", str(lines), "-o", str(tmp_path / "out.jsonl"), "--store", store,
                     "--encoder", "hashing"]) == 2, change
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and message in err, err
    # nothing was filed from the bad files: the store still takes a good one
    (tmp_path / "ok.jsonl").write_text(json.dumps(good) + "\n")
    assert main(["dedup", str(tmp_path / "ok.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--store", store,
                 "--encoder", "hashing"]) == 0


def test_a_page_date_in_the_year_99999999999_loses_the_date_not_the_article(tmp_path):
    paragraphs = "<p>The harbour ferry timetable changes next week, the operator said on Monday.</p>" * 4
    page = {"id": 1, "url": "https://example.org/a",
            "html": "<html><head><meta property='article:published_time' content='Mon, 01 Jan 99999999999 "
                    f"00:00:00 +0000'></head><body><article><h1>Ferry</h1>{paragraphs}</article></body></html>"}
    (tmp_path / "pages.jsonl").write_text(json.dumps(page) + "\n")
    assert main(["extract", str(tmp_path / "pages.jsonl"), "-o", str(tmp_path / "out.jsonl"),
                 "--encoder", "hashing"]) == 0
    (line,) = [json.loads(text) for text in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert "error" not in line and line["title"] == "Ferry" and line["published"] is None


def test_a_cache_folder_that_is_a_link_is_refused_and_a_fifo_store_never_waited_on(site, tmp_path, capsys):
    """OUTPUT/cache as a link was written through (dead_letters/ as a link is refused); a FIFO at
    the store's path made every command wait for ever (the test's own timeout is the guard)."""
    import os

    output, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    output.mkdir()
    elsewhere.mkdir()
    (output / "cache").symlink_to(elsewhere)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/kurier.rss"])
    capsys.readouterr()
    assert main(["run", "--feeds", str(feeds), "--output", str(output), *RUN_ARGS]) == 2
    assert "cache is a symbolic link" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []

    fifo_folder = tmp_path / "fifo"
    fifo_folder.mkdir()
    os.mkfifo(fifo_folder / "state.db")
    for command in (["run", "--feeds", str(feeds), "--output", str(fifo_folder), *RUN_ARGS],
                    ["stories", "list", "--output", str(fifo_folder)], ["errors", "--output", str(fifo_folder)]):
        capsys.readouterr()
        assert main(command) == 2, command
        assert "is not a regular file" in capsys.readouterr().err


@pytest.mark.slow
def test_a_publishers_page_whose_json_ld_never_closes_is_read_in_seconds(tmp_path):
    """On a host Fundus has a parser for, a JSON-LD script of a megabyte of '{': Fundus's
    pattern would take minutes (64 KB: 19 s); the page goes the generic way. (The subprocess's
    timeout only catches a regression.)"""
    for closed in ("</script>", ""):
        line = extract_in_a_process(tmp_path, "https://www.spiegel.de/panorama/faehre-a-1234.html",
                                    f"<html><body><article><h1>Fähre</h1>{FERRY_PARAGRAPHS}</article><script "
                                    f"type='application/ld+json'>{'{' * 1_000_000}{closed}</body></html>")
        assert line.get("title") == "Fähre" and line["extractor"] == "generic", line


FERRY_PARAGRAPHS = "<p>Der Stadtrat hat am Montag über die neue Fährverbindung beraten und sie beschlossen.</p>" * 6


def extract_in_a_process(tmp_path, url: str, html: str) -> dict:
    """What `newsbeam extract` makes of one page, in a process of its own (its timeout only
    catches a regression)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    (tmp_path / "pages.jsonl").write_text(json.dumps({"id": 1, "url": url, "html": html}) + "\n")
    result = subprocess.run([sys.executable, "-m", "newsbeam", "extract", str(tmp_path / "pages.jsonl"), "-o",
                             str(tmp_path / "out.jsonl"), "--encoder", "hashing"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(text) for text in (tmp_path / "out.jsonl").read_text().splitlines()]
    return line


def test_a_page_whose_byline_and_lines_would_make_patterns_backtrack_is_read_in_seconds(tmp_path):
    """An "author" of 50,000 words of a job title ("staff staff ... x") and lines of a label and
    "www.www.www..." in the body: the patterns that read jobs after names and links after a
    label took minutes over them, holding the GIL all the while (50,000 words: ~10 minutes; one
    such line: 40 s). Both are read now in a time that grows with the text. (The subprocess's
    timeout only catches a regression.)"""
    links = "".join(f"<p>More {n}: {'www.' * 38} x</p>" for n in range(5))
    author = json.dumps({"@type": "NewsArticle", "headline": "Fähre",
                         "author": {"@type": "Person", "name": "Jane " + "staff " * 50_000 + "x"}})
    line = extract_in_a_process(tmp_path, "https://kurier.example/faehre",
                                f"<html><head><script type='application/ld+json'>{author}</script></head><body>"
                                f"<article><h1>Fähre</h1>{FERRY_PARAGRAPHS}{links}{FERRY_PARAGRAPHS}</article></body>"
                                f"</html>")
    assert line["title"] == "Fähre" and line["authors"] == [] and "Fährverbindung" in line["text"], line


def report_page(paragraphs: str, title: str, head: str = "", published: str = "2026-11-20T10:00:00+00:00") -> bytes:
    return (f"<html><head><title>{title}</title><meta property='article:published_time' content='{published}'>{head}"
            f"</head><body><article><h1>{title}</h1>{paragraphs}</article></body></html>").encode()


PARAGRAPHS = "".join(f"<p>The council of Lindenau voted on Thursday to build the cable car across the river, "
                     f"point {n} of the agenda, and the work begins in spring.</p>" for n in range(10))


def test_a_canonical_address_on_another_site_is_a_claim_not_the_link_or_the_site(site, tmp_path):
    head = ("<link rel='canonical' href='https://www.spiegel.de/politik/seilbahn-a-1.html'>"
            "<meta property='og:site_name' content='DER SPIEGEL'>")
    site.routes["/claims.html"] = lambda h: h.send_body(200, report_page(PARAGRAPHS, "Cable car", head))
    site.routes["/claims.rss"] = lambda h: h.send_body(200, rss_item("Cable car", site.base_url + "claims.html"),
                                                       "application/rss+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "claims.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 0
    (story,) = latest_stories(tmp_path / "out").values()
    assert story["site_name"] == "127.0.0.1" and story["url"] == site.base_url + "claims.html"
    assert story["canonical_url"] == "https://www.spiegel.de/politik/seilbahn-a-1.html"  # kept, as a claim
    assert main(["report", "--output", str(tmp_path / "out"), "-o", str(tmp_path / "report.html")]) == 0
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'href="https://www.spiegel.de' not in report and "DER SPIEGEL" not in report
    assert site.base_url + "claims.html" in report


def test_a_later_copy_dated_a_minute_earlier_does_not_become_the_original(tmp_path):
    import time

    from newsbeam.schemas import utc_now
    from tests.conftest import serving

    with serving(tmp_path / "first", "127.0.0.2") as first, serving(tmp_path / "copier", "127.0.0.3") as copier:
        first.routes["/report.html"] = lambda h: h.send_body(200, report_page(PARAGRAPHS, "Cable car approved"))
        first.routes["/feed.rss"] = lambda h: h.send_body(
            200, rss_item("Cable car approved", first.base_url + "report.html"), "application/rss+xml")
        copier.routes["/copy.html"] = lambda h: h.send_body(200, report_page(
            PARAGRAPHS, "SHOCKING: you will not believe this", published="2026-11-20T09:59:00+00:00"))
        copier.routes["/feed.rss"] = lambda h: h.send_body(
            200, rss_item("SHOCKING", copier.base_url + "copy.html"), "application/rss+xml")
        output = tmp_path / "out"
        for feed in (first.base_url + "feed.rss", copier.base_url + "feed.rss"):  # the copy comes a pass later
            feeds = write_feeds_file(tmp_path / "feeds.yaml", [feed])
            assert main(["run", "--feeds", str(feeds), "--output", str(output), "--store",
                         str(tmp_path / "state.db"), *RUN_ARGS]) == 0
            finished = utc_now()
            while utc_now() == finished:  # a later pass files in a later second (the store's resolution)
                time.sleep(0.05)
    (story,) = latest_stories(output).values()
    assert story["title"] == "Cable car approved" and story["url"] == first.base_url + "report.html"
    assert sorted(v["relation"] for v in story["variants"]) == ["exact", "original"]
