"""Looking at what came in: stories list (the same stories on SQLite and PostgreSQL), events
show, the report, and the exit code of a failing pass."""

from __future__ import annotations

import json
import re

import pytest

from newsbeam.pipeline.cli import EXIT_UNHEALTHY, main
from tests.conftest import RUN_ARGS, latest_stories, write_feeds_file

DEMO_FEEDS = ["feeds/kurier.rss", "feeds/herald.rss", "feeds/wire.atom", "feeds/dead-links.rss"]
CABLE_CAR = "Lindenau baut eine Seilbahn über den Fluss"


def run_demo(site, tmp_path, store_url: str) -> None:
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + f for f in DEMO_FEEDS])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), "--store", store_url,
                 *RUN_ARGS]) == 0


def listed(capsys, store_url: str, *filters: str) -> list[dict]:
    capsys.readouterr()
    assert main(["stories", "list", "--store", store_url, "--json", *filters]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def titles(capsys, store_url: str, *filters: str) -> set[str]:
    return {story["title"] for story in listed(capsys, store_url, *filters)}


def test_stories_list_filters_the_same_on_both_stores(site, tmp_path, store_url, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")  # the table fits the terminal: a wide one, whatever runs the test
    run_demo(site, tmp_path, store_url)
    everything = listed(capsys, store_url)
    assert len(everything) == 6
    assert [s["updated"] for s in everything] == sorted((s["updated"] for s in everything), reverse=True)
    assert len(listed(capsys, store_url, "--limit", "2")) == 2
    # a variant in the language counts: the cable-car story has German and English ones
    assert titles(capsys, store_url, "--language", "de") == {CABLE_CAR, "Stadtbibliothek öffnet künftig auch sonntags"}
    assert CABLE_CAR in titles(capsys, store_url, "--language", "en")
    # all words, in any variant's title or text, in any case, umlauts included
    assert titles(capsys, store_url, "--query", "SEILBAHN über") == {CABLE_CAR}
    assert titles(capsys, store_url, "--query", "SPLITS east") == {
        "Cable car vote splits Lindenau's east bank residents"}
    assert titles(capsys, store_url, "--query", "seilbahn marathon") == set()
    assert titles(capsys, store_url, "--query", "100%_") == set()  # LIKE's wildcards are only text
    host = site.base_url.split("/")[2]
    assert len(listed(capsys, store_url, "--site", host)) == 6
    assert titles(capsys, store_url, "--site", "Lindenauer Kurier") == {
        CABLE_CAR, "Stadtbibliothek öffnet künftig auch sonntags"}
    assert listed(capsys, store_url, "--site", "elsewhere.example") == []
    event = next(s for s in everything if s["title"] == CABLE_CAR)["event_id"]
    assert len(listed(capsys, store_url, "--event", event)) == 2
    assert len(listed(capsys, store_url, "--since", "1h")) == 6
    assert listed(capsys, store_url, "--since", "2999-01-01") == []
    assert main(["stories", "list", "--store", store_url, "--since", "yesterday"]) == 2

    assert main(["stories", "list", "--store", store_url, "--language", "de"]) == 0  # the table
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["story_id", "updated", "languages", "var", "site", "title"]
    shown_id = table[1].split()[0]
    assert main(["stories", "show", shown_id, "--store", store_url]) == 0  # the id the table shows
    assert shown_id in capsys.readouterr().out
    assert any(CABLE_CAR in line and "de,en" in line and " 3 " in line for line in table[1:])

    assert main(["events", "show", event, "--store", store_url]) == 0
    shown = capsys.readouterr().out
    assert "2 stories" in shown and CABLE_CAR in shown and "Lindenauer Kurier" in shown and "Northern Wire" in shown
    assert main(["events", "show", "e_0000000000000000", "--store", store_url]) == 2


def test_the_report_shows_the_last_runs_stories_side_by_side_and_feed_health(site, tmp_path, capsys):
    run_demo(site, tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    report = tmp_path / "report.html"
    assert main(["report", "--store", f"sqlite:///{tmp_path / 'state.db'}", "-o", str(report)]) == 0
    page = report.read_text()
    assert "default-src 'none'" in page and "<script" not in page.lower()
    # The cable-car story, up to the next story (each variant's whole text is a <details> of its own).
    start = page.rindex('<details class="story"', 0, page.index(CABLE_CAR))
    end = page.find('<details class="story"', start + 1)
    cable_car = page[start:end if end > 0 else len(page)]
    assert cable_car.count('class="variant"') == 3
    assert "One event, 2 stories" in page
    assert page.count("<tr") == 1 + 4  # header and four feeds
    assert "no article body found" in page and "HTTP 404" in page  # the dead-links feed's pages
    again = tmp_path / "again.html"
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + f for f in DEMO_FEEDS])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"),
                 "--store", f"sqlite:///{tmp_path / 'state.db'}", *RUN_ARGS]) == 0
    assert main(["report", "--store", f"sqlite:///{tmp_path / 'state.db'}", "-o", str(again)]) == 0
    # the last run brought nothing new: the report says so and shows the newest stories
    assert "brought nothing new: the newest 6 stories" in again.read_text()
    assert again.read_text().count('<details class="story"') == 6
    assert main(["report", "--store", f"sqlite:///{tmp_path / 'state.db'}", "--since", "1d", "-o", str(again)]) == 0
    assert again.read_text().count('<details class="story"') == 6


