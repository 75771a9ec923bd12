"""Each step of the graph as a Beam transform on the runner (TestPipeline and assert_that),
with the project's own fixture pages on a local server. Story assignment uses the `hashing`
encoder here: what is tested is the step's plumbing, not the encoder (tests/test_stories.py
tests matching with the real one)."""

from __future__ import annotations

import json

import apache_beam as beam
import pytest
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas import Article, Batch, DeadLetter, FeedEntry
from state.store import open_store, utc_now
from tests.conftest import BEAM_ARGS, local_options, read_jsonl
from transforms.articles import ExtractArticlesFn, FetchPagesFn
from transforms.chain import Chain
from transforms.sinks import OncePerStory, WriteOutputs
from transforms.stories import AssignStoriesFn


def entry(url: str, title: str = "t", summary: str = "", full_text: bool = False) -> FeedEntry:
    return FeedEntry(url=url, link=url, feed_url="http://feeds.example/rss", feed_name="Example", title=title,
                     summary=summary, published="2026-11-20T08:00:00+00:00", updated=None, language=None,
                     full_text=full_text)


def article(url: str, text: str, title: str = "A title") -> Article:
    return Article(url=url, feed_url="http://feeds.example/rss", title=title, text=text, language="en",
                   published="2026-11-20T08:00:00+00:00", authors=(), site_name=None, description=None, image=None,
                   tags=(), body_source="page")


@pytest.fixture
def options(tmp_path):
    opts = local_options(tmp_path, encoder="hashing")
    open_store(opts.store)  # a run migrates the store before its pipeline starts
    return opts


def read_articles(options):
    return beam.ParDo(Chain(FetchPagesFn(options), ExtractArticlesFn(options)))


def test_read_articles_fetches_extracts_and_keeps_failures(site, options):
    base = site.base_url
    batch = Batch(
        entries=(entry(base + "kurier/seilbahn-beschlossen.html"),
                 entry(base + "broken/missing-page.html", summary="The feed's own words stand in for the page."),
                 entry(base + "wire/harbour-ferry-timetable.html")),
        dead_letters=(DeadLetter(url="http://earlier", stage="feed_fetch", reason="HTTP 500", at=utc_now()),),
        counts=(("feeds_fetched", 1),))
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        out = pipeline | beam.Create([batch]) | read_articles(options)
        assert_that(out | "Articles" >> beam.FlatMap(lambda b: [(a.url.rsplit("/", 1)[1], a.body_source, a.language)
                                                                 for a in b.articles]),
                    # the feed's text is too short to detect a language, and the feed declares none
                    equal_to([("seilbahn-beschlossen.html", "page", "de"), ("missing-page.html", "feed", None),
                              ("harbour-ferry-timetable.html", "page", "en")]), label="articles")
        assert_that(out | "Letters" >> beam.FlatMap(lambda b: [(d.stage, d.status) for d in b.dead_letters]),
                    equal_to([("feed_fetch", None), ("page_fetch", 404)]), label="dead letters carried and added")
        assert_that(out | "Counts" >> beam.FlatMap(lambda b: b.counts) | beam.CombinePerKey(sum),
                    equal_to([("feeds_fetched", 1), ("pages_fetched", 2), ("pages_failed", 1),
                              ("articles_extracted", 2), ("articles_from_feed", 1)]), label="counts")


def test_read_articles_hands_pages_on_in_chunks_and_loses_none(site, options):
    """More entries than one chunk: every page comes out exactly once, over several batches."""
    base = site.base_url
    pages = ["kurier/seilbahn-beschlossen.html", "herald/cable-car-across-the-river.html",
             "wire/harbour-ferry-timetable.html", "kurier/stadtbibliothek-sonntag.html"]
    entries = tuple(entry(f"{base}{page}?copy={n}") for n in range(6) for page in pages)  # 24 > PAGE_CHUNK
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        out = pipeline | beam.Create([Batch(entries=entries)]) | read_articles(options)
        assert_that(out | "Urls" >> beam.FlatMap(lambda b: [a.url for a in b.articles]),
                    equal_to([e.url for e in entries]), label="every page once")
        assert_that(out | beam.combiners.Count.Globally(), equal_to([2]), label="in two chunks")


