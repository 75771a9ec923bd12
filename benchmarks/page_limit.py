"""What the per-page element limit costs: the time to count a page's elements against the
time to extract it, over the real pages in ../shared/data/pages, and how long a hostile page of
endless short paragraphs takes with and without the limit.

    python benchmarks/page_limit.py [--hostile-paragraphs 430000]

Prints medians and the ratio of counting to extraction (the throughput the limit costs).
"""

from __future__ import annotations

import argparse
import gzip
import json
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from newsbeam.extraction.page import NotAnArticle, check_page_size  # noqa: E402
from newsbeam.extraction.settings import DEFAULTS as settings  # noqa: E402

PAGES = ROOT.parent / "shared" / "data" / "pages"


def real_pages() -> list[bytes]:
    pages = [gzip.decompress(path.read_bytes()) for path in sorted((PAGES / "scrapinghub" / "html").glob("*.gz"))]
    with gzip.open(PAGES / "fundus_dev" / "records.jsonl.gz", "rt", encoding="utf-8") as lines:
        pages += [json.loads(line)["html"].encode("utf-8") for line in lines]
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hostile-paragraphs", type=int, default=430_000, help="about 9.5 MB of <p> elements")
    args = parser.parse_args()
    pages = real_pages()
    counting, extracting = [], []
    for html in pages:
        started = time.perf_counter()
        check_page_size(html)
        counting.append(time.perf_counter() - started)
        started = time.perf_counter()
        trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
        extracting.append(time.perf_counter() - started)
    elements = sorted(html.count(b"<") for html in pages)
    print(f"{len(pages)} real pages: elements median {elements[len(elements) // 2]}, max {elements[-1]} "
          f"(limit {settings.max_page_elements})")
    print(f"count   median {statistics.median(counting) * 1e6:8.1f} us   total {sum(counting):.3f} s")
    print(f"extract median {statistics.median(extracting) * 1e3:8.1f} ms   total {sum(extracting):.1f} s")
    print(f"the limit costs {sum(counting) / sum(extracting):.2%} of extraction time")

    hostile = b"<html><body>" + b"<p>Short paragraph.</p>" * args.hostile_paragraphs + b"</body></html>"
    started = time.perf_counter()
    try:
        check_page_size(hostile)
    except NotAnArticle:
        pass
    print(f"hostile page of {len(hostile) / 1e6:.1f} MB refused in {(time.perf_counter() - started) * 1e3:.1f} ms")
    sample = b"<html><body>" + b"<p>Short paragraph.</p>" * 40_000 + b"</body></html>"
    started = time.perf_counter()
    trafilatura.bare_extraction(sample, with_metadata=True)
    print(f"without the limit: 40,000 paragraphs take {time.perf_counter() - started:.1f} s to extract "
          "(and the time grows faster than the page)")


if __name__ == "__main__":
    main()
