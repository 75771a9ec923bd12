"""Each stage of the graph, and the graph itself, on the Beam runner (TestPipeline and
assert_that), with the project's own fixture pages on a local server. Story assignment uses
the `hashing` encoder here: what is tested is the stages' plumbing, not the encoder
(tests/test_matching.py tests matching with the real one)."""

from __future__ import annotations

import dataclasses
import pathlib

import apache_beam as beam
import pytest
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from newsbeam.pipeline.graph import BoundedPass, Ingest, make_shards
from newsbeam.schemas import Article, Batch, DeadLetter, FeedEntry, FeedSource, Shard, Story, Variant, utc_now
from newsbeam.sources.feeds import feed_body_hash
from newsbeam.state.store import open_store
from newsbeam.transforms.article_work import ArticleWork, Chain
from newsbeam.transforms.articles import ExtractArticlesFn
from newsbeam.transforms.feeds import ReadFeeds
from newsbeam.transforms.pages import PAGE_CHUNK, FetchPagesFn
from newsbeam.transforms.sinks import OncePerStory, WriteOutputs
from newsbeam.transforms.stage import BUSY
from newsbeam.transforms.stories import AssignStoriesFn
from tests.conftest import BEAM_ARGS, local_options, read_jsonl


def entry(url: str, title: str = "t", summary: str = "", full_text: bool = False) -> FeedEntry:
    return FeedEntry(url=url, link=url, feed_url="http://feeds.example/rss", feed_name="Example", title=title,
                     summary=summary, published="2026-11-20T08:00:00+00:00", updated=None, language=None,
                     full_text=full_text)


def article(url: str, text: str, title: str = "A title") -> Article:
    return Article(url=url, feed_url="http://feeds.example/rss", title=title, text=text, language="en",
                   published="2026-11-20T08:00:00+00:00", authors=(), site_name=None, description=None, image=None,
                   tags=(), body_source="page")


def counts(batches: beam.PCollection, label: str = "Counts") -> beam.PCollection:
    """The batches' counts added up, without the stages' busy times."""
    return (batches | label >> beam.FlatMap(lambda b: [c for c in b.counts if not c[0].startswith(BUSY)])
            | f"{label}Sum" >> beam.CombinePerKey(sum))


def busy_stages(batches: beam.PCollection) -> beam.PCollection:
    return batches | "Busy" >> beam.FlatMap(lambda b: [c[0][len(BUSY):] for c in b.counts if c[0].startswith(BUSY)]) \
        | "Stages" >> beam.Distinct()


@pytest.fixture
def options(tmp_path):
    opts = local_options(tmp_path, encoder="hashing")
    open_store(opts.store)  # a run migrates the store before its pipeline starts
    return opts


# --- FetchPages and ExtractArticles ---------------------------------------------------------------
def test_fetch_pages_then_extract_articles_keep_failures(site, options):
    base = site.base_url
    batch = Batch(
        entries=(entry(base + "kurier/seilbahn-beschlossen.html"),
                 entry(base + "broken/missing-page.html", summary="The feed's own words stand in for the page."),
                 entry(base + "wire/harbour-ferry-timetable.html")),
        dead_letters=(DeadLetter(url="http://earlier", stage="feed_fetch", reason="HTTP 500", at=utc_now()),),
        counts=(("feeds_fetched", 1),))
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        out = (pipeline | beam.Create([batch]) | "Fetch" >> beam.ParDo(FetchPagesFn(options))
               | "Extract" >> beam.ParDo(ExtractArticlesFn(options)))
        assert_that(out | "Articles" >> beam.FlatMap(lambda b: [(a.url.rsplit("/", 1)[1], a.body_source, a.language)
                                                                 for a in b.articles]),
                    # the feed's text is too short to detect a language, and the feed declares none
                    equal_to([("seilbahn-beschlossen.html", "page", "de"), ("missing-page.html", "feed", None),
                              ("harbour-ferry-timetable.html", "page", "en")]), label="articles")
        assert_that(out | "Letters" >> beam.FlatMap(lambda b: [(d.stage, d.status) for d in b.dead_letters]),
                    equal_to([("feed_fetch", None), ("page_fetch", 404)]), label="dead letters carried and added")
        assert_that(counts(out), equal_to([("feeds_fetched", 1), ("pages_fetched", 2), ("pages_failed", 1),
                                           ("articles_extracted", 2), ("articles_from_feed", 1)]), label="counts")
        assert_that(busy_stages(out), equal_to(["FetchPages", "ExtractArticles"]), label="busy times")


