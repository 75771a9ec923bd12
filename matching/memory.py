"""`MemoryArticles`: the story index's filed articles held in memory, for matching without a
store (`newsbeam.dedup` with no store given, the decision's tests). It answers the reads the
decision makes as the store's story tables do (state.stories.StoryTables), with the same rows,
and applies filings as they do; it forgets everything with the process."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np

from newsbeam.schemas import Filing

T = TypeVar("T")
# The columns a candidate carries (state.stories.CANDIDATE_COLUMNS).
_CANDIDATE_KEYS = ("seq", "url", "story_id", "title", "text", "language", "body_hash", "vector", "sentences",
                   "numbers", "published", "feed_url")


class MemoryArticles:
    def __init__(self) -> None:
        self.articles: dict[str, dict[str, Any]] = {}  # url -> row
        self.stories: dict[str, dict[str, str]] = {}  # story_id -> event_id, updated, original_url
        self._seq = 0
        self._by_seq: dict[int, str] = {}  # seq -> url
        # the document vectors in filing order, and their seqs: an exact nearest-neighbour search
        self._matrix: np.ndarray | None = None
        self._seqs = np.zeros(0, np.int64)
        self._count = 0
        self._replaced = 0

    # --- reads ---------------------------------------------------------------------------------
    def newest_seq(self) -> int:
        return self._seq

    def candidate_rows(self, body_hash: str, seqs: list[int], since: str) -> list[dict[str, Any]]:
        same_body = [row for row in self.articles.values() if row["body_hash"] == body_hash][:3]
        near = [self.articles[self._by_seq[seq]] for seq in seqs if seq in self._by_seq]
        rows = {row["url"]: row for row in [*same_body, *near]}
        return [self._candidate(row) for row in rows.values() if self.stories[row["story_id"]]["updated"] >= since]

    def candidate_rows_after(self, seq: int, since: str) -> list[dict[str, Any]]:
        return [self._candidate(row) for row in self.articles.values()
                if row["seq"] > seq and self.stories[row["story_id"]]["updated"] >= since]

    def filed_articles(self, urls: list[str]) -> dict[str, tuple[str, str, str]]:
        return {url: (row["story_id"], row["title"], row["body_hash"])
                for url in urls if (row := self.articles.get(url)) is not None}

    def events_of(self, story_ids: Iterable[str]) -> dict[str, str]:
        return {story: self.stories[story]["event_id"] for story in story_ids if story in self.stories}

    def event_members(self, event_ids: Iterable[str], most: int) -> list[dict[str, Any]]:
        wanted = set(event_ids)
        members: dict[str, list[dict[str, Any]]] = {}
        for row in sorted(self.articles.values(), key=lambda row: -row["seq"]):
            event = self.stories[row["story_id"]]["event_id"]
            if event in wanted and len(members.setdefault(event, [])) < most:
                members[event].append(self._candidate(row))
        return [row for rows in members.values() for row in rows]

    def original_and_copies(self, story_id: str, body_hash: str, before: str) -> tuple[dict[str, Any] | None,
                                                                                      list[dict[str, Any]]]:
        original = self.articles.get(self.stories[story_id]["original_url"])
        copies = sorted((row for row in self.articles.values() if row["story_id"] == story_id
                         and row["body_hash"] == body_hash and row["first_seen"] < before),
                        key=lambda row: row["first_seen"])
        return original, copies[:10]

    def _candidate(self, row: dict[str, Any]) -> dict[str, Any]:
        return {**{key: row[key] for key in _CANDIDATE_KEYS}, "event_id": self.stories[row["story_id"]]["event_id"]}

    # --- nearest neighbours (exact: an in-memory corpus is small enough) ----------------------
    def sync(self) -> None:
        """Nothing to catch up with: every filing is here already."""

    def nearest(self, vector: np.ndarray, count: int) -> list[int]:
        if self._matrix is None:
            return []
        similarity = self._matrix[:self._count] @ vector
        # an article updated in place left its old row behind: skipped
        wanted = min(self._count, count + self._replaced)
        top = np.argpartition(-similarity, wanted - 1)[:wanted] if wanted < self._count else np.arange(self._count)
        order = top[np.argsort(-similarity[top], kind="stable")]
        return [int(seq) for seq in self._seqs[order] if int(seq) in self._by_seq][:count]

    def _add_vector(self, seq: int, vector: bytes) -> None:
        """Append a row to the matrix of document vectors, doubling its room when full."""
        row = np.frombuffer(vector, dtype=np.int8).astype(np.float32)
        if self._matrix is None or self._count == len(self._matrix):
            room = max(64, 2 * self._count)
            matrix, seqs = np.zeros((room, row.shape[0]), np.float32), np.zeros(room, np.int64)
            if self._matrix is not None:
                matrix[:self._count], seqs[:self._count] = self._matrix[:self._count], self._seqs[:self._count]
            self._matrix, self._seqs = matrix, seqs
        self._matrix[self._count], self._seqs[self._count] = row, seq
        self._count += 1

    # --- filing --------------------------------------------------------------------------------
    def filing(self, work: Callable[[], T]) -> T:
        return work()

    def file(self, filing: Filing, now: str, run_id: str) -> tuple[str, ...]:
        for url, sentences in filing.computed_sentences:
            if url in self.articles:
                self.articles[url]["sentences"] = sentences
        if filing.how == "unchanged":
            return ()
        if filing.how == "new":
            self.stories[filing.story_id] = {"event_id": filing.story_event, "updated": now}
        self.stories[filing.story_id]["updated"] = now
        if filing.original:
            self.stories[filing.story_id]["original_url"] = filing.article.url
        article = filing.article
        old = self.articles.pop(article.url, None)
        if old is not None:
            del self._by_seq[old["seq"]]
            self._replaced += 1
        self._seq += 1
        self._add_vector(self._seq, filing.vector)
        self.articles[article.url] = {
            "seq": self._seq, "url": article.url, "story_id": old["story_id"] if old else filing.story_id,
            "title": article.title, "text": article.text, "language": article.language,
            "body_hash": filing.body_hash, "vector": filing.vector, "sentences": filing.sentences,
            "numbers": filing.numbers, "published": article.published, "feed_url": article.feed_url,
            "published_date_only": article.published_date_only, "first_seen": old["first_seen"] if old else now}
        self._by_seq[self._seq] = article.url
        others = {event for event in (filing.story_event, *filing.merged_events) if event != filing.event_id}
        moved = tuple(story for story, row in self.stories.items() if row["event_id"] in others)
        for story in moved:
            self.stories[story].update(event_id=filing.event_id, updated=now)
        return moved
