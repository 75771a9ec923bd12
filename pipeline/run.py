"""The ways to run the graph: one bounded pass (`run_once`), passes on a schedule
(`run_every`), and an unbounded run (`run_streaming`); and the summary a run ends with."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from newsbeam.fetching.politeness import allow_requests, request_stop
from newsbeam.outputs import webhooks
from newsbeam.outputs.files import FileSinks
from newsbeam.outputs.paths import create_new
from newsbeam.outputs.tables import SinkTables, database_sink_urls
from newsbeam.pipeline.backfill import unread_files
from newsbeam.pipeline.graph import BoundedPass, RunTransform, StreamingRun
from newsbeam.pipeline.progress import Progress
from newsbeam.pipeline.runners import pipeline_options
from newsbeam.pipeline.served_folder import serve_folder
from newsbeam.schemas import utc_now
from newsbeam.state.runs import new_run_id
from newsbeam.state.store import Store, open_store
from newsbeam.state.stories import StoryFilter
from newsbeam.transforms.options import RunOptions
from newsbeam.transforms.stage import BUSY

log = logging.getLogger("newsbeam")

# The counts every summary has, zero when nothing happened.
COUNTERS = ("feeds_fetched", "feeds_not_modified", "feeds_not_due", "feeds_failed", "entries_seen", "entries_dropped",
            "articles_new", "retries_due", "pages_fetched", "pages_failed", "pages_refused", "pages_deferred",
            "articles_extracted",
            "articles_from_feed", "articles_failed", "pages_not_extracted", "stories_new", "stories_updated",
            "dead_letters")
WORKER = "worker "  # the prefix of the counts that say which worker processes took a shard


def run_once(options: RunOptions) -> dict[str, Any]:
    """One bounded ingestion pass. Returns the run's summary (also saved). A first SIGINT or
    SIGTERM ends the pass early with what it has (`interrupted` in the summary)."""
    with stop_on_signals() as stop:
        summary = _run(options, new_run_id(), BoundedPass)
    summary["interrupted"] = stop.is_set()
    return summary


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """While the block runs: the first SIGINT (Ctrl-C) or SIGTERM starts no new request in this
    process; what was not asked for yet is deferred to the next pass (its dead letter due at
    once), what is fetched is filed and written, and the pass ends within seconds. A second
    signal stops at once (KeyboardInterrupt: the store's open transaction rolls back, the next
    run repeats what this one did not finish). Only the main thread can take signals: elsewhere
    (newsbeam called from a program's thread) the block runs as it is."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # the second signal: stop now
        stop.set()
        request_stop()
        print(f"newsbeam: {signal.Signals(signum).name}: stopping at the next safe point; what was not fetched "
              "yet waits for the next run (again to stop at once)", file=sys.stderr, flush=True)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        allow_requests()


def run_streaming(options: RunOptions) -> dict[str, Any]:
    """An unbounded run: poll the feeds every interval and write each new or changed story as
    soon as it is assigned. Stops after `options.stop_after_s` if given."""
    return _run(options, new_run_id("-streaming"), StreamingRun)


def _run(options: RunOptions, run_id: str, graph: type[RunTransform]) -> dict[str, Any]:
    os.makedirs(options.output_dir, exist_ok=True)
    store = open_store(options.store)  # migrated here, once, before any worker opens it
    started, clock = utc_now(), time.monotonic()
    store.runs.start(run_id)
    beam_options = pipeline_options(options.beam_args, options.streaming, options.shards)
    archives = unread_files(options.archives, store, beam_options) if options.archives else ()
    with serve_folder(options.serve_dir, options.serve_port), Progress(options.store, started, len(options.feeds)):
        pipeline = beam.Pipeline(options=beam_options)
        _ = pipeline | "Run" >> (graph(options, run_id, archives) if archives else graph(options, run_id))
        pipeline.run().wait_until_finish()
    # The output is written: only now may the feeds' new validators take effect, so a run that
    # dies earlier fetches them again.
    store.feeds.commit_validators()
    summary = make_summary(run_id, started, time.monotonic() - clock, options, store.runs.counts(run_id))
    revisions = store.stories.revisions.of_run(run_id)
    summary["revisions"] = write_revisions(options, revisions, run_id)
    if options.webhooks and not options.streaming:
        summary.update(notify(options, store, run_id, revisions))
    summary["page_failures_by_feed"] = dict(store.dead_letters.page_failures_by_feed(since=started).most_common())
    store.runs.finish(run_id, summary)
    store.close()
    fd = create_new(os.path.join(options.output_dir, f"summary-{run_id}.json"))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    return summary


def write_revisions(options: RunOptions, revisions: list[dict[str, Any]], run_id: str) -> int:
    """The versions the run's edits replaced, beside the stories: OUTPUT/revisions/RUN.jsonl and
    the database sinks' newsbeam_revisions table."""
    if not revisions:
        return 0
    if "jsonl" in options.sinks:
        files = FileSinks(options.output_dir, run_id, jsonl=True, parquet=False)
        try:
            files.append("revisions", revisions)
        finally:
            files.close()
    for url in database_sink_urls(options.output_dir, options.store, options.sinks):
        tables = SinkTables(url)
        try:
            tables.add_revisions(revisions)
        finally:
            tables.close()
    return len(revisions)


def notify(options: RunOptions, store: Store, run_id: str, revisions: list[dict[str, Any]]) -> dict[str, int]:
    """The pass's new and changed stories, and the versions its edits replaced, to the webhooks,
    after the deliveries that failed before and are due again; what fails now is kept as a
    dead letter for the next pass."""
    retries = webhooks.again(options.webhooks, store.dead_letters.due(webhooks.STAGE, every_attempt=True))
    stories = store.stories.records(store.stories.find(StoryFilter(run=run_id), limit=1_000_000))
    new = webhooks.deliveries(options.webhooks, stories, store.stories.made_by_run(run_id)) + \
        webhooks.revision_deliveries(options.webhooks, revisions)
    done, letters = webhooks.deliver(retries + new, options.http_client().settings)
    for item in done:
        store.dead_letters.resolve(f"{item.hook.url}#{item.id}", (webhooks.STAGE,))
    store.dead_letters.record(letters)
    return {"webhooks_delivered": len(done), "webhooks_failed": len(letters)}


def prune_summaries(output_dir: str, window_days: float) -> int:
    """Remove the run summaries (summary-*.json) older than the window: an hourly job writes
    8,760 a year. The store keeps every run's summary for `/metrics` and the report."""
    cutoff = time.time() - window_days * 86400
    removed = 0
    for entry in os.scandir(output_dir):
        if entry.name.startswith("summary-") and entry.name.endswith(".json") and entry.is_file(follow_symlinks=False) \
                and entry.stat(follow_symlinks=False).st_mtime < cutoff:
            os.unlink(entry.path)
            removed += 1
    return removed


def make_summary(run_id: str, started: str, seconds: float, options: RunOptions,
                 counts: dict[str, int]) -> dict[str, Any]:
    """The run's summary from its counts, which the graph itself added up in the store."""
    busy = {name[len(BUSY):]: value / 1e6 for name, value in counts.items() if name.startswith(BUSY)}
    summary = {
        "run_id": run_id,
        "started": started,
        "finished": utc_now(),
        "seconds": round(seconds, 2),
        "feeds": len(options.feeds),
        **dict.fromkeys(COUNTERS, 0),
        **{name: value for name, value in counts.items() if not name.startswith((WORKER, BUSY))},
        # the worker processes that read shards, and how many each
        "workers": {name[len(WORKER):]: value for name, value in counts.items() if name.startswith(WORKER)},
        # busy time per stage, summed over workers, slowest first
        "stage_seconds": {name: round(value, 2) for name, value in sorted(busy.items(), key=lambda kv: -kv[1])},
        "output": os.path.abspath(options.output_dir),
    }
    summary["health"] = health(summary, options.max_failed_share)
    return summary


def health(summary: dict[str, Any], max_failed_share: float | None) -> str:
    """"ok", or why the pass is failing: every feed that was due failed, or every page fetched
    for it (the feeds answer, the sites do not: names that do not resolve, pages that will not
    extract), or more of either than the share the operator allows."""
    feeds_due = summary["feeds"] - summary["feeds_not_due"]
    # a page the address policy refused was due and gave nothing, as a failed one
    pages_due = summary["pages_fetched"] + summary["pages_failed"] + summary["pages_refused"]
    pages_failed = summary["pages_failed"] + summary["pages_not_extracted"] + summary["pages_refused"]
    for kind, due, failed in (("feeds", feeds_due, summary["feeds_failed"]), ("pages", pages_due, pages_failed)):
        if due and failed >= due:
            return f"failing: every {kind[:-1]} due failed ({due} of {due})"
        if due and max_failed_share is not None and failed / due > max_failed_share:
            return f"failing: {failed} of {due} {kind} failed, more than the share of {max_failed_share:g} allowed"
    return "ok"


def format_summary(summary: dict[str, Any]) -> str:
    s = summary
    refused = f", {s['pages_refused']} refused" if s["pages_refused"] else ""
    if s["pages_deferred"]:  # their hosts gave up their place in this pass: never asked for
        refused += f", {s['pages_deferred']} deferred to a later pass"
    dropped = f", {s['entries_dropped']} over the per-feed cap" if s["entries_dropped"] else ""
    if s.get("entries_listed_twice"):
        dropped += f", {s['entries_listed_twice']} listed by another feed too"
    if s.get("entries_unusable"):
        dropped += f", {s['entries_unusable']} without a link newsbeam may fetch"
    if s.get("entries_dropped_by_rules"):  # before any request for their pages
        dropped += f", {s['entries_dropped_by_rules']} dropped by your rules"
    unchanged = f" ({s['articles_unchanged']} articles read again unchanged)" if s.get("articles_unchanged") else ""
    due = s["pages_fetched"] + s["pages_failed"] + s["pages_refused"] + s["pages_deferred"]
    by_rules = s.get("articles_dropped_by_rules", 0)  # read, then dropped by the rules: not filed
    filed = s["articles_extracted"] + s["articles_from_feed"] - by_rules
    lines = [
        f"newsbeam run {s['run_id']} finished in {s['seconds']}s",
        f"  feeds     {s['feeds']} listed: {s['feeds_fetched']} fetched, {s['feeds_not_modified']} not modified, "
        f"{s['feeds_not_due']} not due, {s['feeds_failed']} failed"
        + (f", {s['feeds_deferred']} deferred to a later pass" if s.get("feeds_deferred") else "")
        + (f"; {s['feeds_moved']} answered from another address (update the feeds file: newsbeam feeds discover "
           "finds where)" if s.get("feeds_moved") else ""),
        f"  entries   {s['entries_seen']} seen, {s['articles_new']} new, {s['retries_due']} retried{dropped}",
        # each page due is fetched, failed, refused or deferred; each fetched page extracts or not
        f"  pages     {due} due: {s['pages_fetched']} fetched ({s['pages_not_extracted']} would not "
        f"extract), {s['pages_failed']} failed{refused}",
        # each article is read from its page or from the feed's text, or has neither
        f"  articles  {filed} filed"
        + (f" and {by_rules} dropped by your rules, of {filed + by_rules} read" if by_rules else "")
        + f": {s['articles_extracted']} from their pages, {s['articles_from_feed']} from feed "
        f"text; {s['articles_failed']} without either (kept as dead letters)",
        *_archive_line(s),
        *([f"  rechecks  {s['rechecks_due']} pages looked at again for edits their feeds did not announce: "
           f"{s.get('rechecks_not_modified', 0)} not modified, {s.get('pages_rechecked', 0)} read again, "
           f"{s.get('rechecks_failed', 0) + s.get('rechecks_not_extracted', 0)} not readable now"]
          if s.get("rechecks_due") else []),
        f"  stories   {s['stories_new']} new, {s['stories_updated']} updated{unchanged}"
        + (f"; {s['revisions']} earlier versions of edited articles kept" if s.get("revisions") else ""),
        f"  dead letters {s['dead_letters']}" + (f" (see {s['output']}/dead_letters/)" if s["dead_letters"] else ""),
    ]
    if "webhooks_delivered" in s:
        lines.append(f"  webhooks  {s['webhooks_delivered']} delivered"
                     + (f", {s['webhooks_failed']} kept to send again at the next pass (newsbeam errors)"
                        if s["webhooks_failed"] else ""))
    if s.get("page_failures_by_feed"):  # which feeds' sites fail, the worst first
        worst = list(s["page_failures_by_feed"].items())
        more = f", and {len(worst) - 3} more feeds" if len(worst) > 3 else ""
        lines.append("  failing   pages of " + ", ".join(f"{feed or 'no feed'} ({count})" for feed, count in worst[:3])
                     + more)
    if s.get("stage_seconds"):
        # a stage that had nothing to do (no archive in the feeds file) is not shown as busy
        read_archives = s.get("archive_pages") or any(name.startswith("archive") for name in s)
        busy = [(name, seconds) for name, seconds in s["stage_seconds"].items()
                if name != "ReadArchives" or read_archives]
        lines.append("  busy      " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in busy))
    if len(s.get("workers") or {}) > 1:
        lines.append(f"  workers   {len(s['workers'])} busy")
    if s.get("interrupted"):
        lines.append("  stopped   by a signal: what was not fetched waits for the next run (exit code 130)")
    elif s["health"] != "ok":
        lines.append(f"  health    {s['health'].upper()[:7]}{s['health'][7:]} (exit code 3)")
    return "\n".join(lines)


