"""How fast the stores take stories, and how long an export of 100k stories takes.

    python benchmarks/store_speed.py [--postgres URL] [--articles 2000] [--export 100000]

1. Story assignment as the pipeline does it (one short write transaction per article: lookup,
   verify, insert), with synthetic fingerprints, into SQLite and into PostgreSQL.
2. The same stories inserted in batches of 1,000 rows per transaction (the bulk path), as the
   upper bound of what the databases take here.
3. `newsbeam stories export --format parquet` of EXPORT stories from each store.

PostgreSQL: --postgres, or NEWSBEAM_TEST_POSTGRES (.ci/start-postgres starts one).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time
import uuid

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.assign_cost import _NotEncoding, article  # noqa: E402
from newsbeam.matching.features import Fingerprint, Fingerprinter  # noqa: E402
from newsbeam.matching.story_index import StoryIndex  # noqa: E402
from newsbeam.matching.vectors import pack  # noqa: E402
from newsbeam.pipeline.cli import main as newsbeam  # noqa: E402
from newsbeam.schemas import utc_now  # noqa: E402
from newsbeam.state.store import open_store  # noqa: E402


def synthetic(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, 512)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def assign_rate(store_url: str, count: int) -> float:
    index = StoryIndex(open_store(store_url), Fingerprinter(_NotEncoding()))
    vectors = synthetic(count, 1)
    started = time.perf_counter()
    for number, vector in enumerate(vectors):
        fingerprint = Fingerprint(body_hash=f"b{number}", vector=vector, numbers=frozenset(), title="", text="",
                                  sentences=vector[None, :])
        index.assign(article(f"http://bench/{number}", f"t{number}", "x"), fingerprint)
    return count / (time.perf_counter() - started)


def bulk_rate(store_url: str, count: int) -> float:
    store = open_store(store_url)
    vectors = synthetic(count, 2)
    now = utc_now()
    started = time.perf_counter()
    for start in range(0, count, 1000):
        rows = range(start, min(start + 1000, count))
        def insert(db, rows=rows):
            db.executemany("INSERT INTO stories (story_id, event_id, first_seen, updated) VALUES (?, ?, ?, ?)",
                           [(f"s_{i:016x}", f"e_{i:016x}", now, now) for i in rows])
            db.executemany(
                "INSERT INTO articles (url, story_id, feed_url, title, text, language, authors, tags, body_source, "
                "body_hash, first_seen, updated, vector, sentences, numbers, seq) "
                "VALUES (?, ?, 'http://feed', ?, ?, 'en', '[]', '[]', 'page', ?, ?, ?, ?, NULL, '', ?)",
                [(f"http://bulk/{i}", f"s_{i:016x}", f"Title {i}", "A short body. " * 40, f"h{i}", now, now,
                  pack(vectors[i:i + 1]), 10_000_000 + i) for i in rows])

        store.db.run_in_transaction(insert)
    return count / (time.perf_counter() - started)


def export_seconds(store_url: str, folder: str) -> float:
    started = time.perf_counter()
    assert newsbeam(["stories", "export", "--store", store_url, "--format", "parquet",
                     "-o", os.path.join(folder, f"{uuid.uuid4().hex}.parquet")]) == 0
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("NEWSBEAM_TEST_POSTGRES"))
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--export", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        stores = {"sqlite": f"sqlite:///{folder}/state.db"}
        created = None
        if args.postgres:
            import psycopg

            created = f"newsbeam_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {created}")
            stores["postgres"] = args.postgres.rsplit("/", 1)[0] + "/" + created
        try:
            print(f"{'store':<10} {'assign/s (1 txn each)':>22} {'bulk rows/s':>12} {'export ' + str(args.export):>14}")
            for name, url in stores.items():
                assigned = assign_rate(url, args.articles)
                bulk = bulk_rate(url, args.export)
                seconds = export_seconds(url, folder)
                print(f"{name:<10} {assigned:22.0f} {bulk:12.0f} {seconds:12.1f} s")
        finally:
            if created:
                with psycopg.connect(args.postgres, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {created} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
