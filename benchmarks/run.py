"""newsbeam's throughput as users run it: many sites, distinct articles, default politeness.

    python benchmarks/run.py [--corpus even,skewed] [--workers 1,2] [--stores sqlite,postgres]

- Corpora (tests/many_sites.py): `even` is 50 sites with 20 pages each (1,000 distinct real
  news texts from ../shared/data/dedup, in site chrome); `wide` is 100 sites with 10 pages (the
  same number of pages, half the politeness bound: where two workers are bound by the CPU, not
  by the busiest host); `skewed` is 3 big sites with 100 pages and 30 small ones with 5. Each
  site is a server of its own on a loopback address (127.0.0.2, ...), as real feeds are.
- CPU bound: a bare loop in one process on one core (its matrix library on one thread) over
  the same pages, one after the other: fetch, trafilatura.bare_extraction, langdetect, story
  assignment (the same encoder and store); nothing else. With N workers the CPU bound is its
  time over N. The loop runs in a process of its own, as `newsbeam run` does: in the process
  of the sites' servers it would share their interpreter lock, and every fetch would wait for
  the server's own work.
- Politeness bound: the least time newsbeam's default limits allow for the corpus: the busiest
  host's requests (its feed and its pages), one second apart.
- newsbeam: `newsbeam run` with default settings (politeness on) from a cold store, 1 and 2
  worker processes, on SQLite and (with NEWSBEAM_BENCH_POSTGRES=URL) PostgreSQL; then a second
  run over the unchanged feeds.

Printed: seconds, articles per second, newsbeam against the bare loop (the issue's target), and
newsbeam's time over the larger of the two bounds (1.0 is the best possible); peak memory of the
run's process tree and the cores it kept busy (its CPU time over its wall time: by default one
worker's matrix library uses every core of the machine, where the bare loop has one); the
second run's time as a share of the first. Ratios measured in one run are what to compare: the
machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any, NamedTuple

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsbeam.fetching.settings import DEFAULTS as settings  # noqa: E402
from tests.many_sites import ManySites  # noqa: E402

CORPORA = {"even": [20] * 50, "wide": [10] * 100, "skewed": [100] * 3 + [5] * 30}


def bare_loop(urls: list[str], start_at: float | None = None) -> float:
    """Seconds for the unavoidable work, one page after the other, in one process; with
    `start_at` (a time.time()), warmed up and waiting until then (loops in several processes
    start together): the seconds from then."""
    import langdetect
    import requests
    import trafilatura

    from newsbeam.matching.encoders import Usem3Encoder
    from newsbeam.matching.features import Fingerprinter
    from newsbeam.matching.story_index import StoryIndex
    from newsbeam.schemas import Article
    from newsbeam.state.store import open_store

    langdetect.DetectorFactory.seed = 0
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # one core: the matrix library too
    with tempfile.TemporaryDirectory() as folder:
        index = StoryIndex(open_store(f"{folder}/state.db"), Fingerprinter(Usem3Encoder()))
        index.fingerprinter("warm up", "The encoder loads its weights on first use.")
        session = requests.Session()
        session.trust_env = False
        if start_at is not None:
            time.sleep(max(0.0, start_at - time.time()))
        started = time.perf_counter()
        for url in urls:
            html = session.get(url, timeout=30).content
            document = trafilatura.bare_extraction(html, url=url, with_metadata=True)
            text = (document.text or "") if document else ""
            language = langdetect.detect(text[:2000]) if len(text) > 60 else None
            title = (document.title or "") if document else ""
            article = Article(url=url, feed_url="", title=title, text=text, language=language, published=None,
                              authors=(), site_name=None, description=None, image=None, tags=(), body_source="page")
            index.assign(article, index.fingerprinter(title, text))
        return time.perf_counter() - started


def in_own_process(function: Any, *args: Any) -> Any:
    """function(*args) in a fresh Python process (spawned: nothing of this one's threads)."""
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def in_processes(function: Any, arguments: list[tuple]) -> list[Any]:
    """function(*arguments) for each tuple, each in a fresh process of its own, all at once."""
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(len(arguments), mp_context=spawn) as pool:
        return [future.result() for future in [pool.submit(function, *args) for args in arguments]]


def politeness_bound(pages_per_site: list[int]) -> float:
    """The busiest host's feed and pages, PER_HOST_DELAY_S apart."""
    return max(pages_per_site) * settings.per_host_delay_s


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


class Run(NamedTuple):
    seconds: float
    peak_mb: float
    summary: dict
    # CPU time of the run's whole process tree (user + system), Beam's worker processes among
    # it: cores used = cpu_s / seconds (a single worker's matrix library may use every core)
    cpu_s: float


def newsbeam_run(feeds: list[str], folder: pathlib.Path, workers: int, store: str | None,
                 extra: tuple[str, ...] = (), feeds_document: str | None = None) -> Run:
    """`newsbeam run` with default settings over these feeds (or this whole feeds file)."""
    feeds_file = folder / "feeds.yaml"
    feeds_file.write_text(feeds_document or "feeds:\n" + "".join(f"  - url: {url}\n" for url in feeds))
    command = [sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds_file), "--output", str(folder / "out"),
               "--allow-private-network", *extra]
    if store:
        command += ["--store", store]
    if workers > 1:
        command += ["--direct_num_workers", str(workers), "--direct_running_mode", "multi_processing"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, tree_rss_mb(process.pid))
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    _, err = process.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit(f"newsbeam run failed:\n{err[-3000:]}")
    summary = json.loads(sorted((folder / "out").glob("summary-*.json"))[-1].read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(elapsed, peak, summary, cpu)


def fresh_postgres(server: str) -> str:
    import psycopg

    name = f"newsbeam_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + "/" + name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default="even,wide,skewed")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--captures-cost", action="store_true",
                        help="also run each corpus's first case with captures off, and print what captures cost")
    parser.add_argument("--captures-rounds", type=int, default=1,
                        help="pairs of runs (off, on) after the first, then one more off: more for a steadier median")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    postgres = os.environ.get("NEWSBEAM_BENCH_POSTGRES")
    stores = [s for s in args.stores.split(",") if s == "sqlite" or (s == "postgres" and postgres)]

    print(f"{'corpus':<7} {'run':<22} {'seconds':>8} {'art/s':>7} {'vs bare':>8} {'vs bound':>9} {'peak MB':>8} "
          f"{'cores':>6}")
    for corpus in args.corpus.split(","):
        shape = CORPORA[corpus]
        sites = ManySites(shape)
        try:
            pages = sum(shape)
            cpu = in_own_process(bare_loop, sites.page_urls())
            polite = politeness_bound(shape)
            print(f"{corpus:<7} {'bare loop (CPU bound)':<22} {cpu:8.1f} {pages / cpu:7.1f} {1.0:8.2f}")
            if max(workers) > 1:  # what this machine's cores give two bare loops side by side
                urls, start_at = sites.page_urls(), time.time() + 30  # time to start and warm up
                both = max(in_processes(bare_loop, [(urls[:len(urls) // 2], start_at),
                                                    (urls[len(urls) // 2:], start_at)]))
                print(f"{corpus:<7} {'2 bare loops at once':<22} {both:8.1f} {pages / both:7.1f} {cpu / both:8.2f}"
                      "   (each on half the pages: the machine's own scaling)")
            print(f"{corpus:<7} {'politeness bound':<22} {polite:8.1f}")
            for store_kind in stores:
                for count in workers:
                    with tempfile.TemporaryDirectory() as folder:
                        store = fresh_postgres(postgres) if store_kind == "postgres" else None
                        for site in sites.sites:
                            site.log.clear()
                        seconds, peak, summary, used = newsbeam_run(sites.feed_urls(), pathlib.Path(folder), count,
                                                                    store)
                        done = summary["articles_extracted"] + summary["articles_from_feed"]
                        assert done >= pages * 0.98, summary
                        bound = max(polite, cpu / count)
                        print(f"{corpus:<7} {f'newsbeam {store_kind} x{count}':<22} {seconds:8.1f} "
                              f"{pages / seconds:7.1f} {cpu / seconds:8.2f} {seconds / bound:9.2f} {peak:8.0f} "
                              f"{used / seconds:6.2f}   workers busy {len(summary['workers'])}")
                        stages = summary["stage_seconds"].items()
                        busy = ", ".join(f"{stage} {value * 1000 / pages:.1f}" for stage, value in stages
                                         if value * 1000 / pages >= 0.05)
                        print(f"{'':<7} {'':<22} busy, ms an article summed over workers: {busy}")
                        if count == workers[0] and store_kind == stores[0]:
                            again = newsbeam_run(sites.feed_urls(), pathlib.Path(folder), count, store)
                            print(f"{corpus:<7} {'second run':<22} {again.seconds:8.1f} {'':>7} {'':>8} {'':>9} "
                                  f"{'':>8}   {again.seconds / seconds:.1%} of the first run")
                    if args.captures_cost and count == workers[0] and store_kind == stores[0]:
                        # the same run with captures off and on again, alternating (off, on, ..., off),
                        # each from a cold store of its own: what keeping every fetch as WARC costs,
                        # the median of each against the other (a diagnostic beside the headline)
                        times = {"on": [seconds], "off": []}
                        for kind in ("off", "on") * args.captures_rounds + ("off",):
                            with tempfile.TemporaryDirectory() as other:
                                for site in sites.sites:
                                    site.log.clear()
                                run = newsbeam_run(sites.feed_urls(), pathlib.Path(other), count,
                                                   fresh_postgres(postgres) if store_kind == "postgres" else None,
                                                   ("--captures", "off") if kind == "off" else ())
                                times[kind].append(run.seconds)
                        on, off = statistics.median(times["on"]), statistics.median(times["off"])
                        print(f"{corpus:<7} {'captures on / off':<22} {on:8.1f} {off:8.1f}   captures cost "
                              f"{on / off - 1:+.1%} of the run's time (medians of {times})")
        finally:
            sites.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
