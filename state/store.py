"""The store: what newsbeam remembers between runs and shares between workers, in a database
with transactions rather than in Beam state, so the same graph runs bounded or unbounded on
any runner and a run that dies half-way is simply repeated.

    store = open_store("sqlite:///out/state.db")      # or postgresql://user@host/db
    store.feeds          validators, due times, failures      (state/feeds.py)
    store.stories        the story index: articles, stories   (state/stories.py)
    store.dead_letters   failures waiting for a retry         (state/dead_letters.py)
    store.runs           run history and counts               (state/runs.py)
    store.hosts          request slots shared by workers      (state/hosts.py)
    store.archives       how far each WARC file was read      (state/archives.py)
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

from newsbeam.schemas import DeadLetter, Story, utc_iso
from newsbeam.state.archives import ArchiveReads
from newsbeam.state.database import (
    Connection,
    Database,
    StoreError,
    StoreUnreachable,
    check_store_path,
    open_database,
    transactional,
)
from newsbeam.state.dead_letters import DeadLetters
from newsbeam.state.feeds import FeedStates
from newsbeam.state.furniture import SiteLines
from newsbeam.state.hosts import HostSlots
from newsbeam.state.runs import Runs
from newsbeam.state.stories import StoryFilter, StoryTables

__all__ = ["Store", "StoreError", "StoreUnreachable", "open_store"]


class Store:
    def __init__(self, db: Database, cache_dir: str | None = None):
        self.db = db
        self.cache_dir = cache_dir
        self.url = db.url
        self.stories = StoryTables(db)
        self.feeds = FeedStates(db, self.stories.known_articles)
        self.dead_letters = DeadLetters(db)
        self.runs = Runs(db)
        self.hosts = HostSlots(db)
        self.archives = ArchiveReads(db)
        self.site_lines = SiteLines(db)

    def close(self) -> None:
        self.hosts.close()
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- what came in, as records (the `stories`, `events` and `errors` commands, the API) ---
    def find_stories(self, *, since: str | dt.datetime | None = None, language: str | None = None,
                     site: str | None = None, words: str | Sequence[str] = (), event: str | None = None,
                     limit: int = 50, after: tuple[str, str] | None = None,
                     headline_changed: bool = False) -> list[Story]:
        """The stories that match every condition given, most recently changed first: changed
        at or after `since`, with a variant in `language` or from the host `site`, each of
        `words` in some variant's title or text, in the event `event`, a headline changed by an
        edit in place (`headline_changed`); only those listed after the story `after` =
        (updated, story_id), the last of a previous page."""
        where = StoryFilter(since=utc_iso(since), event=event, language=language, site=site,
                            words=tuple(words.split() if isinstance(words, str) else words), after=after,
                            headline_changed=headline_changed)
        return list(self.stories.records(self.stories.find(where, limit)))

    def story(self, story_id: str) -> Story | None:
        """One story with all its variants."""
        return next(self.stories.records([story_id]), None)

    def event(self, event_id: str) -> list[Story]:
        """The stories of one event in time order, by when each was published (first seen
        where it says no time); empty when there is no such event."""
        stories = self.stories.records(self.stories.events(event_id))
        return sorted(stories, key=lambda story: (story.published or story.first_seen, story.story_id))

    def failures(self) -> list[DeadLetter]:
        """The dead letters: what failed, where and why, and when it is tried again."""
        return self.dead_letters.all()

    def totals(self) -> dict[str, int]:
        """How many stories, articles and dead letters the store holds."""
        db = self.db.read()
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").one()[0]
                for table in ("stories", "articles", "dead_letters")}

    def feed_health(self) -> list[dict[str, Any]]:
        """Every feed the store knows, as `FeedStates.health` gives it, with `page_failures`:
        how many of its pages wait as dead letters (a feed that answers while its sites do
        not is no healthy feed)."""
        failing = self.dead_letters.page_failures_by_feed()
        return [{**feed, "page_failures": failing[feed["url"]]} for feed in self.feeds.health()]

    def meta(self, key: str) -> str | None:
        row = self.db.read().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @transactional
    def set_meta(self, tx: Connection, key: str, value: str) -> None:
        tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def cache_path(self, name: str) -> str:
        """Where a worker may keep a cache derived from this store (the vector index): in the
        store's `cache_dir` when it was opened with one ("" when none can be kept there)."""
        return self.db.cache_path(name, self.cache_dir)

    @transactional
    def prune(self, tx: Connection, window_days: float) -> dict[str, Any]:
        """Forget stories unchanged for longer than the window (the sinks keep them), dead
        letters that ran out of attempts that long ago, and the paragraphs of sites not seen
        since (a site's furniture is seen on every page it serves)."""
        pruned = self.stories.prune(window_days)
        cutoff = pruned.pop("cutoff")
        pruned["dead_letters"] = self.dead_letters.forget_exhausted(cutoff)
        self.site_lines.forget_before(cutoff)
        return pruned


def default_store_url(output_dir: str) -> str:
    """The store of an output folder when none is named: a SQLite file in it."""
    return f"sqlite:///{os.path.abspath(os.path.join(output_dir, 'state.db'))}"


def open_store(url: str, migrate: bool = True, read_only: bool = False, cache_dir: str | None = None) -> Store:
    """The store named by a URL: `sqlite:///path.db`, a plain file path, or
    `postgresql://user@host:port/db`. A run migrates it once, before its pipeline starts
    (`migrate=True`: checks a SQLite path first, then creates or upgrades the tables); its
    workers open it with `migrate=False`. `read_only`: a SQLite store that cannot be written
    here (read-only disk, another user's file), opened for reading; its tables must be current.
    `cache_dir`: where caches derived from the store go (default: beside a SQLite file; the
    user's cache folder for PostgreSQL)."""
    if read_only:
        check_store_path(url)
        db = open_database(url, read_only=True)
        db.check_schema()
        return Store(db, cache_dir)
    if migrate:
        check_store_path(url)
    db = open_database(url)
    if migrate:
        db.migrate()
    return Store(db, cache_dir)