def test_fetch_pages_hands_pages_on_in_chunks_and_loses_none(site, options):
    base = site.base_url
    pages = ["kurier/seilbahn-beschlossen.html", "herald/cable-car-across-the-river.html",
             "wire/harbour-ferry-timetable.html", "kurier/stadtbibliothek-sonntag.html"]
    entries = tuple(entry(f"{base}{page}?copy={n}") for n in range(6) for page in pages)
    assert PAGE_CHUNK < len(entries) <= 2 * PAGE_CHUNK
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        out = pipeline | beam.Create([Batch(entries=entries)]) | beam.ParDo(FetchPagesFn(options))
        assert_that(out | "Urls" >> beam.FlatMap(lambda b: [p.entry.url for p in b.pages]),
                    equal_to([e.url for e in entries]), label="every page once")
        assert_that(out | beam.combiners.Count.Globally(), equal_to([2]), label="in two chunks")


def test_entries_whose_feed_carries_the_article_are_not_fetched(site, options):
    url = site.base_url + "no-such-page.html"
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        out = pipeline | beam.Create([Batch(entries=(entry(url, summary="Whole. " * 300, full_text=True),))]) \
            | "Fetch" >> beam.ParDo(FetchPagesFn(options)) | "Extract" >> beam.ParDo(ExtractArticlesFn(options))
        assert_that(out | beam.FlatMap(lambda b: [a.body_source for a in b.articles]), equal_to(["feed"]))
    assert site.paths_requested() == []


# --- AssignStories ---------------------------------------------------------------------------------
def test_assign_stories_emits_the_records_of_the_stories_it_changed(options):
    text = "The council voted on Thursday to build a cable car across the river. " * 6
    batch = Batch(articles=(article("http://a.example/1", text), article("http://b.example/copy", text),
                            article("http://c.example/other", "Ferries run every hour from the harbour. " * 8)))
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        out = pipeline | beam.Create([batch]) | beam.ParDo(AssignStoriesFn(options, "run-1"))
        stories = out | beam.FlatMap(lambda b: b.stories)
        assert_that(stories | "Latest" >> beam.Map(lambda s: (s.url, sorted(v.url for v in s.variants))),
                    # one record per story changed, as it stands after the whole batch
                    equal_to([("http://a.example/1", ["http://a.example/1", "http://b.example/copy"]),
                              ("http://c.example/other", ["http://c.example/other"])]), label="records")
        assert_that(counts(out), equal_to([("stories_new", 2), ("stories_updated", 1)]), label="counts")


def test_a_chunks_dead_letters_are_kept_in_the_store_with_its_articles(site, options):
    """A page whose fetch failed, its feed's text standing in: the article and the page's dead
    letter are written in one transaction, before any sink. A worker killed after the chunk is
    filed (SIGKILL, a full disk at the sinks) can no longer leave the page filed from the feed
    and its failure forgotten, never fetched again."""
    page_url = site.base_url + "gone.html"
    site.routes["/gone.html"] = lambda h: h.send_body(500, b"down")
    failed = entry(page_url, "The ferry timetable", "Ferries run every hour from the harbour. " * 12)
    batch = Batch(entries=(failed,))
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        _ = (pipeline | beam.Create([batch])
             | beam.ParDo(Chain(FetchPagesFn(options), ExtractArticlesFn(options), AssignStoriesFn(options, "run-1"))))
    store = open_store(options.store)  # no sink ran: what the store has, the chunk's transaction wrote
    assert list(store.stories.known_articles([page_url])) == [page_url]
    assert [(letter.url, letter.stage) for letter in store.dead_letters.all()] == [(page_url, "page_fetch")]


