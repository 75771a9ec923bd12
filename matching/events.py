"""Events: stories by different outlets or reporters about one event share an `event_id`.

A new story joins an event only when it is close to the event as a whole, not merely to one of
its stories: close to the event's centre (the mean of its articles' document vectors), not far
from any of its articles, sharing names, places and numbers with it, and published within a
few days of it. Events are never merged, so a chain of similar reports (one match report after
another, one accident after another) cannot grow into a topic: each must be close to all that
went before, not to the last one. When several events qualify, the closest centre wins;
when none does, the story starts its own event.

Two events become one only when one takes the other in whole: every article of the one belongs,
by the same test, to the other. A report filed first in German may fall short of an English report by
another reporter; once its English translation joins the story, the two events agree and are
one, so the grouping does not depend on the order the articles arrived in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np

from newsbeam.matching import settings
from newsbeam.matching.encoders import normalize
from newsbeam.matching.features import Fingerprint
from newsbeam.schemas import parse_time


@dataclasses.dataclass
class Member:
    """One article of one of an event's stories."""

    fingerprint: Fingerprint
    published: str | None


def choose_event(article: Fingerprint, published: str | None, events: dict[str, list[Member]]) -> str | None:
    """The event the article's new story joins (the one whose centre is closest among those it
    agrees with), or None."""
    best: tuple[float, str] | None = None
    for event_id, members in events.items():
        score = agreement(article, published, members)
        if score is not None and (best is None or (score, event_id) > best):
            best = (score, event_id)
    return best[1] if best else None


def agreement(article: Fingerprint, published: str | None, members: list[Member]) -> float | None:
    """How close the article is to the event's centre, if it belongs to the event at all."""
    if not members:
        return None
    vectors = np.stack([m.fingerprint.vector for m in members])
    closeness = vectors @ article.vector
    centre = float(normalize(vectors.mean(axis=0, keepdims=True))[0] @ article.vector)
    if centre < settings.EVENT_SIMILARITY or float(closeness.min()) < settings.EVENT_MEMBER_SIMILARITY:
        return None
    if not specifics_shared(article.specifics, frozenset().union(*(m.fingerprint.specifics for m in members))):
        return None
    if not in_time(published, [m.published for m in members]):
        return None
    return centre


def specifics_shared(article: frozenset[str], event: frozenset[str]) -> bool:
    """One event's reports name the same people, places and numbers: when both have enough
    of them to tell, they share EVENT_SPECIFICS_SHARE of the smaller side's, one at least."""
    smaller = min(len(article), len(event))
    if smaller < settings.MIN_SPECIFICS:
        return True
    return len(article & event) >= max(1, math.ceil(settings.EVENT_SPECIFICS_SHARE * smaller))


def in_time(published: str | None, members: list[str | None]) -> bool:
    """Published within EVENT_DAYS of the event's articles (when the times are known)."""
    times = [parse_time(p) for p in members if p]
    if not published or not times:
        return True
    moment, window = parse_time(published), dt.timedelta(days=settings.EVENT_DAYS)
    return min(times) - window <= moment <= max(times) + window


def absorbs(event: list[Member], other: list[Member]) -> bool:
    """Does `event` take in `other` whole: does each of `other`'s articles belong to it?"""
    return bool(event) and all(agreement(m.fingerprint, m.published, event) is not None for m in other)
