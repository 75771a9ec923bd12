"""newsbeam's stages for a Beam user's own pipeline: each takes and gives plain records, and
opens the store itself from the store URL it is given (creating it when needed).

    with beam.Pipeline() as p:
        (p | beam.Create(["https://example.org/feed.xml"])
           | ReadFeedEntries(store)          # feed URLs or FeedSource -> FeedEntry
           | FetchArticlePages(store)        # FeedEntry or page URLs -> FetchedPage
           | ExtractPageArticles()           # FetchedPage or {"url", "html"} -> Article
           | KeepArticles(store, lambda article: article.language == "de", "not in German")
           | AssignStoryRecords(store)       # Article -> Story (the story it created or changed)
           | WriteStoryFiles("out/", store)) # Story -> out/stories/*.jsonl (and the sinks chosen)

Each wraps the same DoFn a run uses (so politeness, robots.txt, retries and the story index
work as in a run) in a Batch of one element. What fails on the way is a dead letter in the
store, retried by the next run or the next use of the same transform, and is left out of the
output. ReadFeedEntries reads all its feeds in one worker (one polite scheduler for all their
hosts): it is for bounded pipelines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import apache_beam as beam

from newsbeam.extraction.page import feed_entry
from newsbeam.schemas import Article, Batch, FeedEntry, FeedSource, FetchedPage, Shard
from newsbeam.state.runs import new_run_id
from newsbeam.state.store import open_store
from newsbeam.transforms.articles import ExtractArticlesFn
from newsbeam.transforms.feeds import ReadFeedsFn
from newsbeam.transforms.options import RunOptions
from newsbeam.transforms.pages import FetchPagesFn
from newsbeam.transforms.sinks import OncePerStory, WriteOutputs
from newsbeam.transforms.stage import StageFn
from newsbeam.transforms.stories import AssignStoriesFn


def plain_options(store: str, **settings: Any) -> RunOptions:
    """What a stage needs to know, for a stage used on its own: the store and any of
    RunOptions' fields or the libraries' settings (allow_private_network, user_agent,
    per_host_delay_s, encoder, window_days, ...; see RunOptions.of)."""
    # a pipeline of the user's own keeps captures only where it asks to (captures="FOLDER")
    return RunOptions.of(feeds=(), output_dir=settings.pop("output_dir", ""), store_url=store,
                         captures=settings.pop("captures", "off"), **settings)


class _PlainFn(beam.DoFn):
    """A run's DoFn on plain records: each element wrapped in a Batch, the batches it yields
    unwrapped, their dead letters kept in the store (when there is one)."""

    def __init__(self, stage: StageFn, store: str | None, wrap: Callable[[Any], Batch],
                 unwrap: Callable[[Batch], Iterable[Any]]):
        self.stage, self.store_url, self.wrap, self.unwrap = stage, store, wrap, unwrap

    def setup(self) -> None:
        self.stage.setup()
        self.store = open_store(self.store_url, migrate=False) if self.store_url else None

    def teardown(self) -> None:
        self.stage.teardown()
        if self.store:
            self.store.close()

    def process(self, element: Any) -> Iterator[Any]:
        for batch in self.stage.run(self.wrap(element)):
            if batch.dead_letters and self.store:
                self.store.dead_letters.record(batch.dead_letters)
            yield from self.unwrap(batch)


class _PlainTransform(beam.PTransform):
    def __init__(self, store: str | None, **settings: Any):
        super().__init__()
        self.store = store
        self.options = plain_options(store or "", **settings)

    def plain(self, stage: StageFn, wrap: Callable[[Any], Batch], unwrap: Callable[[Batch], Iterable[Any]]
              ) -> beam.ParDo:
        """The stage's ParDo on plain records. The store is created or upgraded here, once,
        where the pipeline is built, before any worker opens it."""
        if self.store:
            open_store(self.store).close()
        return beam.ParDo(_PlainFn(stage, self.store, wrap, unwrap))


class ReadFeedEntries(_PlainTransform):
    """Feed URLs (or FeedSource records) -> the FeedEntry records of their new items, with
    conditional GET and per-host politeness, and the page retries that are due."""

    def expand(self, feeds: beam.PCollection) -> beam.PCollection:
        return (feeds
                | "AsSources" >> beam.Map(lambda feed: feed if isinstance(feed, FeedSource) else FeedSource(url=feed))
                | "AllFeeds" >> beam.combiners.ToList()
                | "Read" >> self.plain(ReadFeedsFn(self.options),
                                       lambda sources: Shard(index=0, count=1, feeds=tuple(sources)),
                                       lambda batch: batch.entries))


class FetchArticlePages(_PlainTransform):
    """FeedEntry records (or page URLs) -> FetchedPage records, fetched as a polite crawler
    would (robots.txt, per-host pace, redirects judged hop by hop). A page that fails is a
    dead letter, and is left out."""

    def __init__(self, store: str, **settings: Any):
        super().__init__(store, **settings)

    def expand(self, entries: beam.PCollection) -> beam.PCollection:
        return entries | "Fetch" >> self.plain(
            FetchPagesFn(self.options),
            lambda entry: Batch(entries=(entry if isinstance(entry, FeedEntry) else feed_entry(entry),)),
            lambda batch: (page for page in batch.pages if page.html is not None))


def as_page(page: FetchedPage | Mapping[str, Any]) -> FetchedPage:
    """A FetchedPage, or a dict with `url` and `html` (and what a feed said of the page:
    `title`, `summary`, `published`, `authors`, `language`)."""
    if isinstance(page, FetchedPage):
        return page
    entry = feed_entry(page["url"], page)
    return FetchedPage(entry=entry, url=entry.url, html=page["html"], content_type=None)


class ExtractPageArticles(_PlainTransform):
    """FetchedPage records (or {"url", "html"} dicts) -> Article records; a page that yields
    no article is left out (and, given a store, kept there as a dead letter)."""

    def __init__(self, store: str | None = None, **settings: Any):
        super().__init__(store, **settings)

    def expand(self, pages: beam.PCollection) -> beam.PCollection:
        return pages | "Extract" >> self.plain(ExtractArticlesFn(self.options),
                                               lambda page: Batch(pages=(as_page(page),)), lambda batch: batch.articles)


class _KeepArticlesFn(beam.DoFn):
    def __init__(self, store: str, keep: Callable[[Article], bool], reason: str):
        self.store_url, self.keep, self.reason = store, keep, reason

    def setup(self) -> None:
        self.store = open_store(self.store_url, migrate=False)

    def teardown(self) -> None:
        self.store.close()

    def process(self, article: Article) -> Iterator[Article]:
        if self.keep(article):
            yield article
        else:
            self.store.stories.drop_articles([(article, self.reason)])


class KeepArticles(beam.PTransform):
    """Article records -> those `keep(article)` accepts. The others are remembered in the
    store as seen, with `reason`: a later run does not fetch them again (nor their feed, once
    all its new items are filed or dropped) until their feed changes them. A plain `Filter` in
    their place would leave them unseen, fetched again at every run."""

    def __init__(self, store: str, keep: Callable[[Article], bool], reason: str):
        super().__init__()
        self.store, self.keep, self.reason = store, keep, reason

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return articles | "Keep" >> beam.ParDo(_KeepArticlesFn(self.store, self.keep, self.reason))


class _CommitFiledFeedsFn(beam.DoFn):
    def __init__(self, store: str):
        self.store_url = store

    def process(self, written: int) -> Iterator[int]:
        store = open_store(self.store_url, migrate=False)
        try:
            store.feeds.commit_validators(filed_only=True)
        finally:
            store.close()
        yield written


class AssignStoryRecords(_PlainTransform):
    """Article records -> the Story record each created or changed (with all its variants),
    filed in the store's story index: the story stays open for new variants in later runs."""

    def __init__(self, store: str, run_id: str | None = None, **settings: Any):
        super().__init__(store, **settings)
        self.run_id = run_id or new_run_id("-pipeline")

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return articles | "Assign" >> self.plain(AssignStoriesFn(self.options, self.run_id),
                                                 lambda article: Batch(articles=(article,)),
                                                 lambda batch: batch.stories)