def _archive_line(s: dict[str, Any]) -> list[str]:
    """What the web archives gave, when the pass read any."""
    skipped = {name.split(" ", 1)[1]: value for name, value in s.items() if name.startswith("archive_skipped ")}
    if not s.get("archive_pages") and not skipped and not s.get("archive_damaged"):
        return []
    kinds = ", ".join(f"{value} {kind}" for kind, value in sorted(skipped.items()))
    return [f"  archives  {s.get('archive_pages', 0)} pages read, {s.get('archive_damaged', 0)} damaged records"
            + (f"; skipped: {kinds}" if kinds else "")]


def run_every(options: RunOptions, interval_s: float, jitter: float = 0.05,
              passes: int | None = None) -> dict[str, Any] | None:
    """Bounded passes, one every interval (a little jitter so many instances do not poll in
    step), until SIGINT/SIGTERM: a signal during a pass ends it at the next safe point (as
    `run_once`) and no pass follows; during the pause it stops at once. Returns the last
    pass's summary."""
    count, summary = 0, None
    with stop_on_signals() as stop:
        while not stop.is_set():
            started = time.monotonic()
            summary = _run(options, new_run_id(), BoundedPass)
            summary["interrupted"] = stop.is_set()
            print(format_summary(summary), flush=True)
            count += 1
            if passes is not None and count >= passes:
                break
            pause = interval_s * (1 + random.uniform(-jitter, jitter)) - (time.monotonic() - started)
            stop.wait(max(0.0, pause))
    return summary
