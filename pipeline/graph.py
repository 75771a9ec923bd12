"""The ingestion graph.

    BoundedPass:   Create(shards) -> Ingest -> OncePerStory -> WriteOutputs
    StreamingRun:  PeriodicImpulse -> shards at each tick -> Ingest -> WriteOutputs

    Ingest:        ReadFeeds -> ArticleWork (one ParDo: ReadArchives -> FetchPages -> ExtractArticles
                                                          -> AssignStories; transforms/article_work.py)

Every element is a `Batch` (schemas): each stage turns one kind of record into the next and
carries the dead letters and counts of the stages before it, so the graph is one chain with
one leaf, no tagged outputs, no side inputs, nothing emitted from `finish_bundle`, and no
reliance on Beam metrics: what every runner runs the same way. Work is spread over the workers
by the shards the graph starts from (one per worker; all feeds of a host in one shard, so one
worker paces each host), not by a shuffle.

The per-article path has no GroupByKey and no timers, so it runs unbounded on any runner;
only a bounded pass groups its records by story before writing, so each story is written once
with its final variants.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from newsbeam.schemas import ArchiveFile, FeedSource, Shard, host_of
from newsbeam.transforms.article_work import ArticleWork
from newsbeam.transforms.feeds import ReadFeeds
from newsbeam.transforms.options import RunOptions
from newsbeam.transforms.sinks import OncePerStory, WriteOutputs
from newsbeam.transforms.stage import StageFn


def make_shards(feeds: tuple[FeedSource, ...], count: int, rewrite_pending: bool = True,
                archives: tuple[ArchiveFile, ...] = ()) -> list[Shard]:
    """`count` shards with the feeds of each host together (so one worker paces a host), the
    busiest hosts spread first, and WARC files spread by size, the largest first (each file
    read whole by one worker). The first also rewrites the stories a crashed run left unwritten."""
    by_host: dict[str, list[FeedSource]] = collections.defaultdict(list)
    for feed in feeds:
        by_host[host_of(feed.url)].append(feed)
    loads: list[list[FeedSource]] = [[] for _ in range(count)]
    owners: dict[str, int] = {}
    for host, host_feeds in sorted(by_host.items(), key=lambda item: (-len(item[1]), item[0])):
        owners[host] = min(range(count), key=lambda i: len(loads[i]))
        loads[owners[host]].extend(host_feeds)
    host_shards = tuple(sorted(owners.items()))
    files: list[list[ArchiveFile]] = [[] for _ in range(count)]
    for archive in sorted(archives, key=lambda a: (-a.size, a.url)):
        min(files, key=lambda share: sum(a.size for a in share)).append(archive)
    return [Shard(index=i, count=count, feeds=tuple(share), host_shards=host_shards,
                  rewrite_pending=rewrite_pending and i == 0, archives=tuple(files[i]))
            for i, share in enumerate(loads)]


class RunTransform(beam.PTransform):
    """A part of the graph made for one run: its options and its id."""

    def __init__(self, options: RunOptions, run_id: str):
        super().__init__()
        self.options, self.run_id = options, run_id


class Ingest(RunTransform):
    """Shards -> Batches of the story records they created or changed, with the dead letters
    and counts of every stage."""

    def expand(self, shards: beam.PCollection) -> beam.PCollection:
        o = self.options
        return (shards
                | "ReadFeeds" >> ReadFeeds(o)
                | "ArticleWork" >> ArticleWork(o, self.run_id))


class BoundedPass(RunTransform):
    """One pass over the feeds and the unread WARC files: every story written once, with its
    final set of variants."""

    def __init__(self, options: RunOptions, run_id: str, archives: tuple[ArchiveFile, ...] = ()):
        super().__init__(options, run_id)
        self.archives = archives

    def expand(self, pipeline: beam.Pipeline) -> beam.PCollection:
        o = self.options
        return (pipeline
                | "Shards" >> beam.Create(make_shards(o.feeds, o.shards, archives=self.archives))
                | "Ingest" >> Ingest(o, self.run_id)
                | "OncePerStory" >> OncePerStory(o.shards)
                | "WriteOutputs" >> WriteOutputs(o, self.run_id))


class StreamingRun(RunTransform):
    """Poll the feeds every interval (PeriodicImpulse) and write each change as it is made."""

    def expand(self, pipeline: beam.Pipeline) -> beam.PCollection:
        from apache_beam.transforms.periodicsequence import PeriodicImpulse

        o = self.options
        start = time.time()
        stop = {"stop_timestamp": start + o.stop_after_s} if o.stop_after_s else {}
        return (pipeline
                | "Poll" >> PeriodicImpulse(start_timestamp=start, fire_interval=o.poll_interval_s, **stop)
                | "CommitFiledFeeds" >> beam.ParDo(CommitFiledFeedsFn(o.store))
                | "Shards" >> beam.FlatMap(lambda tick: make_shards(o.feeds, o.shards, rewrite_pending=tick == start))
                | "Ingest" >> Ingest(o, self.run_id)
                | "WriteOutputs" >> WriteOutputs(o, self.run_id))


class CommitFiledFeedsFn(StageFn):
    """At each poll, the validators of the feeds whose entries from earlier polls are all
    filed take effect (a feed with entries still in flight is fetched again after a crash)."""

    def process(self, tick: Any) -> Iterator[Any]:
        self.store.feeds.commit_validators(filed_only=True)
        yield tick
