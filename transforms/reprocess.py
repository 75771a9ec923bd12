"""`RefileCapturedFn`: `newsbeam reprocess`'s work on a worker. Each element is a chunk of
stored articles, each with where its page's latest capture is (a file and the offset of its
record); the worker reads those records, extracts them again with today's extraction (the sites'
furniture taken out as a live run does), and files again in its story each article whose record
comes out otherwise (no revision: newer extraction is no edit of its publisher's); whether it is
still its story's variant is judged once all are refiled (pipeline.reprocess). What it did is
counted in the store under the reprocess's run."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, NamedTuple

import apache_beam as beam

from newsbeam.extraction.page import NotAnArticle, extract_article
from newsbeam.extraction.settings import ExtractSettings
from newsbeam.extraction.site_furniture import strip_site_furniture
from newsbeam.matching.encoders import load_encoder, meaning_similarity
from newsbeam.matching.features import Fingerprinter
from newsbeam.matching.settings import MatchSettings
from newsbeam.matching.story_index import StoryIndex
from newsbeam.outputs.captures import on_object_storage
from newsbeam.schemas import Article, FeedEntry, FetchedPage, parse_time, utc_now
from newsbeam.sources.warc import ArchivedPage, read_warc
from newsbeam.state.store import open_store
from newsbeam.transforms.object_storage import BeamStorage

# What a reader sees of an article: the fields compared, old record against new.
COMPARED = ("title", "kicker", "text", "authors", "credits", "language", "published", "published_date_only",
            "site_name", "canonical_url", "extractor")
# Counted per field changed, under this prefix, in the reprocess's run counts.
CHANGED = "changed:"
NO_LONGER_EXTRACTS = "no longer extracts"


class Capture(NamedTuple):
    """Where a page's latest capture is: its file (a path, or a URL on object storage) and the
    offset of its record there."""

    path: str
    offset: int
    captured: str | None


class RefileCapturedFn(beam.DoFn):
    def __init__(self, store_url: str, run_id: str, extraction: ExtractSettings, matching: MatchSettings,
                 dry_run: bool, beam_args: tuple[str, ...]):
        self.store_url, self.run_id, self.dry_run, self.beam_args = store_url, run_id, dry_run, beam_args
        self.extraction, self.matching = extraction, matching

    def setup(self) -> None:
        self.store = open_store(self.store_url, migrate=False)
        encoder = load_encoder(self.matching.encoder)
        self.similarity = meaning_similarity(encoder)
        self.fingerprinter = Fingerprinter(encoder)
        self.index = StoryIndex(self.store, self.fingerprinter, self.run_id, self.matching, edits=False)
        self.storage = BeamStorage(self.beam_args)

    def teardown(self) -> None:
        self.index.vectors.save()
        self.store.close()

    def process(self, chunk: list[tuple[Article, Capture]]) -> Iterator[Any]:
        changed_from: list[Article] = []
        changed: list[Article] = []
        counts: dict[str, int] = {"captured_pages_read": len(chunk)}
        read = [(old, self._extracted(old, self._page(capture))) for old, capture in chunk]
        # what the sites repeat leaves the bodies as in a live run (the store's memory of them)
        stripped = iter(strip_site_furniture([new for _, new in read if new is not None], self.store.site_lines,
                                             utc_now(), self.extraction))
        for old, new in read:
            if new is None:
                counts[CHANGED + NO_LONGER_EXTRACTS] = counts.get(CHANGED + NO_LONGER_EXTRACTS, 0) + 1
                continue
            new = next(stripped)
            differ = [name for name in COMPARED if getattr(old, name) != getattr(new, name)]
            for name in differ:
                counts[CHANGED + name] = counts.get(CHANGED + name, 0) + 1
            if differ:
                changed_from.append(old)
                changed.append(new)
        counts["articles_changed"] = len(changed)
        if changed and not self.dry_run:
            # one whose headline or text changed is judged again once all are refiled: noted
            # before it is refiled, so a kill between the two loses no judgment
            self.store.stories.to_judge([new.url for old, new in zip(changed_from, changed, strict=True)
                                         if (old.title, old.text) != (new.title, new.text)])
            prints = self.fingerprinter.many([(a.title, a.text) for a in changed], [a.language for a in changed])
            self.index.assign_many(changed, prints)
        self.store.runs.add_counts(self.run_id, counts)
        yield len(changed)

    def _page(self, capture: Capture) -> ArchivedPage | None:
        opened = self.storage.open(capture.path) if on_object_storage(capture.path) else open(capture.path, "rb")
        with opened as stream:
            item = next(read_warc(stream, capture.offset), None)
        return item if isinstance(item, ArchivedPage) else None

    def _extracted(self, old: Article, page: ArchivedPage | None) -> Article | None:
        """The stored article's page read again, with what its feed told of it then (as a live
        run read it: the capture's time picks the publisher parser's version, and dates nothing)."""
        if page is None:
            return None
        # a time the record has to the second may have come from the feed; a date alone came from the
        # page, which gives it again (as a feed's time it would read as a time of day)
        feed_time = None if old.published_date_only else old.published
        entry = FeedEntry(url=old.url, link=page.url, feed_url=old.feed_url, feed_name=None, title=old.title,
                          summary="", published=feed_time, updated=old.entry_updated, language=old.language)
        try:
            new = extract_article(FetchedPage(entry=entry, url=old.url, html=page.html, content_type=page.content_type),
                                  self.similarity, self.extraction,
                                  fetched=parse_time(page.captured) if page.captured else None)
        except NotAnArticle:
            return None
        return dataclasses.replace(new, tags=old.tags, entry_updated=old.entry_updated, etag=old.etag,
                                   last_modified=old.last_modified)
