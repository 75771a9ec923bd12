"""`StoryIndex`: which story, and which event, does an article belong to?

Two articles are one **story** when one is a copy, an update or a translation of the other:
a translation or a copy follows its original sentence by sentence, in order, with the same
numbers (matching.rules). Two reporters writing about the same event do not; they become two
stories of one **event**, found by whole-document similarity.

For each article, with its fingerprint (matching.features) made beforehand:

1. Candidates: the same URL (an update in place), the same body hash (an exact copy), or the
   nearest document vectors in the worker's vector index (HNSW), among stories still in the
   window. Neither lookup grows linearly with the index.
2. Judge: sentence vectors are encoded for the article and a candidate only when the
   candidate is close enough to be worth aligning; each is verified by the rules. The best
   candidate that passes gives the story; otherwise the article starts a new story, in the
   event it agrees with as a whole (matching.events), or in an event of its own.

Deciding only reads: each article's decision is a `Filing` (schemas.filing: join this story,
update that one, start a new story in this event, merge these events), and the store applies it
(`StoryTables.file`), owning the row format. Without a store, an in-memory index
(matching.memory) holds what was filed, so `newsbeam.dedup` and the decision's tests need no
database.

The decision is made on a snapshot of the index outside the store's writer lock (the lookup,
sentence encoding and alignment: the expensive part), then checked inside it against what
other workers filed since the snapshot, a few rows at most. So workers encode and align in
parallel and wait for each other only for a few queries, and two variants filed at the same
moment still end up in one story. A chunk of articles (`assign_many`) is decided article by
article first and then filed in one transaction, the lock's fixed cost paid once: what the chunk
needs from the store is read once, what an article is checked against includes the chunk's
earlier articles (from memory, as the store would give them back), and the writes go out in a
pipeline while the next article is judged. Texts too short to judge join a story only by their
URL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

import numpy as np

from newsbeam.matching.events import Member, absorbs, choose_event, prepare
from newsbeam.matching.features import Fingerprint, Fingerprinter
from newsbeam.matching.originals import original_of, takes_over
from newsbeam.matching.rules import may_be_same_story, same_story
from newsbeam.matching.settings import DEFAULTS, MatchSettings
from newsbeam.matching.vectors import VectorIndex, pack, unpack
from newsbeam.schemas import Article, Filing, parse_time, utc_now
from newsbeam.schemas.text import fold_spaces
from newsbeam.state.store import Store

Candidate = tuple[dict[str, Any], Fingerprint]


class FiledArticles(Protocol):
    """What the decision reads of the articles filed so far, and how a filing is applied: the
    store's story tables (state.stories.StoryTables), or matching.memory's in-memory index."""

    def newest_seq(self) -> int: ...
    def candidate_rows(self, body_hash: str, seqs: list[int], since: str) -> list[dict[str, Any]]: ...
    def candidate_rows_after(self, seq: int, since: str) -> list[dict[str, Any]]: ...
    def filed_articles(self, urls: list[str]) -> dict[str, tuple[str, str, str]]: ...
    def events_of(self, story_ids: Iterable[str]) -> dict[str, str]: ...
    def event_members(self, event_ids: Iterable[str], most: int) -> list[dict[str, Any]]: ...
    def original_and_copies(self, story_id: str, body_hash: str, before: str) -> tuple[dict[str, Any] | None,
                                                                                      list[dict[str, Any]]]: ...
    def filing(self, work: Any) -> Any: ...
    def file(self, filing: Filing, now: str, run_id: str) -> tuple[str, ...]: ...


class NearestVectors(Protocol):
    def sync(self) -> None: ...
    def nearest(self, vector: np.ndarray, count: int) -> list[int]: ...


@dataclasses.dataclass(frozen=True)
class Filed:
    """Where an article was filed: its story and event, and how (the public API's
    newsbeam.Assignment is this, by the caller's id)."""

    story_id: str
    event_id: str
    new_story: bool
    # "new", "updated" (same URL seen again, changed), "unchanged" (same URL, same headline and
    # body: nothing to write), "variant" (joined an existing story) or "moved" (judged again,
    # it left its story for `story_id`: StoryIndex.regroup)
    how: str
    # other stories whose event changed because their event and this article's became one
    regrouped: tuple[str, ...] = ()


class Decision(NamedTuple):
    """An article's assignment as decided against a snapshot of the index, outside the writer
    lock: what filing it needs."""

    article: Article
    fingerprint: Fingerprint
    snapshot: int  # the newest article's sequence number when the decision was made
    to_save: list[tuple[str, bytes]]  # candidates' sentence vectors computed for it (url, packed)
    scores: dict[str, float]  # story -> score, for the stories it is a variant of
    close: set[str]  # stories close enough to be put to the event judge
    known: dict[str, Fingerprint]  # their articles' fingerprints, by URL, with the judge's evidence
    # the article's fingerprint as the store will give it back (quantized vectors): what the
    # articles after it are compared with, in this chunk as in any later one
    as_filed: Fingerprint


def short_id(prefix: str, seed: str) -> str:
    return prefix + hashlib.sha1(seed.encode("utf-8")).hexdigest()[:16]


class StoryIndex:
    """Assigns articles to stories and events: against the store, or (without one) in memory."""

    def __init__(self, store: Store | None, fingerprinter: Fingerprinter, run_id: str = "dedup",
                 settings: MatchSettings = DEFAULTS, edits: bool = True, windows: Mapping[str, float] | None = None):
        """`edits`: an article filed again under its URL is its publisher's edit (a revision is
        kept); False when it is the same page read again by newer extraction. `windows`: the
        story window of the feeds that have one of their own (feed URL -> days)."""
        self.store, self.fingerprinter, self.run_id, self.edits = store, fingerprinter, run_id, edits
        self.settings = settings
        self.window = dt.timedelta(days=settings.window_days)
        self.windows = {feed: dt.timedelta(days=days) for feed, days in (windows or {}).items()}
        self.widest = max([self.window, *self.windows.values()])
        if store is None:
            from newsbeam.matching.memory import MemoryArticles

            self.articles: FiledArticles = MemoryArticles()
            self.vectors: NearestVectors = self.articles
        else:
            self.articles = store.stories
            self.vectors = VectorIndex(store)
            _check_encoder(store, fingerprinter.encoder.name)

    def assign(self, article: Article, fingerprint: Fingerprint) -> Filed:
        return self.assign_many([article], [fingerprint])[0]

    def assign_many(self, articles: list[Article], fingerprints: list[Fingerprint]) -> list[Filed]:
        """Assign several articles, in order: each is judged against the index outside the
        writer lock, then all are filed in one transaction (one lock and one commit for the
        lot, the fixed cost of filing), each checked against what was filed since its own
        snapshot, the earlier ones of the lot among it."""
        if not articles:
            return []
        return self.file_all(self.decide_all(articles, fingerprints))

    def decide_all(self, articles: list[Article], fingerprints: list[Fingerprint]) -> list[Decision]:
        """Each article judged against a snapshot of the index, outside the writer lock."""
        return [self._decide(article, fingerprint) for article, fingerprint in zip(articles, fingerprints,
                                                                                     strict=True)]

    def _decide(self, article: Article, fingerprint: Fingerprint, as_of: str | None = None) -> Decision:
        """The decision against a snapshot of the index, outside the writer lock (among the
        stories changed within the window before `as_of`, or now)."""
        snapshot = self.articles.newest_seq()
        candidates = self._candidates(fingerprint, article, as_of)
        to_save = self._encode_sentences_if_needed(fingerprint, candidates)
        scores, close = judge(article, fingerprint, candidates, self.settings)
        # The event judge's evidence for the stories close enough to share an event is made here,
        # outside the writer lock; the events read inside it reuse these fingerprints.
        known = {row["url"]: prepare(other) for row, other in candidates if row["story_id"] in close}
        if close:
            prepare(fingerprint)
        return Decision(article, fingerprint, snapshot, to_save, scores, close, known, as_filed(fingerprint))

    def file_all(self, decisions: list[Decision]) -> list[Filed]:
        """Inside the writer lock (one transaction): each decision checked against what was
        filed since its snapshot, and filed. What the lot needs from the store is read once:
        the articles already filed under its URLs, and what other workers filed since its
        earliest snapshot; the lot's own earlier articles are known here."""
        if not decisions:
            return []
        return self.articles.filing(lambda: self._file_all(decisions))

    def _file_all(self, decisions: list[Decision]) -> list[Filed]:
        now = utc_now()
        filed = self.articles.filed_articles([decision.article.url for decision in decisions])
        since_earliest = self._candidates_after(min(decision.snapshot for decision in decisions), now,
                                                decisions[0].fingerprint.vector.shape[0])
        filed_here: dict[str, Candidate] = {}  # url -> this lot's articles filed so far
        assignments = []
        for decision in decisions:
            article, fingerprint = decision.article, decision.fingerprint
            newer = []
            if len(fingerprint.text) >= self.settings.min_match_chars:  # else it joins only by its URL
                newer = nearest(fingerprint, [
                    (row, other) for row, other in [*since_earliest, *filed_here.values()]
                    if (row["seq"] is None or row["seq"] > decision.snapshot)
                    and self._in_window(article, row["published"])], self.settings.neighbours)
            filing = self._with_original(self._filing(decision, filed.get(article.url), newer), now)
            regrouped = self.articles.file(filing, now, self.run_id)
            assignments.append(Filed(filing.story_id, filing.event_id, new_story=filing.how == "new",
                                          how=filing.how, regrouped=regrouped))
            filed[article.url] = (filing.story_id, article.title, fingerprint.body_hash)
            if filing.how != "unchanged":
                filed_here[article.url] = ({"seq": None, "url": article.url, "story_id": filing.story_id,
                                            "feed_url": article.feed_url, "title": article.title,
                                            "language": article.language,
                                            "published": article.published}, decision.as_filed)
        return assignments

    def _filing(self, decision: Decision, filed: tuple[str, str, str] | None, newer: list[Candidate],
                seed: str | None = None) -> Filing:
        """The article's filing (in the writer lock; reads only): `filed` is what is filed under
        its URL, `newer` what was filed since its snapshot; a new story's and event's ids are
        made from `seed` (the article's URL)."""
        article, fingerprint = decision.article, decision.fingerprint
        scores, close = dict(decision.scores), set(decision.close)  # the transaction may run again
        computed = list(decision.to_save)

        def plan(how: str, story_id: str, story_event: str, event_id: str, merged: tuple[str, ...] = ()) -> Filing:
            return Filing(article, how, story_id, story_event, event_id, merged, **stored_form(fingerprint),
                          computed_sentences=tuple(computed), edit=self.edits)

        if filed is not None:
            story_id = filed[0]
            event_id = self.articles.events_of([story_id])[story_id]
            # the same page read twice (two passes overlapping, a feed listing an unchanged page
            # again): the story has not changed and is not written again; else the article was
            # updated in place
            how = "unchanged" if filed[1:] == (article.title, fingerprint.body_hash) else "updated"
            return plan(how, story_id, event_id, event_id)

        if newer:  # filed by another worker, or earlier in this lot, since the snapshot
            computed += self._encode_sentences_if_needed(fingerprint, newer)
            more_scores, more_close = judge(article, fingerprint, newer, self.settings)
            for story, score in more_scores.items():
                scores[story] = max(score, scores.get(story, 0.0))
            close |= more_close
        # the article as filed stands for its row when its event is read back
        known = {**decision.known, article.url: decision.as_filed}
        dim = fingerprint.vector.shape[0]
        best_story = max(scores, key=lambda story: (scores[story], story)) if scores else None
        events_of = self.articles.events_of(close | ({best_story} if best_story else set()))
        if best_story is not None:
            story_event = events_of[best_story]
            close_events = set(events_of[story] for story in close) - {story_event}
            if not close_events:  # every close story is in the article's event already
                return plan("variant", best_story, story_event, story_event)
            events = self._events({story_event, *close_events}, known, dim)
            # the event as it is once the article is in it: its latest members, the article last
            own = [*events.pop(story_event, []), Member(decision.as_filed, article.published, best_story)]
            survivor, merged = self._absorb(story_event, own[-self.settings.event_members_judged:], events)
            return plan("variant", best_story, story_event, survivor, merged)

        story_id = short_id("s_", seed or article.url)
        events = self._events(set(events_of.values()), known, dim)
        story_event = (choose_event(fingerprint, article.published, events, self.settings)
                       or short_id("e_", seed or article.url))
        own = [*events.pop(story_event, []), Member(decision.as_filed, article.published, story_id)]
        survivor, merged = self._absorb(story_event, own, events) if events else (story_event, ())
        return plan("new", story_id, story_event, survivor, merged)

    def regroup(self, urls: Iterable[str]) -> list[Filed]:
        """Judge these filed articles again, each against every other story as if it were new
        (`newsbeam reprocess`: read again by newer extraction, an article may no longer be its
        story's variant). One that is still a variant of its story stays; one that is not
        leaves it for the story it is now a variant of, or for a story of its own (never when
        it is its story's only variant: that one stays, unless it joins another). One at a
        time, in URL order, each in its own transaction: the same store gives the same stories
        whatever order the articles were refiled in. Returns the moves made."""
        if self.store is None:
            raise ValueError("regrouping needs a store")
        tables = self.store.stories
        moves = []
        for url in sorted(set(urls)):
            row = tables.filed_row(url)
            if row is None or len(row["text"] or "") < self.settings.min_match_chars:
                continue  # gone since (taken out, pruned), or too short to judge: joins by its URL
            article = next(tables.article_items([url]))
            fingerprint = stored_fingerprint(row, len(row["vector"]))  # one int8 vector: a byte a dimension
            decision = self._decide(article, fingerprint, as_of=row["first_seen"])
            if row["story_id"] in decision.scores or (row["variants"] == 1 and not decision.scores):
                continue
            moves.append(tables.filing(functools.partial(self._move, decision, row)))
        return moves

    def _move(self, decision: Decision, row: dict[str, Any]) -> Filed:
        """File an article that leaves its story (in the writer lock): into the story it is a
        variant of, or a new one (its ids made from the URL and text: the story it leaves may
        bear its URL's), with the originals of both stories decided again."""
        assert self.store is not None
        tables, url, left = self.store.stories, decision.article.url, row["story_id"]
        filing = self._filing(decision, None, [], seed=f"{url}\n{row['body_hash']}")
        staying = tables.original_keys(left)
        moved = next(key for key in staying if key["url"] == url)
        originals = [(left, original_of([key for key in staying if key["url"] != url]))]
        if filing.how == "variant":
            originals.append((filing.story_id, original_of([*tables.original_keys(filing.story_id), moved])))
        filing = dataclasses.replace(filing, moved_from=left, original=filing.how == "new", originals=tuple(
            (story, original) for story, original in originals if original is not None))
        regrouped = self.articles.file(filing, utc_now(), self.run_id)
        return Filed(filing.story_id, filing.event_id, new_story=filing.how == "new", how="moved",
                     regrouped=regrouped)

    def _with_original(self, filing: Filing, now: str) -> Filing:
        """The filing, with whether its article becomes its story's original."""
        if filing.how == "new":
            return dataclasses.replace(filing, original=True)
        if filing.how == "unchanged":
            return filing
        article = filing.article
        current, copies = self.articles.original_and_copies(filing.story_id, filing.body_hash, now)
        candidate = {"url": article.url, "published": article.published,
                     "published_date_only": article.published_date_only}
        return dataclasses.replace(filing, original=takes_over(candidate, current, copies, now))

    def _events(self, event_ids: Iterable[str], known: dict[str, Fingerprint], dim: int) -> dict[str, list[Member]]:
        """The articles of these events, as they are now (in the writer lock): the latest
        `event_members_judged` of each, oldest first; the fingerprints `known` (by URL) made
        beforehand are used where the article has not changed since."""
        events: dict[str, list[Member]] = {}
        rows = self.articles.event_members(event_ids, self.settings.event_members_judged)
        for row in sorted(rows, key=lambda row: row["seq"]):
            fingerprint = known.get(row["url"])
            if fingerprint is None or fingerprint.body_hash != row["body_hash"]:
                fingerprint = stored_fingerprint(row, dim)
            events.setdefault(row["event_id"], []).append(Member(fingerprint, row["published"], row["story_id"]))
        return events

    def _absorb(self, event_id: str, own: list[Member], others: dict[str, list[Member]]
                ) -> tuple[str, tuple[str, ...]]:
        """The article's event (`own`: its members, the article among them) and the other
        events close to it: those that agree with it as wholes become one with it
        (matching.events.absorbs), the smallest id surviving. Returns the surviving event and
        the other events merged into it."""
        joined = sorted(other for other, members in others.items()
                        if absorbs(own, members, self.settings) or absorbs(members, own, self.settings))
        if not joined:
            return event_id, ()
        survivor = min([event_id, *joined])
        return survivor, tuple(e for e in joined if e != survivor)

    def _encode_sentences_if_needed(self, fingerprint: Fingerprint,
                                    candidates: list[Candidate]) -> list[tuple[str, bytes]]:
        """Sentence vectors for the article and for each candidate it must be aligned with,
        encoded now (lazily: most articles have no candidate worth aligning). Returns the
        candidates' vectors computed here, for the store to keep."""
        computed = []
        for candidate, other in candidates:
            if other.body_hash == fingerprint.body_hash or not may_be_same_story(fingerprint, other, self.settings):
                continue
            self.fingerprinter.with_sentences(fingerprint)
            if other.sentences is None:
                computed.append((candidate["url"], pack(self.fingerprinter.with_sentences(other).sentence_vectors)))
        return computed

    def _candidates(self, fingerprint: Fingerprint, article: Article, as_of: str | None = None) -> list[Candidate]:
        """Articles of stories still in the window with the same body, or among the nearest
        neighbours of the document vector. None for a text too short to judge: it joins a
        story only by its URL.

        The window is counted in the articles' own time, where both are dated: a month of
        archive groups as it would have live, and a story of three weeks before the article
        does not take it in, whenever the two were filed."""
        if len(fingerprint.text) < self.settings.min_match_chars:
            return []
        self.vectors.sync()
        neighbours = self.vectors.nearest(fingerprint.vector, self.settings.neighbours)
        since = (parse_time(as_of or utc_now()) - self._window_of(article)).isoformat(timespec="seconds")
        rows = self.articles.candidate_rows(fingerprint.body_hash, neighbours, since)
        dim = fingerprint.vector.shape[0]
        # its own row (an article judged again) is no candidate of its own
        return [(r, stored_fingerprint(r, dim)) for r in rows
                if r["url"] != article.url and self._in_window(article, r["published"])]

    def _candidates_after(self, seq: int, now: str, dim: int) -> list[Candidate]:
        """Articles filed after `seq` (by other workers since a snapshot: few, compared directly,
        not through the nearest-neighbour index), of stories still in the window."""
        since = (parse_time(now) - self.widest).isoformat(timespec="seconds")  # each article's own below
        rows = self.articles.candidate_rows_after(seq, since)
        return [(r, stored_fingerprint(r, dim)) for r in rows]

    def _window_of(self, article: Article) -> dt.timedelta:
        """The story window of the article's feed: its own, or the run's."""
        return self.windows.get(article.feed_url, self.window)

    def _in_window(self, article: Article, other: str | None) -> bool:
        if not article.published or not other:
            return True
        return abs(parse_time(article.published) - parse_time(other)) <= self._window_of(article)


def _check_encoder(store: Store, name: str) -> None:
    """A store's vectors are comparable only with the encoder that made them."""
    stored = store.meta("encoder")
    if stored is None:
        store.set_meta("encoder", name)
    elif stored != name:
        raise ValueError(
            f"the store's story index was built with encoder '{stored}', not '{name}': "
            "use the same encoder or a new store")


def judge(article: Article, fingerprint: Fingerprint, candidates: list[Candidate], settings: MatchSettings
          ) -> tuple[dict[str, float], set[str]]:
    """The stories the article is a variant of (with their scores), and the stories close
    enough to be put to the event judge."""
    scores: dict[str, float] = {}
    close: set[str] = set()
    # a story that holds another item of the article's feed is not the article's, even
    # through a third article alike to both (a copy of the text in another feed)
    taken = {candidate["story_id"] for candidate, _ in candidates if another_item_of_its_feed(article, candidate)}
    for candidate, other in candidates:
        score = None if candidate["story_id"] in taken else same_story(fingerprint, other, settings)
        if score is not None:
            scores[candidate["story_id"]] = max(score, scores.get(candidate["story_id"], 0.0))
        if float(fingerprint.vector @ other.vector) >= settings.event_candidate_similarity:
            close.add(candidate["story_id"])
    return scores, close


def nearest(fingerprint: Fingerprint, candidates: list[Candidate], count: int) -> list[Candidate]:
    """The candidates the index would give for the article: the `count` nearest by document
    vector, and a few with its body. Judging an article against every article filed since its
    snapshot (a chunk of 400 alike feed items) made filing quadratic in the chunk's size."""
    if len(candidates) <= count:
        return candidates
    same_body = [c for c in candidates if c[1].body_hash == fingerprint.body_hash][:3]
    similarity = np.array([other.vector for _, other in candidates]) @ fingerprint.vector
    closest = [candidates[i] for i in np.argsort(-similarity, kind="stable")[:count]]
    return list({id(c): c for c in [*same_body, *closest]}.values())


def another_item_of_its_feed(article: Article, candidate: dict[str, Any]) -> bool:
    """Is the candidate another item of the article's own feed, in its language, under another
    headline? A feed lists each report once: two of its items are two stories, however alike
    their texts (a forum's "submitted by ... [N comments]" lines, a podcast's show notes, a
    classifieds template). They may still be one event. A bilingual feed or sitemap may list a
    report and its translation: items in two languages are judged as any."""
    feed = article.feed_url
    # A web archive's file (a path, s3://, gs://) holds pages of every site: no feed of anyone's.
    if not feed.startswith(("http://", "https://", "file:")):
        return False
    if article.language and candidate.get("language") and article.language != candidate["language"]:
        return False
    return candidate.get("feed_url") == feed and candidate["url"] != article.url \
        and fold_spaces(candidate.get("title", "")) != fold_spaces(article.title)


def stored_fingerprint(row: dict[str, Any], dim: int) -> Fingerprint:
    return Fingerprint(
        body_hash=row["body_hash"],
        vector=unpack(row["vector"], dim)[0],
        numbers=frozenset(row["numbers"].split()),
        title=row["title"],
        text=row["text"],
        language=row["language"],
        sentences=unpack(row["sentences"], dim) if row["sentences"] is not None else None,
    )


def as_filed(fingerprint: Fingerprint) -> Fingerprint:
    """The fingerprint as the store gives it back (stored_fingerprint): its vectors quantized.
    What was made from its text already (names, words: the event judge's evidence) is kept."""
    dim = fingerprint.vector.shape[0]
    sentences = fingerprint.sentences
    filed = dataclasses.replace(
        fingerprint, vector=unpack(pack(fingerprint.vector[None, :]), dim)[0],
        sentences=unpack(pack(sentences), dim) if sentences is not None else None)
    filed.__dict__.update((name, value) for name, value in vars(fingerprint).items()
                          if isinstance(getattr(Fingerprint, name, None), functools.cached_property))
    return filed


def stored_form(fingerprint: Fingerprint) -> dict[str, Any]:
    """A fingerprint's fields as a filing carries them to the store; stored_fingerprint reads
    them back."""
    return {"body_hash": fingerprint.body_hash, "vector": pack(fingerprint.vector[None, :]),
            "sentences": pack(fingerprint.sentences) if fingerprint.sentences is not None else None,
            "numbers": " ".join(sorted(fingerprint.numbers))}
