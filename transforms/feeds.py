"""Stage ReadFeeds: Shards -> Batches of new feed entries (one per shard), read by the
Beam-free FeedReader (sources.reader); the entries a streaming run has in flight are held back
until they are filed."""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import apache_beam as beam

from newsbeam.schemas import Batch, FeedEntry, Shard
from newsbeam.sources.books import StoreFeedBook
from newsbeam.sources.reader import FeedReader
from newsbeam.transforms.options import RunOptions
from newsbeam.transforms.stage import StageFn, host_ledger, preload_article_work, take_shared_slot

# An entry handed on and not filed after this long is handed on again (it should have become an
# article or a dead letter long before: the host budget of a pass is 900 s by default).
IN_FLIGHT_S = 3600


class EntriesInFlight:
    """The entries a worker handed on in this run and not yet filed. A streaming run polls a
    feed again before its new entries are filed (the feed's validators take effect only then,
    so the feed reads as changed) and would hand them, and their pages, on twice. Every entry
    handed on ends as an article or a dead letter (retried on its own schedule), so holding it
    back loses nothing; a new run (after a crash too) starts with none in flight. A page's retry
    is never held back: its dead letter counts as filed."""

    # One memory per run and worker process: a runner may read the next poll in another instance
    # of the stage (a new bundle while the last one's pages are still in flight).
    _of_run: dict[str, EntriesInFlight] = {}
    _registry_lock = threading.Lock()
    RUNS_KEPT = 8

    def __init__(self) -> None:
        self._since: dict[str, float] = {}
        self._lock = threading.Lock()

    @classmethod
    def of_run(cls, run_key: str) -> EntriesInFlight:
        with cls._registry_lock:
            if run_key not in cls._of_run:
                while len(cls._of_run) >= cls.RUNS_KEPT:  # a long-lived process: the oldest runs go
                    cls._of_run.pop(next(iter(cls._of_run)))
                cls._of_run[run_key] = cls()
            return cls._of_run[run_key]

    def hand_on(self, entries: list[FeedEntry],
                filed: Callable[[list[str]], Mapping[str, Any]]) -> tuple[list[FeedEntry], int]:
        """The entries not in flight, now in flight, and how many were held back. `filed`:
        which of some URLs are filed now (the store's `known_articles`)."""
        with self._lock:
            now = time.monotonic()
            done = filed(list(self._since))
            self._since = {url: at for url, at in self._since.items() if url not in done and now - at < IN_FLIGHT_S}
            fresh = [entry for entry in entries if entry.url not in self._since]
            self._since.update((entry.url, now) for entry in fresh)
            return fresh, len(entries) - len(fresh)


class ReadFeedsFn(StageFn):
    stage = "ReadFeeds"

    def __init__(self, options: RunOptions):
        super().__init__(options.store)
        self.options = options
        # made once, where the pipeline is built: every instance of the stage in this run shares it
        self.run_key = uuid.uuid4().hex

    def setup(self) -> None:
        super().setup()
        options = self.options
        self.captures = options.capture_writer()
        self.http = options.http_client(self.captures)
        ledger = host_ledger()
        self.reader = FeedReader(
            StoreFeedBook(self.store), self.http, ledger, options.feeds, options.matching.window_days, options.reading,
            options.rules,
            # other workers may be asking a host for pages: a shard shares its hosts' pace
            pace_host=functools.partial(take_shared_slot, self.store, ledger) if options.shards > 1 else None,
            on_new_entries=lambda: preload_article_work(options.encoder, options.encoder_threads))
        self.in_flight = EntriesInFlight.of_run(self.run_key)

    def teardown(self) -> None:
        self.reader.close()
        self.http.close()
        if self.captures is not None:
            self.captures.close()
        super().teardown()

    def run(self, shard: Shard) -> Iterator[Batch]:
        read = self.reader.read(shard.feeds, shard.owns)
        counts = read.counts
        handed_on, held_back = self.in_flight.hand_on(read.entries, self.store.stories.known_articles)
        if held_back:  # read again before they were filed: in flight, not new
            counts["entries_in_flight"] += held_back
            counts["articles_new"] -= held_back
        counts[f"worker {socket.gethostname()}:{os.getpid()}"] += 1  # which workers did the work
        yield Batch(entries=tuple(handed_on), dead_letters=tuple(read.dead_letters), counts=tuple(counts.items()),
                    rewrite=tuple(self.store.stories.pending()) if shard.rewrite_pending else (),
                    archives=shard.archives)


class ReadFeeds(beam.PTransform):
    """Shards -> Batches of new FeedEntry (one per shard), with the dead letters of the feeds."""

    def __init__(self, options: RunOptions):
        super().__init__()
        self.fn = ReadFeedsFn(options)

    def expand(self, shards: beam.PCollection) -> beam.PCollection:
        return shards | "FetchAndParse" >> beam.ParDo(self.fn)
