"""Stage ExtractArticles: Batches of fetched pages -> Batches of articles (extraction.page). A
page that will not extract gets a dead letter; the feed's own text stands in for a failed page
when the feed carried some. The sentence encoder (the one story assignment uses, shared in the
process) judges whether a body's first lines restate the headline."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterator

from newsbeam.extraction.page import NotAnArticle, article_from_feed, extract_article
from newsbeam.extraction.site_furniture import MemorySites, SiteMemory, strip_site_furniture
from newsbeam.matching.encoders import meaning_similarity
from newsbeam.schemas import Batch, DeadLetter, utc_now
from newsbeam.sources.feeds import entry_payload
from newsbeam.state.store import Store, open_store
from newsbeam.transforms.options import RunOptions
from newsbeam.transforms.stage import SharedEncoder, StageFn


class ExtractArticlesFn(StageFn):
    stage = "ExtractArticles"

    def __init__(self, options: RunOptions):
        super().__init__()
        # the store, opened when first needed: the sites' memory of what they repeat on their
        # pages, and where a page looked at again that reads no more is rescheduled; a user's
        # pipeline without a store keeps the sites' memory in the worker's
        self.store_url, self._store = options.kept_store, None
        self.sites: SiteMemory | None = None
        self.encoder_name, self.encoder_threads = options.encoder, options.encoder_threads
        self.settings = options.extraction

    def _opened_store(self) -> Store:
        if self._store is None:
            assert self.store_url is not None
            self._store = open_store(self.store_url, migrate=False)
        return self._store

    def _sites(self) -> SiteMemory:
        if self.sites is None:
            self.sites = self._opened_store().site_lines if self.store_url else MemorySites()
        return self.sites

    def teardown(self) -> None:
        if self._store is not None:
            self._store.close()
        super().teardown()

    def setup(self) -> None:
        super().setup()
        self.similarity = meaning_similarity(SharedEncoder(self.encoder_name, self.encoder_threads))

    def run(self, batch: Batch) -> Iterator[Batch]:
        articles, letters, counts = [], [], collections.Counter()
        for page in batch.pages:
            article = None
            if page.html is not None:
                try:
                    article = extract_article(page, self.similarity, self.settings)
                except NotAnArticle as exc:
                    reason = str(exc)
                except Exception as exc:  # a page that breaks the extractor must not break the run
                    reason = f"extraction failed: {type(exc).__name__}: {exc}"
                else:
                    if page.entry.languages and article.language not in page.entry.languages:
                        counts["articles_other_language"] += 1  # an archive's filter
                        continue
                    counts["articles_rechecked" if page.entry.recheck is not None else "articles_extracted"] += 1
                    # the page's validators: it is looked at again with them
                    articles.append(dataclasses.replace(article, etag=page.etag, last_modified=page.last_modified))
                    continue
                if page.entry.recheck is not None:  # a page filed before that reads no more: it stays as filed
                    counts["rechecks_not_extracted"] += 1
                    if self.store_url:
                        self._opened_store().stories.checked(page.entry.url, utc_now())
                    continue
                # An archived page is never fetched live: its retry would be (the archive's
                # copy does not change), so its failure is final.
                archived = page.entry.captured is not None
                counts["pages_not_extracted"] += 1
                letters.append(DeadLetter(url=page.entry.url, stage="extract", at=utc_now(),
                                          reason=reason + (" (an archived page: not fetched live)" if archived else ""),
                                          payload=entry_payload(page.entry), final=archived))
            article = article_from_feed(page.entry, self.similarity, self.settings)
            if article is None:
                counts["articles_failed"] += 1
                continue
            counts["articles_from_feed"] += 1
            articles.append(article)
        if any(article.body_source != "feed" for article in articles):
            articles = strip_site_furniture(articles, self._sites(), utc_now(), self.settings)
        yield batch.add(counts, pages=(), articles=tuple(articles), dead_letters=batch.dead_letters + tuple(letters))