def test_short_texts_do_not_merge_on_their_emptiness(options):
    """Paywall stubs and empty items with identical text stay apart: they join only by URL."""
    batch = Batch(articles=tuple(article(f"http://site.example/{n}", "Subscribe to read.") for n in range(3)))
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        out = pipeline | beam.Create([batch]) | beam.ParDo(AssignStoriesFn(options, "run-1"))
        assert_that(out | beam.FlatMap(lambda b: [s.story_id for s in b.stories]) | beam.Distinct()
                    | beam.combiners.Count.Globally(), equal_to([3]))


def test_chained_steps_give_what_the_steps_give_one_by_one(site, options, tmp_path):
    """The chain the graph runs (ArticleWork) is the same steps, with the same outputs and each
    step's busy time, as the steps run one ParDo each."""
    base = site.base_url
    entries = (entry(base + "herald/cable-car-across-the-river.html"),
               entry(base + "gazette/partner-lindenau-cable-car.html"),
               entry(base + "wire/harbour-ferry-timetable.html"))
    results = {}
    for chained in (True, False):
        opts = dataclasses.replace(options, store_url=str(tmp_path / f"chained-{chained}.db"))
        open_store(opts.store)
        with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
            out = pipeline | beam.Create([Batch(entries=entries)])
            if chained:
                out = out | ArticleWork(opts, "run-1")
            else:
                steps = (FetchPagesFn(opts), ExtractArticlesFn(opts), AssignStoriesFn(opts, "run-1"))
                for step in steps:
                    out = out | step.stage >> beam.ParDo(step)
            assert_that(out | beam.FlatMap(lambda b: [len(s.variants) for s in b.stories]), equal_to([2, 1]))
            assert_that(busy_stages(out), equal_to(["ReadArchives", "FetchPages", "ExtractArticles", "AssignStories"]
                                                   if chained else ["FetchPages", "ExtractArticles", "AssignStories"]),
                        label="busy")
        results[chained] = sorted(open_store(opts.store).db.read().execute(
            "SELECT url FROM articles").fetchall())
    assert results[True] == results[False]


# --- OncePerStory and WriteOutputs -------------------------------------------------------------------
def story(story_id: str, updated: str, variants: int) -> Story:
    return Story(story_id=story_id, event_id="e_1", title="T", text="Body", language="en", languages=("en",),
                 url="http://a/1", published=None, authors=(), site_name=None, feed_url="http://f",
                 body_source="page", first_seen=updated, updated=updated,
                 variants=tuple(Variant(url=f"http://a/{n}", title="T", text="Body", language="en", authors=(),
                                        published=None, site_name=None, feed_url="http://f", body_source="page",
                                        relation="original" if n == 0 else "exact") for n in range(variants)))


def test_once_per_story_keeps_the_latest_record_and_every_letter_and_count():
    batches = [Batch(stories=(story("s_1", "2026-11-20T08:00:00+00:00", 1),), counts=(("stories_new", 1),)),
               Batch(stories=(story("s_1", "2026-11-20T09:00:00+00:00", 2),
                              story("s_2", "2026-11-20T08:00:00+00:00", 1)),
                     dead_letters=(DeadLetter(url="http://x", stage="extract", reason="r"),),
                     counts=(("stories_new", 1), ("stories_updated", 1)))]
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        out = pipeline | beam.Create(batches) | OncePerStory(shards=4)
        assert_that(out | "Stories" >> beam.FlatMap(lambda b: [(s.story_id, len(s.variants)) for s in b.stories]),
                    equal_to([("s_1", 2), ("s_2", 1)]), label="latest per story")
        assert_that(out | "Letters" >> beam.FlatMap(lambda b: [d.url for d in b.dead_letters]),
                    equal_to(["http://x"]), label="letters")
        assert_that(counts(out), equal_to([("stories_new", 2), ("stories_updated", 1)]), label="counts")


