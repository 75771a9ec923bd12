"""The ingestion graph and the ways to run it: one bounded pass (`run_once`), passes on a
schedule (`run_every`), and an unbounded run (`run_streaming`).

    shards -> ReadFeeds -> ReadAndAssign ------------------> [OncePerStory] -> WriteOutputs
              (entries)    (pages -> articles -> story records)  (bounded only)

Every element is a `Batch`: each step turns one kind of record into the next and carries the
dead letters and counts of the steps before it, so the graph is one chain with one leaf, no
tagged outputs, no side inputs, nothing emitted from `finish_bundle`, and no reliance on
Beam metrics: what every runner runs the same way. Work is spread over the workers by the
shards the graph starts from, not by a shuffle.

A bounded pass (`BoundedPass`) starts from the run's shards; an unbounded run (`StreamingRun`)
makes them anew at every tick of PeriodicImpulse. The per-article path has no GroupByKey and no
timers, so it runs unbounded on any runner; only a bounded pass groups its records by story
before writing, so each story is written once with its final variants.
"""

from __future__ import annotations

import collections
import contextlib
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
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.progress import Progress
from schemas import FeedSource, Shard, host_of
from state.settings import RunOptions
from state.store import StoreFn, open_store, utc_now
from transforms.articles import ExtractArticlesFn, FetchPagesFn
from transforms.chain import Chain
from transforms.feeds import ReadFeeds
from transforms.sinks import OncePerStory, WriteOutputs
from transforms.stories import AssignStoriesFn

log = logging.getLogger("newsbeam")

# The runner when none is named: Beam's FnApiRunner, the engine the DirectRunner falls back to.
# The DirectRunner would first try to download its Prism binary from a release page at every
# run; newsbeam never fetches code at run time.
DEFAULT_RUNNER = "FnApiRunner"
# Short names for runners Beam itself only knows by their module path.
RUNNER_NAMES = {"DaskRunner": "apache_beam.runners.dask.dask_runner.DaskRunner"}


def make_shards(feeds: tuple[FeedSource, ...], count: int, rewrite_pending: bool = True) -> list[Shard]:
    """`count` shards with the feeds of each host together (so one worker paces a host), the
    busiest hosts spread first."""
    by_host: dict[str, list[FeedSource]] = collections.defaultdict(list)
    for feed in feeds:
        by_host[host_of(feed.url)].append(feed)
    loads: list[list[FeedSource]] = [[] for _ in range(count)]
    owners: dict[str, int] = {}
    for host, host_feeds in sorted(by_host.items(), key=lambda item: (-len(item[1]), item[0])):
        owners[host] = min(range(count), key=lambda i: len(loads[i]))
        loads[owners[host]].extend(host_feeds)
    host_shards = tuple(sorted(owners.items()))
    return [Shard(index=i, count=count, feeds=tuple(share), host_shards=host_shards,
                  rewrite_pending=rewrite_pending and i == 0) for i, share in enumerate(loads)]


class RunTransform(beam.PTransform):
    """A part of the graph made for one run: its options and its id."""

    def __init__(self, options: RunOptions, run_id: str):
        super().__init__()
        self.options, self.run_id = options, run_id


class Ingest(RunTransform):
    """Shards -> Batches of the story records they created or changed, with the dead letters
    and counts of every step."""

    def expand(self, shards):
        o = self.options
        return (shards
                | "ReadFeeds" >> ReadFeeds(o)
                # fetch pages, extract them, assign stories: chained in one ParDo so that
                # fetching overlaps the CPU work on every runner (transforms/chain.py)
                | "ReadAndAssign" >> beam.ParDo(Chain(FetchPagesFn(o), ExtractArticlesFn(o),
                                                      AssignStoriesFn(o, self.run_id))))


class BoundedPass(RunTransform):
    """One pass over the feeds: every story written once, with its final set of variants."""

    def expand(self, pipeline):
        o = self.options
        return (pipeline
                | "Shards" >> beam.Create(make_shards(o.feeds, o.shards))
                | "Ingest" >> Ingest(o, self.run_id)
                | "OncePerStory" >> OncePerStory(o.shards)
                | "WriteOutputs" >> WriteOutputs(o, self.run_id))


class StreamingRun(RunTransform):
    """Poll the feeds every interval (PeriodicImpulse) and write each change as it is made."""

    def expand(self, pipeline):
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


class CommitFiledFeedsFn(StoreFn):
    """At each poll, the validators of the feeds whose entries from earlier polls are all
    filed take effect (a feed with entries still in flight is fetched again after a crash)."""

    def process(self, tick: Any) -> Iterator[Any]:
        self.store.commit_feed_validators(filed_only=True)
        yield tick


