"""Feed documents (real feeds served over HTTP), canonical URLs, change detection."""

from __future__ import annotations

import pytest

from newsbeam.fetching.addresses import AddressPolicy
from newsbeam.fetching.client import HttpClient
from newsbeam.schemas import FeedSource
from newsbeam.sources.feeds import feed_body_hash, parse_feed
from newsbeam.sources.urls import canonical_url
from tests.conftest import SHARED_DATA, SiteServer, serving, shared_data

REAL_FEEDS = SHARED_DATA / "feeds" / "real"


@pytest.fixture(scope="module")
def real_feeds_site():
    with serving(shared_data("feeds/real")) as server:
        yield server


def fetch_and_parse(site: SiteServer, name: str):
    url = site.base_url + name
    response = HttpClient(AddressPolicy(allow_private=True)).get(url, max_bytes=5 * 1024 * 1024)
    parsed = parse_feed(response.body, response.url, response.content_type, FeedSource(url=url))
    entries, problem = parsed.entries, parsed.problem
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