def test_assign_stories_emits_the_records_of_the_stories_it_changed(options):
    text = "The council voted on Thursday to build a cable car across the river. " * 6
    batch = Batch(articles=(article("http://a.example/1", text), article("http://b.example/copy", text),
                            article("http://c.example/other", "Ferries run every hour from the harbour. " * 8)))
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        out = pipeline | beam.Create([batch]) | beam.ParDo(AssignStoriesFn(options, "run-1"))
        records = out | beam.FlatMap(lambda b: b.stories)
        assert_that(records | "Latest" >> beam.Map(lambda r: (r["url"], sorted(v["url"] for v in r["variants"]))),
                    # one record per story changed, as it stands after the whole batch
                    equal_to([("http://a.example/1", ["http://a.example/1", "http://b.example/copy"]),
                              ("http://c.example/other", ["http://c.example/other"])]), label="records")
        assert_that(out | "Counts" >> beam.FlatMap(lambda b: b.counts),
                    equal_to([("stories_new", 2), ("stories_updated", 1)]), label="counts")


def test_short_texts_do_not_merge_on_their_emptiness(options):
    """Paywall stubs and empty items with identical text stay apart: they join only by URL."""
    batch = Batch(articles=tuple(article(f"http://site.example/{n}", "Subscribe to read.") for n in range(3)))
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        out = pipeline | beam.Create([batch]) | beam.ParDo(AssignStoriesFn(options, "run-1"))
        assert_that(out | beam.FlatMap(lambda b: [r["story_id"] for r in b.stories]) | beam.Distinct()
                    | beam.combiners.Count.Globally(), equal_to([3]))


def record(story_id: str, updated: str, variants: int) -> dict:
    return {"story_id": story_id, "updated": updated, "variants": [{"url": f"u{n}"} for n in range(variants)]}


def test_once_per_story_keeps_the_latest_record_and_every_letter_and_count():
    batches = [Batch(stories=(record("s_1", "2026-11-20T08:00:00+00:00", 1),), counts=(("stories_new", 1),)),
               Batch(stories=(record("s_1", "2026-11-20T09:00:00+00:00", 2),
                              record("s_2", "2026-11-20T08:00:00+00:00", 1)),
                     dead_letters=(DeadLetter(url="http://x", stage="extract", reason="r"),),
                     counts=(("stories_new", 1), ("stories_updated", 1)))]
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        out = pipeline | beam.Create(batches) | OncePerStory(shards=4)
        assert_that(out | "Stories" >> beam.FlatMap(lambda b: [(r["story_id"], len(r["variants"])) for r in b.stories]),
                    equal_to([("s_1", 2), ("s_2", 1)]), label="latest per story")
        assert_that(out | "Letters" >> beam.FlatMap(lambda b: [d.url for d in b.dead_letters]),
                    equal_to(["http://x"]), label="letters")
        assert_that(out | "Counts" >> beam.FlatMap(lambda b: b.counts) | beam.CombinePerKey(sum),
                    equal_to([("stories_new", 2), ("stories_updated", 1)]), label="counts")


def test_write_outputs_writes_every_sink_then_marks_written_and_counts(tmp_path, options):
    import dataclasses

    options = dataclasses.replace(options, sinks=("jsonl", "parquet", "sqlite"))
    store = open_store(options.store)
    with store.transaction() as db:
        store.create_story(db, "s_1", "e_1", "2026-11-20T09:00:00+00:00", "run-1")
    story = {"story_id": "s_1", "event_id": "e_1", "title": "T", "text": "Body", "language": "en",
             "languages": ["en"], "url": "http://a/1", "published": None, "authors": [], "site_name": None,
             "feed_url": "http://f", "body_source": "page", "first_seen": "2026-11-20T09:00:00+00:00",
             "updated": "2026-11-20T09:00:00+00:00",
             "variants": [{"url": "http://a/1", "title": "T", "text": "Body", "language": "en", "authors": [],
                           "published": None, "site_name": None, "feed_url": "http://f", "body_source": "page",
                           "relation": "original"}]}
    letter = DeadLetter(url="http://a/2", stage="page_fetch", reason="HTTP 500", status=500, at=utc_now())
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        _ = (pipeline | beam.Create([Batch(stories=(story,), dead_letters=(letter,), counts=(("stories_new", 1),))])
             | WriteOutputs(options, "run-1"))
    output = tmp_path / "out"
    assert [r["story_id"] for r in read_jsonl(output / "stories")] == ["s_1"]
    assert [(r["url"], r["attempts"]) for r in read_jsonl(output / "dead_letters")] == [("http://a/2", 1)]
    assert len(list((output / "stories").glob("*.parquet"))) == 1
    tables = open_store(str(output / "stories.db"), migrate=False).reader()
    assert tables.execute("SELECT COUNT(*) FROM newsbeam_stories").fetchone()[0] == 1
    assert store.pending_stories() == []
    assert store.run_counts("run-1") == {"stories_new": 1, "dead_letters": 1}
    assert [d.url for d in store.dead_letters()] == ["http://a/2"]
    assert json.loads(json.dumps(store.dead_letters()[0].to_dict()))["next_due"] > utc_now()
