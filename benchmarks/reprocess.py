"""`newsbeam reprocess` against the archive backfill on the same pages, as users run them.

    python benchmarks/reprocess.py [--corpus even]

A live run (default settings, politeness on, captures on) over the corpus (tests/many_sites.py:
distinct real news texts on 50 sites) keeps every page it fetches as WARC. Then, on those
captures:
- backfill: `newsbeam run` with the captures as its archive, into a cold store of its own
  (reads, extracts, fingerprints, assigns, writes every page);
- reprocess: `newsbeam reprocess` over the live run's store (reads and extracts every captured
  page again and compares it with its stored record; here nothing changed, so nothing is
  refiled: what an upgrade that changes few records costs);
- reprocess --no-publisher-parsers, the same with a setting changed.

Printed: seconds and pages per second of each, and reprocess against the backfill (the
ratios are what to compare: the machine is shared and noisy). And the bytes the captures take
per page.
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import CORPORA, newsbeam_run  # noqa: E402
from tests.many_sites import ManySites  # noqa: E402


def timed(command: list[str]) -> tuple[float, str]:
    """Seconds the command took, and the last line it printed."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode not in (0, 3):  # 3: a pass whose pages failed, still a whole pass
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - started, (result.stdout.strip().splitlines() or [""])[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default="even")
    args = parser.parse_args()
    sites = ManySites(CORPORA[args.corpus])
    try:
        pages = sum(CORPORA[args.corpus])
        with tempfile.TemporaryDirectory() as folder:
            live = newsbeam_run(sites.feed_urls(), pathlib.Path(folder), 1, None)
            out = pathlib.Path(folder) / "out"
            captures = sorted((out / "captures").glob("*.warc.gz"))
            size = sum(path.stat().st_size for path in captures)
            backfill_feeds = pathlib.Path(folder) / "archive.yaml"
            backfill_feeds.write_text(f"archives:\n  - warc: {out / 'captures'}/*.warc.gz\n")
            backfill, _ = timed([sys.executable, "-m", "newsbeam", "run", "--feeds", str(backfill_feeds),
                              "--output", str(pathlib.Path(folder) / "backfill")])
            again, said = timed([sys.executable, "-m", "newsbeam", "reprocess", "--output", str(out)])
            generic, said_generic = timed([sys.executable, "-m", "newsbeam", "reprocess", "--output", str(out),
                             "--no-publisher-parsers"])
        print(f"{'run':<38} {'seconds':>8} {'pages/s':>8} {'vs backfill':>12}")
        print(f"{'live run (captures on)':<38} {live.seconds:8.1f} {pages / live.seconds:8.1f}")
        print(f"{'backfill from the captures':<38} {backfill:8.1f} {pages / backfill:8.1f} {1.0:12.2f}")
        print(f"{'reprocess (nothing changed)':<38} {again:8.1f} {pages / again:8.1f} {backfill / again:12.2f}")
        print(f"{'reprocess --no-publisher-parsers':<38} {generic:8.1f} {pages / generic:8.1f} "
              f"{backfill / generic:12.2f}")
        print(f"reprocess said: {said}\nreprocess --no-publisher-parsers said: {said_generic}")
        print(f"captures: {size / 1e6:.1f} MB in {len(captures)} files, {size / pages / 1024:.1f} KB a page "
              "(with its feed documents and robots.txt)")
    finally:
        sites.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
