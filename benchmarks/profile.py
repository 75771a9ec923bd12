"""Where each millisecond of an article goes: newsbeam's per-article path against the bare loop,
part by part, measured in the same run over the same pages.

    python benchmarks/profile.py [--store sqlite|postgres] [--no-run]

The corpus is the throughput benchmark's (tests/many_sites.py, `even`: 50 sites on loopback
addresses, 20 distinct real news pages each). Three measurements, one after the other:

- the bare loop (as benchmarks/run.py): fetch, trafilatura with metadata, seeded langdetect,
  one document vector, story assignment; the matrix library on one thread;
- newsbeam's per-article path in one thread, without Beam: the functions its stages call
  (extraction.page.extract_article, the fingerprint, StoryIndex.assign), each part timed on its
  own (exclusive time: a part's time less that of the parts it calls);
- `newsbeam run` through the CLI with default settings (politeness on), one worker: its wall
  time and the busy time its stages report, so that what Beam and waiting add shows as the
  difference.

Printed: milliseconds per article by part, for both loops, and the time each article holds the
store's writer lock (which bounds a cluster: no number of workers files more articles a second
than 1 / that time). PostgreSQL: --store postgres with NEWSBEAM_BENCH_POSTGRES=URL.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import functools
import json
import multiprocessing
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.many_sites import ManySites  # noqa: E402

LOCK = "inside the writer lock"


class Ledger:
    """Exclusive seconds per part: each wrapped call's time, less that of the wrapped calls
    inside it. One thread."""

    def __init__(self) -> None:
        self.seconds: collections.Counter = collections.Counter()
        self.lock_seconds = 0.0
        self._inner: list[float] = []
        self._in_lock = False
        self._patched: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, name: str, part: str) -> None:
        original = getattr(owner, name)
        ledger = self

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            ledger._inner.append(0.0)
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                ledger.seconds[part] += elapsed - ledger._inner.pop()
                if ledger._inner:
                    ledger._inner[-1] += elapsed

        self._patched.append((owner, name, original))
        setattr(owner, name, timed)

    def wrap_lock(self, owner: Any) -> None:
        """The outermost write transaction's whole time: the writer lock is held throughout."""
        original = owner.run_in_transaction
        ledger = self

        def timed(database: Any, work: Callable) -> Any:
            if ledger._in_lock:
                return original(database, work)
            ledger._in_lock = True
            started = time.perf_counter()
            try:
                return original(database, work)
            finally:
                ledger.lock_seconds += time.perf_counter() - started
                ledger._in_lock = False

        self._patched.append((owner, "run_in_transaction", original))
        owner.run_in_transaction = timed

    def undo(self) -> None:
        for owner, name, original in reversed(self._patched):
            setattr(owner, name, original)
        self._patched.clear()


def in_own_process(function: Callable, *args: Any) -> Any:
    """function(*args) in a fresh Python process (spawned), its matrix library on one thread."""
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=one_thread_matrix_library) as pool:
        return pool.submit(function, *args).result()


def in_processes(function: Callable, arguments: list[tuple]) -> list[Any]:
    """function(*arguments) for each tuple, each in a fresh process, all at once."""
    with concurrent.futures.ProcessPoolExecutor(len(arguments), mp_context=multiprocessing.get_context("spawn"),
                                                initializer=one_thread_matrix_library) as pool:
        return [future.result() for future in [pool.submit(function, *args) for args in arguments]]


def merged(ledgers: list[Ledger]) -> Ledger:
    total = Ledger()
    for ledger in ledgers:
        total.seconds.update(ledger.seconds)
        total.lock_seconds += ledger.lock_seconds
    return total


def one_thread_matrix_library() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


@contextlib.contextmanager
def story_index(store_url: str) -> Iterator[Any]:
    from newsbeam.matching.encoders import Usem3Encoder
    from newsbeam.matching.features import Fingerprinter
    from newsbeam.matching.story_index import StoryIndex
    from newsbeam.state.store import open_store

    store = open_store(store_url)
    try:
        index = StoryIndex(store, Fingerprinter(Usem3Encoder()))
        index.fingerprinter("warm up", "The encoder loads its weights on first use.")
        yield index
    finally:
        store.close()


def _fetcher() -> Callable[[str], bytes]:
    import requests

    session = requests.Session()
    session.trust_env = False
    return lambda url: session.get(url, timeout=30).content


