"""The ingestion graph (`Ingest`) and the ways to run it: one bounded pass (`run_once`),
passes on a schedule (`run_every`), and an unbounded run (`run_streaming`).

    tick -> feeds -> ReadFeeds -> new entries ----+-> ReadArticles -> AssignStories -> WriteStories
         -> DueRetries -> entries to retry -------+        (+ stories a crashed run left unwritten)
                 each step's failures -> WriteDeadLetters

A bounded pass has one tick; an unbounded run gets one per poll interval from PeriodicImpulse.
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
import random
import signal
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
from schemas import FeedSource
from transforms.articles import DueRetriesFn, ReadArticles
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
    """The whole data flow, from ticks (one per pass over the feeds) to written stories.

    Bounded: one tick, and the stories a crashed run left unwritten. Streaming: a tick every
    poll interval from PeriodicImpulse; the per-article path has no GroupByKey and no timers,
    so it runs unbounded on any runner.
    """

    def __init__(self, feeds: tuple[FeedSource, ...], options: RunOptions, run_id: str,
                 pending: list[str] = (), streaming: bool = False):
        super().__init__()
        self.feeds, self.options, self.run_id = feeds, options, run_id
        self.pending, self.streaming = list(pending), streaming

    def expand(self, ticks):
        o = self.options
        feeds = tuple(self.feeds)
        if self.streaming:
            # At each poll, the validators of the feeds whose entries from earlier polls are
            # all filed take effect.
            ticks = ticks | "CommitPreviousPoll" >> beam.ParDo(CommitValidatorsFn(o.store))
        # Elements are lists from here on: each step handles a batch at once (fetches run
        # concurrently, the encoder embeds many texts per call) and emits before it returns.
        entries, feed_dead_letters = (
            ticks | "FeedsOfTick" >> beam.Map(lambda _: list(feeds))
            | "ReadFeeds" >> ReadFeeds(o.store, o.fetch))
        retries = ticks | "DueRetries" >> beam.ParDo(DueRetriesFn(o.store))
        unwritten = ticks.pipeline | "UnwrittenStories" >> beam.Create(self.pending)
        if self.streaming:
            # No Flatten: on the local runner a Flatten ends a fused stage, and a stage's
            # consumers wait for it to finish, which an unbounded stage never does. New entries
            # and retries each get a chain of their own, and each step's dead letters a writer.
            new_ids, new_letters = self._assign("New", entries)
            retried_ids, retried_letters = self._assign("Retried", retries)
            for name, ids in (("New", new_ids), ("Retried", retried_ids), ("Unwritten", unwritten)):
                _ = ids | f"WriteStories{name}" >> WriteStories(
                    o.store, o.output_dir, self.run_id, o.sinks, streaming=True)
            for number, letters in enumerate(feed_dead_letters + new_letters + retried_letters):
                _ = letters | f"WriteDeadLetters{number}" >> WriteDeadLetters(
                    o.store, o.output_dir, self.run_id, streaming=True, sinks=o.sinks)
            return
        # Bounded: a few feeds fan out to many entries; spread them over the workers, in batches.
        batches = (
            (entries, retries) | "AllEntries" >> beam.Flatten()
            | "OneByOne" >> beam.FlatMap(lambda batch: batch)
            | "Spread" >> beam.Reshuffle()
            | "Batch" >> beam.BatchElements(min_batch_size=settings.ARTICLE_BATCH,
                                            max_batch_size=settings.ARTICLE_BATCH))
        story_ids, page_dead_letters = self._assign("", batches)
        _ = ((story_ids, unwritten) | "StoriesToWrite" >> beam.Flatten()
             | "WriteStories" >> WriteStories(o.store, o.output_dir, self.run_id, o.sinks))
        _ = (feed_dead_letters + page_dead_letters | "AllDeadLetters" >> beam.Flatten()
             | "WriteDeadLetters" >> WriteDeadLetters(o.store, o.output_dir, self.run_id, sinks=o.sinks))

    def _assign(self, name: str, batches: Any) -> tuple[Any, list[Any]]:
        """Batches of entries -> story ids, and the dead letters of the article steps."""
        o = self.options
        articles, dead_letters = batches | f"ReadArticles{name}" >> ReadArticles(o.fetch)
        story_ids = articles | f"AssignStories{name}" >> AssignStories(o.store, o.encoder, self.run_id, o.window_days)
        return story_ids, dead_letters


class CommitValidatorsFn(beam.DoFn):
    def __init__(self, store_url: str):
        self.store_url = store_url

    def process(self, tick: Any) -> Iterator[Any]:
        store = open_store(self.store_url)
        store.commit_feed_validators(filed_only=True)
        store.close()
        yield tick


def run_streaming(options: RunOptions, poll_interval_s: float, stop_after_s: float | None = None) -> dict[str, Any]:
    """An unbounded run: poll the feeds every interval (Beam's PeriodicImpulse) and write each
    new or changed story as soon as it is assigned. Stops after `stop_after_s` if given."""
    from apache_beam.transforms.periodicsequence import PeriodicImpulse

    config = load_feeds(options.feeds_path)
    os.makedirs(options.output_dir, exist_ok=True)
    store = open_store(options.store)
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-streaming"
    store.start_run(run_id)
    started, clock = utc_now(), time.monotonic()
    with _serve_folder(config.serve_dir, config.serve_port) as base_url:
        feeds, run_options = _bind(config, options, base_url)
        beam_options = PipelineOptions(list(options.beam_args))
        beam_options.view_as(StandardOptions).streaming = True
        start = time.time()
        stop = start + stop_after_s if stop_after_s else None
        impulse = (PeriodicImpulse(start_timestamp=start, stop_timestamp=stop, fire_interval=poll_interval_s)
                   if stop else PeriodicImpulse(start_timestamp=start, fire_interval=poll_interval_s))
        pipeline = beam.Pipeline(options=beam_options)
        _ = (pipeline | "Poll" >> impulse
             | "Ingest" >> Ingest(feeds, run_options, run_id, list(store.pending_stories()), streaming=True))
        result = pipeline.run()
        result.wait_until_finish()
    store.commit_feed_validators()
    # Counted from the store, not from Beam metrics: the FnApiRunner folds each bundle's metrics
    # into a chain of generators one level deeper per bundle, which overflows Python's recursion
    # limit after a few thousand bundles of an unbounded run.
    summary = {"run_id": run_id, "seconds": round(time.monotonic() - clock, 2), "feeds": len(config.feeds),
               **store.changes_since(started), "output": os.path.abspath(options.output_dir)}
    store.finish_run(run_id, summary)
    store.close()
    return summary


def _bind(config: Any, options: RunOptions, base_url: str | None) -> tuple[tuple[FeedSource, ...], RunOptions]:
    """Feeds and options for a run that serves the feeds file's folder at base_url."""
    if not base_url:
        return config.feeds, options
    # The served folder is on loopback: the run must be allowed to reach it, without delay.
    return bind_served_urls(config.feeds, base_url), dataclasses.replace(options, fetch=dataclasses.replace(
        options.fetch, allow_private_network=True, unthrottled_hosts=(host_of(base_url),)))


def run_once(options: RunOptions) -> dict[str, Any]:
    """One bounded ingestion pass. Returns the run's summary (also printed and saved)."""
    config = load_feeds(options.feeds_path)
    os.makedirs(options.output_dir, exist_ok=True)
    store = open_store(options.store)
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    started, clock = utc_now(), time.monotonic()
    store.start_run(run_id)
    pending = store.pending_stories()

    with _serve_folder(config.serve_dir, config.serve_port) as base_url:
        feeds, run_options = _bind(config, options, base_url)
        beam_options = PipelineOptions(list(options.beam_args))
        beam_options.view_as(StandardOptions).streaming = False
        pipeline = beam.Pipeline(options=beam_options)
        _ = (pipeline | "Tick" >> beam.Create([time.time()])
             | "Ingest" >> Ingest(feeds, run_options, run_id, list(pending)))
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
        **_counters(result),
        "stage_seconds": _stage_seconds(result),
        "output": os.path.abspath(options.output_dir),
    }
    store.finish_run(run_id, summary)
    store.close()
    with open(os.path.join(options.output_dir, f"summary-{run_id}.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    return summary


COUNTERS = ("feeds_fetched", "feeds_not_modified", "feeds_not_due", "feeds_failed", "entries_seen", "articles_new",
            "retries_due",
            "pages_fetched", "pages_failed", "articles_extracted", "articles_from_feed", "articles_failed",
            "stories_new", "stories_updated", "dead_letters")


def _counters(result: Any) -> dict[str, int]:
    values = dict.fromkeys(COUNTERS, 0)
    for counter in result.metrics().query(MetricsFilter().with_namespace("newsbeam"))["counters"]:
        committed = counter.committed if counter.committed is not None else counter.attempted
        values[counter.key.metric.name] = values.get(counter.key.metric.name, 0) + (committed or 0)
    return values


def _stage_seconds(result: Any) -> dict[str, float]:
    """Time spent in each step of the graph, summed over all workers and bundles, from the
    runner's execution-time metrics (where the runner reports them; the local runners do).
    Steps are named to their second level, e.g. `Ingest/ReadArticles`."""
    from apache_beam.metrics import monitoring_infos

    try:
        infos = result.monitoring_metrics().monitoring_infos()
    except (AttributeError, NotImplementedError):
        return {}
    seconds: dict[str, float] = {}
    for info in infos:
        step = info.labels.get(monitoring_infos.PTRANSFORM_LABEL, "")
        if info.urn != monitoring_infos.TOTAL_MSECS_URN or not step.startswith("Ingest/"):
            continue
        name = "/".join(step.split("/")[:2])
        seconds[name] = seconds.get(name, 0.0) + monitoring_infos.extract_counter_value(info) / 1000
    return {name: round(value, 2) for name, value in sorted(seconds.items(), key=lambda item: -item[1])
            if round(value, 2) > 0}


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
    ] + _stage_line(s.get("stage_seconds") or {}))


def _stage_line(stage_seconds: dict[str, float]) -> list[str]:
    """The steps that took longest, as one summary line (none when the runner gave no times)."""
    if not stage_seconds:
        return []
    slowest = list(stage_seconds.items())[:5]
    return ["  time in   " + ", ".join(f"{name.split('/', 1)[-1]} {seconds:.1f}s" for name, seconds in slowest)]


def run_every(options: RunOptions, interval_s: float, jitter: float = 0.05,
              passes: int | None = None) -> int:
    """Bounded passes, one every interval (a little jitter so many instances do not poll in
    step), until SIGINT/SIGTERM: a signal during a pass lets the pass finish; during the pause
    it stops at once. Returns the number of passes run."""
    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second signal: stop now
        log.warning("stopping after the current pass (signal %d)", signum)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    count = 0
    try:
        while not stop.is_set():
            started = time.monotonic()
            print(format_summary(run_once(options)), flush=True)
            count += 1
            if passes is not None and count >= passes:
                break
            pause = interval_s * (1 + random.uniform(-jitter, jitter)) - (time.monotonic() - started)
            stop.wait(max(0.0, pause))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return count


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