def beam_options(options: RunOptions) -> PipelineOptions:
    """Beam's options from the run's: the default runner when none is named, short names of
    runners Beam knows only by module path, and (Dask) one partition per shard."""
    args = list(options.beam_args)
    runner = _runner(args)
    if runner is None:
        args = ["--runner", DEFAULT_RUNNER, *args]
    elif runner in RUNNER_NAMES:
        i = next(i for i, arg in enumerate(args) if arg == "--runner" or arg.startswith("--runner="))
        if args[i] == "--runner":
            args[i + 1] = RUNNER_NAMES[runner]
        else:
            args[i] = "--runner=" + RUNNER_NAMES[runner]
    if _is_dask(args) and not any(a.startswith(("--dask_npartitions", "--dask_partition_size")) for a in args):
        # The Dask runner runs each partition of the first collection on one worker and never
        # moves work after that (its Reshuffle does nothing): one partition per shard.
        args += ["--dask_npartitions", str(options.shards)]
    result = PipelineOptions(args)
    result.view_as(StandardOptions).streaming = options.streaming
    return result


def _runner(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg == "--runner" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--runner="):
            return arg.split("=", 1)[1]
    return None


def _is_dask(args: list[str]) -> bool:
    return (_runner(args) or "").endswith("DaskRunner")


def _option(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def encoder_threads(beam_args: tuple[str, ...]) -> int:
    """Matrix-library threads per worker: this machine's cores over the local runner's worker
    processes; one on other runners, whose machines and workers per machine newsbeam cannot see
    (one single-threaded worker per core is how they are usually run)."""
    args = list(beam_args)
    if (_runner(args) or DEFAULT_RUNNER) not in (DEFAULT_RUNNER, "DirectRunner", "PrismRunner"):
        return 1
    return max(1, (os.cpu_count() or 1) // worker_count(beam_args))


def worker_count(beam_args: tuple[str, ...]) -> int:
    """How many workers the runner will run the graph on, so that a pass makes one shard per
    worker: each worker then keeps all of its hosts in flight at once. The local runner says
    so in --direct_num_workers; a Dask cluster is asked how many worker threads it has."""
    args = list(beam_args)
    if _is_dask(args):
        if _option(args, "--dask_npartitions"):
            return max(1, int(_option(args, "--dask_npartitions") or 1))
        address = _option(args, "--dask_client_address")
        if address:
            from distributed import Client

            with Client(address, timeout=30) as client:
                return max(1, sum(client.nthreads().values()))
        return 1
    workers = _option(args, "--direct_num_workers")
    if workers and workers.isdigit():
        return int(workers) or (os.cpu_count() or 1)
    return 1


def _new_run_id(suffix: str = "") -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + suffix


def run_once(options: RunOptions) -> dict[str, Any]:
    """One bounded ingestion pass. Returns the run's summary (also saved)."""
    return _run(options, _new_run_id(), BoundedPass)


def run_streaming(options: RunOptions) -> dict[str, Any]:
    """An unbounded run: poll the feeds every interval and write each new or changed story as
    soon as it is assigned. Stops after `options.stop_after_s` if given."""
    return _run(options, _new_run_id("-streaming"), StreamingRun)


def _run(options: RunOptions, run_id: str, graph: type[RunTransform]) -> dict[str, Any]:
    os.makedirs(options.output_dir, exist_ok=True)
    store = open_store(options.store)  # the one place the store is migrated
    started, clock = utc_now(), time.monotonic()
    store.start_run(run_id)
    with _serve_folder(options.serve_dir, options.serve_port), Progress(options.store, started, len(options.feeds)):
        pipeline = beam.Pipeline(options=beam_options(options))
        _ = pipeline | "Run" >> graph(options, run_id)
        result = pipeline.run()
        result.wait_until_finish()
    # The output is written: only now may the feeds' new validators take effect, so a run that
    # dies earlier fetches them again.
    store.commit_feed_validators()
    counts = store.run_counts(run_id)
    summary = {
        "run_id": run_id,
        "started": started,
        "finished": utc_now(),
        "seconds": round(time.monotonic() - clock, 2),
        "feeds": len(options.feeds),
        **dict.fromkeys(COUNTERS, 0),
        # counted by the graph itself (in the store), not by a runner's metrics
        **{name: value for name, value in counts.items() if not name.startswith("worker ")},
        # the worker processes that read shards, and how many each
        "workers": {name.split(" ", 1)[1]: value for name, value in counts.items() if name.startswith("worker ")},
        # (not for an unbounded run: the local runner's metrics of thousands of bundles nest
        # too deep to read)
        "stage_seconds": {} if options.streaming else _stage_seconds(result),
        "output": os.path.abspath(options.output_dir),
    }
    store.finish_run(run_id, summary)
    store.close()
    with open(os.path.join(options.output_dir, f"summary-{run_id}.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    return summary


COUNTERS = ("feeds_fetched", "feeds_not_modified", "feeds_not_due", "feeds_failed", "entries_seen", "entries_dropped",
            "articles_new", "retries_due", "pages_fetched", "pages_failed", "pages_refused", "articles_extracted",
            "articles_from_feed", "articles_failed", "stories_new", "stories_updated", "dead_letters")


def _stage_seconds(result: Any) -> dict[str, float]:
    """Time spent in each step of the graph, summed over all workers and bundles, from the
    runner's execution-time metrics (where the runner reports them; the local runners do).
    Steps are named by their step of the graph: `ReadAndAssign`, `OncePerStory`, ..."""
    from apache_beam.metrics import monitoring_infos

    try:
        infos = result.monitoring_metrics().monitoring_infos()
    except (AttributeError, NotImplementedError):
        return {}
    seconds: dict[str, float] = {}
    for info in infos:
        step = info.labels.get(monitoring_infos.PTRANSFORM_LABEL, "")
        if info.urn != monitoring_infos.TOTAL_MSECS_URN or not step.startswith("Run/"):
            continue
        parts = step.split("/")
        name = parts[2] if parts[1:2] == ["Ingest"] and len(parts) > 2 else parts[1]
        seconds[name] = seconds.get(name, 0.0) + monitoring_infos.extract_counter_value(info) / 1000
    return {name: round(value, 2) for name, value in sorted(seconds.items(), key=lambda item: -item[1])
            if round(value, 2) > 0}


def format_summary(summary: dict[str, Any]) -> str:
    s = summary
    refused = f", {s['pages_refused']} refused" if s["pages_refused"] else ""
    dropped = f", {s['entries_dropped']} over the per-feed cap" if s["entries_dropped"] else ""
    return "\n".join([
        f"newsbeam run {s['run_id']} finished in {s['seconds']}s",
        f"  feeds     {s['feeds']} listed: {s['feeds_fetched']} fetched, {s['feeds_not_modified']} not modified, "
        f"{s['feeds_not_due']} not due, {s['feeds_failed']} failed",
        f"  entries   {s['entries_seen']} seen, {s['articles_new']} new, {s['retries_due']} retried{dropped}",
        f"  articles  {s['pages_fetched']} fetched, {s['articles_extracted']} extracted, "
        f"{s['articles_from_feed']} from feed text, {s['pages_failed'] + s['articles_failed']} failed{refused}",
        f"  stories   {s['stories_new']} new, {s['stories_updated']} updated",
        f"  dead letters {s['dead_letters']}" + (f" (see {s['output']}/dead_letters/)" if s["dead_letters"] else ""),
    ] + _stage_line(s.get("stage_seconds") or {}) + _workers_line(s.get("workers") or {}))


def _workers_line(workers: dict[str, int]) -> list[str]:
    return [f"  workers   {len(workers)} busy"] if len(workers) > 1 else []


def _stage_line(stage_seconds: dict[str, float]) -> list[str]:
    """The steps that took longest, as one summary line (none when the runner gave no times)."""
    if not stage_seconds:
        return []
    slowest = list(stage_seconds.items())[:5]
    return ["  time in   " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in slowest)]


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


class _ServeHandler(http.server.SimpleHTTPRequestHandler):
    """Files of the served folder only: no dotfiles, nothing a symlink leads out of it to."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_head(self) -> Any:
        path = pathlib.Path(self.translate_path(self.path))
        root = pathlib.Path(self.directory).resolve()
        relative = path.relative_to(self.directory) if path.is_relative_to(self.directory) else None
        if (relative is None or any(part.startswith(".") for part in relative.parts)
                or not path.resolve().is_relative_to(root)):
            self.send_error(404)
            return None
        return super().send_head()


@contextlib.contextmanager
def _serve_folder(folder: str | None, port: int) -> Iterator[None]:
    """Serve the feeds file's `serve` folder on 127.0.0.1 for the length of the run. The port
    is fixed (not random) because article URLs, and so the store's memory of them, include it."""
    if folder is None:
        yield
        return
    from pipeline.config import ConfigError

    handler = functools.partial(_ServeHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise ConfigError(f"cannot serve {folder} on 127.0.0.1:{port}: {exc.strerror} "
                          "(set serve_port in the feeds file)") from None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
