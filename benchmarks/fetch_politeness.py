"""Concurrent, polite fetching: 500 feeds on 50 hosts that each answer after 200 ms.

    python benchmarks/fetch_politeness.py [--feeds 500] [--hosts 50] [--latency 0.2]

The hosts are 127.0.0.1 ... 127.0.0.50 (all loopback, one server each). newsbeam's feed step
(the real ReadFeeds transform, on Beam's FnApiRunner, one worker) fetches every feed with the
default politeness: at most 2 requests at once per host and 1 s between their starts. The ideal
time is what politeness alone allows: a host with k feeds cannot finish before
(k - 1) x delay + latency. The figure that counts is the ratio of the two, measured in the same
run; the time of the same pipeline over feeds that answer at once (latency 0, no delay) is
printed too, as Beam's own fixed cost.
"""

from __future__ import annotations

import argparse
import http.server
import math
import pathlib
import sys
import tempfile
import threading
import time

import apache_beam as beam

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsbeam.fetching.settings import DEFAULTS as settings  # noqa: E402
from newsbeam.schemas import FeedSource, Shard  # noqa: E402
from newsbeam.state.store import open_store  # noqa: E402
from newsbeam.transforms.feeds import ReadFeeds  # noqa: E402
from newsbeam.transforms.options import RunOptions  # noqa: E402

FEED = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>Bench</title>"
        b"<item><title>Item</title><link>http://news.example/item</link></item></channel></rss>")


class SlowFeeds(http.server.BaseHTTPRequestHandler):
    latency = 0.2

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):  # noqa: N802
        time.sleep(self.latency)
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)


def start_hosts(count: int, latency: float) -> list[http.server.ThreadingHTTPServer]:
    handler = type("Handler", (SlowFeeds,), {"latency": latency})
    servers = []
    for number in range(1, count + 1):
        server = http.server.ThreadingHTTPServer((f"127.0.0.{number}", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers


def run_feed_step(sources: list[FeedSource], per_host_delay_s: float) -> float:
    """Seconds for the feed step over `sources` (one shard: one worker), from a fresh store."""
    with tempfile.TemporaryDirectory() as folder:
        options = RunOptions.of(feeds=tuple(sources), output_dir=folder, allow_private_network=True,
                                per_host_delay_s=per_host_delay_s)
        open_store(options.store)
        started = time.perf_counter()
        with beam.Pipeline(argv=["--runner", "FnApiRunner"]) as pipeline:
            _ = pipeline | beam.Create([Shard(index=0, count=1, feeds=tuple(sources))]) | ReadFeeds(options)
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()

    slow = start_hosts(args.hosts, args.latency)
    fast = start_hosts(args.hosts, 0.0)

    def sources(servers):
        return [FeedSource(url=f"http://{servers[i % len(servers)].server_address[0]}:"
                               f"{servers[i % len(servers)].server_address[1]}/feed/{i}.rss")
                for i in range(args.feeds)]

    baseline = run_feed_step(sources(fast), per_host_delay_s=0.0)
    measured = run_feed_step(sources(slow), settings.per_host_delay_s)
    per_host = math.ceil(args.feeds / args.hosts)
    ideal = (per_host - 1) * settings.per_host_delay_s + args.latency
    print(f"{args.feeds} feeds on {args.hosts} hosts, {args.latency * 1000:.0f} ms per answer, "
          f"{settings.per_host_connections} at once and {settings.per_host_delay_s:.1f} s apart per host")
    print(f"ideal (politeness-bound)        {ideal:6.1f} s")
    print(f"newsbeam feed step              {measured:6.1f} s   ratio to ideal {measured / ideal:.2f}")
    print(f"same step, instant hosts        {baseline:6.1f} s   (Beam and store overhead)")
    print(f"one request after another       {args.feeds * args.latency:6.1f} s   (what concurrency saves)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
