"""How long `newsbeam stories list` takes on a large store: the newest 50 of a million stories,
with and without filters, on SQLite and PostgreSQL, against the same listing on a store of
10,000 stories measured in the same run (the baseline: what a listing costs when nothing is
large).

    python benchmarks/listing.py [--stories 1000000] [--baseline 10000] [--postgres URL] [--repeat 5]

Stories are filled in bulk (1,000 rows a transaction), one article each, in 5 languages over 50
sites, with a word in every 100th text and a rare one in every 100,000th, each changed at its
own second over the last weeks.
Each listing goes through the CLI (`newsbeam stories list --json`, in-process), and prints the
median of --repeat runs. PostgreSQL: --postgres, or NEWSBEAM_TEST_POSTGRES.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsbeam.pipeline.cli import main as newsbeam  # noqa: E402
from newsbeam.state.store import open_store  # noqa: E402

LANGUAGES = ("de", "en", "fr", "es", "it")
FILTERS = {
    "newest 50": [],
    "--language fr": ["--language", "fr"],
    "--site site7.example": ["--site", "site7.example"],
    "--query glockenspiel": ["--query", "glockenspiel"],
    "--query zither (rare)": ["--query", "zither"],
    "--since 24h": ["--since", "24h"],
}


def fill(store_url: str, count: int) -> float:
    """Seconds to fill the store with `count` stories of one article each."""
    store = open_store(store_url)
    start = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    for first in range(0, count, 1000):
        rows = range(first, min(first + 1000, count))

        def insert(db, rows=rows):
            stamps = {i: (start - dt.timedelta(seconds=count - i)).isoformat(timespec="seconds") for i in rows}
            db.executemany("INSERT INTO stories (story_id, event_id, first_seen, updated) VALUES (?, ?, ?, ?)",
                           [(f"s_{i:016x}", f"e_{i // 3:016x}", stamps[i], stamps[i]) for i in rows])
            db.executemany(
                "INSERT INTO articles (url, story_id, feed_url, title, text, language, authors, tags, body_source, "
                "body_hash, first_seen, updated, vector, numbers, seq) "
                "VALUES (?, ?, 'http://feed', ?, ?, ?, '[]', '[]', 'page', ?, ?, ?, ?, '', ?)",
                [(f"https://site{i % 50}.example/story/{i}", f"s_{i:016x}", f"Story number {i}",
                  ("A report of some length about the day's events. " * 8)
                  + ("The glockenspiel played. " if i % 100 == 0 else "")
                  + ("A zither too. " if i % 100_000 == 7 else ""),
                  LANGUAGES[i % 5], f"h{i}", stamps[i], stamps[i], b"\0" * 512, i + 1) for i in rows])

        store.db.run_in_transaction(insert)
    store.close()
    return time.perf_counter() - started


def listing_seconds(store_url: str, args: list[str], repeat: int) -> tuple[float, int]:
    times, found = [], 0
    for run in range(repeat + 1):  # the first warms the caches up and is not counted
        out = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            assert newsbeam(["stories", "list", "--store", store_url, "--json", *args]) == 0
        if run:
            times.append(time.perf_counter() - started)
        found = len(out.getvalue().splitlines())
    return statistics.median(times), found


def fresh_postgres(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("NEWSBEAM_TEST_POSTGRES"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        stores = {"sqlite": lambda size: f"sqlite:///{folder}/listing-{size}.db"}
        if args.postgres:
            stores["postgres"] = lambda size: fresh_postgres(args.postgres, f"newsbeam_listing_{size}")
        for backend, make in stores.items():
            urls = {}
            for size in (args.baseline, args.stories):
                urls[size] = make(size)
                seconds = fill(urls[size], size)
                print(f"{backend}: {size:,} stories filled in {seconds:.0f} s", flush=True)
            print(f"{backend:<9} {'listing':<24} {args.baseline:>10,} {args.stories:>12,}   ratio   found")
            for name, filters in FILTERS.items():
                small, _ = listing_seconds(urls[args.baseline], filters, args.repeat)
                large, found = listing_seconds(urls[args.stories], filters, args.repeat)
                print(f"{backend:<9} {name:<24} {small * 1000:8.0f}ms {large * 1000:10.0f}ms   x{large / small:4.1f}"
                      f"   {found}", flush=True)


if __name__ == "__main__":
    main()
