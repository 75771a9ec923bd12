"""Events: stories by different outlets or reporters about one event share an `event_id`.

Whether two reports are of one event is decided by a judge learned from labelled pairs
(benchmarks/train_event_judge.py; its weights in event_judge.json beside this module): a
logistic model over evidence that tells an event from a topic. Two reports of one topic are
alike in their whole; two reports of one event also name the same people and places, give
the same numbers and, in one language, use the same words. The evidence for a pair:

- `document`: the similarity of their document vectors (the encoder's, any language);
- `names`: the share of the smaller side's names (capitalized words) that both give;
- `numbers`: the same for numbers;
- `words`: the same for longer words, in one language only (0 across languages);
- `same_language`: 1 when both are in one language, so the other evidence can weigh apart;
- `headline_names`: when both have a headline, how many of the names in one's headline and
  first sentences (its protagonists) the other's text names, the mean of the two ways: two
  reports of one topic share its names, two of one event share their protagonists;
- `headlines`: 1 when both have a headline (a text without one opens with whatever the page
  put first, so its first sentences say less).

A new story joins an event only when the judge says so against the event as a whole: the mean
of its probabilities against the event's stories (each story by its closest variant, so a German
report is judged against the English variant of an English story as well) reaches the judge's
threshold, and none of them is below EVENT_STORY_FLOOR, where the judge is sure enough that the two
are of different events; and it was published within EVENT_DAYS of the event's articles. A chain
of similar reports (one match report after another, one accident after another) cannot grow
into a topic: each must be of one event with all that went before, not with the last one. When
several events qualify, the one with the highest mean probability wins; when none does, the
story starts its own event.

Two events become one only when one takes the other in whole: every story of the one belongs,
by the same test, to the other. A report filed first in German may fall short of an English report by
another reporter; once its English translation joins the story, the two events agree and are
one, so the grouping does not depend on the order the articles arrived in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import pathlib

import numpy as np

from newsbeam.matching.features import Fingerprint
from newsbeam.matching.settings import DEFAULTS, MatchSettings
from newsbeam.schemas import parse_time

EVIDENCE = ("document", "names", "numbers", "words", "same_language", "headline_names", "headlines")
WEIGHTS_FILE = pathlib.Path(__file__).with_name("event_judge.json")


def evidence(a: Fingerprint, b: Fingerprint) -> np.ndarray:
    """What the judge weighs for a pair of reports, in the order of EVIDENCE."""
    same_language = bool(a.language) and a.language == b.language
    headlines = bool(a.title.strip()) and bool(b.title.strip())
    return np.array([float(a.vector @ b.vector), shared(a.names, b.names), shared(a.numbers, b.numbers),
                     shared(a.words, b.words) if same_language else 0.0, float(same_language),
                     protagonists_shared(a, b) if headlines else 0.0, float(headlines)])


def shared(a: frozenset[str], b: frozenset[str]) -> float:
    """The share of the smaller side's items that both have (0 when either has none)."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def prepare(fingerprint: Fingerprint) -> Fingerprint:
    """Make the parts of the evidence one report gives (its names, its headline's names, its
    words), so that judging it later costs microseconds (0.6 ms a pair when made then)."""
    _ = fingerprint.names, fingerprint.lead_names, fingerprint.words
    return fingerprint


def protagonists_shared(a: Fingerprint, b: Fingerprint) -> float:
    """The mean of the shares of each one's lead names that the other's text names (0 when either has none)."""
    if not a.lead_names or not b.lead_names:
        return 0.0
    return (len(a.lead_names & b.names) / len(a.lead_names) + len(b.lead_names & a.names) / len(b.lead_names)) / 2


@dataclasses.dataclass(frozen=True)
class EventJudge:
    """How likely two reports are of one event: a logistic model over `evidence`."""

    weights: np.ndarray
    bias: float
    # pairs at this probability or above are of one event
    threshold: float

    @classmethod
    def load(cls, path: pathlib.Path = WEIGHTS_FILE) -> EventJudge:
        model = json.loads(path.read_text(encoding="utf-8"))
        if tuple(model["evidence"]) != EVIDENCE:
            raise ValueError(f"{path} weighs {model['evidence']}, not {list(EVIDENCE)}: train it again")
        return cls(np.array(model["weights"], dtype=float), float(model["bias"]), float(model["threshold"]))

    def probability(self, a: Fingerprint, b: Fingerprint) -> float:
        return float(1.0 / (1.0 + np.exp(-(evidence(a, b) @ self.weights + self.bias))))


@functools.cache
def default_judge() -> EventJudge:
    return EventJudge.load()


@dataclasses.dataclass
class Member:
    """One article of one of an event's stories."""

    fingerprint: Fingerprint
    published: str | None
    story: str  # the story it is a variant of: an event is judged story by story


def choose_event(article: Fingerprint, published: str | None, events: dict[str, list[Member]],
                 settings: MatchSettings = DEFAULTS, judge: EventJudge | None = None) -> str | None:
    """The event the article's new story joins (the likeliest among those it agrees with), or None."""
    best: tuple[float, str] | None = None
    for event_id, members in events.items():
        score = agreement(article, published, members, settings, judge)
        if score is not None and (best is None or (score, event_id) > best):
            best = (score, event_id)
    return best[1] if best else None


def agreement(article: Fingerprint, published: str | None, members: list[Member],
              settings: MatchSettings = DEFAULTS, judge: EventJudge | None = None) -> float | None:
    """The mean probability, over the event's stories, that the article is of their event, if
    it reaches the judge's threshold and no story is below the settings' event_story_floor; else None."""
    judge = judge or default_judge()
    if not members or not in_time(published, [m.published for m in members], settings.event_days):
        return None
    by_story: dict[str, float] = {}
    for member in members:
        probability = judge.probability(article, member.fingerprint)
        by_story[member.story] = max(probability, by_story.get(member.story, 0.0))
    mean = sum(by_story.values()) / len(by_story)
    if mean < judge.threshold or min(by_story.values()) < settings.event_story_floor:
        return None
    return mean


def in_time(published: str | None, members: list[str | None], days: float) -> bool:
    """Published within `days` of the event's articles (when the times are known)."""
    times = [parse_time(p) for p in members if p]
    if not published or not times:
        return True
    moment, window = parse_time(published), dt.timedelta(days=days)
    return min(times) - window <= moment <= max(times) + window


def absorbs(event: list[Member], other: list[Member], settings: MatchSettings = DEFAULTS,
            judge: EventJudge | None = None) -> bool:
    """Does `event` take in `other` whole: does each of `other`'s stories (by one of its
    articles at least) belong to it?"""
    if not event:
        return False
    stories: dict[str, list[Member]] = {}
    for member in other:
        stories.setdefault(member.story, []).append(member)
    return all(any(agreement(m.fingerprint, m.published, event, settings, judge) is not None for m in articles)
               for articles in stories.values())