# A feed whose own title, and whose item's title, are markup meant as text.
EVIL_FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">&lt;script&gt;alert(1)&lt;/script&gt; \u202eevil</title>
<entry><title type="text">&lt;img src=x onerror=alert(2)&gt; \u202eevil</title><link href="{base}evil.html"/>
<summary>Some words.</summary></entry></feed>"""


def test_hostile_text_in_the_report_stays_text(site, tmp_path):
    base = site.base_url
    site.routes["/evil.rss"] = lambda h: h.send_body(200, EVIL_FEED.format(base=base).encode(), "application/atom+xml")
    site.routes["/evil.html"] = lambda h: h.send_body(200, (
        "<html><head><title>x</title><meta property='og:site_name' content='&quot;&gt;&lt;b&gt;bold'></head><body>"
        "<article><h1>&lt;svg onload=alert(3)&gt;</h1>" + "".join(
            f"<p>Paragraph {n} tells of <a href='javascript:alert(4)'>a link</a> and other things at length.</p>"
            for n in range(12)) + "</article></body></html>").encode())
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [base + "evil.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 0
    assert main(["report", "--output", str(tmp_path / "out"), "-o", str(tmp_path / "report.html")]) == 0
    page = (tmp_path / "report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the feed's title, shown as text
    for raw in ("<script", "<img", "<svg onload", "\u202e", "<b>", 'href="javascript'):
        assert raw not in page, raw
    assert not re.search(r"<[^>]*\son\w+\s*=", page)  # no element carries an event handler
    assert "&lt;svg onload=alert(3)&gt;" in page  # the headline, shown as text
    assert "\\u202e" in page


def test_a_pass_in_which_every_feed_failed_exits_3(site, tmp_path, capsys):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "no-such.rss", site.base_url + "gone.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == EXIT_UNHEALTHY
    assert "FAILING: every feed due failed (2 of 2)" in capsys.readouterr().out
    summary = json.loads(next((tmp_path / "out").glob("summary-*.json")).read_text())
    assert summary["health"].startswith("failing")
    # the next pass finds both backed off, none due: nothing failed, nothing to alert
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 0


@pytest.mark.parametrize("share, code", [("0.5", 0), ("0.3", EXIT_UNHEALTHY)])
def test_more_failed_feeds_than_the_share_allowed_exits_3(site, tmp_path, share, code):
    feeds = write_feeds_file(tmp_path / "feeds.yaml",
                             [site.base_url + "no-such.rss", site.base_url + "feeds/herald.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), "--max-failed-share", share,
                 *RUN_ARGS]) == code
    assert len(latest_stories(tmp_path / "out")) == 2  # what the other feed had is written either way


def test_a_report_and_an_export_get_the_mode_of_run_outputs(site, tmp_path):
    """Files for people are created as run outputs are (0644 less the umask), not 0600."""
    import os
    import stat

    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    run_demo(site, tmp_path, store_url)
    assert main(["report", "--store", store_url, "-o", str(tmp_path / "report.html")]) == 0
    assert main(["stories", "export", "--store", store_url, "-o", str(tmp_path / "stories.jsonl")]) == 0
    summary = next((tmp_path / "out").glob("summary-*.json"))
    expected = stat.S_IMODE(os.stat(summary).st_mode)
    for made in ("report.html", "stories.jsonl"):
        assert stat.S_IMODE(os.stat(tmp_path / made).st_mode) == expected, made


def test_the_report_names_the_lead_image_its_caption_and_who_made_it_and_loads_nothing():
    from newsbeam.reading.report import story_html
    from newsbeam.schemas import Story, Variant

    variant = Variant(url="https://a.example/1", title="Ferry timetable", text="Text.", language="en", authors=(),
                      published=None, site_name="A", feed_url="", body_source="page", relation="original",
                      image="https://a.example/ferry.jpg", image_caption="The ferry at dawn <3",
                      image_credit="Jane Doe")
    story = Story(story_id="s_1", event_id="e_1", title="Ferry timetable", text="Text.", language="en",
                  languages=("en",), url=variant.url, published=None, authors=(), site_name="A", feed_url="",
                  body_source="page", first_seen="2026-12-02T09:00:00+00:00", updated="2026-12-02T09:00:00+00:00",
                  variants=(variant,))
    shown = story_html(story, open_variants=True)
    assert 'Picture: <a href="https://a.example/ferry.jpg" rel="noreferrer noopener">The ferry at dawn &lt;3</a>' \
        ' · Jane Doe' in shown
    assert "<img" not in shown


def test_the_report_shows_stories_by_their_own_publication_time():
    """An archive's stories of 2016 show under their own hour, not the hour newsbeam saw them."""
    from newsbeam.reading.report import render
    from newsbeam.schemas import Story, Variant

    def story(n: int, published: str | None) -> Story:
        variant = Variant(url=f"https://a.example/{n}", title=f"Report {n}", text="Text.", language="en",
                          authors=(), published=published, site_name="A", feed_url="", body_source="page",
                          relation="original")
        return Story(story_id=f"s_{n:016x}", event_id=f"e_{n:016x}", title=f"Report {n}", text="Text.",
                     language="en", languages=("en",), url=variant.url, published=published, authors=(),
                     site_name="A", feed_url="", body_source="page", first_seen="2026-12-02T09:00:00+00:00",
                     updated="2026-12-02T09:00:00+00:00", variants=(variant,))

    page = render([story(1, "2016-03-04T10:15:00+00:00"), story(2, None)], [], [], "a period")
    # the second has no time of its own: undated, not charted in the hour it was seen
    assert "2016-03-04 10h" in page and "2026-12-02 09h" not in page and "(UTC), 1 undated" in page
    assert "2016-03-04T10:15:00+00:00 · first seen 2026-12-02T09:00" in page
    assert "publication time unknown · first seen" in page


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_site_is_found_by_its_host_and_its_subdomains(tmp_path, store, request):
    import newsbeam

    store_url = request.getfixturevalue("postgres_url") if store == "postgres" else str(tmp_path / "s.db")
    urls = ["https://www.lindenau.example/a", "https://news.lindenau.example/b", "https://lindenau.example/c",
            "https://elsewhere.example/lindenau.example/d", "https://notlindenau.example/e"]
    texts = ["harbour pier approved by the council", "bakery opens on the market square", "rowing club wins the final",
             "museum extends its opening hours", "library gets a new reading room"]
    newsbeam.dedup([{"id": url, "url": url, "title": text.capitalize(), "text": f"{text.capitalize()} on Monday, "
                     f"the town said. " * 5} for url, text in zip(urls, texts, strict=True)],
                   store=store_url, encoder="hashing")
    with newsbeam.open_store(store_url) as opened:
        for site in ("lindenau.example", "www.lindenau.example"):
            found = {story.url for story in opened.find_stories(site=site)}
            assert found == set(urls[:3]), site


