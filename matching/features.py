"""What an article is compared by: its sentences, names and numbers, a hash of its body, and
its fingerprint (document vector, and sentence vectors when there is something to align)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import unicodedata

import numpy as np

from newsbeam.matching.encoders import Encoder
from newsbeam.schemas.text import fold_accents, fold_spaces

# The fingerprint's format: a store keeps fingerprints, so these are facts of the format, not
# settings (a store made with other values would compare unlike with like).
# Sentences of each article compared when deciding whether two articles are one story.
MAX_SENTENCES = 16
# The document vector embeds the title and the start of the body as one text.
DOCUMENT_CHARS = 2000
# Names are compared by their first characters, and words too: inflections agree.
SPECIFIC_PREFIX_CHARS = 5
WORD_PREFIX_CHARS = 6

# A sentence ends at . ! ? or … (and any closing quotes), before a capital letter or a digit.
_SENTENCE_END = re.compile(r"([.!?…][\"'»«”“’)]*)\s+(?=[\"'„“«»(\[]?[A-ZÀ-ÖØ-Þ0-9])")
_NUMBER = re.compile(r"\d+(?:[.,']\d+)*")


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for paragraph in text.split("\n"):
        marked = _SENTENCE_END.sub("\\1\n", paragraph)
        sentences.extend(s.strip() for s in marked.split("\n") if s.strip())
    return sentences


_WORD = re.compile(r"[^\W\d_][\w'’-]*")
# German capitalizes every noun: a capitalized word after an article, a contracted preposition or
# an inflected adjective is a common noun ("die Temperaturen", "am Dienstag", "neue Regelung"),
# not a name.
_GERMAN_NOUN_BEFORE = frozenset(
    "der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner am im zum zur vom "
    "beim ins ans aufs übers unterm jeder jede jedes jeden diese dieser dieses diesen diesem".split())
_GERMAN_INFLECTION = ("e", "en", "er", "es", "em")
# German's formal "you", capitalized anywhere in a sentence.
_GERMAN_FORMAL = frozenset("sie ihr ihre ihrem ihren ihrer ihres ihnen".split())


# Capitalized words that name no one: days and months, in the languages newsbeam meets most.
_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december montag dienstag mittwoch donnerstag freitag samstag sonnabend "
    "sonntag januar februar märz mai juni juli oktober dezember lundi mardi mercredi jeudi vendredi samedi "
    "dimanche lunes martes miércoles jueves viernes sábado domingo".split())


def specifics_in(sentences: list[str], language: str | None = None) -> frozenset[str]:
    """Names and numbers: words written with a capital that do not open their sentence (and,
    in German, do not follow an article or an inflected adjective), days and months aside, and
    the numbers of `numbers_in`."""
    german = language in (None, "de")
    names = set()
    for sentence in sentences:
        words = _WORD.findall(sentence)
        for before, word in zip(words, words[1:], strict=False):
            if not word[0].isupper() or word.casefold() in _CALENDAR:
                continue
            lower = before.casefold()
            if german and (word.casefold() in _GERMAN_FORMAL or lower in _GERMAN_NOUN_BEFORE or (
                    before.islower() and lower.endswith(_GERMAN_INFLECTION) and len(lower) > 3)):
                continue
            # the stem, roughly: inflected forms of one name or noun ("Messer", "Messern") agree
            names.add(word.casefold()[:SPECIFIC_PREFIX_CHARS])
    return frozenset(names) | numbers_in(" ".join(sentences))


def numbers_in(text: str) -> frozenset[str]:
    """Numbers, written the same way whatever the language's separators: '1,000.5' and
    '1.000,5' both become '10005'. Single digits are left out: they are often spelled out."""
    found = (re.sub(r"\D", "", n) for n in _NUMBER.findall(text))
    return frozenset(n for n in found if len(n) > 1)


_LONG_WORD = re.compile(r"[^\W\d_]{5,}")


def content_words(text: str) -> frozenset[str]:
    return frozenset(word[:WORD_PREFIX_CHARS] for word in _LONG_WORD.findall(fold_accents(text)))


def body_hash(text: str) -> str:
    return hashlib.sha1(fold_spaces(unicodedata.normalize("NFKC", text)).encode("utf-8")).hexdigest()


@dataclasses.dataclass
class Fingerprint:
    body_hash: str
    vector: np.ndarray  # (d,) float32, unit length: the document vector
    numbers: frozenset[str]
    title: str
    text: str
    language: str | None = None
    # (n, d) float32 unit rows for `sentence_texts`. Encoded only when there is a candidate to
    # compare with: most articles of a news stream have none, and the sentences are the bulk of
    # the encoding cost.
    sentences: np.ndarray | None = None

    @property
    def sentence_vectors(self) -> np.ndarray:
        """The sentence vectors, encoded beforehand (Fingerprinter.with_sentences)."""
        if self.sentences is None:
            raise ValueError("the sentence vectors are not encoded yet")
        return self.sentences

    @functools.cached_property
    def sentence_texts(self) -> list[str]:
        """The sentences compared: the title and the start of the body."""
        sentences = [self.title.strip()] if self.title.strip() else []
        sentences += split_sentences(self.text)
        return sentences[:MAX_SENTENCES] or [" "]

    @functools.cached_property
    def specifics(self) -> frozenset[str]:
        """Names and numbers of the compared body sentences: what fills a template."""
        return specifics_in(split_sentences(self.text)[:MAX_SENTENCES], self.language)

    @functools.cached_property
    def names(self) -> frozenset[str]:
        """The names among the specifics: who and where."""
        return frozenset(s for s in self.specifics if not s[0].isdigit())

    @functools.cached_property
    def lead_names(self) -> frozenset[str]:
        """The names of the headline and the first two sentences: who and where the report is about."""
        return frozenset(s for s in specifics_in(self.sentence_texts[:3], self.language) if not s[0].isdigit())

    @functools.cached_property
    def words(self) -> frozenset[str]:
        """The longer words of the compared sentences, folded and cut to their first characters
        (inflections agree): what a report is about, in its own language's words."""
        return content_words(" ".join(self.sentence_texts))


class Fingerprinter:
    def __init__(self, encoder: Encoder):
        self.encoder = encoder

    def __call__(self, title: str, text: str) -> Fingerprint:
        return self.many([(title, text)])[0]

    def many(self, articles: list[tuple[str, str]], languages: list[str | None] | None = None) -> list[Fingerprint]:
        """Fingerprints (without sentence vectors) for several articles, one encoder call."""
        if not articles:
            return []
        vectors = self.encoder.encode([f"{title}\n{text}"[:DOCUMENT_CHARS] for title, text in articles])
        out = []
        for vector, (title, text), language in zip(vectors, articles, languages or [None] * len(articles),
                                                   strict=True):
            fingerprint = Fingerprint(body_hash=body_hash(text), vector=vector, numbers=frozenset(),
                                      title=title, text=text, language=language)
            fingerprint.numbers = numbers_in(" ".join(fingerprint.sentence_texts))
            out.append(fingerprint)
        return out

    def with_sentences(self, fingerprint: Fingerprint) -> Fingerprint:
        if fingerprint.sentences is None:
            fingerprint.sentences = self.encoder.encode(fingerprint.sentence_texts)
        return fingerprint
