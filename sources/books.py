"""What a `FeedReader` keeps of each feed between passes, and where: the `FeedBook`.

- `StoreFeedBook`: the store's (a run's): validators staged until the pass's output is written,
  failures and their backoff, titles, the entries in flight; the articles and dead letters the
  store knows decide which entries are new.
- `MemoryFeedBook`: the same, in memory, for a program that reads feeds without a store (and the
  reader's tests): validators take effect at once, and an entry read once is known after.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Protocol

from newsbeam.schemas import DeadLetter, FeedEntry, utc_now
from newsbeam.state import settings as store_settings
from newsbeam.state.dead_letters import backoff
from newsbeam.state.feeds import NEVER_FETCHED
from newsbeam.state.store import Store


class FeedBook(Protocol):
    def state(self, url: str) -> dict[str, Any]: ...
    def fetched(self, url: str, next_due: str | None, status: int | None) -> None: ...
    def failed(self, url: str, not_before: str | None, status: int | None, reason: str | None) -> str: ...
    def listed(self, url: str, lastmod: str) -> None: ...
    def stage_validators(self, url: str, etag: str | None, last_modified: str | None, body_hash: str) -> None: ...
    def titled(self, url: str, title: str | None) -> None: ...
    def defer(self, url: str, until: str) -> None: ...
    def unreadable(self, url: str, reason: str) -> None: ...
    def stage_entries(self, url: str, entry_urls: list[str]) -> None: ...
    def resolve(self, url: str, stages: Iterable[str]) -> None: ...
    def known_articles(self, urls: Iterable[str]) -> dict[str, str | None]: ...
    def due_retries(self, stage: str) -> list[DeadLetter]: ...
    def drop(self, dropped: list[tuple[FeedEntry, str]]) -> None: ...
    def due_rechecks(self, now: str, since: str, limit: int) -> list[FeedEntry]: ...


class StoreFeedBook:
    """The store's book of feeds (state.feeds), its known articles and its dead letters."""

    def __init__(self, store: Store):
        feeds = store.feeds
        self.state, self.fetched, self.failed, self.listed = feeds.state, feeds.fetched, feeds.failed, feeds.listed
        self.stage_validators, self.titled, self.defer = feeds.stage_validators, feeds.titled, feeds.defer
        self.unreadable, self.stage_entries = feeds.unreadable, feeds.stage_entries
        self.resolve, self.due_retries = store.dead_letters.resolve, store.dead_letters.due
        self.known_articles = store.stories.known_articles
        self.drop = store.stories.drop_articles
        self.due_rechecks = store.stories.due_rechecks


class MemoryFeedBook:
    """Feeds and entries remembered in memory, for as long as the object lives."""

    def __init__(self) -> None:
        self.feeds: dict[str, dict[str, Any]] = {}
        self.seen: dict[str, str | None] = {}  # entry URL -> its `updated` stamp when read
        self.letters: dict[tuple[str, str], DeadLetter] = {}  # what the caller keeps to retry
        self.dropped: dict[str, str] = {}  # entry URL -> the rule that dropped it

    def state(self, url: str) -> dict[str, Any]:
        return dict(self.feeds.get(url) or NEVER_FETCHED)

    def _feed(self, url: str) -> dict[str, Any]:
        return self.feeds.setdefault(url, {**NEVER_FETCHED, "title": None, "problem": None})

    def fetched(self, url: str, next_due: str | None, status: int | None) -> None:
        self._feed(url).update(next_due=next_due, failures=0, problem=None)

    def failed(self, url: str, not_before: str | None, status: int | None, reason: str | None) -> str:
        feed = self._feed(url)
        feed["failures"] += 1
        feed["next_due"] = backoff(feed["failures"], store_settings.FEED_BACKOFF_MINUTES,
                                   store_settings.FEED_BACKOFF_MAX_HOURS, not_before, utc_now())
        feed["problem"] = reason
        return feed["next_due"]

    def listed(self, url: str, lastmod: str) -> None:
        self._feed(url)["listed_lastmod"] = lastmod

    def stage_validators(self, url: str, etag: str | None, last_modified: str | None, body_hash: str) -> None:
        self._feed(url).update(etag=etag, last_modified=last_modified, body_hash=body_hash)

    def titled(self, url: str, title: str | None) -> None:
        if title:
            self._feed(url)["title"] = title

    def defer(self, url: str, until: str) -> None:
        feed = self._feed(url)
        feed["next_due"] = max(feed["next_due"] or until, until)

    def unreadable(self, url: str, reason: str) -> None:
        self._feed(url)["problem"] = reason

    def stage_entries(self, url: str, entry_urls: list[str]) -> None:
        """Nothing is in flight in memory: the entries handed out are the caller's."""

    def resolve(self, url: str, stages: Iterable[str]) -> None:
        for stage in stages:
            self.letters.pop((url, stage), None)

    def known_articles(self, urls: Iterable[str]) -> dict[str, str | None]:
        return {url: self.seen[url] for url in urls if url in self.seen}

    def due_retries(self, stage: str) -> list[DeadLetter]:
        now = utc_now()
        return [letter for (_, letter_stage), letter in self.letters.items()
                if letter_stage == stage and not letter.final and (letter.next_due or "") <= now]

    def drop(self, dropped: list[tuple[FeedEntry, str]]) -> None:
        for entry, reason in dropped:
            self.seen[entry.url] = entry.updated
            self.dropped[entry.url] = reason

    def due_rechecks(self, now: str, since: str, limit: int) -> list[FeedEntry]:
        """No page is filed in memory: none is looked at again."""
        return []

    def remember(self, entries: Iterable[FeedEntry], letters: Iterable[DeadLetter] = ()) -> None:
        """What the caller did with a pass: these entries were taken (not new next time), these
        pages failed (retried when due)."""
        self.seen.update((entry.url, entry.updated) for entry in entries)
        for letter in letters:
            due = letter.next_due or utc_now()
            self.letters[(letter.url, letter.stage)] = dataclasses.replace(letter, next_due=due)
