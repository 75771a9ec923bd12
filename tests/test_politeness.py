"""Politeness as the sites see it: from each test server's own request log, no host ever had
more requests at once, or requests closer together, than newsbeam's limits allow, with two
worker processes fetching many sites at once."""

from __future__ import annotations

import json

import pytest

from newsbeam.pipeline.cli import main
from tests.conftest import serving, write_feeds_file
from tests.many_sites import ManySites

pytestmark = [pytest.mark.slow]

DELAY = 0.5
CONNECTIONS = 2
# Server-side timestamps are taken when a request's handler thread runs, a little after newsbeam
# sent it; on a loaded machine that thread can wait for the interpreter lock (61 and 121 ms seen),
# and one late stamp shortens the gap after it. A breach of the limits shows otherwise: two
# requests at once (two workers pacing a host apart: a gap near 0), or a faster pace overall.
JITTER = 0.1


def assert_paced(log: list[tuple[str, float, float]], label: object) -> None:
    """No two requests to the host closer than half the delay, and the requests DELAY apart on
    the whole (the span of n requests at least (n - 1) x DELAY, less one stamp's lateness)."""
    starts = sorted(start for _, start, _ in log)
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= DELAY / 2, (label, gaps)
    assert starts[-1] - starts[0] >= (len(starts) - 1) * DELAY - JITTER, (label, gaps)


def most_at_once(log: list[tuple[str, float, float]]) -> int:
    events = sorted([(start, 1) for _, start, _ in log] + [(end, -1) for _, _, end in log])
    current = peak = 0
    for _, change in events:
        current += change
        peak = max(peak, current)
    return peak


def test_no_host_sees_more_than_its_limits_with_two_workers(tmp_path):
    sites = ManySites([6] * 8)  # 48 distinct pages on 8 hosts
    try:
        feeds = write_feeds_file(tmp_path / "feeds.yaml", sites.feed_urls())
        assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), "--allow-private-network",
                     "--per-host-delay", str(DELAY), "--per-host-connections", str(CONNECTIONS),
                     "--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]) == 0
        logs = {site.base: list(site.log) for site in sites.sites}
    finally:
        sites.close()
    summary = json.loads(next((tmp_path / "out").glob("summary-*.json")).read_text())
    assert summary["articles_extracted"] == 48 and len(summary["workers"]) == 2
    for host, log in logs.items():
        assert len(log) == 1 + 1 + 6, (host, log)  # the feed, robots.txt, six pages
        assert most_at_once(log) <= CONNECTIONS, host
        assert_paced(log, host)


def test_a_site_that_other_sites_feeds_link_to_keeps_its_pace_with_two_workers(tmp_path):
    """A site's own feed and pages, and two aggregators' feeds (on two other hosts, so the two
    workers share the three feeds) linking to more pages of it: whichever worker asks, for a
    feed, robots.txt or a page, the site sees its requests DELAY apart."""
    site = ManySites([6])
    target = site.sites[0]
    try:
        aggregators = []
        for number in range(2):
            folder = tmp_path / f"aggregator{number}"
            folder.mkdir()
            links = [f"{target.base}/a/elsewhere-{number}-{i}.html" for i in range(3)]  # not there: 404
            items = "".join(f"<item><title>Story {i}</title><link>{url}</link></item>" for i, url in enumerate(links))
            (folder / "feed.rss").write_text(f"<rss version='2.0'><channel><title>Aggregator {number}</title>"
                                             f"{items}</channel></rss>")
            aggregators.append(serving(folder, host=f"127.0.0.{30 + number}"))
        with aggregators[0] as first, aggregators[1] as second:
            feeds = write_feeds_file(tmp_path / "feeds.yaml", [*site.feed_urls(), first.base_url + "feed.rss",
                                                               second.base_url + "feed.rss"])
            assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), "--allow-private-network",
                         "--per-host-delay", str(DELAY), "--direct_num_workers", "2",
                         "--direct_running_mode", "multi_processing"]) == 0
        log = list(target.log)
    finally:
        site.close()
    summary = json.loads(next((tmp_path / "out").glob("summary-*.json")).read_text())
    assert summary["articles_extracted"] == 6 and summary["pages_failed"] == 6 and len(summary["workers"]) == 2
    paths = [path for path, _, _ in log]
    assert paths.count("/feed.rss") == 1 and sum(path.startswith("/a/") for path in paths) == 12
    assert_paced(log, sorted((start, path) for path, start, _ in log))
