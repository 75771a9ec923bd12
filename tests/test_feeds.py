"""The feed step: fetching, parsing, canonical URLs, change detection."""

from __future__ import annotations

import json

import apache_beam as beam
import pytest
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas import FeedSource, FetchedFeed, Shard
from state.store import open_store
from tests.conftest import BEAM_ARGS, SHARED_DATA, SiteServer, local_options, serving
from transforms.feeds import ReadFeeds, canonical_url, feed_body_hash, parse_feed
from transforms.http import HttpClient

REAL_FEEDS = SHARED_DATA / "feeds" / "real"


@pytest.fixture(scope="module")
def real_feeds_site():
    with serving(REAL_FEEDS) as server:
        yield server


def fetch_and_parse(site: SiteServer, name: str):
    url = site.base_url + name
    response = HttpClient(allow_private_network=True).get(url, max_bytes=5 * 1024 * 1024)
    fetched = FetchedFeed(source=FeedSource(url=url), url=response.url, body=response.body,
                          content_type=response.content_type)
    entries, problem, _ = parse_feed(fetched)
    return entries, problem


def test_german_feed_keeps_its_umlauts(real_feeds_site):
    entries, problem = fetch_and_parse(real_feeds_site, "heise.atom")
    assert problem is None and len(entries) == 15
    titles = [e.title for e in entries]
    assert "Java-Anwendungsserver: Red Hat gibt WildFly 10 frei" in titles
    assert any(ch in "".join(titles) for ch in "äöüÄÖÜß")
    assert not any("Ã" in t or "\ufffd" in t for t in titles)
    first = entries[0]
    assert first.published == "2016-02-01T16:22:00+00:00"  # +01:00 converted to UTC
    assert "wt_mc" not in first.url  # tracking parameter dropped
    assert "Die nun verfügbare Version 10" in first.summary


def test_legacy_encoding_feed_decodes_without_mojibake(real_feeds_site):
    entries, problem = fetch_and_parse(real_feeds_site, "encoding.rss")
    assert problem is None and entries
    text = " ".join(e.title + e.summary for e in entries)
    assert "\ufffd" not in text and "Ã" not in text
    assert any(ch in text for ch in "áàâãçéêíóôõú")


def test_every_real_feed_yields_entries_or_a_reason(real_feeds_site):
    for path in sorted(REAL_FEEDS.iterdir()):
        entries, problem = fetch_and_parse(real_feeds_site, path.name)
        assert entries or problem, path.name
        for entry in entries:
            assert entry.url.startswith(("http://", "https://")), (path.name, entry.url)


def test_canonical_url():
    assert canonical_url("HTTP://Example.COM:80/a/b?utm_source=rss&id=3#comments") == "http://example.com/a/b?id=3"
    assert canonical_url("https://news.example/x?fbclid=abc") == "https://news.example/x"
    assert canonical_url("mailto:someone@example.org") is None
    assert canonical_url("javascript:alert(1)") is None


def test_body_hash_ignores_build_dates_but_not_items():
    feed = (b"<rss><channel><title>T</title><lastBuildDate>Mon, 01 Jan 2026 10:00:00 GMT</lastBuildDate>"
            b"<item><title>A</title><pubDate>Mon, 01 Jan 2026 09:00:00 GMT</pubDate></item></channel></rss>")
    rebuilt = feed.replace(b"10:00:00", b"11:00:00")
    changed_item = feed.replace(b"09:00:00", b"09:30:00")
    assert feed_body_hash(feed) == feed_body_hash(rebuilt)
    assert feed_body_hash(feed) != feed_body_hash(changed_item)


def test_read_feeds_transform_on_the_beam_runner(site, tmp_path):
    store_url = str(tmp_path / "state.db")
    open_store(store_url)  # a run migrates the store before its pipeline starts
    sources = (FeedSource(url=site.base_url + "feeds/herald.rss", language="en"),
               FeedSource(url=site.base_url + "feeds/no-such-feed.xml"))
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        batches = (pipeline | beam.Create([Shard(index=0, count=1, feeds=sources)])
                   | ReadFeeds(local_options(tmp_path, store_url=store_url)))
        dead_letters = batches | "Letters" >> beam.FlatMap(lambda batch: batch.dead_letters)
        titles = batches | "Titles" >> beam.FlatMap(
            lambda batch: [(e.title, e.language, e.feed_name) for e in batch.entries])
        assert_that(titles, equal_to([
            ("Lindenau to build a cable car across the river", "en", "Lindenau Herald"),
            ("Record field expected for the autumn half marathon", "en", "Lindenau Herald"),
        ]), label="entries")
        assert_that(dead_letters | "Where" >> beam.Map(lambda d: (d.stage, d.status)),
                    equal_to([("feed_fetch", 404)]), label="dead letters")
    # The validators are staged, not yet committed: a crash now would fetch the feed again.
    store = open_store(store_url)
    assert store.feed_validators(sources[0].url)["body_hash"] is None
    store.commit_feed_validators()
    assert store.feed_validators(sources[0].url)["body_hash"] == feed_body_hash(
        (site.folder / "feeds" / "herald.rss").read_bytes())


def test_conditional_get_sends_validators(site, tmp_path):
    etag = '"v1"'

    def feed_with_etag(handler):
        if handler.headers.get("If-None-Match") == etag:
            handler.send_body(304, b"")
        else:
            handler.send_body(200, (site.folder / "feeds" / "herald.rss").read_bytes(),
                              "application/rss+xml", {"ETag": etag})

    site.routes["/etag.rss"] = feed_with_etag
    store_url = str(tmp_path / "state.db")
    open_store(store_url)
    source = FeedSource(url=site.base_url + "etag.rss")
    for expected_entries in (2, 0):
        with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
            batches = (pipeline | beam.Create([Shard(index=0, count=1, feeds=(source,))])
                       | ReadFeeds(local_options(tmp_path, store_url=store_url)))
            count = batches | beam.FlatMap(lambda batch: batch.entries) | beam.combiners.Count.Globally()
            assert_that(count, equal_to([expected_entries]))
        open_store(store_url).commit_feed_validators()
    sent = [headers.get("If-None-Match") for path, headers in site.requests]
    assert sent == [None, etag]
    assert json.dumps(sent)
