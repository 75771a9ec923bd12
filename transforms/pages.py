"""Stage FetchPages: Batches of feed entries -> Batches of fetched pages, handed on in chunks
as pages arrive while the rest are still being fetched. Fetched as a polite crawler would
(fetching.pages: robots.txt, per-host pace, redirects judged hop by hop); a page that fails is
still passed on (without HTML, for the feed's text to stand in) with a dead letter beside it.
Entries whose feed carries the whole article need no page."""

from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Iterator

from newsbeam.fetching.client import FetchError, Response
from newsbeam.fetching.pages import PageFetcher
from newsbeam.fetching.politeness import PoliteScheduler
from newsbeam.schemas import Batch, DeadLetter, FeedEntry, FetchedPage, host_of, utc_now
from newsbeam.sources.feeds import entry_payload
from newsbeam.transforms.options import RunOptions
from newsbeam.transforms.stage import StageFn, host_ledger, take_shared_slot

# Pages are handed on to extraction in chunks of this many as they arrive; a chunk is also the
# unit the encoder embeds at once.
PAGE_CHUNK = 16


class FetchPagesFn(StageFn):
    stage = "FetchPages"

    def __init__(self, options: RunOptions):
        super().__init__(options.store)
        self.options = options
        self.feeds = {feed.url: feed for feed in options.feeds}

    def setup(self) -> None:
        super().setup()
        self.captures = self.options.capture_writer()
        self.http = self.options.http_client(self.captures)
        self.ledger = host_ledger()
        # With several workers, a host's pages may be asked for by more than the one that reads
        # its feeds (other sites' feeds link to it): each request then takes a slot every
        # worker shares.
        shared_slot = functools.partial(take_shared_slot, self.store, self.ledger)
        self.pages = PageFetcher(self.http, self.ledger, pace_host=shared_slot,
                                 pace_every_request=self.options.shards > 1)
        self.scheduler: PoliteScheduler[FeedEntry] = PoliteScheduler(
            self._fetch, lambda entry: host_of(entry.url), self.ledger,
            self.http.settings, crawl_delay=self.pages.crawl_delay)

    def _fetch(self, entry: FeedEntry) -> Response:
        """Runs on a fetch thread: the page, with its feed's own headers where the feed has them."""
        feed = self.feeds.get(entry.feed_url)
        return self.pages.fetch(entry.url, feed.headers_for(entry.url) if feed else None, entry.recheck)

    def teardown(self) -> None:
        self.scheduler.close()
        self.http.close()
        if self.captures is not None:
            self.captures.close()
        super().teardown()

    def run(self, batch: Batch) -> Iterator[Batch]:
        # what earlier steps put in, passed on once (with the first chunk); how far an archive is
        # read, with the last: it is recorded when every page before it is filed
        carried = dataclasses.replace(batch, entries=(), pages=(), archive_progress=())
        # pages fetched already (from an archive), and entries whose feed carries the article
        pages = [*batch.pages,
                 *(FetchedPage(entry=e, url=e.url, html=None, content_type=None) for e in batch.entries if e.full_text)]
        letters: list[DeadLetter] = []
        counts: collections.Counter = collections.Counter()
        for entry, outcome in self.scheduler.run(e for e in batch.entries if not e.full_text):
            if entry.recheck is not None and (isinstance(outcome, BaseException) or outcome.status == 304):
                # looked at again: unchanged (a 304), or unreadable now: no failure of the
                # article's, which stays as filed; looked at again later, less often. A look
                # never asked for (the pass stopping, its host's budget spent) stays due.
                if isinstance(outcome, FetchError) and outcome.deferred:
                    counts["rechecks_deferred"] += 1
                    continue
                counts["rechecks_not_modified" if not isinstance(outcome, BaseException) else "rechecks_failed"] += 1
                self.store.stories.checked(entry.url, utc_now())
                continue
            if isinstance(outcome, BaseException):
                error = outcome if isinstance(outcome, FetchError) else FetchError(
                    f"internal error: {type(outcome).__name__}: {outcome}")
                counts["pages_refused" if error.final else "pages_deferred" if error.deferred else "pages_failed"] += 1
                letters.append(DeadLetter(
                    url=entry.url, stage="page_fetch", reason=error.reason, status=error.status,
                    at=utc_now(), payload=entry_payload(entry), retry_after=error.not_before, final=error.final,
                    # never asked for: due again at the next pass, not after a failure's backoff
                    next_due=utc_now() if error.deferred else None))
                pages.append(FetchedPage(entry=entry, url=entry.url, html=None, content_type=None))
            else:
                counts["pages_rechecked" if entry.recheck is not None else "pages_fetched"] += 1
                pages.append(FetchedPage(entry=entry, url=outcome.url, html=outcome.body,
                                         content_type=outcome.content_type, etag=outcome.headers.get("etag"),
                                         last_modified=outcome.headers.get("last-modified")))
            if len(pages) >= PAGE_CHUNK:
                yield carried.add(counts, pages=tuple(pages), dead_letters=carried.dead_letters + tuple(letters))
                carried, pages, letters, counts = Batch(), [], [], collections.Counter()
        if pages or letters or carried != Batch() or batch.archive_progress:
            yield carried.add(counts, pages=tuple(pages), dead_letters=carried.dead_letters + tuple(letters),
                              archive_progress=batch.archive_progress)
