"""Stage ReadFeeds: Shards -> Batches of new feed entries (one per shard). Each feed of the
shard that is due is fetched (concurrently, polite per host, with conditional GET) and parsed;
entries the store already knows are left out; the shard's page retries that are due join
them. A feed that fails is a dead letter in the batch, and backed off."""

from __future__ import annotations

import collections
import datetime as dt
import os
import socket
from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from fetching import settings as fetching
from fetching.client import FetchError, Response, read_local_file
from fetching.politeness import PoliteScheduler
from schemas import Batch, DeadLetter, FeedEntry, FeedSource, Shard, host_of, utc_now
from sources.feeds import (
    ParsedFeed,
    entry_from_payload,
    feed_body_hash,
    max_age_due,
    parse_feed,
    unique_entries,
)
from state.database import database_errors
from transforms.options import RunOptions
from transforms.stage import StageFn, host_ledger

ACCEPT_FEEDS = ("application/rss+xml, application/atom+xml, application/feed+json, "
                "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
NOT_A_FEED_TYPES = ("image/", "audio/", "video/", "application/pdf", "application/zip")

FeedDue = tuple[FeedSource, dict[str, Any]]  # a feed and what the store knows of it


class ReadFeedsFn(StageFn):
    stage = "ReadFeeds"

    def __init__(self, options: RunOptions):
        super().__init__(options.store)
        self.options = options

    def setup(self) -> None:
        super().setup()
        self.http = self.options.http_client()
        self.ledger = host_ledger()
        self.scheduler: PoliteScheduler[FeedDue] = PoliteScheduler(
            self._fetch, lambda due: host_of(due[0].url), self.ledger, self.options.politeness())

    def teardown(self) -> None:
        self.scheduler.close()
        self.http.close()
        super().teardown()

    def run(self, shard: Shard) -> Iterator[Batch]:
        now, due, counts = utc_now(), [], collections.Counter()
        for source in shard.feeds:
            state = self.store.feeds.state(source.url)
            if state["next_due"] and state["next_due"] > now:
                counts["feeds_not_due"] += 1
            else:
                due.append((source, state))
        entries: list[FeedEntry] = []
        letters: list[DeadLetter] = []
        for (source, state), outcome in self.scheduler.run(due):
            if isinstance(outcome, BaseException):
                counts["feeds_failed"] += 1
                error = outcome if isinstance(outcome, FetchError) else FetchError(
                    f"internal error: {type(outcome).__name__}: {outcome}")
                next_due = self.store.feeds.failed(source.url, error.not_before, error.status, error.reason)
                letters.append(DeadLetter(
                    url=source.url, stage="feed_fetch", reason=error.reason, status=error.status,
                    at=utc_now(), retry_after=error.not_before, next_due=next_due))
            else:
                try:
                    self._read_feed(source, state, outcome, entries, letters, counts)
                except database_errors():
                    raise  # the store failed: the run cannot go on
                except Exception as exc:  # one bad feed must never stop the pass
                    counts["feeds_failed"] += 1
                    letters.append(DeadLetter(url=source.url, stage="feed_parse", at=utc_now(),
                                              reason=f"feed could not be read: {type(exc).__name__}: {exc}"[:500]))
        retries = [entry_from_payload(letter.payload) for stage in ("page_fetch", "extract")
                   for letter in self.store.dead_letters.due(stage) if letter.payload and shard.owns(letter.url)]
        counts["retries_due"] += len(retries)
        counts[f"worker {socket.gethostname()}:{os.getpid()}"] += 1  # which workers did the work
        yield Batch(entries=tuple(entries + retries), dead_letters=tuple(letters), counts=tuple(counts.items()),
                    rewrite=tuple(self.store.stories.pending()) if shard.rewrite_pending else ())

    def _fetch(self, due: FeedDue) -> Response:
        """Runs on a fetch thread."""
        source, state = due
        if source.url.startswith("file:"):
            return read_local_file(source.url, fetching.MAX_FEED_BYTES)
        headers = {"Accept": ACCEPT_FEEDS}
        if state["etag"]:
            headers["If-None-Match"] = state["etag"]
        if state["last_modified"]:
            headers["If-Modified-Since"] = state["last_modified"]
        response = self.http.get(source.url, max_bytes=fetching.MAX_FEED_BYTES, headers=headers)
        if response.status != 304:
            if not response.body.strip():
                raise FetchError("empty response", response.status)
            if response.content_type and response.content_type.startswith(NOT_A_FEED_TYPES):
                raise FetchError(f"not a feed (Content-Type {response.content_type})", response.status)
        return response

    def _read_feed(self, source: FeedSource, state: dict[str, Any], response: Response, entries: list[FeedEntry],
                   letters: list[DeadLetter], counts: collections.Counter) -> None:
        """A fetched feed: its validators staged, its new entries added to `entries`."""
        feeds = self.store.feeds
        feeds.fetched(source.url, max_age_due(response.headers, utc_now()), response.status)
        self.store.dead_letters.resolve(source.url, ("feed_fetch",))
        digest = feed_body_hash(response.body) if response.status != 304 else None
        if digest is None or digest == state["body_hash"]:
            counts["feeds_not_modified"] += 1  # a 304, or unchanged although the server did not say so
            return
        counts["feeds_fetched"] += 1
        feeds.stage_validators(source.url, response.headers.get("etag"), response.headers.get("last-modified"), digest)
        try:
            parsed = parse_feed(response.body, response.url, response.content_type, source)
        except Exception as exc:  # feedparser is robust, but a dead letter beats a failed run
            parsed = ParsedFeed([], f"feed parser failed: {type(exc).__name__}: {exc}", None, None)
        feeds.titled(source.url, parsed.title)
        if parsed.interval_s:
            until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=parsed.interval_s)
            feeds.defer(source.url, until.isoformat(timespec="seconds"))
        if parsed.problem:
            counts["feeds_failed"] += 1
            feeds.unreadable(source.url, parsed.problem)
            feeds.stage_entries(source.url, [])  # nothing in flight to wait for
            letters.append(DeadLetter(url=source.url, stage="feed_parse", reason=parsed.problem, at=utc_now()))
            return
        self.store.dead_letters.resolve(source.url, ("feed_parse",))
        unique, dropped = unique_entries(parsed.entries)
        counts["entries_dropped"] += dropped
        counts["entries_seen"] += len(unique)
        known = self.store.stories.known_articles(entry.url for entry in unique)
        new = [entry for entry in unique
               if entry.url not in known or (entry.updated is not None and entry.updated != known[entry.url])]
        counts["articles_new"] += len(new)
        feeds.stage_entries(source.url, [entry.url for entry in new])
        entries.extend(new)


class ReadFeeds(beam.PTransform):
    """Shards -> Batches of new FeedEntry (one per shard), with the dead letters of the feeds."""

    def __init__(self, options: RunOptions):
        super().__init__()
        self.fn = ReadFeedsFn(options)

    def expand(self, shards: beam.PCollection) -> beam.PCollection:
        return shards | "FetchAndParse" >> beam.ParDo(self.fn)