def bare_loop(urls: list[str], store_url: str) -> tuple[float, Ledger]:
    import langdetect
    import trafilatura

    from newsbeam.matching.features import Fingerprinter
    from newsbeam.matching.story_index import StoryIndex
    from newsbeam.schemas import Article
    from newsbeam.state.database import Connection, Database

    langdetect.DetectorFactory.seed = 0
    ledger = Ledger()
    fetch = _fetcher()
    with story_index(store_url) as index:
        ledger.wrap(trafilatura, "bare_extraction", "trafilatura (with metadata)")
        ledger.wrap(langdetect, "detect", "language (langdetect)")
        ledger.wrap(Fingerprinter, "many", "document vector (encoder)")
        ledger.wrap(Fingerprinter, "with_sentences", "sentence vectors (encoder)")
        ledger.wrap(Connection, "execute", "store statements")
        ledger.wrap(StoryIndex, "assign", "story index (candidates, rules)")
        ledger.wrap_lock(Database)
        timed_fetch = _timed(ledger, fetch, "fetch (loopback HTTP)")
        started = time.perf_counter()
        try:
            for url in urls:
                html = timed_fetch(url)
                document = trafilatura.bare_extraction(html, url=url, with_metadata=True)
                text = (document.text or "") if document else ""
                language = langdetect.detect(text[:2000]) if len(text) > 60 else None
                title = (document.title or "") if document else ""
                article = Article(url=url, feed_url="", title=title, text=text, language=language, published=None,
                                  authors=(), site_name=None, description=None, image=None, tags=(),
                                  body_source="page")
                index.assign(article, index.fingerprinter(title, text))
            return time.perf_counter() - started, ledger
        finally:
            ledger.undo()


def _timed(ledger: Ledger, function: Callable, part: str) -> Callable:
    holder = type("Holder", (), {"call": staticmethod(function)})
    ledger.wrap(holder, "call", part)
    return holder.call


def newsbeam_loop(urls: list[str], store_url: str, start_at: float | None = None) -> tuple[float, Ledger]:
    """newsbeam's per-article work, as its stages do it, in one thread and without Beam; with
    `start_at` (a time.time()), warmed up and waiting until then (loops in several processes,
    sharing one store as workers do, start together)."""
    import trafilatura

    from newsbeam.extraction import page as extraction
    from newsbeam.matching import story_index as assignment
    from newsbeam.matching.encoders import meaning_similarity
    from newsbeam.matching.features import Fingerprinter
    from newsbeam.matching.story_index import StoryIndex
    from newsbeam.matching.vectors import VectorIndex
    from newsbeam.schemas import FetchedPage
    from newsbeam.state.database import Connection, Database, PostgresDatabase, SqliteDatabase
    from newsbeam.transforms.pages import PAGE_CHUNK

    ledger = Ledger()
    fetch = _fetcher()
    parts = {
        (extraction, "parse_page"): "parse the page (lxml)",
        (extraction, "read_metadata"): "page metadata (JSON-LD, meta, h1, bylines)",
        (extraction, "parse_with_publisher"): "publisher parser (Fundus lookup)",
        (trafilatura, "bare_extraction"): "trafilatura (with metadata)",
        (extraction, "headline"): "headline, byline, time and body rules",
        (extraction, "byline"): "headline, byline, time and body rules",
        (extraction, "publication"): "headline, byline, time and body rules",
        (extraction, "clean_body"): "headline, byline, time and body rules",
        (extraction, "body_from_json_ld"): "headline, byline, time and body rules",
        (extraction, "strip_repeated_headline"): "headline, byline, time and body rules",
        (extraction, "strip_trailers"): "headline, byline, time and body rules",
        (extraction, "normalize_text"): "headline, byline, time and body rules",
        (extraction, "detect_language"): "language (langdetect)",
        (Fingerprinter, "many"): "document vector (encoder)",
        (Fingerprinter, "with_sentences"): "sentence vectors (encoder)",
        (assignment, "same_story"): "alignment and story rules",
        (assignment, "may_be_same_story"): "alignment and story rules",
        (assignment, "choose_event"): "event rules",
        (assignment, "absorbs"): "event rules",
        (VectorIndex, "sync"): "nearest neighbours (usearch)",
        (VectorIndex, "nearest"): "nearest neighbours (usearch)",
        (Connection, "execute"): "store statements",
        (Connection, "executemany"): "store statements",
        (StoryIndex, "assign_many"): "story index (candidates, rules)",
        (extraction, "extract_article"): "extraction, the rest",
    }
    with story_index(store_url) as index:
        similarity = _timed(ledger, meaning_similarity(index.fingerprinter.encoder), "headline restated? (encoder)")
        for (owner, name), part in parts.items():
            ledger.wrap(owner, name, part)
        ledger.wrap_lock(Database)
        for kind in (SqliteDatabase, PostgresDatabase):
            ledger.wrap(kind, "_begin", "waiting for the writer lock")
        timed_fetch = _timed(ledger, fetch, "fetch (loopback HTTP)")
        if start_at is not None:
            time.sleep(max(0.0, start_at - time.time()))
        started = time.perf_counter()
        try:
            chunk: list = []
            for n, url in enumerate(urls):
                entry = extraction.feed_entry(url)
                page = FetchedPage(entry=entry, url=url, html=timed_fetch(url), content_type="text/html")
                try:
                    chunk.append(extraction.extract_article(page, similarity))
                except extraction.NotAnArticle:
                    pass
                if len(chunk) == PAGE_CHUNK or (chunk and n == len(urls) - 1):
                    # as the stages do: one encoder call fingerprints a chunk, one transaction files it
                    index.assign_many(chunk, index.fingerprinter.many([(a.title, a.text) for a in chunk],
                                                                      [a.language for a in chunk]))
                    chunk = []
            return time.perf_counter() - started, ledger
        finally:
            ledger.undo()