class WriteStoryFiles(_PlainTransform):
    """Story records -> the sinks of a run under `output_dir` (`sinks`: jsonl, parquet,
    sqlite, postgres), marked written in the store. In a bounded pipeline each story is
    written once, with its final variants (its records grouped by story first); with
    `streaming=True` each record as it comes. Returns nothing to compose further."""

    def __init__(self, output_dir: str, store: str, sinks: tuple[str, ...] = ("jsonl",), run_id: str | None = None,
                 streaming: bool = False, **settings: Any):
        super().__init__(store, output_dir=output_dir, sinks=sinks, **settings)
        self.run_id = run_id or new_run_id("-pipeline")
        self.streaming = streaming

    def expand(self, stories: beam.PCollection) -> beam.PCollection:
        open_store(self.store).close()
        batches = stories | "AsBatches" >> beam.Map(lambda story: Batch(stories=(story,)))
        if not self.streaming:
            batches = batches | "OncePerStory" >> OncePerStory(shards=1)
        written = batches | "Write" >> WriteOutputs(self.options, self.run_id)
        if self.streaming:
            return written
        # Once everything is written (Count.Globally gives its one count even when no story
        # came: every article dropped), the feeds whose new items are all filed or dropped
        # answer "not modified" next time: their validators take effect.
        return (written | "Written" >> beam.combiners.Count.Globally()
                | "CommitFiledFeeds" >> beam.ParDo(_CommitFiledFeedsFn(self.store)))

