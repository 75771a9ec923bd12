"""What filing costs when many articles join one story, against as many articles that make
stories of their own, measured as users run it: `newsbeam run` on a local feed, default
settings, the store's default (SQLite).

    python benchmarks/large_story.py [--sizes 100,200,400]

Each size is two runs: N near-copies of one text (word-salad feeds whose items all join one
story), spread over 20 feeds, and N distinct texts. The figure is AssignStories' busy time per
article, and how it grows with N: a cost that stays linear gives an exponent near 1 (a
story's every article read again at each join would give 2).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import pathlib
import random
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORDS = [f"w{n}" for n in range(5000)]


FEEDS = 20  # the items spread over this many feeds (two items of one feed are never one story)


def feed(n: int, one_story: bool, number: int) -> str:
    """The feed `number` of FEEDS, with every FEEDS-th of the n items."""
    base_rng = random.Random(n)
    base = [base_rng.choice(WORDS) for _ in range(300)]
    items = []
    for i in range(n):
        if i % FEEDS != number:
            continue
        rng = random.Random(f"{n}/{i}")  # each item its own draws, whichever feed lists it
        words = list(base) if one_story else [rng.choice(WORDS) for _ in range(300)]
        for _ in range(10):
            words[rng.randrange(len(words))] = rng.choice(WORDS)
        # one story: one headline for every copy (two items of one feed under other headlines are
        # never one story); distinct: each its own
        title = "The same report, again" if one_story else f"Item {i} {' '.join(words[:6])}"
        items.append(f"<item><title>{title}</title><link>https://site{i % 20}.example/{i}</link>"
                     f"<pubDate>Fri, 20 Nov 2026 10:00:00 +0000</pubDate>"
                     f"<content:encoded><![CDATA[<p>{' '.join(words)}</p>]]></content:encoded></item>")
    return ("<rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/'><channel><title>F</title>"
            + "".join(items) + "</channel></rss>")


def assign_seconds(n: int, one_story: bool) -> tuple[float, int]:
    """AssignStories' busy seconds for a run over the feed, and the stories it made."""
    with tempfile.TemporaryDirectory() as folder:
        root = pathlib.Path(folder)
        (root / "site").mkdir()
        for number in range(FEEDS):
            (root / "site" / f"feed{number}.rss").write_text(feed(n, one_story, number), encoding="utf-8")
        (root / "feeds.yaml").write_text("serve: site\nfeeds:\n" + "".join(f"  - url: feed{number}.rss\n"
                                                                          for number in range(FEEDS)), encoding="utf-8")
        subprocess.run([sys.executable, "-m", "newsbeam", "run", "--feeds", str(root / "feeds.yaml"), "--output",
                        str(root / "out")], cwd=ROOT, check=True, capture_output=True)
        summary = json.loads(next((root / "out").glob("summary-*.json")).read_text())
    return summary["stage_seconds"]["AssignStories"], summary["stories_new"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,200,400")
    sizes = [int(n) for n in parser.parse_args().sizes.split(",")]
    rows = []
    for n in sizes:
        one, stories_one = assign_seconds(n, one_story=True)
        apart, stories_apart = assign_seconds(n, one_story=False)
        rows.append((n, one, apart))
        print(f"{n:>5} articles: one story ({stories_one} made) {one:6.1f} s = {one / n * 1000:5.0f} ms/article; "
              f"{stories_apart} stories {apart:6.1f} s = {apart / n * 1000:5.0f} ms/article; ratio x{one / apart:.2f}")
    for (n1, one1, apart1), (n2, one2, apart2) in itertools.pairwise(rows):
        print(f"{n1} -> {n2}: one story grows as n^{math.log(one2 / one1) / math.log(n2 / n1):.2f}, "
              f"distinct articles as n^{math.log(apart2 / apart1) / math.log(n2 / n1):.2f}")


if __name__ == "__main__":
    main()
