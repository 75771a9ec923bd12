"""Extraction quality on real news pages, with and without the normalization that drops
restated headlines and source trailers.

    python benchmarks/extraction_eval.py

The 181 pages of ../shared/data/pages/scrapinghub with their expected article bodies. For each
page: the body as extracted and normalized before (NFC, whitespace, an exact repeat of the
headline dropped) and now (also a headline restated in other words, judged by the sentence
encoder, and source, credit and translation-notice lines at the end). Printed: token-level
precision, recall and F1 against the expected body, averaged over pages, for both; how many
pages lost lines; and every dropped line that the expected body contains (a real sentence cut).
"""

from __future__ import annotations

import collections
import gzip
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PAGES = ROOT.parent / "shared" / "data" / "pages" / "scrapinghub"

import trafilatura  # noqa: E402

from extraction.page import NotAnArticle, extract_article  # noqa: E402
from extraction.text import normalize_text, strip_repeated_headline  # noqa: E402
from matching.encoders import Usem3Encoder, meaning_similarity  # noqa: E402
from schemas import FeedEntry, FetchedPage  # noqa: E402


def tokens(text: str) -> collections.Counter:
    return collections.Counter(re.findall(r"\w+", text.casefold()))


def prf(found: str, expected: str) -> tuple[float, float, float]:
    a, b = tokens(found), tokens(expected)
    common = sum((a & b).values())
    if not common:
        return 0.0, 0.0, 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def before(html: bytes, url: str) -> str:
    document = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    if document is None:
        return ""
    title = normalize_text(document.title or "")
    return strip_repeated_headline(title, normalize_text(document.text or ""))


def main() -> int:
    truth = json.loads((PAGES / "ground-truth.json").read_text(encoding="utf-8"))
    similarity = meaning_similarity(Usem3Encoder())
    scores: dict[str, list[tuple[float, float, float]]] = {"before": [], "now": []}
    changed, cut = 0, []
    for key, expected in truth.items():
        html = gzip.decompress((PAGES / "html" / f"{key}.html.gz").read_bytes())
        url = expected.get("url") or f"http://example.org/{key}"
        entry = FeedEntry(url=url, link=url, feed_url="", feed_name=None, title="", summary="", published=None,
                          updated=None, language=None)
        old = before(html, url)
        try:
            new = extract_article(FetchedPage(entry=entry, url=url, html=html, content_type=None), similarity).text
        except NotAnArticle:
            new = ""
        body = expected.get("articleBody") or ""
        scores["before"].append(prf(old, body))
        scores["now"].append(prf(new, body))
        dropped = [line for line in old.split("\n") if line and line not in new.split("\n")]
        if dropped:
            changed += 1
        folded_body = " ".join(body.split())
        cut += [(key, line) for line in dropped if len(line) > 30 and " ".join(line.split()) in folded_body]
    print(f"{'':<8} {'precision':>9} {'recall':>7} {'F1':>7}   ({len(truth)} pages)")
    for name, values in scores.items():
        p, r, f = (sum(v[i] for v in values) / len(values) for i in range(3))
        print(f"{name:<8} {p:9.4f} {r:7.4f} {f:7.4f}")
    print(f"pages that lost lines: {changed}; dropped lines found in the expected body: {len(cut)}")
    for key, line in cut:
        print(f"  {key}: {line[:150]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
