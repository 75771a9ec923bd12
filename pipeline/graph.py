"""The ingestion graph and one bounded run of it.

    feeds -> ReadFeeds -> (new entries + due retries) -> ReadArticles -> AssignStories -> WriteStories
                 \\______________ dead letters ______________/                 (+ stories a crashed run left unwritten)
                                        -> WriteDeadLetters
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import http.server
import json
import logging
import os
import pathlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline import settings
from pipeline.config import ConfigError, bind_served_urls, load_feeds
from pipeline.store import open_store, utc_now
from schemas import FeedEntry, FeedSource
from transforms.articles import ReadArticles, entry_from_payload
from transforms.feeds import ReadFeeds
from transforms.http import FetchOptions, host_of
from transforms.sinks import WriteDeadLetters, WriteStories
from transforms.stories import AssignStories

log = logging.getLogger("newsbeam")


@dataclasses.dataclass(frozen=True)
class RunOptions:
    feeds_path: str
    output_dir: str
    store_url: str | None = None  # default: a SQLite file under output_dir
    fetch: FetchOptions = FetchOptions()
    encoder: str = settings.ENCODER
    window_days: float = settings.STORY_WINDOW_DAYS
    sinks: tuple[str, ...] = ("jsonl",)
    beam_args: tuple[str, ...] = ()

    @property
    def store(self) -> str:
        return self.store_url or f"sqlite:///{os.path.abspath(os.path.join(self.output_dir, 'state.db'))}"


class Ingest(beam.PTransform):
    """The whole per-run data flow, from feed subscriptions to written stories."""

    def __init__(self, feeds: tuple[FeedSource, ...], retries: list[FeedEntry], pending: list[str],
                 options: RunOptions, run_id: str, streaming: bool = False):
        super().__init__()
        self.feeds, self.retries, self.pending = feeds, retries, pending
        self.options, self.run_id, self.streaming = options, run_id, streaming

    def expand(self, pipeline):
        o = self.options
        entries, feed_dead_letters = (
            pipeline | "Feeds" >> beam.Create(self.feeds)
            | "ReadFeeds" >> ReadFeeds(o.store, o.fetch))
        retries = pipeline | "DueRetries" >> beam.Create(self.retries)
        entries = (entries, retries) | "AllEntries" >> beam.Flatten()
        if not self.streaming:
            # A few feeds fan out to many entries: spread them over the workers.
            entries = entries | "Spread" >> beam.Reshuffle()
        articles, page_dead_letters = entries | "ReadArticles" >> ReadArticles(o.fetch)
        story_ids = articles | "AssignStories" >> AssignStories(o.store, o.encoder, self.run_id, o.window_days)
        unwritten = pipeline | "UnwrittenStories" >> beam.Create(self.pending)
        (
            (story_ids, unwritten) | "StoriesToWrite" >> beam.Flatten()
            | "WriteStories" >> WriteStories(o.store, o.output_dir, self.run_id, o.sinks, self.streaming)
        )
        (
            (feed_dead_letters, page_dead_letters) | "AllDeadLetters" >> beam.Flatten()
            | "WriteDeadLetters" >> WriteDeadLetters(o.store, o.output_dir, self.run_id)
        )


def run_once(options: RunOptions) -> dict[str, Any]:
    """One bounded ingestion pass. Returns the run's summary (also printed and saved)."""
    config = load_feeds(options.feeds_path)
    os.makedirs(options.output_dir, exist_ok=True)
    store = open_store(options.store)
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    started, clock = utc_now(), time.monotonic()
    store.start_run(run_id)
    retries = [entry_from_payload(letter.payload)
               for stage in ("page_fetch", "extract")
               for letter in store.due_dead_letters(stage) if letter.payload]
    pending = store.pending_stories()

    with _serve_folder(config.serve_dir, config.serve_port) as base_url:
        feeds, run_options = config.feeds, options
        if base_url:  # the served folder is on loopback: the run must be allowed to reach it
            feeds = bind_served_urls(config.feeds, base_url)
            run_options = dataclasses.replace(options, fetch=dataclasses.replace(
                options.fetch, allow_private_network=True, unthrottled_hosts=(host_of(base_url),)))
        beam_options = PipelineOptions(list(options.beam_args))
        beam_options.view_as(StandardOptions).streaming = False
        pipeline = beam.Pipeline(options=beam_options)
        _ = pipeline | "Ingest" >> Ingest(feeds, retries, list(pending), run_options, run_id)
        result = pipeline.run()
        result.wait_until_finish()

    # The output is written: only now may the feeds' new validators and the stories' "written"
    # marks take effect, so a run that dies earlier is simply repeated by the next one.
    store.commit_feed_validators()
    store.mark_written(run_id, pending)
    summary = {
        "run_id": run_id,
        "started": started,
        "finished": utc_now(),
        "seconds": round(time.monotonic() - clock, 2),
        "feeds": len(config.feeds),
        "retries_due": len(retries),
        **_counters(result),
        "output": os.path.abspath(options.output_dir),
    }
    store.finish_run(run_id, summary)
    store.close()
    with open(os.path.join(options.output_dir, f"summary-{run_id}.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    return summary


COUNTERS = ("feeds_fetched", "feeds_not_modified", "feeds_not_due", "feeds_failed", "entries_seen", "articles_new",
            "pages_fetched", "pages_failed", "articles_extracted", "articles_from_feed", "articles_failed",
            "stories_new", "stories_updated", "dead_letters")


def _counters(result: Any) -> dict[str, int]:
    values = dict.fromkeys(COUNTERS, 0)
    for counter in result.metrics().query(MetricsFilter().with_namespace("newsbeam"))["counters"]:
        committed = counter.committed if counter.committed is not None else counter.attempted
        values[counter.key.metric.name] = values.get(counter.key.metric.name, 0) + (committed or 0)
    return values


def format_summary(summary: dict[str, Any]) -> str:
    s = summary
    return "\n".join([
        f"newsbeam run {s['run_id']} finished in {s['seconds']}s",
        f"  feeds     {s['feeds']} listed: {s['feeds_fetched']} fetched, {s['feeds_not_modified']} not modified, "
        f"{s['feeds_not_due']} not due, {s['feeds_failed']} failed",
        f"  entries   {s['entries_seen']} seen, {s['articles_new']} new, {s['retries_due']} retried",
        f"  articles  {s['pages_fetched']} fetched, {s['articles_extracted']} extracted, "
        f"{s['articles_from_feed']} from feed text, {s['pages_failed'] + s['articles_failed']} failed",
        f"  stories   {s['stories_new']} new, {s['stories_updated']} updated",
        f"  dead letters {s['dead_letters']}" + (f" (see {s['output']}/dead_letters/)" if s["dead_letters"] else ""),
    ])


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _serve_folder(folder: pathlib.Path | None, port: int) -> Iterator[str | None]:
    """Serve the feeds file's `serve` folder on 127.0.0.1 for the length of the run. The port
    is fixed (not random) because article URLs, and so the store's memory of them, include it."""
    if folder is None:
        yield None
        return
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise ConfigError(f"cannot serve {folder} on 127.0.0.1:{port}: {exc.strerror} "
                          "(set serve_port in the feeds file)") from None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
