"""Feeds read from Python without Beam: sources.reader.FeedReader, the library a run's ReadFeeds
stage wraps, on the test's own site and a store of its own."""

from __future__ import annotations

from newsbeam.fetching.addresses import AddressPolicy
from newsbeam.fetching.politeness import HostLedger
from newsbeam.schemas import DeadLetter, FeedSource
from newsbeam.sources.books import StoreFeedBook
from newsbeam.sources.feeds import entry_payload, feed_body_hash
from newsbeam.sources.reader import FeedReader
from newsbeam.state.store import open_store
from tests.conftest import local_options


def reader_for(tmp_path, feeds) -> tuple[FeedReader, object]:
    options = local_options(tmp_path, feeds=tuple(feeds))
    store = open_store(options.store)
    http = options.http_client()
    return FeedReader(StoreFeedBook(store), http, HostLedger(), feeds, options.matching.window_days), store


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


def test_feeds_are_read_from_python_with_no_store_at_all(site, tmp_path):
    """A program of its own reads feeds with a book in memory: no Beam, no database. A second
    pass asks with the validators of the first (a 304) and hands out nothing new; a failed page
    given back to the book is retried when due."""
    from newsbeam.fetching.client import HttpClient
    from newsbeam.fetching.settings import FetchSettings
    from newsbeam.sources.books import MemoryFeedBook

    feeds = (FeedSource(url=site.base_url + "feeds/herald.rss", language="en"),
             FeedSource(url=site.base_url + "feeds/no-such-feed.xml"))
    book = MemoryFeedBook()
    http = HttpClient(AddressPolicy(opened=[site.base_url]), FetchSettings(per_host_delay_s=0.0))
    reader = FeedReader(book, http, HostLedger(), feeds, window_days=7)
    try:
        first = reader.read(feeds)
        assert len(first.entries) == 2 and [(d.stage, d.status) for d in first.dead_letters] == [("feed_fetch", 404)]
        assert book.state(feeds[0].url)["last_modified"] and book.state(feeds[1].url)["failures"] == 1
        failed = DeadLetter(url=first.entries[0].url, stage="page_fetch", reason="HTTP 503",
                            payload=entry_payload(first.entries[0]), next_due="2000-01-01T00:00:00+00:00")
        book.remember(first.entries, [failed])
        second = reader.read(feeds)
        asked = [headers for path, headers in site.requests if path == "/feeds/herald.rss"]
    finally:
        reader.close()
        http.close()
    assert "If-Modified-Since" in asked[-1] and second.counts["feeds_not_modified"] == 1
    assert second.counts["feeds_not_due"] == 1  # the failed feed waits out its backoff
    assert [entry.url for entry in second.entries] == [failed.url] and second.counts["retries_due"] == 1
    assert not (tmp_path / "state.db").exists()


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


def test_dates_with_day_and_month_names_of_other_languages_are_read_with_their_zone():
    """feedparser reads English names only: a Portuguese feed's "Seg, 24 Set 2018" gave no date,
    and its items were charted in the hour of the run."""
    from newsbeam.sources.feeds import parse_feed

    written = {"pt": "Seg, 24 Set 2018 19:42:40 -0300", "es": "Lun, 24 Sep 2018 19:42:40 -0300",
               "fr": "lun., 24 sept. 2018 19:42:40 -0300", "de": "Mo, 24 Sep 2018 19:42:40 -0300",
               "it": "lun, 24 set 2018 19:42:40 -0300", "tr": "Pzt, 24 Eyl 2018 19:42:40 -0300",
               "pl": "pon, 24 wrz 2018 19:42:40 -0300", "none": "", "relative": "ontem"}
    items = "".join(f"<item><title>Item {language}</title><link>https://news.example/{language}</link>"
                    f"<pubDate>{date}</pubDate></item>" for language, date in written.items())
    feed = f"<rss version='2.0'><channel><title>T</title>{items}</channel></rss>".encode()
    dates = {entry.url.rsplit("/", 1)[1]: entry.published
             for entry in parse_feed(feed, "https://news.example/feed", None, FeedSource(url="f")).entries}
    assert {language: date for language, date in dates.items() if date} == dict.fromkeys(
        ["pt", "es", "fr", "de", "it", "tr", "pl"], "2018-09-24T22:42:40+00:00")
    assert dates["none"] is None and dates["relative"] is None  # undated: no time of its own
    # a zone as the newsroom that writes it means it: India's "IST", which feedparser read as UTC;
    # an Atom item's time of change read the same way
    feed = (b"<rss version='2.0'><channel><title>T</title><item><title>A</title><link>https://news.example/a</link>"
            b"<pubDate>Mon, 24 Sep 2018 19:42:40 IST</pubDate></item></channel></rss>")
    (entry,) = parse_feed(feed, "https://news.example/feed", None, FeedSource(url="f")).entries
    assert entry.published == "2018-09-24T14:12:40+00:00"
    atom = (b"<feed xmlns='http://www.w3.org/2005/Atom'><title>T</title><entry><title>A</title>"
            b"<link href='https://news.example/a'/><published>2018-09-24T19:42:40+05:30</published>"
            b"<updated>2018-09-25T08:00:00Z</updated></entry></feed>")
    (entry,) = parse_feed(atom, "https://news.example/feed", None, FeedSource(url="f")).entries
    assert (entry.published, entry.updated) == ("2018-09-24T14:12:40+00:00", "2018-09-25T08:00:00+00:00")
    # a publication date no reader reads leaves the time of change to stand for it
    atom = atom.replace(b"2018-09-24T19:42:40+05:30", b"sometime in autumn")
    (entry,) = parse_feed(atom, "https://news.example/feed", None, FeedSource(url="f")).entries
    assert (entry.published, entry.updated) == ("2018-09-25T08:00:00+00:00", "2018-09-25T08:00:00+00:00")


