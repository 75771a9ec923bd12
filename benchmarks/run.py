"""newsbeam's throughput against the limit, on a replay of real article pages.

    python benchmarks/run.py [--sizes 500,2000] [--workers 1,2]

- Replay corpus: a local HTTP server on 127.0.0.1 serves feeds of 50 entries each, whose
  entries point to the 181 real article pages in ../shared/data/pages/scrapinghub, repeated
  under distinct URLs to reach each size. No artificial latency.
- The limit: a bare loop in one process over the same pages: fetch from the local server,
  trafilatura.bare_extraction, langdetect, story assignment; nothing else.
- newsbeam: `newsbeam run` over the replay corpus on the DirectRunner, 1 worker and 2 workers
  (multi_processing), from a cold store; then a second run over the unchanged feeds.

Printed: articles per second, the ratio to the limit, peak memory (RSS of the run's whole
process tree), the limit's own per-stage time, newsbeam's time per article in each step of its
graph (Beam's execution-time metrics, summed over workers), and the second run's time as a
share of the first. Ratios are what to compare: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = ROOT.parent / "shared" / "data" / "pages" / "scrapinghub"
ENTRIES_PER_FEED = 50


class Replay(http.server.ThreadingHTTPServer):
    """Feeds /feed/N.rss and pages /page/N.html; page N is real page N mod 181."""

    daemon_threads = True

    def __init__(self, size: int):
        truth = json.loads((PAGES / "ground-truth.json").read_text())
        self.pages = [gzip.decompress((PAGES / "html" / f"{key}.html.gz").read_bytes()) for key in truth]
        self.size = size
        super().__init__(("127.0.0.1", 0), ReplayHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def feed_urls(self) -> list[str]:
        return [f"{self.base}/feed/{n}.rss" for n in range((self.size + ENTRIES_PER_FEED - 1) // ENTRIES_PER_FEED)]

    def page_urls(self) -> list[str]:
        return [f"{self.base}/page/{n}.html" for n in range(self.size)]

    def feed(self, number: int) -> bytes:
        first = number * ENTRIES_PER_FEED
        items = "".join(
            f"<item><title>Article {n}</title><link>{self.base}/page/{n}.html</link><guid>{n}</guid></item>"
            for n in range(first, min(first + ENTRIES_PER_FEED, self.size)))
        return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>Replay {number}</title>"
                f"{items}</channel></rss>").encode()


class ReplayHandler(http.server.BaseHTTPRequestHandler):
    server: Replay
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):  # noqa: N802
        kind, _, name = self.path.strip("/").partition("/")
        number = int(name.split(".")[0]) if name.split(".")[0].isdigit() else -1
        if kind == "feed" and number >= 0:
            body, content_type = self.server.feed(number), "application/rss+xml"
        elif kind == "page" and 0 <= number < self.server.size:
            body, content_type = self.server.pages[number % len(self.server.pages)], "text/html; charset=utf-8"
        else:
            body, content_type = b"not found", "text/plain"
            self.send_response(404)
        if kind in ("feed", "page") and number >= 0:
            self.send_response(200)
            self.send_header("Last-Modified", "Mon, 02 Nov 2026 10:00:00 GMT")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def bare_loop(urls: list[str]) -> tuple[float, dict[str, float]]:
    """The limit: articles per second of the unavoidable work, and seconds per stage."""
    import langdetect
    import requests
    import trafilatura

    sys.path.insert(0, str(ROOT))
    from schemas import Article
    from state.store import open_store
    from transforms.stories import Fingerprinter, StoryIndex, Usem3Encoder

    langdetect.DetectorFactory.seed = 0
    stages = dict.fromkeys(("fetch", "extract", "language", "assign"), 0.0)
    with tempfile.TemporaryDirectory() as folder:
        index = StoryIndex(open_store(f"{folder}/state.db"), Fingerprinter(Usem3Encoder()))
        index.fingerprinter("warm up", "The encoder loads its weights on first use.")
        session = requests.Session()
        started = time.perf_counter()
        for url in urls:
            t0 = time.perf_counter()
            html = session.get(url, timeout=30).content
            t1 = time.perf_counter()
            document = trafilatura.bare_extraction(html, url=url, with_metadata=True)
            t2 = time.perf_counter()
            text = (document.text or "") if document else ""
            language = langdetect.detect(text[:2000]) if len(text) > 60 else None
            t3 = time.perf_counter()
            title = (document.title or "") if document else ""
            article = Article(url=url, feed_url="", title=title, text=text, language=language, published=None,
                              authors=(), site_name=None, description=None, image=None, tags=(), body_source="page")
            index.assign(article, index.fingerprinter(title, text))
            t4 = time.perf_counter()
            for stage, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                stages[stage] += seconds
        elapsed = time.perf_counter() - started
    return len(urls) / elapsed, {k: v / len(urls) * 1000 for k, v in stages.items()}


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = pathlib.Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total / 1024 / 1024


def newsbeam_run(feeds: list[str], folder: pathlib.Path, workers: int) -> tuple[float, float, dict]:
    feeds_file = folder / "feeds.yaml"
    feeds_file.write_text("feeds:\n" + "".join(f"  - url: {url}\n" for url in feeds))
    command = [sys.executable, "-m", "pipeline", "run", "--feeds", str(feeds_file), "--output", str(folder / "out"),
               "--allow-private-network", "--per-host-delay", "0", "--per-host-connections", "8"]
    if workers > 1:
        command += ["--direct_num_workers", str(workers), "--direct_running_mode", "multi_processing"]
    else:
        command += ["--runner", "FnApiRunner"]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, tree_rss_mb(process.pid))
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    _, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"newsbeam run failed:\n{err[-3000:]}")
    summary = json.loads(sorted((folder / "out").glob("summary-*.json"))[-1].read_text())
    return elapsed, peak, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="500,2000")
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workers = [int(w) for w in args.workers.split(",")]

    print(f"{'articles':>8} {'run':<16} {'art/s':>7} {'vs limit':>8} {'peak MB':>8} {'seconds':>8}")
    for size in sizes:
        server = Replay(size)
        limit, stages = bare_loop(server.page_urls())
        print(f"{size:>8} {'bare loop':<16} {limit:7.1f} {1.0:8.2f} {'':>8} {size / limit:8.1f}   "
              + ", ".join(f"{k} {v:.1f} ms" for k, v in stages.items()))
        rates = {}
        for count in workers:
            with tempfile.TemporaryDirectory() as folder:
                seconds, peak, summary = newsbeam_run(server.feed_urls(), pathlib.Path(folder), count)
                assert summary["articles_extracted"] + summary["articles_from_feed"] >= size * 0.95, summary
                rates[count] = size / seconds
                stages = summary.get("stage_seconds", {})
                print(f"{size:>8} {f'newsbeam x{count}':<16} {rates[count]:7.1f} {rates[count] / limit:8.2f} "
                      f"{peak:8.0f} {seconds:8.1f}   "
                      + ", ".join(f"{k.split('/', 1)[-1]} {v / size * 1000:.1f} ms" for k, v in stages.items()))
                if count == workers[0]:
                    again, _, _ = newsbeam_run(server.feed_urls(), pathlib.Path(folder), count)
                    print(f"{size:>8} {'second run':<16} {'':>7} {'':>8} {'':>8} {again:8.1f}   "
                          f"{again / seconds:.1%} of the first run")
        if len(rates) > 1:
            print(f"{size:>8} {'scaling':<16} x{rates[workers[-1]] / rates[workers[0]]:.2f} "
                  f"with {workers[-1]} workers over {workers[0]}")
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
