"""Feeds read from Python without Beam: sources.reader.FeedReader, the library a run's ReadFeeds
stage wraps, on the test's own site and a store of its own."""

from __future__ import annotations

from newsbeam.fetching.politeness import HostLedger
from newsbeam.schemas import FeedSource
from newsbeam.sources.feeds import feed_body_hash
from newsbeam.sources.reader import FeedReader
from newsbeam.state.store import open_store
from tests.conftest import local_options


def reader_for(tmp_path, feeds) -> tuple[FeedReader, object]:
    options = local_options(tmp_path, feeds=tuple(feeds))
    store = open_store(options.store)
    http = options.http_client()
    return FeedReader(store, http, HostLedger(), options.politeness(), feeds, options.window_days), store


def test_a_pass_reads_due_feeds_keeps_failures_and_stages_validators(site, tmp_path):
    feeds = (FeedSource(url=site.base_url + "feeds/herald.rss", language="en"),
             FeedSource(url=site.base_url + "feeds/no-such-feed.xml"))
    reader, store = reader_for(tmp_path, feeds)
    try:
        first = reader.read(feeds)
        assert [(e.title, e.language, e.feed_name) for e in first.entries] == [
            ("Lindenau to build a cable car across the river", "en", "Lindenau Herald"),
            ("Record field expected for the autumn half marathon", "en", "Lindenau Herald")]
        assert [(d.stage, d.status) for d in first.dead_letters] == [("feed_fetch", 404)]
        assert first.counts["feeds_fetched"] == 1 and first.counts["feeds_failed"] == 1
        # staged, not committed: until the pass's output is written, the feed reads as changed
        assert store.feeds.validators(feeds[0].url)["body_hash"] is None
        store.feeds.commit_validators()
        assert store.feeds.validators(feeds[0].url)["body_hash"] == feed_body_hash(
            (site.folder / "feeds" / "herald.rss").read_bytes())
        # the next pass: the feed answers "not modified", and the failed feed waits out its backoff
        second = reader.read(feeds)
        assert second.entries == [] and second.counts["feeds_not_modified"] == 1
        assert second.counts["feeds_not_due"] == 1
    finally:
        reader.close()


def test_entries_two_feeds_list_are_read_once(site, tmp_path):
    shared = f"<item><title>Shared</title><link>{site.base_url}shared.html</link></item>"
    for name in ("a", "b"):
        site.routes[f"/{name}.rss"] = lambda h: h.send_body(
            200, f"<rss version='2.0'><channel><title>T</title>{shared}</channel></rss>".encode(),
            "application/rss+xml")
    feeds = (FeedSource(url=site.base_url + "a.rss"), FeedSource(url=site.base_url + "b.rss"))
    reader, _ = reader_for(tmp_path, feeds)
    try:
        read = reader.read(feeds)
    finally:
        reader.close()
    assert [entry.url for entry in read.entries] == [site.base_url + "shared.html"]
    assert read.counts["entries_listed_twice"] == 1 and read.counts["articles_new"] == 1
