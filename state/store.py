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
from collections.abc import Sequence

from newsbeam.schemas import DeadLetter, Story, utc_iso
from newsbeam.state.archives import ArchiveProgress
from newsbeam.state.database import Connection, Database, StoreError, check_store_path, open_database, transactional
from newsbeam.state.dead_letters import DeadLetters
from newsbeam.state.feeds import FeedStates
from newsbeam.state.hosts import HostSlots
from newsbeam.state.runs import Runs
from newsbeam.state.stories import StoryFilter, StoryTables

__all__ = ["Store", "StoreError", "open_store"]


class Store:
    def __init__(self, db: Database):
        self.db = db
        self.url = db.url
        self.stories = StoryTables(db)
        self.feeds = FeedStates(db, self.stories.known_articles)
        self.dead_letters = DeadLetters(db)
        self.runs = Runs(db)
        self.hosts = HostSlots(db)
        self.archives = ArchiveProgress(db)

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
                     limit: int = 50) -> list[Story]:
        """The stories that match every condition given, most recently changed first: changed
        at or after `since`, with a variant in `language` or from the host `site`, each of
        `words` in some variant's title or text, in the event `event`."""
        where = StoryFilter(since=utc_iso(since), event=event, language=language, site=site,
                            words=tuple(words.split() if isinstance(words, str) else words))
        return list(self.stories.records(self.stories.find(where, limit)))

    def story(self, story_id: str) -> Story | None:
        """One story with all its variants."""
        return next(self.stories.records([story_id]), None)

    def event(self, event_id: str) -> list[Story]:
        """The stories of one event (empty when there is no such event)."""
        return list(self.stories.records(self.stories.events(event_id)))

    def failures(self) -> list[DeadLetter]:
        """The dead letters: what failed, where and why, and when it is tried again."""
        return self.dead_letters.all()

    def meta(self, key: str) -> str | None:
        row = self.db.read().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @transactional
    def set_meta(self, tx: Connection, key: str, value: str) -> None:
        tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def cache_path(self, name: str) -> str:
        """Where a worker may keep a cache derived from this store (the vector index)."""
        return self.db.cache_path(name)

    @transactional
    def prune(self, tx: Connection, window_days: float) -> dict[str, int]:
        """Forget stories unchanged for longer than the window (the sinks keep them), and dead
        letters that ran out of attempts that long ago."""
        pruned = self.stories.prune(window_days)
        pruned["dead_letters"] = self.dead_letters.forget_exhausted(pruned.pop("cutoff"))
        return pruned


def open_store(url: str, migrate: bool = True, read_only: bool = False) -> Store:
    """The store named by a URL: `sqlite:///path.db`, a plain file path, or
    `postgresql://user@host:port/db`. A run migrates it once, before its pipeline starts
    (`migrate=True`: checks a SQLite path first, then creates or upgrades the tables); its
    workers open it with `migrate=False`. `read_only`: a SQLite store that cannot be written
    here (read-only disk, another user's file), opened for reading; its tables must be current."""
    if read_only:
        check_store_path(url)
        db = open_database(url, read_only=True)
        db.check_schema()
        return Store(db)
    if migrate:
        check_store_path(url)
    db = open_database(url)
    if migrate:
        db.migrate()
    return Store(db)
