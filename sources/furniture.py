"""What a feed repeats in its items' texts is the feed's furniture, not the article: reddit's
"submitted by ... to ... / [link] [N comments]", Medium's "<headline> was originally published
in ... on Medium, where people are continuing the conversation ...", a team's sign-off, a
sponsor's line. Left in, it makes unrelated items alike (two reddit posts whose texts are only
that) and it is not what the reader came for.

It is learned from the items of one feed document (each pass reads the whole document, so it
works from the first pass): a line at the start or end of an item's text is furniture when
lines of the same shape (its words, digits as one, the item's own headline as one word, the
same words in the same order for the most part) open or close the texts of several other items
of the feed; so is a sentence without a number that opens or closes such lines word for word
(a listing's "Please contact ... to schedule a viewing appointment." before its details). A
quote that two reports share is not furniture: a line must recur in three items or more (and a
tenth of the feed's), and a line that quotes someone never counts. What the hand-written teaser
list knows (sources.feeds.strip_teasers) stays for what one item alone shows."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from newsbeam.sources.settings import DEFAULTS, ReaderSettings

# Words (a name with a hyphen or dot in it is one: "Cupcake-Warrior", "malta-"), and marks.
_TOKEN = re.compile(r"\w+(?:[-.'’]\w+)*-?|[^\w\s]+")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[^\W\d_]{2,}")
HEADLINE = "<headline>"
# Between two sentences of a line.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\W\d_])")
# A line that quotes someone is the article's own, however many items of the feed quote it.
_QUOTES = re.compile("[\"“”„«»]")

Shape = tuple[str, ...]




@dataclasses.dataclass(frozen=True)
class _Line:
    shape: Shape
    spans: tuple[tuple[int, int], ...]  # each token's place in the line


def _line(line: str, headline_tokens: Shape) -> _Line:
    """A line's shape: its tokens in lower case, the item's headline as one token, and a number
    as 0 when it is the line's only one ("[959 comments]", "Episode 141"): a line with several
    numbers (an address, a rent, a date) is the item's own."""
    numbers = len(_DIGITS.findall(line))
    tokens = [(_DIGITS.sub("0", match.group().lower()) if numbers == 1 else match.group().lower(), match.span())
              for match in _TOKEN.finditer(line)]
    width = len(headline_tokens)
    if width >= 2:
        start = next((i for i in range(len(tokens) - width + 1)
                      if tuple(t for t, _ in tokens[i:i + width]) == headline_tokens), None)
        if start is not None:
            span = (tokens[start][1][0], tokens[start + width - 1][1][1])
            tokens[start:start + width] = [(HEADLINE, span)]
    return _Line(tuple(t for t, _ in tokens), tuple(s for _, s in tokens))


def _headline_tokens(headline: str) -> Shape:
    return tuple(_DIGITS.sub("0", token.lower()) for token in _TOKEN.findall(headline))


def _numbers(shape: Shape) -> list[str]:
    """The tokens with a number of a line that has several (none where it has one or none)."""
    tokens = sorted(token for token in shape if _DIGITS.search(token))
    return tokens if sum(len(_DIGITS.findall(token)) for token in tokens) >= 2 else []


def _words(shape: Shape) -> int:
    return sum(1 for token in shape if _WORD.fullmatch(token))