def test_a_feed_items_categories_are_its_tags_each_once():
    """Feeds write a list of keywords as one category ("Ferry,Harbour") and escape entities
    twice ("Arts &amp;amp; Culture"): each tag apart, once, as a reader reads it."""
    from newsbeam.sources.feeds import parse_feed

    feed = (b"<rss version='2.0'><channel><title>T</title><item><title>Ferry</title><link>https://news.example/a"
            b"</link><category>Ferry,Harbour</category><category>ferry</category><category>Arts &amp;amp; Culture"
            b"</category></item></channel></rss>")
    (entry,) = parse_feed(feed, "https://news.example/feed", None, FeedSource(url="f")).entries
    assert entry.tags == ("Ferry", "Harbour", "Arts & Culture")


def test_two_items_of_one_feed_under_other_headlines_are_two_stories(site, tmp_path):
    """A forum's items whose text is only its own "submitted by ... [N comments]" line, and a
    podcast's episodes with one show description: alike texts, two items of one feed, two stories
    (they were one, as near duplicates). The same text in another feed still joins."""
    from newsbeam.pipeline.cli import main
    from tests.conftest import RUN_ARGS, latest_stories, write_feeds_file

    notes = ("Jeff and Ryan discuss what they think they know about the upcoming press conference, and "
             "the games they would like to see announced at the show this week, before the doors open.")
    items = "".join(f"<item><title>Microcast 06-0{day}-2009</title><link>{site.base_url}ep{day}.html</link>"
                    f"<description>{notes}</description></item>" for day in (1, 2))
    site.routes["/podcast.rss"] = lambda h: h.send_body(
        200, f"<rss version='2.0'><channel><title>P</title>{items}</channel></rss>".encode(), "application/rss+xml")
    copy = (f"<item><title>Microcast, the first</title><link>{site.base_url}copy.html</link>"
            f"<description>{notes}</description></item>")
    site.routes["/other.rss"] = lambda h: h.send_body(
        200, f"<rss version='2.0'><channel><title>O</title>{copy}</channel></rss>".encode(), "application/rss+xml")
    for page in ("ep1", "ep2", "copy"):
        site.routes[f"/{page}.html"] = lambda h: h.send_body(404, b"gone")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "podcast.rss", site.base_url + "other.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 3  # pages gone
    groups = sorted(sorted(v["url"].rsplit("/", 1)[1] for v in story["variants"])
                    for story in latest_stories(tmp_path / "out").values())
    assert len(groups) == 2 and ["copy.html"] not in groups  # the episodes apart; the copy joins one


def test_html_a_feed_escaped_twice_is_read_as_html_and_markup_in_the_text_stays():
    from newsbeam.sources.feeds import html_to_text

    twice = "&lt;!-- SC_OFF --&gt;&lt;div class=&quot;md&quot;&gt;&lt;p&gt;Hey, here I am.&lt;/p&gt;&lt;/div&gt;"
    assert html_to_text(twice) == "Hey, here I am."
    assert html_to_text("a &lt; b and c &gt; d") == "a < b and c > d"
    sample = "<p>The error reads:</p><pre>&lt;errors&gt;&lt;key/&gt;&lt;/errors&gt;</pre>"
    assert "<errors><key/></errors>" in html_to_text(sample)  # a code sample is the text's own


def test_each_block_of_a_feeds_html_is_a_line_of_its_text():
    """A definition list's byline, a table's rows, a quote, a list: each a line, not run on into
    the next paragraph (where a byline line would be lost in the text)."""
    from newsbeam.extraction.page import article_from_feed
    from newsbeam.sources.feeds import html_to_text
    from tests.test_extraction import entry

    fragment = ("<dl><dt>by Jane Doe on behalf of the Harbour Festival Committee</dt></dl>The harbour festival "
                "opens on Friday with a parade of boats.<table><tr><td>Boats</td><td>40</td></tr><tr><td>Stalls"
                "</td><td>120</td></tr></table><blockquote>It is the best week of the year.</blockquote>Tickets "
                "are free.<hr>Photos by the festival office")
    text = html_to_text(fragment)
    assert text.split("\n") == ["by Jane Doe on behalf of the Harbour Festival Committee",
                                "The harbour festival opens on Friday with a parade of boats.", "Boats 40",
                                "Stalls 120", "It is the best week of the year.", "Tickets are free.",
                                "Photos by the festival office"]
    article = article_from_feed(entry(title="Festival opens", summary=text, feed_name="Harbour Blog"))
    assert article.authors == ("Jane Doe",) and article.text.startswith("The harbour festival opens")


def test_a_bilingual_feed_listing_a_report_and_its_translation_gives_one_story(site, tmp_path):
    from newsbeam.pipeline.cli import main
    from tests.conftest import RUN_ARGS, latest_stories, write_feeds_file

    items = "".join(f"<item><title>{title}</title><link>{site.base_url}{path}</link></item>" for title, path in (
        ("Lindenau baut eine Seilbahn", "kurier/seilbahn-beschlossen.html"),
        ("Lindenau to build a cable car", "herald/cable-car-across-the-river.html")))
    site.routes["/both.rss"] = lambda h: h.send_body(
        200, f"<rss version='2.0'><channel><title>B</title>{items}</channel></rss>".encode(), "application/rss+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "both.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 0
    (story,) = latest_stories(tmp_path / "out").values()
    assert sorted(v["relation"] for v in story["variants"]) == ["original", "translation"]