def test_a_pass_in_which_every_page_failed_exits_3_though_the_feeds_answered(site, tmp_path, capsys):
    """The feed answers, none of its pages do (gone, or no article on them): the pass is not
    healthy, whatever the feeds' own health says."""
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/dead-links.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == EXIT_UNHEALTHY
    out = capsys.readouterr().out
    summary = json.loads(next((tmp_path / "out").glob("summary-*.json")).read_text())
    assert summary["feeds_failed"] == 0 and summary["health"].startswith("failing: every page due failed")
    assert "FAILING: every page due failed" in out
    # the counts add up: each page due fetched, failed, refused or deferred, each article from
    # its page, from the feed's text, or from neither
    due = summary["pages_fetched"] + summary["pages_failed"] + summary["pages_refused"] + summary["pages_deferred"]
    articles = summary["articles_extracted"] + summary["articles_from_feed"] + summary["articles_failed"]
    assert due == articles == summary["articles_new"] > 0
    assert f"{due} due: {summary['pages_fetched']} fetched" in out
    assert f"; {summary['articles_failed']} without either" in out
    # which feed's pages fail, in the summary, `errors` and the report
    feed_url = site.base_url + "feeds/dead-links.rss"
    assert summary["page_failures_by_feed"] == {feed_url: summary["dead_letters"]}
    assert f"failing   pages of {feed_url} ({summary['dead_letters']})" in out
    assert main(["errors", "--output", str(tmp_path / "out")]) == 0
    assert f"pages failing: {summary['dead_letters']:>5}  {feed_url}" in capsys.readouterr().out
    assert main(["report", "--output", str(tmp_path / "out"), "-o", str(tmp_path / "report.html")]) == 0
    row = next(r for r in (tmp_path / "report.html").read_text().split("<tr") if feed_url in r)
    assert row.startswith(' class="failing"') and f"<td>{summary['dead_letters']}</td>" in row


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_query_words_come_from_the_full_text_index_alike_on_both_stores(tmp_path, store, request):
    """Whole words in any case, accents kept, each word in some variant's title or text; an
    article updated in place is found by its new words only."""
    import newsbeam

    store_url = request.getfixturevalue("postgres_url") if store == "postgres" else str(tmp_path / "s.db")
    texts = {"https://a.example/1": ("Über die Brücke", "Die Ärzte warnen vor Glatteis auf der Brücke."),
             "https://b.example/2": ("Harbour pier approved", "The council approved the harbour pier, 3.5 million."),
             "https://c.example/3": ("Bakery opens", "A bakery opens on the market square near the pier-head.")}
    records = [{"id": url, "url": url, "title": title, "text": f"{text} " * 4} for url, (title, text) in texts.items()]
    newsbeam.dedup(records, store=store_url, encoder="hashing")

    def found(*words: str) -> set[str]:
        with newsbeam.open_store(store_url) as opened:
            return {story.url for story in opened.find_stories(words=words)}

    assert found("ÄRZTE") == found("ärzte") == found("über") == {"https://a.example/1"}
    assert found("brück") == set()  # a whole word, not a part of one
    assert found("pier") == {"https://b.example/2", "https://c.example/3"}
    assert found("pier", "council") == {"https://b.example/2"}
    assert found("3.5") == {"https://b.example/2"}
    assert found("!!!") == set() and found('"') == set()
    # updated in place: the old words no longer find it, the new ones do
    newsbeam.dedup([{"id": "x", "url": "https://c.example/3", "title": "Bakery closes",
                     "text": "The bakery on the market square closes for the winter. " * 4}],
                   store=store_url, encoder="hashing")
    assert found("opens") == set() and found("winter") == {"https://c.example/3"}