class Furniture:
    """The furniture of one feed document: learned from its items (headline, text), and taken
    out of each item's text."""

    def __init__(self, items: Sequence[tuple[str, str]], settings: ReaderSettings = DEFAULTS) -> None:
        self.settings = settings
        edges: list[tuple[int, Shape]] = []
        for number, (headline, text) in enumerate(items):
            for line in self._edge_lines(text):
                shape = _line(line, _headline_tokens(headline)).shape
                if _words(shape) and not _QUOTES.search(line):
                    edges.append((number, shape))
                # a sentence that opens or closes a longer line ("Please contact Ma Properties
                # ... to schedule a viewing appointment. Studio, 418 41st Street ..."): learned
                # only where it has no number (one that differs is the item's own: a version)
                sentences = _SENTENCE_END.split(line.strip())
                # one or two sentences at either end ("Questions? Visit us on the forum.")
                ends = [" ".join(part) for count in (1, 2) if len(sentences) > count
                        for part in (sentences[:count], sentences[-count:])]
                for sentence in dict.fromkeys(ends):
                    if not _DIGITS.search(sentence) and not _QUOTES.search(sentence):
                        shape = _line(sentence, _headline_tokens(headline)).shape
                        if _words(shape) and len(shape) >= settings.furniture_min_affix_tokens:
                            edges.append((number, shape))
        needed = max(settings.furniture_min_items, settings.furniture_min_share * len(items))
        self.shapes: frozenset[Shape] = frozenset(
            shape for shape, seen_in in self._items_alike(edges).items() if len(seen_in) >= needed)
        self._buckets = self._bucketed(self.shapes)
        # the longest cut first, in one order whatever the process's hash seed: the same feed
        # gives the same texts in every run and on every worker
        self._longest_first = sorted(self.shapes, key=lambda shape: (-len(shape), shape))

    def _edge_lines(self, text: str) -> list[str]:
        lines = [line for line in text.split("\n") if line.strip()]
        first, last = self.settings.furniture_first_lines, self.settings.furniture_last_lines
        return [line for number, line in enumerate(lines) if number < first or number >= len(lines) - last]

    def _items_alike(self, edges: list[tuple[int, Shape]]) -> dict[Shape, set[int]]:
        """Each edge shape, with the items that have a line of that shape. Lines are compared
        only with lines that open or close as they do (their first or last two tokens): the
        cost grows with the feed, not with its square."""
        buckets = self._bucketed(shape for _, shape in edges)
        items_of: dict[Shape, set[int]] = defaultdict(set)
        for number, shape in edges:
            items_of[shape].add(number)
        alike: dict[Shape, set[int]] = {}
        for shape in items_of:
            seen_in = set(items_of[shape])
            for other in self._neighbours(shape, buckets) if len(shape) <= self.settings.furniture_max_tokens else ():
                if other != shape and not items_of[other] <= seen_in and self._alike(shape, other):
                    seen_in |= items_of[other]
            alike[shape] = seen_in
        return alike

    @staticmethod
    def _bucketed(shapes: Iterable[Shape]) -> dict[Shape, set[Shape]]:
        buckets: dict[Shape, set[Shape]] = defaultdict(set)
        for shape in shapes:
            buckets[("<", *shape[:2])].add(shape)
            buckets[(">", *shape[-2:])].add(shape)
        return buckets

    @staticmethod
    def _neighbours(shape: Shape, buckets: dict[Shape, set[Shape]]) -> set[Shape]:
        return buckets.get(("<", *shape[:2]), set()) | buckets.get((">", *shape[-2:]), set())

    def _alike(self, one: Shape, other: Shape) -> bool:
        """Two lines of one shape: about as long, their words mostly the same, in order (a line
        that only ends in furniture is no furniture: its end is cut instead). Longer lines are
        furniture only where they recur word for word: a listing's lines differ in what matters.
        Lines with several numbers agree in them: lines that give other numbers ("the release of
        API v201605 ... January 2016", of "v201603") are each item's own, however alike their
        words (a line's only number is a counter, folded to 0 in its shape)."""
        if max(len(one), len(other)) > self.settings.furniture_max_tokens or \
                abs(len(one) - len(other)) > max(3, max(len(one), len(other)) // 4) or \
                _numbers(one) != _numbers(other):
            return False
        matcher = difflib.SequenceMatcher(None, one, other, autojunk=False)
        least = self.settings.furniture_alike
        return matcher.real_quick_ratio() >= least and matcher.quick_ratio() >= least and matcher.ratio() >= least

    def strip(self, headline: str, text: str) -> str:
        """The item's text without the feed's furniture: whole lines of a recurring shape, and
        a long recurring shape where it ends or begins a line of the item's own."""
        if not self.shapes:
            return text
        headline_tokens = _headline_tokens(headline)
        edges = set(self._edge_lines(text))
        kept: list[str] = []
        for line in text.split("\n"):
            while line in edges and line.strip():  # what is left of a line may be furniture too
                shorter = self._without_furniture(line, _line(line, headline_tokens))
                if shorter == line:
                    break
                edges.add(line := shorter)
            if line.strip() or not kept or kept[-1].strip():
                kept.append(line)
        return "\n".join(kept).strip()

    def _without_furniture(self, text: str, line: _Line) -> str:
        shape = line.shape
        whole = shape in self.shapes or len(shape) <= self.settings.furniture_max_tokens and any(
            self._alike(shape, other) for other in self._neighbours(shape, self._buckets))
        if whole and not _QUOTES.search(text):  # a line that quotes someone is the item's own
            return ""
        for furniture in self._longest_first:
            width = len(furniture)
            if width < self.settings.furniture_min_affix_tokens or width >= len(shape):
                continue
            if shape[-width:] == furniture:
                return text[:line.spans[-width][0]].rstrip()
            if shape[:width] == furniture:
                return text[line.spans[width - 1][1]:].lstrip()
        return text


# Where a feed's titles put a kicker before the headline or a byline after it: a pipe is never
# a headline's own punctuation.
TITLE_PIPE = " | "


def split_titles(items: Sequence[tuple[str, tuple[str, ...]]], settings: ReaderSettings = DEFAULTS
                 ) -> list[tuple[str, str | None]]:
    """Each of a feed's titles (with the item's authors) as headline and kicker: a byline
    after a pipe ("... | Cas Mudde", the item's author) leaves the headline; a short line before
    a pipe that many of the feed's titles have ("Transfer fix | ...") is the kicker."""
    piped = [title.partition(TITLE_PIPE) for title, _ in items if TITLE_PIPE in title]
    short_first = [kicker for kicker, _, rest in piped if _is_kicker(kicker, rest, settings)]
    kickers = len(short_first) >= max(settings.furniture_min_items, settings.furniture_min_share * len(items))
    split: list[tuple[str, str | None]] = []
    for title, authors in items:
        head, _, tail = title.rpartition(TITLE_PIPE)
        if head and _names_only(tail, authors):
            title = head.strip()
        kicker, _, rest = title.partition(TITLE_PIPE)
        if kickers and rest and _is_kicker(kicker, rest, settings):
            split.append((rest.strip(), kicker.strip()))
        else:
            split.append((title, None))
    return split


def _is_kicker(kicker: str, rest: str, settings: ReaderSettings) -> bool:
    return 0 < len(kicker.split()) <= settings.kicker_max_words and len(kicker) < len(rest)


def _names_only(tail: str, authors: tuple[str, ...]) -> bool:
    """Is `tail` the item's authors' names ("Erica Chenoweth and Jeremy Pressman")?"""
    names = {word.casefold() for author in authors for word in _WORD.findall(author)}
    words = [word.casefold() for word in _WORD.findall(tail)]
    return bool(words) and all(word in names or word in ("and", "und", "et", "y", "e") for word in words)


def strip_furniture(items: Sequence[tuple[str, str]], settings: ReaderSettings = DEFAULTS) -> list[str]:
    """The texts of one feed's items (headline, text), without what the feed repeats in them."""
    furniture = Furniture(items, settings)
    return [furniture.strip(headline, text) for headline, text in items]
