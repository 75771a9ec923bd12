"""What story assignment costs, next to extraction, and as the index grows.

    python benchmarks/assign_cost.py [--sizes 10000,1000000]

1. On the 181 real article pages in ../shared/data/pages/scrapinghub: the median time of
   trafilatura's extraction per page, and the median time to assign the extracted article to a
   story (sentence vectors, candidate lookup, verification, store write) on one core, in the
   same run. Their ratio is the figure that counts: the machine is shared and noisy.
2. With N synthetic stories already in the index (unit vectors drawn around 2,000 random
   "topics", standing in for real ones, which cluster the same way): the median time of the
   lookup-verify-write part of an assignment (no encoding, which does not depend on N), the
   one-off time to build a worker's index from the store, and to restore it from its cache file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import pathlib
import statistics
import sys
import tempfile
import time

import numpy as np
import trafilatura

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsbeam.extraction.text import normalize_text  # noqa: E402
from newsbeam.matching.encoders import Usem3Encoder  # noqa: E402
from newsbeam.matching.features import Fingerprint, Fingerprinter  # noqa: E402
from newsbeam.matching.story_index import StoryIndex  # noqa: E402
from newsbeam.matching.vectors import pack  # noqa: E402
from newsbeam.schemas import Article, utc_now  # noqa: E402
from newsbeam.state.store import open_store  # noqa: E402

PAGES = ROOT.parent / "shared" / "data" / "pages" / "scrapinghub"


# Long enough to be matched (shorter texts join a story only by their URL).
PROBE_TEXT = "A probe article, long enough for the story index to look up its neighbours. " * 2


def article(url: str, title: str, text: str) -> Article:
    return Article(url=url, feed_url="bench", title=title, text=text, language=None, published=None, authors=(),
                   site_name=None, description=None, image=None, tags=(), body_source="page")


def extraction_versus_assignment() -> None:
    truth = json.loads((PAGES / "ground-truth.json").read_text())
    extract_times, assign_times, extracted = [], [], []
    for key, meta in truth.items():
        html = gzip.decompress((PAGES / "html" / f"{key}.html.gz").read_bytes())
        started = time.perf_counter()
        document = trafilatura.bare_extraction(html, url=meta["url"], with_metadata=True)
        extract_times.append(time.perf_counter() - started)
        if document is not None and document.text:
            extracted.append((meta["url"], document.title or "", normalize_text(document.text)))

    with tempfile.TemporaryDirectory() as folder:
        index = StoryIndex(open_store(f"{folder}/state.db"), Fingerprinter(Usem3Encoder()))
        index.fingerprinter("warm up", "The encoder loads its weights on first use.")
        for url, title, text in extracted:
            started = time.perf_counter()
            index.assign(article(url, title, text), index.fingerprinter(title, text))
            assign_times.append(time.perf_counter() - started)
    extract_ms = statistics.median(extract_times) * 1000
    assign_ms = statistics.median(assign_times) * 1000
    print(f"pages: {len(truth)}, extracted: {len(extracted)}")
    print(f"median extraction (trafilatura)          {extract_ms:7.1f} ms/article")
    print(f"median assignment (vectors + index)      {assign_ms:7.1f} ms/article")
    print(f"ratio assignment / extraction            {assign_ms / extract_ms:7.2f}")


class _NotEncoding:
    """The growth test gives ready-made vectors: nothing is encoded."""

    name = "usem3"

    def encode(self, texts: list[str]) -> np.ndarray:
        raise AssertionError("the growth test does not encode")


def index_growth(size: int, dim: int = 512, sentences: int = 4, probes: int = 200) -> None:
    rng = np.random.default_rng(size)
    topics = rng.standard_normal((2000, dim)).astype(np.float32)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)

    def unit_vectors(count: int) -> np.ndarray:
        noise = rng.standard_normal((count, dim)).astype(np.float32) / np.sqrt(dim)
        vectors = 0.6 * topics[rng.integers(0, len(topics), count)] + 0.8 * noise
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"{folder}/state.db")
        now = utc_now()
        started = time.perf_counter()
        def fill(db):
            for start in range(0, size, 10_000):
                count = min(10_000, size - start)
                vectors = unit_vectors(count)
                db.executemany("INSERT INTO stories (story_id, event_id, first_seen, updated) VALUES (?, ?, ?, ?)",
                               [(f"s_{start + i:016x}", f"e_{start + i:016x}", now, now) for i in range(count)])
                db.executemany(
                    "INSERT INTO articles (url, story_id, feed_url, title, text, authors, tags, body_source, "
                    "body_hash, first_seen, updated, vector, sentences, numbers, seq) "
                    "VALUES (?, ?, '', '', '', '[]', '[]', 'page', ?, ?, ?, ?, ?, '', ?)",
                    [(f"http://bench/{start + i}", f"s_{start + i:016x}", f"h{start + i}", now, now,
                      pack(vectors[i:i + 1]), pack(np.repeat(vectors[i:i + 1], sentences, axis=0)), start + i + 1)
                     for i in range(count)])

        store.db.run_in_transaction(fill)
        fill_seconds = time.perf_counter() - started

        index = StoryIndex(store, Fingerprinter(_NotEncoding()))
        started = time.perf_counter()
        index.vectors.sync()
        load_seconds = time.perf_counter() - started
        index.vectors.save()
        restarted = StoryIndex(store, Fingerprinter(_NotEncoding()))
        started = time.perf_counter()
        restarted.vectors.sync()
        restore_seconds = time.perf_counter() - started
        assert len(restarted.vectors) == len(index.vectors)

        times = []
        for number in range(probes):
            vector = unit_vectors(1)[0]
            rows = np.repeat(vector[None, :], sentences, axis=0)
            fingerprint = Fingerprint(body_hash=f"probe{number}", vector=vector, numbers=frozenset(),
                                      title="", text=PROBE_TEXT, sentences=rows)
            started = time.perf_counter()
            index.assign(article(f"http://probe/{number}", "", PROBE_TEXT), fingerprint)
            times.append(time.perf_counter() - started)
        print(f"index of {size:>9,} stories: assignment median {statistics.median(times) * 1000:6.2f} ms, "
              f"p90 {np.percentile(times, 90) * 1000:6.2f} ms; building the index {load_seconds:6.1f} s, "
              f"restoring it from its cache {restore_seconds:5.1f} s (store filled in {fill_seconds:.0f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,1000000", help="index sizes for the growth test")
    parser.add_argument("--skip-pages", action="store_true")
    args = parser.parse_args()
    if not args.skip_pages:
        extraction_versus_assignment()
    for size in (int(s) for s in args.sizes.split(",") if s):
        index_growth(size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
