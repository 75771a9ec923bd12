"""End to end: `newsbeam run` on the Beam runner against a local site."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import jsonschema
import pytest

from newsbeam.pipeline.cli import EXIT_UNHEALTHY, main
from newsbeam.schemas import load_json_schema
from tests.conftest import BEAM_ARGS, RUN_ARGS, SiteServer, latest_stories, read_jsonl, write_feeds_file

DEMO_FEEDS = ["feeds/kurier.rss", "feeds/herald.rss", "feeds/wire.atom"]


def run(site: SiteServer, tmp_path: pathlib.Path, feeds: list[str], *extra: str) -> int:
    feeds_file = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + f for f in feeds])
    return main(["run", "--feeds", str(feeds_file), "--output", str(tmp_path / "out"), *RUN_ARGS, *extra])


def by_title(stories: dict[str, dict]) -> dict[str, dict]:
    return {story["title"]: story for story in stories.values()}


def test_demo_feeds_become_one_story_per_report(site, tmp_path, capsys):
    assert run(site, tmp_path, DEMO_FEEDS) == 0
    stories = by_title(latest_stories(tmp_path / "out"))

    # 7 articles: a German report with two English translations, a different article on the
    # same event, three unrelated items.
    assert len(stories) == 5
    cable_car = stories["Lindenau baut eine Seilbahn über den Fluss"]
    assert cable_car["language"] == "de"
    assert cable_car["languages"] == ["de", "en"]
    assert cable_car["published"] == "2026-11-20T08:00:00+00:00"
    assert cable_car["authors"] == ["Greta Lindqvist"]
    assert cable_car["site_name"] == "Lindenauer Kurier"
    assert cable_car["body_source"] == "page"
    assert cable_car["text"].startswith("Der Stadtrat von Lindenau hat am Donnerstagabend")
    variants = {v["url"].rsplit("/", 1)[1]: v for v in cable_car["variants"]}
    assert {name: v["relation"] for name, v in variants.items()} == {
        "seilbahn-beschlossen.html": "original",
        "cable-car-across-the-river.html": "translation",
        # the Atom feed's link carried utm_ tracking parameters: canonicalized away
        "lindenau-approves-cable-car.html": "translation",
    }
    wire_url = variants["lindenau-approves-cable-car.html"]["url"]
    assert wire_url == site.base_url + "wire/lindenau-approves-cable-car.html"
    # each page's own address for itself (the demo's pages give theirs on the site they are
    # served from: an address on another site is only a claim, tests/test_hostile_items.py)
    assert variants["lindenau-approves-cable-car.html"]["canonical_url"] == wire_url
    assert cable_car["canonical_url"] == site.base_url + "kurier/seilbahn-beschlossen.html"

    # Another reporter's article about the same vote: its own story, in the same event.
    residents = stories["Cable car vote splits Lindenau's east bank residents"]
    assert residents["story_id"] != cable_car["story_id"]
    assert residents["event_id"] == cable_car["event_id"]
    for title in ("Stadtbibliothek öffnet künftig auch sonntags", "Harbour ferry switches to winter timetable",
                  "Record field expected for the autumn half marathon"):
        assert len(stories[title]["variants"]) == 1
        assert stories[title]["event_id"] != cable_car["event_id"]
    assert stories["Stadtbibliothek öffnet künftig auch sonntags"]["language"] == "de"

    summary_text = capsys.readouterr().out
    assert "7 due: 7 fetched (0 would not extract), 0 failed" in summary_text
    assert "7 filed: 7 from their pages, 0 from feed text; 0 without either" in summary_text
    assert "5 new, 2 updated" in summary_text
    summaries = list((tmp_path / "out").glob("summary-*.json"))
    assert len(summaries) == 1
    summary = json.loads(summaries[0].read_text())
    assert summary["feeds_fetched"] == 3 and summary["articles_extracted"] == 7 and summary["dead_letters"] == 0
    # Where the time went, per stage of the graph, fused or not.
    assert set(summary["stage_seconds"]) == {"ReadFeeds", "ReadArchives", "FetchPages", "ExtractArticles",
                                             "AssignStories", "WriteOutputs"}
    busy_line = next(line for line in summary_text.splitlines() if line.startswith("  busy      "))
    # slowest first, whichever it is; reading archives only where the feeds file has some
    assert all(stage in busy_line for stage in set(summary["stage_seconds"]) - {"ReadArchives"})
    assert "ReadArchives" not in busy_line


def test_story_records_match_the_json_schema(site, tmp_path):
    assert run(site, tmp_path, DEMO_FEEDS + ["feeds/dead-links.rss"]) == 0
    story_schema = load_json_schema("story")
    records = read_jsonl(tmp_path / "out" / "stories")
    assert records
    for record in records:
        jsonschema.validate(record, story_schema, format_checker=jsonschema.FormatChecker())
    letters = read_jsonl(tmp_path / "out" / "dead_letters")
    assert letters
    for letter in letters:
        jsonschema.validate(letter, load_json_schema("dead_letter"), format_checker=jsonschema.FormatChecker())


def test_second_run_over_unchanged_feeds_fetches_and_writes_nothing(site, tmp_path):
    assert run(site, tmp_path, DEMO_FEEDS) == 0
    first_requests = site.paths_requested()
    assert sum(path.endswith(".html") for path in first_requests) == 7
    site.requests.clear()

    assert run(site, tmp_path, DEMO_FEEDS) == 0
    assert not any(path.endswith(".html") for path in site.paths_requested())
    # A run that changed nothing leaves no file behind (an hourly job would pile up empty ones).
    assert len(list((tmp_path / "out" / "stories").glob("*.jsonl"))) == 1
    assert not list((tmp_path / "out" / "dead_letters").glob("*"))
    summary = json.loads(sorted((tmp_path / "out").glob("summary-*.json"))[-1].read_text())
    assert summary["feeds_not_modified"] == 3
    assert summary["stories_new"] == summary["stories_updated"] == 0


def test_translation_arriving_in_a_later_run_joins_the_existing_story(site, tmp_path):
    assert run(site, tmp_path, ["feeds/kurier.rss"]) == 0
    (original,) = [s for s in latest_stories(tmp_path / "out").values() if s["language"] == "de"
                   and "Seilbahn" in s["title"]]
    assert len(original["variants"]) == 1

    assert run(site, tmp_path, ["feeds/kurier.rss", "feeds/herald.rss"]) == 0
    second_run = read_jsonl(sorted((tmp_path / "out" / "stories").glob("*.jsonl"))[-1].parent)
    rewritten = [s for s in second_run if s["story_id"] == original["story_id"]]
    assert len(rewritten) == 2  # once in each run's file; the second with the new variant
    latest = rewritten[-1]
    assert [v["relation"] for v in latest["variants"]] == ["original", "translation"]
    assert latest["title"] == original["title"] and latest["first_seen"] == original["first_seen"]


def test_syndicated_copy_joins_the_story_as_near_duplicate(site, tmp_path):
    assert run(site, tmp_path, ["feeds/herald.rss", "feeds/gazette.rss"]) == 0
    stories = by_title(latest_stories(tmp_path / "out"))
    story = stories["Lindenau to build a cable car across the river"]
    relations = {v["url"].rsplit("/", 1)[1]: v["relation"] for v in story["variants"]}
    assert relations == {"cable-car-across-the-river.html": "original",
                         "partner-lindenau-cable-car.html": "near_duplicate"}


def test_article_updated_in_place_rewrites_its_story(site, tmp_path):
    assert run(site, tmp_path, ["feeds/wire.atom"]) == 0
    before = by_title(latest_stories(tmp_path / "out"))["Harbour ferry switches to winter timetable"]

    page = site.folder / "wire" / "harbour-ferry-timetable.html"
    page.write_text(page.read_text().replace("every 40 minutes", "every 45 minutes"))
    feed = site.folder / "feeds" / "wire.atom"
    text = feed.read_text()
    marker = "<id>urn:northern-wire:harbour-ferry-timetable</id>"
    head, tail = text.split(marker)
    tail = tail.replace("<updated>2026-11-21T06:10:00+00:00</updated>",
                        "<updated>2026-11-21T10:00:00+00:00</updated>", 1)
    feed.write_text(head + marker + tail)
    site.requests.clear()

    assert run(site, tmp_path, ["feeds/wire.atom"]) == 0
    pages = [p for p in site.paths_requested() if p.endswith(".html") or ".html?" in p]
    assert pages == ["/wire/harbour-ferry-timetable.html"]  # only the updated entry is fetched
    after = latest_stories(tmp_path / "out")[before["story_id"]]
    assert "every 45 minutes" in after["text"]
    assert len(after["variants"]) == 1


def test_broken_inputs_become_dead_letters_and_the_run_goes_on(site, tmp_path):
    feeds = DEMO_FEEDS + ["feeds/broken.xml", "feeds/not-a-feed.html", "feeds/dead-links.rss",
                          "feeds/no-such-feed.xml"]
    assert run(site, tmp_path, feeds) == 0

    stories = by_title(latest_stories(tmp_path / "out"))
    assert "Lindenau baut eine Seilbahn über den Fluss" in stories
    # The dead link's entry had a summary: the story is written from it meanwhile.
    bridge = stories["Bridge repairs delayed until spring"]
    assert bridge["body_source"] == "feed"
    assert bridge["text"].startswith("Repairs to the old stone bridge")
    assert "Photo gallery: first snow" not in stories

    letters = {(d["url"].rsplit("/", 1)[1], d["stage"]): d for d in read_jsonl(tmp_path / "out" / "dead_letters")}
    assert set(letters) == {
        ("broken.xml", "feed_parse"),
        ("not-a-feed.html", "feed_parse"),
        ("no-such-feed.xml", "feed_fetch"),
        ("missing-page.html", "page_fetch"),
        ("empty-page.html", "extract"),
    }
    assert letters[("no-such-feed.xml", "feed_fetch")]["status"] == 404
    assert letters[("missing-page.html", "page_fetch")]["status"] == 404
    assert all(d["reason"] and d["attempts"] == 1 for d in letters.values())


def test_dead_letters_are_retried_when_due_and_resolved_on_success(site, tmp_path):
    from newsbeam.state.store import open_store

    assert run(site, tmp_path, ["feeds/dead-links.rss"]) == EXIT_UNHEALTHY  # every page failed
    store = open_store(str(tmp_path / "out" / "state.db"))
    assert {d.stage for d in store.dead_letters.all()} == {"page_fetch", "extract"}
    # Make them due now, and make the missing page exist.
    store.db.read().execute("UPDATE dead_letters SET next_due = '2000-01-01T00:00:00+00:00'")
    (site.folder / "broken" / "missing-page.html").write_text(
        (site.folder / "herald" / "half-marathon-record-field.html").read_text()
        .replace("Record field expected for the autumn half marathon", "Bridge repairs delayed until spring"))
    site.requests.clear()

    assert run(site, tmp_path, ["feeds/dead-links.rss"]) == 0  # the feed itself is unchanged
    assert "/broken/missing-page.html" in site.paths_requested()
    remaining = {(d.url.rsplit("/", 1)[1], d.stage, d.attempts) for d in store.dead_letters.all()}
    assert remaining == {("empty-page.html", "extract", 2)}
    bridge = by_title(latest_stories(tmp_path / "out"))["Bridge repairs delayed until spring"]
    assert bridge["body_source"] == "page"


def test_a_failed_page_still_in_its_feed_waits_for_its_retry(site, tmp_path):
    """A page that failed is tried again when its dead letter is due, not at every run that
    finds its entry in the feed again (here: the feed changed, with one new item)."""
    assert run(site, tmp_path, ["feeds/dead-links.rss"]) == EXIT_UNHEALTHY  # every page failed
    feed = site.folder / "feeds" / "dead-links.rss"
    feed.write_text(feed.read_text().replace("</channel>", """<item>
      <title>Record field for the half marathon</title>
      <link>../herald/half-marathon-record-field.html</link>
      <guid isPermaLink="false">unlucky-marathon</guid>
    </item></channel>"""))
    site.requests.clear()

    assert run(site, tmp_path, ["feeds/dead-links.rss"]) == 0
    requested = site.paths_requested()
    assert "/herald/half-marathon-record-field.html" in requested
    assert not any(path.startswith("/broken/") for path in requested)
    summary = json.loads(sorted((tmp_path / "out").glob("summary-*.json"))[-1].read_text())
    assert summary["articles_new"] == 1 and summary["dead_letters"] == 0


def test_private_addresses_are_refused_without_the_flag(site, tmp_path):
    feeds_file = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/herald.rss"])
    assert main(["run", "--feeds", str(feeds_file), "--output", str(tmp_path / "out"), *BEAM_ARGS]) == 3  # failing
    (letter,) = read_jsonl(tmp_path / "out" / "dead_letters")
    assert letter["stage"] == "feed_fetch" and "non-public address 127.0.0.1" in letter["reason"]
    assert site.requests == []


@pytest.mark.parametrize("content, message", [
    (None, "feeds file not found"),
    ("feeds:\n\t- url: http://example.org/rss\n", "line 2"),
    ("feeds:\n  - name: no url\n", "feed entry 1: 'url' is missing"),
    ("feeds: []\n", "expected a non-empty list of feeds"),
])
def test_configuration_mistakes_exit_2_with_one_line(tmp_path, content, message):
    feeds_file = tmp_path / "feeds.yaml"
    if content is not None:
        feeds_file.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds_file), "--output", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip() and "apitools" not in line]
    assert len(lines) == 1, result.stderr
    assert message in lines[0] and "Traceback" not in result.stderr


def test_an_entry_whose_feed_carries_the_whole_article_needs_no_page(site, tmp_path):
    """content:encoded with a whole article is taken as it is: no request for the page, no
    extraction. A teaser in content:encoded is not enough: that page is fetched."""
    assert run(site, tmp_path, ["feeds/full-text.rss"]) == 0
    requested = site.paths_requested()
    assert not any("river-festival" in path for path in requested)
    assert any(path.endswith("half-marathon-record-field.html") for path in requested)
    stories = by_title(latest_stories(tmp_path / "out"))
    festival = stories["River festival draws its largest crowd in a decade"]
    assert festival["body_source"] == "feed" and festival["language"] == "en"
    assert festival["text"].startswith("Lindenau's river festival drew its largest crowd")
    assert "<p>" not in festival["text"] and "raise money for a new rescue boat" in festival["text"]
    (marathon,) = [s for s in stories.values() if s["url"].endswith("half-marathon-record-field.html")]
    assert marathon["body_source"] == "page"

    # `fetch_pages: always` fetches every page, for what only the page has (image, site name).
    site.requests.clear()
    feeds_file = tmp_path / "always.yaml"
    feeds_file.write_text(f"feeds:\n  - url: {site.base_url}feeds/full-text.rss\n    fetch_pages: always\n",
                          encoding="utf-8")
    assert main(["run", "--feeds", str(feeds_file), "--output", str(tmp_path / "always"), *RUN_ARGS]) == 0
    assert any("river-festival" in path for path in site.paths_requested())