def test_a_store_of_an_old_version_is_upgraded_in_place(tmp_path):
    """A store as newsbeam's schema version 8 left it (made by that release's migrations,
    which never change): the upgrade indexes its articles for words and gives each story its
    original, the earliest published variant."""
    import sqlite3

    import newsbeam
    from newsbeam.state.migrations import MIGRATIONS

    path = tmp_path / "s.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for number in range(1, 9):
            script = MIGRATIONS[number]
            db.executescript(script["sqlite"] if isinstance(script, dict) else script)
        db.execute("INSERT INTO meta VALUES ('schema_version', '8')")
        db.execute("INSERT INTO stories VALUES ('s_1', 'e_1', '2026-11-20T10:00:00+00:00', "
                   "'2026-11-20T10:00:00+00:00', NULL, 'run-1')")
        for seq, (url, published, title) in enumerate([
                ("https://b.example/2", "2026-11-20T09:30:00+00:00", "Ferry timetable (copy)"),
                ("https://a.example/1", "2026-11-20T08:00:00+00:00", "Ferry timetable")], start=1):
            db.execute("INSERT INTO articles (url, story_id, feed_url, title, text, language, published, authors, "
                       "tags, body_source, body_hash, first_seen, updated, vector, numbers, seq, credits, "
                       "published_date_only, extractor) VALUES (?, 's_1', 'https://a.example/feed', ?, ?, 'en', ?, "
                       "'[]', '[]', 'feed', ?, '2026-11-20T10:00:00+00:00', '2026-11-20T10:00:00+00:00', ?, '', "
                       "?, '[]', 0, 'trafilatura')",
                       (url, title, "The harbour ferry switches to its winter timetable on Monday. " * 4, published,
                        f"h{seq}", bytes(8), seq))
    with newsbeam.open_store(str(path)) as opened:
        assert [story.url for story in opened.find_stories(words="ferry")] == ["https://a.example/1"]
        (story,) = opened.find_stories()
        assert (story.title, story.variants[0].relation) == ("Ferry timetable", "original")
