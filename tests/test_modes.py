"""The ways users run newsbeam: repeated hourly passes, and unbounded streaming."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, RUN_ARGS, read_jsonl, write_feeds_file

pytestmark = [pytest.mark.slow]

ONE_ITEM = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Lindenau Herald</title><link>../herald/</link>
<description>News from Lindenau</description><language>en</language>
{items}
</channel></rss>
"""
ITEM = """<item><title>{title}</title><link>../herald/{page}</link><guid isPermaLink="false">{page}</guid>
<pubDate>Wed, 18 Nov 2026 17:45:00 +0000</pubDate></item>"""


def _feed(site, *pages: tuple[str, str]) -> None:
    items = "\n".join(ITEM.format(title=title, page=page) for title, page in pages)
    (site.folder / "feeds" / "live.rss").write_text(ONE_ITEM.format(items=items), encoding="utf-8")


def _wait_for(predicate, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert process.poll() is None, process.communicate()[1]
        time.sleep(0.5)
    raise AssertionError("timed out waiting")


def _titles(output) -> set[str]:
    folder = output / "stories"
    return {s["title"] for s in read_jsonl(folder)} if folder.exists() else set()


MARATHON = ("Record field expected for the autumn half marathon", "half-marathon-record-field.html")
CABLE_CAR = ("Lindenau to build a cable car across the river", "cable-car-across-the-river.html")


def test_streaming_picks_up_an_item_added_between_polls_and_stops_cleanly(site, tmp_path):
    check_streaming(site, tmp_path, RUN_ARGS)


def check_streaming(site, tmp_path, run_args) -> None:
    """An unbounded run on the runner of `run_args` picks up an item added between polls,
    writes each story once, and stops cleanly."""
    _feed(site, MARATHON)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/live.rss"])
    output = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds), "--output", str(output), "--streaming",
         "--poll-interval", "2s", "--stop-after", "40s", *run_args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: MARATHON[0] in _titles(output), 60, process)
        time.sleep(1.1)  # the feed's Last-Modified has one-second resolution
        _feed(site, MARATHON, CABLE_CAR)
        _wait_for(lambda: CABLE_CAR[0] in _titles(output), 30, process)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "stopped after" in out
    stories = read_jsonl(output / "stories")
    assert sorted(s["title"] for s in stories) == sorted([MARATHON[0], CABLE_CAR[0]])  # each written once
    polls = [p for p in site.paths_requested() if p == "/feeds/live.rss"]
    assert len(polls) >= 3  # it kept polling
    # Once a poll's entries were filed, its validators took effect during the run: later polls
    # ask "modified since?".
    conditional = [h for p, h in site.requests if p == "/feeds/live.rss"
                   and any(k.lower() in ("if-modified-since", "if-none-match") for k in h)]
    assert conditional
    assert sum(p.endswith(".html") for p in site.paths_requested()) == 2  # each page fetched once


def test_every_repeats_passes_and_stops_on_sigterm_after_the_current_pass(site, tmp_path):
    _feed(site, MARATHON)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/live.rss"])
    output = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds), "--output", str(output),
         "--every", "1s", *RUN_ARGS], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: len(list(output.glob("summary-*.json"))) >= 2, 90, process)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, err
    summaries = out.count("newsbeam run ")
    assert summaries >= 2 and summaries == len(list(output.glob("summary-*.json")))
    assert "1 new" in out and out.count("stories   1 new") == 1  # later passes find nothing new