def test_write_outputs_writes_every_sink_then_marks_written_and_counts(tmp_path, options):
    options = dataclasses.replace(options, sinks=("jsonl", "parquet", "sqlite"))
    store = open_store(options.store)
    store.stories.create_story("s_1", "e_1", "http://a/1", "2026-11-20T09:00:00+00:00", "run-1")
    # the dead letters come kept in the store already, with their chunk (AssignStories)
    letters = store.dead_letters.record([DeadLetter(url="http://a/2", stage="page_fetch", reason="HTTP 500",
                                                    status=500, at=utc_now())])
    batch = Batch(stories=(story("s_1", "2026-11-20T09:00:00+00:00", 1),), dead_letters=tuple(letters),
                  counts=(("stories_new", 1), ("dead_letters", 1)))
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        _ = pipeline | beam.Create([batch]) | WriteOutputs(options, "run-1")
    output = tmp_path / "out"
    assert [r["story_id"] for r in read_jsonl(output / "stories")] == ["s_1"]
    assert [(r["url"], r["attempts"]) for r in read_jsonl(output / "dead_letters")] == [("http://a/2", 1)]
    assert len(list((output / "stories").glob("*.parquet"))) == 1
    tables = open_store(str(output / "stories.db"), migrate=False).db.read()
    assert tables.execute("SELECT COUNT(*) FROM newsbeam_stories").fetchone()[0] == 1
    assert store.stories.pending() == []  # written: no longer pending
    run_counts = store.runs.counts("run-1")
    assert {k: v for k, v in run_counts.items() if not k.startswith(BUSY)} == {"stories_new": 1, "dead_letters": 1}
    assert BUSY + "WriteOutputs" in run_counts
    (recorded,) = store.dead_letters.all()
    assert recorded.url == "http://a/2" and recorded.next_due > utc_now()


# --- ReadFeeds ---------------------------------------------------------------------------------------
def test_read_feeds_stages_validators_and_keeps_failures(site, options):
    sources = (FeedSource(url=site.base_url + "feeds/herald.rss", language="en"),
               FeedSource(url=site.base_url + "feeds/no-such-feed.xml"))
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        batches = pipeline | beam.Create([Shard(index=0, count=1, feeds=sources)]) | ReadFeeds(options)
        titles = batches | "Titles" >> beam.FlatMap(
            lambda batch: [(e.title, e.language, e.feed_name) for e in batch.entries])
        assert_that(titles, equal_to([
            ("Lindenau to build a cable car across the river", "en", "Lindenau Herald"),
            ("Record field expected for the autumn half marathon", "en", "Lindenau Herald"),
        ]), label="entries")
        assert_that(batches | "Letters" >> beam.FlatMap(lambda b: [(d.stage, d.status) for d in b.dead_letters]),
                    equal_to([("feed_fetch", 404)]), label="dead letters")
    # The validators are staged, not yet committed: a crash now would fetch the feed again.
    store = open_store(options.store)
    assert store.feeds.validators(sources[0].url)["body_hash"] is None
    store.feeds.commit_validators()
    assert store.feeds.validators(sources[0].url)["body_hash"] == feed_body_hash(
        (site.folder / "feeds" / "herald.rss").read_bytes())


def test_entries_in_flight_are_handed_on_once_until_filed():
    """A streaming run reads a feed again before its new entries are filed: those are not handed
    on (and their pages not fetched) a second time; once filed, an entry the feed lists as
    updated is handed on again."""
    from newsbeam.transforms.feeds import EntriesInFlight

    in_flight, filed = EntriesInFlight(), set()

    def known(urls: list[str]) -> dict[str, None]:  # as the store's known_articles answers
        return {url: None for url in urls if url in filed}

    first, second, third = (entry(f"http://news.example/{n}") for n in range(3))
    assert in_flight.hand_on([first, second], known) == ([first, second], 0)
    assert in_flight.hand_on([first, second, third], known) == ([third], 2)
    filed.add(first.url)
    assert in_flight.hand_on([first], known) == ([first], 0)