def cli_run(feeds: list[str], store_url: str | None) -> tuple[float, dict[str, Any]]:
    """`newsbeam run` with default settings, one worker: (seconds, summary)."""
    with tempfile.TemporaryDirectory() as folder:
        feeds_file = pathlib.Path(folder) / "feeds.yaml"
        feeds_file.write_text("feeds:\n" + "".join(f"  - url: {url}\n" for url in feeds))
        command = [sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds_file), "--output",
                   f"{folder}/out", "--allow-private-network", *(["--store", store_url] if store_url else [])]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"newsbeam run failed:\n{done.stderr[-3000:]}")
        summary = json.loads(sorted(pathlib.Path(folder, "out").glob("summary-*.json"))[-1].read_text())
    return seconds, summary


def fresh_store(kind: str, folder: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder}/state-{uuid.uuid4().hex[:8]}.db"
    import psycopg

    server = os.environ["NEWSBEAM_BENCH_POSTGRES"]
    name = f"newsbeam_profile_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + "/" + name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--no-run", action="store_true", help="leave out the `newsbeam run` measurement")
    parser.add_argument("--two", action="store_true", help="also two newsbeam loops at once on one store")
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--pages", type=int, default=20, help="pages per site")
    args = parser.parse_args()
    if args.store == "postgres" and not os.environ.get("NEWSBEAM_BENCH_POSTGRES"):
        raise SystemExit("--store postgres needs NEWSBEAM_BENCH_POSTGRES=URL")
    sites = ManySites([args.pages] * args.sites)
    try:
        urls = sites.page_urls()
        with tempfile.TemporaryDirectory() as folder:
            # each loop in a process of its own, as `newsbeam run` is: in the servers' process a
            # fetch would wait for the server's share of the interpreter lock
            bare_seconds, bare = in_own_process(bare_loop, urls, fresh_store(args.store, folder))
            ours_seconds, ours = in_own_process(newsbeam_loop, urls, fresh_store(args.store, folder))
            pair = None
            if args.two:  # two loops at once, half the pages each, on one store: two workers
                shared, start_at = fresh_store(args.store, folder), time.time() + 30
                halves = [(urls[:len(urls) // 2], shared, start_at), (urls[len(urls) // 2:], shared, start_at)]
                results = in_processes(newsbeam_loop, halves)
                pair = (max(seconds for seconds, _ in results), merged([ledger for _, ledger in results]))
            run = None if args.no_run else cli_run(sites.feed_urls(), None if args.store == "sqlite"
                                                   else fresh_store(args.store, folder))
    finally:
        sites.close()
    count = len(urls)
    print(f"{count} distinct pages on {args.sites} loopback sites; store {args.store}; milliseconds per article\n")
    columns = [("bare loop", bare_seconds, bare), ("newsbeam", ours_seconds, ours)]
    if pair is not None:  # the two loops' parts summed: CPU time an article, over both processes
        columns.append(("2 at once", pair[0] * 2, pair[1]))
    print(f"{'part':<46}" + "".join(f" {name:>10}" for name, _, _ in columns))
    rows = sorted(set().union(*(ledger.seconds for _, _, ledger in columns)),
                  key=lambda part: -ours.seconds.get(part, 0.0))
    for part in rows:
        print(f"{part:<46}" + "".join(f" {ledger.seconds.get(part, 0.0) * 1000 / count:10.1f}"
                                      for _, _, ledger in columns))
    print(f"{'the loop itself':<46}" + "".join(f" {(seconds - sum(ledger.seconds.values())) * 1000 / count:10.1f}"
                                               for _, seconds, ledger in columns))
    print(f"{'total':<46}" + "".join(f" {seconds * 1000 / count:10.1f}" for _, seconds, _ in columns))
    print(f"{LOCK + ' (within the parts above)':<46}" + "".join(f" {ledger.lock_seconds * 1000 / count:10.1f}"
                                                               for _, _, ledger in columns))
    if pair is not None:
        print(f"\ntwo loops at once on one store (wall {pair[0]:.1f} s): x{bare_seconds / pair[0]:.2f} one bare "
              f"loop's speed; the column shows their time summed over both (2 x wall)")
    print(f"\nnewsbeam's loop / bare loop: x{bare_seconds / ours_seconds:.2f} the bare loop's speed")
    ceiling = count / ours.lock_seconds if ours.lock_seconds else float("inf")
    print(f"writer lock: {ours.lock_seconds * 1000 / count:.1f} ms an article: at most {ceiling:.0f} articles/s "
          f"filed, whatever the number of workers")
    if run is not None:
        seconds, summary = run
        busy = summary.get("stage_seconds", {})
        print(f"\n`newsbeam run` (default settings, 1 worker): {seconds:.1f} s, {seconds * 1000 / count:.1f} ms an "
              f"article (x{bare_seconds / seconds:.2f} the bare loop)")
        for stage, stage_seconds in busy.items():
            print(f"  {stage:<44} {stage_seconds * 1000 / count:10.1f} ms an article busy")
        outside = seconds - sum(busy.values())
        print(f"  {'not in a stage (start-up, Beam, waiting)':<44} {outside * 1000 / count:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
