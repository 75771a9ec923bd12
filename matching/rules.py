"""The rules that decide whether two articles are one story: a monotone sentence alignment, and
numbers and names that agree."""

from __future__ import annotations

import re

import numpy as np

from newsbeam.matching.features import Fingerprint
from newsbeam.matching.settings import DEFAULTS, MatchSettings


def sentence_alignment(a: np.ndarray, b: np.ndarray, sentence_match: float = DEFAULTS.sentence_match) -> float:
    """Share of the shorter article's sentences that align, in order, with the other's.

    A monotone alignment (like a diff) over the sentence-similarity matrix: translations and
    copies keep their sentence order, articles that merely share a topic do not. Each aligned
    pair counts with its similarity; the sum is divided by the geometric mean of the sentence
    counts, so a short article does not align "completely" with a long one by a few sentences.
    """
    similarity = a @ b.T
    weight = np.where(similarity >= sentence_match, similarity, 0.0)
    n, m = weight.shape
    best = np.zeros((n + 1, m + 1))
    for i in range(1, n + 1):
        row, previous = best[i], best[i - 1]
        for j in range(1, m + 1):
            row[j] = max(previous[j], row[j - 1], previous[j - 1] + weight[i - 1, j - 1])
    return float(best[n, m]) / float(np.sqrt(n * m))


def numbers_agree(a: frozenset[str], b: frozenset[str], settings: MatchSettings = DEFAULTS) -> bool:
    if len(a) < settings.min_numbers or len(b) < settings.min_numbers:
        return True
    return len(a & b) / min(len(a), len(b)) >= settings.number_agreement


# A number in a headline: digits, with thousands separated or not ("2,550", "2.550", "2550").
_NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f ]\d{3}(?!\d))*")


def title_numbers(title: str) -> frozenset[str]:
    """The numbers a headline gives, thousands separators dropped, leading zeros too."""
    return frozenset(re.sub(r"\D", "", match.group()).lstrip("0") or "0" for match in _NUMBER.finditer(title))


def titles_disagree(a: Fingerprint, b: Fingerprint) -> bool:
    """Do two headlines in one language give different numbers (prices, scores, dates,
    episodes): each has some, and neither's are all in the other's? "$2550 2bd" and "$2150 1bd"
    are two flats, "Microcast 06-01-2009" and "06-02-2009" two episodes, however alike their
    texts. A year may be written short ("2017/18"); a translation turns times and units into
    others ("16.15 Uhr", "4:15 p.m."), so only headlines in one language are compared."""
    if not (a.language and a.language == b.language):
        return False
    numbers_a, numbers_b = title_numbers(a.title), title_numbers(b.title)
    return bool(numbers_a and numbers_b) and not (_within(numbers_a, numbers_b) or _within(numbers_b, numbers_a))


def _within(numbers: frozenset[str], others: frozenset[str]) -> bool:
    """Is each number one of the others, or the end of one ("18" of "2018")?"""
    return all(any(other == number or (len(number) >= 2 and other.endswith(number)) for other in others)
               for number in numbers)


def may_be_same_story(a: Fingerprint, b: Fingerprint, settings: MatchSettings = DEFAULTS) -> bool:
    """Worth aligning sentence by sentence? Cheap: the document vectors, and what the texts
    say outright. A pair ruled out here is no story whatever its sentences, so their vectors
    (the bulk of the encoder's work) are never computed for it.

    In one language, sentences built from one template (results, closures, earnings, weather)
    align whatever fills them: a copy, an update or a second translation keeps the names and
    the numbers too. A translation into another language needs no such evidence."""
    if titles_disagree(a, b):
        return False
    if a.body_hash == b.body_hash:
        return True
    return (float(a.vector @ b.vector) >= settings.story_min_similarity
            and numbers_agree(a.numbers, b.numbers, settings)
            and not (a.language and a.language == b.language and not specifics_agree(a, b, settings)))


def same_story(a: Fingerprint, b: Fingerprint, settings: MatchSettings = DEFAULTS) -> float | None:
    """The alignment score when a and b are variants of one story, else None. Both need their
    sentence vectors unless their bodies are identical."""
    if not may_be_same_story(a, b, settings):
        return None
    if a.body_hash == b.body_hash:
        return 1.0
    score = sentence_alignment(a.sentence_vectors, b.sentence_vectors, settings.sentence_match)
    if score < settings.story_alignment:
        return None
    # The bodies must align too, not only the headlines: two short feed items on one subject
    # ("Trump's State of the Union address ..." and "Moments of protest during Trump's State of
    # the Union address – video") or a podcast's episodes have alike headlines and different
    # texts. A variant's body follows the other's, sentence by sentence.
    body_a, body_b = _body_rows(a), _body_rows(b)
    if (body_a is not None and body_b is not None
            and sentence_alignment(body_a, body_b, settings.sentence_match) < settings.story_alignment):
        return None
    return score


def specifics_agree(a: Fingerprint, b: Fingerprint, settings: MatchSettings = DEFAULTS) -> bool:
    """Do two articles in one language name the same people and places, and give the same
    numbers? Each kind counts apart (a shared town and year do not make up for other people),
    when both have some of it: this share of the smaller side's, taken together when either
    side has fewer than min_specifics of all kinds."""
    share = settings.specifics_agreement
    if len(a.specifics) < settings.min_specifics or len(b.specifics) < settings.min_specifics:
        return _shared(a.specifics, b.specifics, 1, share)
    names_a, names_b = a.specifics - a.numbers, b.specifics - b.numbers
    numbers_a, numbers_b = a.specifics & a.numbers, b.specifics & b.numbers
    return _shared(names_a, names_b, 2, share) and _shared(numbers_a, numbers_b, 2, share)


def _shared(a: frozenset[str], b: frozenset[str], at_least: int, share: float) -> bool:
    if len(a) < at_least or len(b) < at_least:
        return True
    return len(a & b) / min(len(a), len(b)) >= share


def _body_rows(fingerprint: Fingerprint) -> np.ndarray | None:
    """The sentence vectors of the body alone (the first row is the headline's, when there is
    one); None when the body has no sentence of its own."""
    rows = fingerprint.sentence_vectors[1:] if fingerprint.title.strip() else fingerprint.sentence_vectors
    return rows if len(rows) else None
