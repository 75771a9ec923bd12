"""Keep and block rules from the feeds file (sources.rules): judged on a feed's entry before its
page is fetched, and on the article after extraction; what they drop is remembered, listed
with its rule, and never fetched again."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from newsbeam.pipeline.cli import main
from newsbeam.schemas import Article, FeedEntry
from newsbeam.sources.rules import Item, RuleError, RuleSet, parse_rules
from tests.conftest import RUN_ARGS, latest_stories

NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)


def entry(title: str = "A report", summary: str = "", language: str | None = None,
          published: str | None = None) -> Item:
    return Item.of_entry(FeedEntry(url="https://news.example/a", link="https://news.example/a", feed_url="f",
                                   feed_name=None, title=title, summary=summary, published=published, updated=None,
                                   language=language))


def article(title: str = "A report", text: str = "The council met.", language: str | None = "de") -> Item:
    return Item.of_article(Article(url="https://news.example/a", feed_url="f", title=title, text=text,
                                   language=language, published="2026-12-07T10:00:00+00:00", authors=("Ida Brenner",),
                                   site_name=None, description=None, image=None, tags=(), body_source="page"))


def rules(*raw: dict, feed: list[dict] | None = None) -> RuleSet:
    return RuleSet(parse_rules(list(raw), "rules"), (("f", parse_rules(feed, "feed")),) if feed else ())


def test_a_block_rule_drops_what_it_matches_and_says_which_rule():
    found = rules({"block": {"title": "(?i)horoscope|sponsored"}})
    rule = found.dropped_by(entry("Your HOROSCOPE for Monday"), "f", NOW)
    assert rule is not None and rule.action == "block" and "horoscope" in rule.label
    assert found.dropped_by(entry("Council votes"), "f", NOW) is None


def test_an_entry_waits_for_its_article_where_the_feed_cannot_tell():
    """Before the page: a rule on the text or on a language the feed does not declare cannot be
    decided (no request is saved at the price of a wrong drop); the article decides it."""
    german_only = rules(feed=[{"keep": {"language": ["de"]}}])
    assert german_only.dropped_by(entry(language=None), "f", NOW) is None  # unknown yet: fetched
    assert german_only.dropped_by(article(language="en"), "f", NOW) is not None
    assert german_only.dropped_by(article(language="de"), "f", NOW) is None
    adverts = rules({"block": {"text": r"(?i)\bwerbung\b"}})
    assert adverts.dropped_by(entry(summary="Anzeige: Werbung für Sofas"), "f", NOW) is not None  # the feed says so
    assert adverts.dropped_by(entry(summary="Der Rat tagte."), "f", NOW) is None
    keep_council = rules({"keep": {"text": "(?i)council"}})
    assert keep_council.dropped_by(entry(summary="A short teaser."), "f", NOW) is None  # the page may say it
    assert keep_council.dropped_by(article(text="The ferry runs."), "f", NOW) is not None


def test_all_conditions_of_a_rule_must_hold_and_each_scope_keeps_its_own():
    old_adverts = rules({"block": {"title": "(?i)sale", "older_than": "7d"}})
    assert old_adverts.dropped_by(entry("Sale!", published="2026-11-20T00:00:00+00:00"), "f", NOW) is not None
    assert old_adverts.dropped_by(entry("Sale!", published="2026-12-06T00:00:00+00:00"), "f", NOW) is None
    both = rules({"keep": {"title": "Council"}}, feed=[{"keep": {"title": "votes"}}])
    assert both.dropped_by(entry("Council votes"), "f", NOW) is None
    assert both.dropped_by(entry("Council meets"), "f", NOW) is not None  # the feed's own keep fails
    assert both.dropped_by(entry("Council meets"), "another feed", NOW) is None


@pytest.mark.parametrize("raw, message", [
    ([{"drop": {"title": "x"}}], "one 'keep:' or 'block:'"),
    ([{"block": {"headline": "x"}}], "unknown field(s) headline"),
    ([{"block": {"title": "(unclosed"}}], "not a regular expression"),
    ([{"block": {"older_than": "a week"}}], "older_than must be an age"),
    ([{"keep": {"language": ["german"]}}], "two-letter codes"),
    ({"block": {"title": "x"}}, "must be a list"),
])
def test_a_rule_that_cannot_be_is_a_one_line_mistake(raw, message):
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rules(raw, "feeds.yaml: rules")


def test_a_pattern_that_would_run_away_is_cut_off_and_matches_nothing():
    """Catastrophic backtracking (a user's `(x+x+)+y`) over a long text: cut off by the regex
    library's own time limit, per search; the run goes on."""
    runaway = rules({"block": {"text": "(x+x+)+y"}})
    started = time.monotonic()
    assert runaway.dropped_by(article(text="x" * 5000), "f", NOW) is None
    assert time.monotonic() - started < 5


def test_a_rule_in_the_feeds_file_that_cannot_be_stops_the_run_with_exit_2(tmp_path, capsys):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("rules:\n  - block: {title: '(unclosed'}\nfeeds:\n  - url: http://127.0.0.1:1/feed.xml\n")
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "rules: rule 1: title: not a regular expression" in err and "Traceback" not in err


def test_rules_drop_items_before_their_pages_and_after_extraction(site, tmp_path, capsys):
    """A blocked word in a title: no request for that page, no story, the item listed with its
    rule. A keep rule on language: the English page is fetched (the feed does not say its
    language), then dropped by the article's. A second run fetches neither again."""
    base = site.base_url
    asked: list[str] = []
    site.routes["/horoscope.html"] = lambda h: (asked.append(h.path), h.send_body(200, b"<html>stars</html>"))
    items = "".join(f"<item><title>{title}</title><link>{base}{path}</link></item>" for title, path in (
        ("Your horoscope for Monday", "horoscope.html"),
        ("Lindenau baut eine Seilbahn", "kurier/seilbahn-beschlossen.html"),
        ("Lindenau to build a cable car", "herald/cable-car-across-the-river.html")))
    site.routes["/news.rss"] = lambda h: h.send_body(
        200, f"<rss version='2.0'><channel><title>N</title>{items}</channel></rss>".encode(), "application/rss+xml")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("rules:\n  - block: {title: '(?i)horoscope'}\n"
                     f"feeds:\n  - url: {base}news.rss\n    rules:\n      - keep: {{language: [de]}}\n")
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    printed = capsys.readouterr().out
    assert asked == []  # the blocked item's page was never asked for
    assert [story["language"] for story in latest_stories(out).values()] == ["de"]
    assert "1 dropped by your rules" in printed and "1 dropped by your rules, of 2 read" in printed
    summary = json.loads(next(out.glob("summary-*.json")).read_text())
    assert summary["entries_dropped_by_rules"] == 1 and summary["articles_dropped_by_rules"] == 1

    assert main(["dropped", "--output", str(out), "--json"]) == 0
    listed = {json.loads(line)["url"].rsplit("/", 1)[1]: json.loads(line)["reason"]
              for line in capsys.readouterr().out.splitlines()}
    assert "block title" in listed["horoscope.html"] and "horoscope" in listed["horoscope.html"]
    assert "keep language" in listed["cable-car-across-the-river.html"]
    assert main(["report", "--output", str(out), "-o", str(tmp_path / "report.html")]) == 0
    report = (tmp_path / "report.html").read_text()
    assert "Dropped by your rules" in report and "horoscope.html" in report

    # the feed changes (a new item): what the rules dropped is known, and not fetched again
    herald = "/herald/cable-car-across-the-river.html"
    before = site.paths_requested().count(herald)
    items += f"<item><title>Neue Fährzeiten</title><link>{base}kurier/stadtbibliothek-sonntag.html</link></item>"
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    assert site.paths_requested().count(herald) == before and asked == []
    second = json.loads(sorted(out.glob("summary-*.json"))[-1].read_text())
    assert second["articles_new"] == 1


def test_rules_apply_removes_and_restores_stories_in_the_jsonl_and_sqlite_sinks(site, tmp_path, capsys):
    """A keep rule on English added after a run: `rules apply` takes the German variants out
    (a German-only story is removed from both sinks, a story with an English variant is written
    again without its German one); the rule taken back, `rules apply` and the next run bring
    them back."""
    import sqlite3

    out = tmp_path / "out"
    feeds = tmp_path / "feeds.yaml"
    plain = f"feeds:\n  - url: {site.base_url}feeds/kurier.rss\n  - url: {site.base_url}feeds/herald.rss\n"
    feeds.write_text(plain)
    assert main(["run", "--feeds", str(feeds), "--output", str(out), "--sink", "jsonl,sqlite", *RUN_ARGS]) == 0
    before = latest_stories(out)
    german_only = {sid for sid, story in before.items() if story["languages"] == ["de"]}
    mixed = {sid for sid, story in before.items() if set(story["languages"]) == {"de", "en"}}
    assert german_only and mixed

    def sqlite_stories() -> set[str]:
        with sqlite3.connect(out / "stories.db") as db:
            return {row[0] for row in db.execute("SELECT story_id FROM newsbeam_stories")}

    assert sqlite_stories() == set(before)
    feeds.write_text("rules:\n  - keep: {language: [en]}\n" + plain)
    assert main(["rules", "apply", "--feeds", str(feeds), "--output", str(out), "--sink", "jsonl,sqlite"]) == 0
    assert "stored articles dropped" in capsys.readouterr().out
    lines = {}
    for path in sorted((out / "stories").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            lines[record["story_id"]] = record
    assert all(lines[sid].get("removed") for sid in german_only)
    assert all({v["language"] for v in lines[sid]["variants"]} == {"en"} for sid in mixed)
    assert sqlite_stories() == set(before) - german_only
    # a story whose original was taken out has another: what later variants are judged against
    assert any(before[sid]["language"] == "de" for sid in mixed)
    with sqlite3.connect(out / "state.db") as db:
        originals = dict(db.execute("SELECT story_id, original_url FROM stories"))
    assert all(originals[sid] == lines[sid]["variants"][0]["url"] and lines[sid]["language"] == "en"
               for sid in mixed)

    feeds.write_text(plain)  # the rule taken back
    assert main(["rules", "apply", "--feeds", str(feeds), "--output", str(out), "--sink", "jsonl,sqlite"]) == 0
    assert main(["run", "--feeds", str(feeds), "--output", str(out), "--sink", "jsonl,sqlite", *RUN_ARGS]) == 0
    after = latest_stories(out)
    assert {story["title"] for story in after.values() if "removed" not in story} == {
        story["title"] for story in before.values()}
    assert all("de" in after[sid]["languages"] for sid in mixed)
    with sqlite3.connect(out / "stories.db") as db:
        assert db.execute("SELECT COUNT(*) FROM newsbeam_stories").fetchone()[0] == len(before)