def test_conditional_get_sends_validators(site, options):
    etag = '"v1"'

    def feed_with_etag(handler):
        if handler.headers.get("If-None-Match") == etag:
            handler.send_body(304, b"")
        else:
            handler.send_body(200, (site.folder / "feeds" / "herald.rss").read_bytes(),
                              "application/rss+xml", {"ETag": etag})

    site.routes["/etag.rss"] = feed_with_etag
    source = FeedSource(url=site.base_url + "etag.rss")
    for expected_entries in (2, 0):
        with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
            batches = pipeline | beam.Create([Shard(index=0, count=1, feeds=(source,))]) | ReadFeeds(options)
            count = batches | beam.FlatMap(lambda batch: batch.entries) | beam.combiners.Count.Globally()
            assert_that(count, equal_to([expected_entries]))
        open_store(options.store).feeds.commit_validators()
    assert [headers.get("If-None-Match") for path, headers in site.requests] == [None, etag]


# --- The graph -----------------------------------------------------------------------------------
def test_make_shards_keeps_each_host_in_one_shard_and_spreads_the_busiest_first():
    feeds = tuple(FeedSource(url=f"http://{host}.example/{n}.rss") for host, count in
                  (("big", 4), ("mid", 2), ("small", 1), ("tiny", 1)) for n in range(count))
    shards = make_shards(feeds, 2)
    assert [s.index for s in shards] == [0, 1] and shards[0].rewrite_pending and not shards[1].rewrite_pending
    owner = {feed.url.split("/")[2]: shard.index for shard in shards for feed in shard.feeds}
    assert sorted(len(s.feeds) for s in shards) == [4, 4]
    assert owner["big.example"] != owner["mid.example"]
    for shard in shards:  # retries of a host go to the shard that has its feeds; of other hosts, by hash
        assert shard.owns("http://big.example/article") == (owner["big.example"] == shard.index)
    assert sum(s.owns("http://elsewhere.example/x") for s in shards) == 1
    assert make_shards((), 3)[2].feeds == ()


def test_ingest_reads_feeds_into_story_records(site, options):
    feeds = tuple(FeedSource(url=site.base_url + f) for f in ("feeds/herald.rss", "feeds/gazette.rss"))
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        out = pipeline | beam.Create(make_shards(feeds, 2)) | Ingest(options, "run-1")
        # the gazette's syndicated copy joins the herald's report; each batch's records as they stood
        assert_that(out | "Final" >> beam.FlatMap(lambda b: [(s.title, len(s.variants)) for s in b.stories])
                    | beam.combiners.Top.PerKey(1) | beam.MapTuple(lambda title, n: (title, n[0])),
                    equal_to([("Lindenau to build a cable car across the river", 2),
                              ("Record field expected for the autumn half marathon", 1)]))
        assert_that(busy_stages(out), equal_to(["ReadFeeds", "ReadArchives", "FetchPages", "ExtractArticles",
                                               "AssignStories"]),
                    label="busy")


def test_a_bounded_pass_writes_each_story_once_with_its_final_variants(site, options):
    feeds = tuple(FeedSource(url=site.base_url + f) for f in
                  ("feeds/herald.rss", "feeds/gazette.rss", "feeds/dead-links.rss"))
    options = dataclasses.replace(options, feeds=feeds, shards=2)
    with test_pipeline.TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        _ = pipeline | BoundedPass(options, "run-1")
    output = pathlib.Path(options.output_dir)
    written = read_jsonl(output / "stories")
    assert sorted((r["title"], len(r["variants"]), r["body_source"]) for r in written) == [
        ("Bridge repairs delayed until spring", 1, "feed"),  # the page failed: the feed's text stands in
        ("Lindenau to build a cable car across the river", 2, "page"),
        ("Record field expected for the autumn half marathon", 1, "page")]
    letters = read_jsonl(output / "dead_letters")
    assert sorted(r["stage"] for r in letters) == ["extract", "page_fetch"]
    store = open_store(options.store)
    assert store.stories.pending() == []
    assert store.runs.counts("run-1")["stories_new"] == 3
