"""What the store keeps of each feed: its validators for conditional GET (staged until the
run's output is written), when it is next due, and how often it failed in a row."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from newsbeam.schemas import utc_now
from newsbeam.state import settings
from newsbeam.state.database import Connection, Database, transactional
from newsbeam.state.dead_letters import backoff

NEVER_FETCHED = {"etag": None, "last_modified": None, "body_hash": None, "next_due": None, "failures": 0,
                 "listed_lastmod": None}


class FeedStates:
    def __init__(self, db: Database, known_articles: Callable[[Iterable[str]], dict[str, Any]]):
        self.db = db
        self._known_articles = known_articles

    def state(self, url: str) -> dict[str, Any]:
        row = self.db.read().execute(
            "SELECT etag, last_modified, body_hash, next_due, failures, listed_lastmod FROM feeds WHERE url = ?",
            (url,)).fetchone()
        return dict(row) if row else dict(NEVER_FETCHED)

    def validators(self, url: str) -> dict[str, str | None]:
        state = self.state(url)
        return {k: state[k] for k in ("etag", "last_modified", "body_hash")}

    @transactional
    def fetched(self, tx: Connection, url: str, next_due: str | None, status: int | None = None) -> None:
        """The feed answered (200 or 304): its failures are forgiven."""
        tx.execute("INSERT INTO feeds (url, last_fetched, next_due, failures, last_status, last_error) "
                   "VALUES (?, ?, ?, 0, ?, NULL) ON CONFLICT (url) DO UPDATE SET last_fetched = excluded.last_fetched, "
                   "next_due = excluded.next_due, failures = 0, last_status = excluded.last_status, last_error = NULL",
                   (url, utc_now(), next_due, status))

    @transactional
    def failed(self, tx: Connection, url: str, not_before: str | None, status: int | None = None,
               reason: str | None = None) -> str:
        """Back the feed off: the next attempt is later with every failure in a row, and not
        before `not_before` (the server's Retry-After). Returns when it is due again."""
        row = tx.execute("SELECT failures FROM feeds WHERE url = ?", (url,)).fetchone()
        failures = (row["failures"] if row else 0) + 1
        now = utc_now()
        next_due = backoff(failures, settings.FEED_BACKOFF_MINUTES, settings.FEED_BACKOFF_MAX_HOURS, not_before, now)
        tx.execute("INSERT INTO feeds (url, last_fetched, next_due, failures, last_status, last_error) "
                   "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET last_fetched = excluded.last_fetched, "
                   "next_due = excluded.next_due, failures = excluded.failures, last_status = excluded.last_status, "
                   "last_error = excluded.last_error", (url, now, next_due, failures, status, reason))
        return next_due

    @transactional
    def unreadable(self, tx: Connection, url: str, reason: str) -> None:
        """The feed answered, but what it sent is not a feed newsbeam can read."""
        tx.execute("UPDATE feeds SET last_error = ? WHERE url = ?", (reason, url))

    @transactional
    def listed(self, tx: Connection, url: str, lastmod: str) -> None:
        """A sitemap was read as its index listed it, with this lastmod."""
        tx.execute("UPDATE feeds SET listed_lastmod = ? WHERE url = ?", (lastmod, url))

    @transactional
    def titled(self, tx: Connection, url: str, title: str | None) -> None:
        """The title the feed gives itself."""
        if title:
            tx.execute("UPDATE feeds SET title = ? WHERE url = ?", (title[:500], url))

    def health(self) -> list[dict[str, Any]]:
        """Every feed the store knows: its title, when it was last fetched and how that went,
        when it is next due, its failures in a row."""
        return [dict(r) for r in self.db.read().execute(
            "SELECT url, title, last_fetched, last_status, last_error, next_due, failures FROM feeds ORDER BY url")]

    @transactional
    def defer(self, tx: Connection, url: str, until: str) -> None:
        """The feed itself asks not to be polled before `until` (RSS ttl, sy:updatePeriod)."""
        tx.execute("UPDATE feeds SET next_due = ? WHERE url = ? AND (next_due IS NULL OR next_due < ?)",
                   (until, url, until))

    @transactional
    def stage_validators(self, tx: Connection, url: str, etag: str | None, last_modified: str | None,
                         body_hash: str) -> None:
        """Remember a feed's new validators, to take effect when the run's output is written:
        a run that dies half-way fetches the feed again instead of skipping its entries."""
        tx.execute(
            "INSERT INTO feeds (url, pending_etag, pending_last_modified, pending_body_hash) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET "
            "pending_etag = excluded.pending_etag, pending_last_modified = excluded.pending_last_modified, "
            "pending_body_hash = excluded.pending_body_hash, pending_entries = NULL",
            (url, etag, last_modified, body_hash))

    @transactional
    def stage_entries(self, tx: Connection, url: str, entry_urls: list[str]) -> None:
        """The new entries found in a feed whose validators are staged."""
        tx.execute("UPDATE feeds SET pending_entries = ? WHERE url = ? AND pending_body_hash IS NOT NULL",
                   (json.dumps(entry_urls), url))

    @transactional
    def commit_validators(self, tx: Connection, filed_only: bool = False) -> None:
        """Let staged validators take effect. A bounded run does so for all feeds once its output
        is written. An unbounded run (`filed_only`) does so, at each poll, for the feeds whose
        new entries are all filed (as articles or as dead letters): a feed with entries still
        in flight is fetched again after a crash, instead of answering "not modified"."""
        feeds = [r["url"] for r in tx.execute(
            "SELECT url, pending_entries FROM feeds WHERE pending_body_hash IS NOT NULL").fetchall()
            if not filed_only or self._all_filed(r["pending_entries"])]
        for start in range(0, len(feeds), 500):
            chunk = feeds[start:start + 500]
            tx.execute(
                "UPDATE feeds SET etag = pending_etag, last_modified = pending_last_modified, "
                "body_hash = pending_body_hash, pending_etag = NULL, pending_last_modified = NULL, "
                f"pending_body_hash = NULL, pending_entries = NULL WHERE url IN ({','.join('?' * len(chunk))})",
                chunk)

    def _all_filed(self, pending_entries: str | None) -> bool:
        if pending_entries is None:
            return False  # not parsed yet
        urls = json.loads(pending_entries)
        return len(self._known_articles(urls)) == len(set(urls))
