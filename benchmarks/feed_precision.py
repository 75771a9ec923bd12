"""Story precision on short feed-only texts: do different reports stay apart when all newsbeam
has of them is what a feed says (a title and a teaser)? Measured as users run it, through
`newsbeam dedup` in a subprocess, next to the long-text figures of benchmarks/dedup_eval.py.

    python benchmarks/feed_precision.py [--show]

- Real feeds (`../shared/data/feeds/real`): every item with a title and some text, read with
  newsbeam's feed reader (teasers, "Continue reading...", "Related:" lines and lists of links off), against the
  same items with feedparser's text turned plain but those left in, in the same run. Each item
  carries its feed's publication time and its feed, as in a run (stories are matched within a
  week). The items of a feed are different reports, but for the few a feed lists twice: every
  pair in one story is a merge to read (`--show` prints them), and a pair under different
  headlines is counted wrong.
- Furniture left: items whose text still holds a line that opens or ends like a line of at
  least two other items of its feed (its first or last eight words, digits as one), counted
  independently of newsbeam's own furniture rule (sources.furniture).
- Template items: 120 reports written from one sentence template with different names, places
  and numbers (tests/story_fixtures.py): every pair in one story is a wrong merge.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import pathlib
import re
import subprocess
import sys
import tempfile

import feedparser

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsbeam.schemas import FeedSource  # noqa: E402
from newsbeam.sources.feeds import html_to_text, parse_feed, to_utc  # noqa: E402
from tests.story_fixtures import template_reports  # noqa: E402

FEEDS = ROOT.parent / "shared" / "data" / "feeds" / "real"


def feed_items(cleaned: bool) -> list[dict]:
    items = []
    for path in sorted(FEEDS.iterdir()):
        body = path.read_bytes()
        if cleaned:
            entries = [(e.url, e.title, e.summary, e.published)
                       for e in parse_feed(body, f"https://{path.stem}.example/feed", None,
                                           FeedSource(url=path.name)).entries]
        else:
            parsed = feedparser.parse(body)
            entries = [(e.get("link", ""), e.get("title", ""), html_to_text(e.get("summary", "")),
                        to_utc(e.get("published_parsed") or e.get("updated_parsed"))) for e in parsed.entries]
        for n, (url, title, text, published) in enumerate(entries):
            if title and text and len(text) >= 40:
                # each feed at a URL of its own, as a run has it (two items of one feed are two stories)
                items.append({"id": f"{path.name}#{n}", "url": f"{url}#{path.name}-{n}", "title": title, "text": text,
                              "feed_url": f"https://{path.stem}.example/feed",
                              **({"published": published} if published else {})})
    return items


def furniture_left(items: list[dict]) -> list[dict]:
    """The items whose text holds a line that opens or ends as lines of 2 or more other items
    of the same feed do."""
    def ends(line: str) -> set[tuple]:
        words = re.sub(r"\d+", "0", line.casefold()).split()
        return {("<", *words[:8]), (">", *words[-8:])} if len(words) >= 2 else set()

    items_with: dict[tuple, set[str]] = collections.defaultdict(set)
    for item in items:
        for line in item["text"].split("\n"):
            for end in ends(line):
                items_with[(item["feed_url"], end)].add(item["id"])
    return [item for item in items if any(len(items_with[(item["feed_url"], end)]) >= 3
                                          for line in item["text"].split("\n") for end in ends(line))]


def dedup(items: list[dict]) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as folder:
        source = pathlib.Path(folder) / "in.jsonl"
        source.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
        result = subprocess.run([sys.executable, "-m", "newsbeam", "dedup", str(source)], cwd=ROOT, check=True,
                                capture_output=True, text=True)
    return {line["id"]: line["story_id"] for line in map(json.loads, result.stdout.splitlines())}


def merged_pairs(items: list[dict], stories: dict[str, str]) -> list[tuple[dict, dict]]:
    groups = collections.defaultdict(list)
    for item in items:
        groups[stories[item["id"]]].append(item)
    return [pair for members in groups.values() for pair in itertools.combinations(members, 2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print each merged pair's titles")
    args = parser.parse_args()
    for name, items in (("feed text as newsbeam reads it", feed_items(cleaned=True)),
                        ("feed text as feedparser gives it", feed_items(cleaned=False)),
                        ("template reports", template_reports())):
        pairs = merged_pairs(items, dedup(items))
        # two items under different headlines merged on text alone: a wrong merge whatever the
        # texts share (a feed's own sign-off, a template)
        wrong = [(a, b) for a, b in pairs if " ".join(a["title"].casefold().split()) !=
                 " ".join(b["title"].casefold().split())]
        print(f"{name:<34} {len(items):>4} items  {len(pairs):>3} pairs merged into one story, "
              f"{len(wrong)} of them under different headlines (wrong)")
        if name.startswith("feed text"):
            left = furniture_left(items)
            print(f"{'':<34} {len(left):>4} items with a line their feed repeats "
                  f"({', '.join(sorted({item['feed_url'] for item in left})) or 'none'})")
        if args.show:
            for a, b in pairs:
                print(f"    {a['title'][:60]!r} ~ {b['title'][:60]!r}")


if __name__ == "__main__":
    main()
