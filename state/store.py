"""The state store: what newsbeam remembers between runs and shares between workers.

It holds feed validators (conditional GET), the articles already ingested, the story index
that new articles are matched against, dead letters waiting for a retry, and run history.
State lives here, in a database with transactions, and not in Beam state: the same graph then
runs bounded or unbounded on any runner, and a run that dies half-way is simply repeated.

This module owns every SQL statement newsbeam runs: the store's own tables, the story index
that story assignment reads and writes inside one transaction, and the tables of the database
sinks.

`open_store(url)` picks the backend from the URL: `sqlite:///path/state.db` or a plain file path
(embedded, the default), or `postgresql://user@host/db` (shared by machines and overlapping
runs). Both run the same SQL through a thin connection wrapper: `?` placeholders, rows that
answer to a column name or an index. Writers are serialized (SQLite's IMMEDIATE transactions,
a PostgreSQL advisory lock), which is what makes story assignment safe across workers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email.utils
import fcntl
import functools
import hashlib
import json
import os
import pathlib
import re
import sqlite3
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam

from schemas import DeadLetter
from state import settings

SCHEMA_VERSION = 4

# Migrations, applied in order on open: a store written by an older version is upgraded.
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        etag TEXT, last_modified TEXT, body_hash TEXT,
        -- validators of the current run, promoted once its output is written
        pending_etag TEXT, pending_last_modified TEXT, pending_body_hash TEXT,
        last_fetched TEXT,
        next_due TEXT,              -- not fetched before this (TTL, max-age, Retry-After, backoff)
        failures INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE stories (
        story_id TEXT PRIMARY KEY,
        event_id TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        updated TEXT NOT NULL,
        -- the run that last changed the story, until the sinks have its new record
        pending_run TEXT
    );
    CREATE INDEX stories_pending ON stories (pending_run) WHERE pending_run IS NOT NULL;
    CREATE TABLE articles (
        url TEXT PRIMARY KEY,
        story_id TEXT NOT NULL REFERENCES stories (story_id),
        feed_url TEXT NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        language TEXT,
        published TEXT,
        authors TEXT NOT NULL,      -- JSON list
        site_name TEXT,
        description TEXT,
        image TEXT,
        tags TEXT NOT NULL,         -- JSON list
        body_source TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        entry_updated TEXT,
        first_seen TEXT NOT NULL,
        updated TEXT NOT NULL,
        vector BLOB NOT NULL,       -- int8 document vector
        sentences BLOB,             -- int8 sentence vectors, row-major, computed when first needed
        numbers TEXT NOT NULL,      -- space-separated normalized numbers
        seq BIGINT NOT NULL         -- grows with every write: workers' vector indexes follow it
    );
    CREATE INDEX articles_story ON articles (story_id);
    CREATE INDEX articles_body_hash ON articles (body_hash);
    CREATE UNIQUE INDEX articles_seq ON articles (seq);
    CREATE TABLE dead_letters (
        url TEXT NOT NULL,
        stage TEXT NOT NULL,
        status INTEGER,
        reason TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        first_at TEXT NOT NULL,
        at TEXT NOT NULL,
        next_due TEXT NOT NULL,
        payload TEXT,
        PRIMARY KEY (url, stage)
    );
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        started TEXT NOT NULL,
        finished TEXT,
        summary TEXT
    );
    """,
    # Each run asks for the dead letters that are due: by stage and time, not a full scan.
    2: """
    CREATE INDEX dead_letters_due ON dead_letters (stage, next_due);
    CREATE INDEX stories_updated ON stories (updated);
    """,
    # The new entries a feed's staged validators cover (a JSON list of URLs): an unbounded run
    # commits the validators only once all of them are filed.
    3: """
    ALTER TABLE feeds ADD COLUMN pending_entries TEXT;
    """,
    # A run's counts (feeds fetched, pages failed, ...), added up by the workers as their
    # batches are written: the summary does not depend on a runner's metrics. And dead letters
    # whose answer cannot change (a refused address or scheme): recorded once, never retried.
    4: """
    CREATE INDEX articles_updated ON articles (updated);
    CREATE INDEX stories_first_seen ON stories (first_seen);
    CREATE TABLE run_counts (
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value BIGINT NOT NULL,
        PRIMARY KEY (run_id, name)
    );
    ALTER TABLE dead_letters ADD COLUMN final INTEGER NOT NULL DEFAULT 0;
    """,
}


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def retry_after_seconds(value: str | None) -> int | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from now, clamped to
    MAX_RETRY_AFTER_S; None when absent or unreadable."""
    if not value or len(value) > 100:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = int(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        seconds = int(when.timestamp() - time.time())
    return max(0, min(seconds, settings.MAX_RETRY_AFTER_S))


def retry_due(attempts: int, at: str, retry_after: str | None = None) -> str:
    """When a failed URL is tried again: exponential backoff, or the server's Retry-After."""
    delay = dt.timedelta(minutes=settings.RETRY_BASE_MINUTES * 2 ** min(attempts - 1, 16))
    delay = min(delay, dt.timedelta(hours=settings.RETRY_MAX_HOURS))
    delay = max(delay, dt.timedelta(seconds=retry_after_seconds(retry_after) or 0))
    return (parse_time(at) + delay).isoformat(timespec="seconds")


class StoreError(Exception):
    pass


class ConnectionLost(Exception):
    """The database connection broke inside a write transaction. The server rolls such a
    transaction back (unless it was the COMMIT that went through before the break), so the
    caller may run it again from the start if doing so twice is harmless."""


def repeat_if_connection_lost(write: Any) -> Any:
    """For a write that is harmless to repeat: when the connection breaks during its
    transaction, run it again (on a new connection)."""

    @functools.wraps(write)
    def repeated(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, settings.STORE_WRITE_ATTEMPTS + 1):
            try:
                return write(*args, **kwargs)
            except ConnectionLost:
                if attempt == settings.STORE_WRITE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    return repeated


class Row(tuple):
    """A result row that answers to a column name (row["url"]) and to an index (row[0])."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        return super().__getitem__(self.names[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self.names)


class Connection:
    """One database connection with the SQL dialect smoothed over: `?` placeholders on both
    backends, `BLOB` as PostgreSQL's `BYTEA`, `Row` results.

    A PostgreSQL connection can break under a long run (a server restart, a failover, a proxy
    that drops idle connections). Outside a transaction the wrapper then connects again and
    repeats the statement: only reads and BEGIN run there, so repeating them is safe. Inside
    a transaction it raises ConnectionLost, for the caller to repeat the whole transaction.
    """

    def __init__(self, connect: Callable[[], Any], postgres: bool):
        self._connect = connect
        self.raw = connect()
        self.postgres = postgres
        self.in_transaction = False

    def _sql(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s") if self.postgres else sql

    def _reconnect(self) -> Any:
        for delay in settings.STORE_RECONNECT_DELAYS_S:
            try:
                return self._connect()
            except StoreError:
                time.sleep(delay)
        return self._connect()

    @property
    def broken(self) -> bool:
        return self.postgres and self.raw.closed

    def execute(self, sql: str, params: tuple | list = ()) -> _Cursor:
        return _Cursor(self._run(lambda cursor: cursor.execute(self._sql(sql), params)))

    def executemany(self, sql: str, rows: list) -> None:
        if rows:
            self._run(lambda cursor: cursor.executemany(self._sql(sql), rows))

    def _run(self, statement: Callable[[Any], Any]) -> Any:
        """Run statement(cursor) on a new cursor; on a broken connection, as the class says."""
        try:
            cursor = self.raw.cursor()
            statement(cursor)
        except Exception as exc:
            if not self.broken:
                raise
            if self.in_transaction:
                raise ConnectionLost(f"the database connection broke: {str(exc).strip()}") from exc
            self.raw = self._reconnect()
            cursor = self.raw.cursor()
            statement(cursor)
        return cursor


class _Cursor:
    def __init__(self, cursor: Any):
        self.cursor = cursor
        self.rowcount = cursor.rowcount
        names = [d[0] for d in cursor.description] if cursor.description else []
        self.row_type = type("Row", (Row,), {"names": {n: i for i, n in enumerate(names)}})

    def fetchone(self) -> Row | None:
        row = self.cursor.fetchone()
        return None if row is None else self.row_type(row)

    def fetchall(self) -> list[Row]:
        return [self.row_type(row) for row in self.cursor.fetchall()]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


class Store:
    """The state store. One instance per worker; one connection per thread."""

    postgres = False

    def __init__(self, url: str, migrate: bool = True):
        self.url = url
        self._local = threading.local()
        if migrate:
            self._apply_migrations()

    def _connect(self) -> Any:
        raise NotImplementedError

    def _begin(self, db: Connection) -> None:
        raise NotImplementedError

    def _end(self, db: Connection) -> None:
        """After COMMIT or ROLLBACK."""

    @property
    def _db(self) -> Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = Connection(self._connect, self.postgres)
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.raw.close()
            self._local.db = None
        fd = getattr(self._local, "lock_fd", None)
        if fd is not None:
            os.close(fd)
            self._local.lock_fd = None

    def reader(self) -> Connection:
        """This thread's connection, for reads outside a transaction."""
        return self._db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction. Writers are serialized, so concurrent story assignments from
        several workers each see the stories the others filed before them."""
        db = self._db
        try:
            self._begin(db)
            db.in_transaction = True
            yield db
        except BaseException:
            # A broken connection's transaction is rolled back by the server already.
            if db.in_transaction and not db.broken:
                db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")
        finally:
            db.in_transaction = False
            self._end(db)

    @repeat_if_connection_lost
    def _apply_migrations(self) -> None:
        try:
            with self.transaction() as db:
                self._migrate(db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store {self.url} cannot be used: {exc}") from None

    def _migrate(self, db: Connection) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.url} has schema version {version}, newer than this newsbeam "
                f"({SCHEMA_VERSION}): upgrade newsbeam")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    db.execute(re.sub(r"\bBLOB\b", "BYTEA", statement) if self.postgres else statement)
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(number),))
        # An identity, so that caches kept beside a store (the vector index) are never taken
        # for another store's.
        db.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?) ON CONFLICT (key) DO NOTHING",
                   (uuid.uuid4().hex,))

    def cache_path(self, name: str) -> str:
        """Where a worker may keep a cache derived from this store."""
        raise NotImplementedError

    # --- meta ---------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @repeat_if_connection_lost
    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    # --- feeds --------------------------------------------------------------------------------
    def feed_state(self, url: str) -> dict[str, Any]:
        row = self._db.execute(
            "SELECT etag, last_modified, body_hash, next_due, failures FROM feeds WHERE url = ?", (url,)).fetchone()
        return dict(row) if row else {"etag": None, "last_modified": None, "body_hash": None,
                                      "next_due": None, "failures": 0}

    def feed_validators(self, url: str) -> dict[str, str | None]:
        state = self.feed_state(url)
        return {k: state[k] for k in ("etag", "last_modified", "body_hash")}

    @repeat_if_connection_lost
    def feed_fetched(self, url: str, next_due: str | None) -> None:
        """The feed answered (200 or 304): its failures are forgiven."""
        with self.transaction() as db:
            db.execute("INSERT INTO feeds (url, last_fetched, next_due, failures) VALUES (?, ?, ?, 0) "
                       "ON CONFLICT (url) DO UPDATE SET last_fetched = excluded.last_fetched, "
                       "next_due = excluded.next_due, failures = 0", (url, utc_now(), next_due))

    @repeat_if_connection_lost
    def feed_failed(self, url: str, retry_after: str | None) -> str:
        """Back the feed off: the next attempt is later with every failure in a row."""
        with self.transaction() as db:
            row = db.execute("SELECT failures FROM feeds WHERE url = ?", (url,)).fetchone()
            failures = (row["failures"] if row else 0) + 1
            now = utc_now()
            delay = min(dt.timedelta(minutes=settings.FEED_BACKOFF_MINUTES * 2 ** min(failures - 1, 16)),
                        dt.timedelta(hours=settings.FEED_BACKOFF_MAX_HOURS))
            delay = max(delay, dt.timedelta(seconds=retry_after_seconds(retry_after) or 0))
            next_due = (parse_time(now) + delay).isoformat(timespec="seconds")
            db.execute("INSERT INTO feeds (url, last_fetched, next_due, failures) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (url) DO UPDATE SET last_fetched = excluded.last_fetched, "
                       "next_due = excluded.next_due, failures = excluded.failures", (url, now, next_due, failures))
        return next_due

    @repeat_if_connection_lost
    def defer_feed(self, url: str, until: str) -> None:
        """The feed itself asks not to be polled before `until` (RSS ttl, sy:updatePeriod)."""
        with self.transaction() as db:
            db.execute("UPDATE feeds SET next_due = ? WHERE url = ? AND (next_due IS NULL OR next_due < ?)",
                       (until, url, until))

    @repeat_if_connection_lost
    def stage_feed_validators(self, url: str, etag: str | None, last_modified: str | None,
                              body_hash: str) -> None:
        """Remember a feed's new validators, to take effect when the run's output is written:
        a run that dies half-way fetches the feed again instead of skipping its entries."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO feeds (url, pending_etag, pending_last_modified, pending_body_hash) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET "
                "pending_etag = excluded.pending_etag, pending_last_modified = excluded.pending_last_modified, "
                "pending_body_hash = excluded.pending_body_hash, pending_entries = NULL",
                (url, etag, last_modified, body_hash))

    @repeat_if_connection_lost
    def stage_feed_entries(self, url: str, entry_urls: list[str]) -> None:
        """The new entries found in a feed whose validators are staged."""
        with self.transaction() as db:
            db.execute("UPDATE feeds SET pending_entries = ? WHERE url = ? AND pending_body_hash IS NOT NULL",
                       (json.dumps(entry_urls), url))

    @repeat_if_connection_lost
    def commit_feed_validators(self, filed_only: bool = False) -> None:
        """Let staged validators take effect. A bounded run does so for all feeds once its output
        is written. An unbounded run (`filed_only`) does so, at each poll, for the feeds whose
        new entries are all filed (as articles or as dead letters): a feed with entries still
        in flight is fetched again after a crash, instead of answering "not modified"."""
        with self.transaction() as db:
            feeds = [r["url"] for r in db.execute(
                "SELECT url, pending_entries FROM feeds WHERE pending_body_hash IS NOT NULL").fetchall()
                if not filed_only or self._all_filed(r["pending_entries"])]
            for start in range(0, len(feeds), 500):
                chunk = feeds[start:start + 500]
                db.execute(
                    "UPDATE feeds SET etag = pending_etag, last_modified = pending_last_modified, "
                    "body_hash = pending_body_hash, pending_etag = NULL, pending_last_modified = NULL, "
                    f"pending_body_hash = NULL, pending_entries = NULL WHERE url IN ({','.join('?' * len(chunk))})",
                    chunk)

    def _all_filed(self, pending_entries: str | None) -> bool:
        if pending_entries is None:
            return False  # not parsed yet
        urls = json.loads(pending_entries)
        return len(self.known_articles(urls)) == len(set(urls))

    # --- articles and stories ----------------------------------------------------------------
    def known_articles(self, urls: Iterable[str]) -> dict[str, str | None]:
        """Which of these URLs were ingested or tried already, with the feed's `updated` stamp
        then. A URL whose page failed counts as known, whether or not the feed's text stood in
        for it: its page is retried through its dead letter, on the dead letter's schedule,
        not at every run that still finds it in the feed."""
        urls = list(urls)
        found: dict[str, str | None] = {}
        for start in range(0, len(urls), 500):
            chunk = urls[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                    f"SELECT url, payload FROM dead_letters WHERE stage IN ('page_fetch', 'extract') "
                    f"AND url IN ({marks})", chunk):
                found[row["url"]] = json.loads(row["payload"]).get("updated") if row["payload"] else None
            for row in self._db.execute(
                    f"SELECT url, entry_updated FROM articles WHERE url IN ({marks})", chunk):
                found[row["url"]] = row["entry_updated"]
        return found

    def story_rows(self, story_ids: Iterable[str], db: Connection | None = None
                   ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Each story (its row and its articles' rows) of these ids that exists, in the order
        given. `db`: a transaction's connection, to read what it wrote."""
        db = db or self._db
        ids = list(dict.fromkeys(story_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            stories = {r["story_id"]: dict(r) for r in db.execute(
                f"SELECT * FROM stories WHERE story_id IN ({marks})", chunk)}
            articles: dict[str, list[dict[str, Any]]] = {}
            for row in db.execute(f"SELECT {ARTICLE_FIELDS} FROM articles WHERE story_id IN ({marks})", chunk):
                articles.setdefault(row["story_id"], []).append(dict(row))
            for story_id in chunk:
                if story_id in articles:
                    yield stories[story_id], articles[story_id]

    def story_ids(self, since: str | None = None) -> list[str]:
        """Every story in the store (changed at or after `since`), oldest change first."""
        return [r[0] for r in self._db.execute(
            "SELECT story_id FROM stories WHERE updated >= ? ORDER BY updated, story_id", (since or "",))]

    # --- the story index: called inside one write transaction per assignment -----------------
    def article_story(self, db: Connection, url: str) -> str | None:
        row = db.execute("SELECT story_id FROM articles WHERE url = ?", (url,)).fetchone()
        return row["story_id"] if row else None

    def articles_after(self, db: Connection, seq: int) -> list[Row]:
        """(seq, vector) of the articles written after `seq`, in order: for a worker's vector index."""
        return db.execute("SELECT seq, vector FROM articles WHERE seq > ? ORDER BY seq", (seq,)).fetchall()

    def newest_seq(self, db: Connection) -> int:
        return db.execute("SELECT COALESCE(MAX(seq), 0) FROM articles").fetchone()[0]

    def candidate_rows(self, db: Connection, body_hash: str, seqs: list[int], since: str) -> list[dict[str, Any]]:
        """Articles of stories changed since `since` with one of these seqs, and a few with this
        body hash: identical bodies are one story, so a few stand for all (the cost of a lookup
        does not grow with the number of copies)."""
        columns = ("SELECT a.url, a.story_id, s.event_id, a.title, a.text, a.language, a.body_hash, a.vector, "
                   "a.sentences, a.numbers FROM articles a JOIN stories s USING (story_id) ")
        rows = {r["url"]: dict(r) for r in db.execute(
            columns + "WHERE a.body_hash = ? AND s.updated >= ? LIMIT 3", (body_hash, since))}
        if seqs:
            marks = ",".join("?" * len(seqs))
            rows.update((r["url"], dict(r)) for r in db.execute(
                columns + f"WHERE a.seq IN ({marks}) AND s.updated >= ?", (*seqs, since)))
        return list(rows.values())

    def candidate_rows_after(self, db: Connection, seq: int, since: str) -> list[dict[str, Any]]:
        """Articles written after `seq` (by other workers since a snapshot), of stories changed
        since `since`."""
        return [dict(r) for r in db.execute(
            "SELECT a.url, a.story_id, s.event_id, a.title, a.text, a.language, a.body_hash, a.vector, "
            "a.sentences, a.numbers FROM articles a JOIN stories s USING (story_id) "
            "WHERE a.seq > ? AND s.updated >= ?", (seq, since))]

    def events_of(self, db: Connection, story_ids: Iterable[str]) -> dict[str, str]:
        """story -> its event, as it is now."""
        ids = sorted(set(story_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(db.execute(f"SELECT story_id, event_id FROM stories WHERE story_id IN ({marks})", ids).fetchall())

    def save_sentences(self, db: Connection, url: str, sentences: bytes) -> None:
        db.execute("UPDATE articles SET sentences = ? WHERE url = ?", (sentences, url))

    def create_story(self, db: Connection, story_id: str, event_id: str, now: str, run_id: str) -> None:
        db.execute("INSERT INTO stories (story_id, event_id, first_seen, updated, pending_run) "
                   "VALUES (?, ?, ?, ?, ?)", (story_id, event_id, now, now, run_id))

    def touch_story(self, db: Connection, story_id: str, now: str, run_id: str) -> str:
        """Mark the story changed by run_id; returns its event."""
        db.execute("UPDATE stories SET updated = ?, pending_run = ? WHERE story_id = ?", (now, run_id, story_id))
        return db.execute("SELECT event_id FROM stories WHERE story_id = ?", (story_id,)).fetchone()[0]

    def merge_events(self, db: Connection, survivor: str, others: list[str], now: str, run_id: str) -> tuple[str, ...]:
        """Move the stories of the `others` events into `survivor`; returns the stories moved."""
        marks = ",".join("?" * len(others))
        moved = tuple(r[0] for r in db.execute(f"SELECT story_id FROM stories WHERE event_id IN ({marks})", others))
        db.execute(f"UPDATE stories SET event_id = ?, updated = ?, pending_run = ? WHERE event_id IN ({marks})",
                   (survivor, now, run_id, *others))
        return moved

    def write_article(self, db: Connection, values: dict[str, Any], update: bool = False) -> None:
        """Insert an article row (or update the row of its URL), with the next sequence number."""
        # the writer lock is held: MAX + 1 is unique and grows
        values = {**values, "seq": self.newest_seq(db) + 1}
        if update:
            values = {k: v for k, v in values.items() if k not in ("first_seen", "story_id")}
            url = values.pop("url")
            assignments = ", ".join(f"{k} = ?" for k in values)
            db.execute(f"UPDATE articles SET {assignments} WHERE url = ?", (*values.values(), url))
        else:
            db.execute(f"INSERT INTO articles ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                       tuple(values.values()))

    @repeat_if_connection_lost
    def prune(self, window_days: float) -> dict[str, int]:
        """Forget stories unchanged for longer than the window (the sinks keep them), and dead
        letters that ran out of attempts that long ago."""
        cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=window_days)).isoformat(timespec="seconds")
        with self.transaction() as db:
            old = "SELECT story_id FROM stories WHERE updated < ? AND pending_run IS NULL"
            articles = db.execute(f"DELETE FROM articles WHERE story_id IN ({old})", (cutoff,)).rowcount
            stories = db.execute("DELETE FROM stories WHERE updated < ? AND pending_run IS NULL", (cutoff,)).rowcount
            letters = db.execute("DELETE FROM dead_letters WHERE attempts >= ? AND at < ?",
                                 (settings.MAX_ATTEMPTS, cutoff)).rowcount
        return {"stories": stories, "articles": articles, "dead_letters": letters}

    def pending_stories(self) -> list[str]:
        """Stories whose latest record has not reached the sinks (a run died before writing)."""
        return [r[0] for r in self._db.execute("SELECT story_id FROM stories WHERE pending_run IS NOT NULL")]

    # --- dead letters ---------------------------------------------------------------------------
    @repeat_if_connection_lost
    def mark_stories_written(self, written: dict[str, str]) -> None:
        """These stories' records, as of their `updated` time, are in every sink. A story that
        changed again since stays pending."""
        with self.transaction() as db:
            db.executemany("UPDATE stories SET pending_run = NULL WHERE story_id = ? AND updated = ?",
                           list(written.items()))

    @repeat_if_connection_lost
    def record_dead_letters(self, letters: Iterable[DeadLetter]) -> list[DeadLetter]:
        """Insert or update the dead letter of each (url, stage), in one transaction; returns
        them with their attempt counts and when each is due again (never, for a final one)."""
        recorded = []
        with self.transaction() as db:
            for letter in letters:
                row = db.execute("SELECT attempts, first_at FROM dead_letters WHERE url = ? AND stage = ?",
                                 (letter.url, letter.stage)).fetchone()
                attempts = (row["attempts"] + 1) if row else 1
                at = letter.at or utc_now()
                next_due = None if letter.final else (letter.next_due or retry_due(attempts, at, letter.retry_after))
                db.execute(
                    "INSERT INTO dead_letters (url, stage, status, reason, attempts, first_at, at, next_due, payload, "
                    "final) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url, stage) DO UPDATE SET "
                    "status = excluded.status, reason = excluded.reason, attempts = excluded.attempts, "
                    "at = excluded.at, next_due = excluded.next_due, final = excluded.final, "
                    "payload = COALESCE(excluded.payload, dead_letters.payload)",
                    (letter.url, letter.stage, letter.status, letter.reason, attempts,
                     row["first_at"] if row else at, at, next_due or "", letter.payload, int(letter.final)))
                recorded.append(dataclasses.replace(letter, attempts=attempts, at=at, next_due=next_due))
        return recorded

    @repeat_if_connection_lost
    def resolve_dead_letters(self, url: str, stages: Iterable[str]) -> None:
        stages = list(stages)
        if not self._db.execute("SELECT 1 FROM dead_letters WHERE url = ? LIMIT 1", (url,)).fetchone():
            return  # the common case: nothing to resolve, no write lock taken
        with self.transaction() as db:
            marks = ",".join("?" * len(stages))
            db.execute(f"DELETE FROM dead_letters WHERE url = ? AND stage IN ({marks})", (url, *stages))

    def due_dead_letters(self, stage: str, now: str | None = None) -> list[DeadLetter]:
        rows = self._db.execute(
            "SELECT * FROM dead_letters WHERE stage = ? AND next_due <= ? AND attempts < ? AND final = 0",
            (stage, now or utc_now(), settings.MAX_ATTEMPTS)).fetchall()
        return [_dead_letter(r) for r in rows]

    def dead_letters(self) -> list[DeadLetter]:
        rows = self._db.execute("SELECT * FROM dead_letters ORDER BY at DESC").fetchall()
        return [_dead_letter(r) for r in rows]

    # --- runs -------------------------------------------------------------------------------------
    @repeat_if_connection_lost
    def add_run_counts(self, run_id: str, counts: dict[str, int]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT INTO run_counts (run_id, name, value) VALUES (?, ?, ?) ON CONFLICT (run_id, name) "
                           "DO UPDATE SET value = run_counts.value + excluded.value",
                           [(run_id, name, value) for name, value in counts.items() if value])

    def progress(self, since: str) -> dict[str, int]:
        """What the workers have filed since a point in time: for progress while a run goes on."""
        def count(sql: str) -> int:
            return self._db.execute(sql, (since,)).fetchone()[0]

        return {"feeds_fetched": count("SELECT COUNT(*) FROM feeds WHERE last_fetched >= ?"),
                "articles_filed": count("SELECT COUNT(*) FROM articles WHERE updated >= ?"),
                "stories_new": count("SELECT COUNT(*) FROM stories WHERE first_seen >= ?"),
                "dead_letters": count("SELECT COUNT(*) FROM dead_letters WHERE at >= ?")}

    def run_counts(self, run_id: str) -> dict[str, int]:
        return dict(self._db.execute("SELECT name, value FROM run_counts WHERE run_id = ?", (run_id,)).fetchall())

    @repeat_if_connection_lost
    def start_run(self, run_id: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO runs (run_id, started) VALUES (?, ?)", (run_id, utc_now()))

    @repeat_if_connection_lost
    def finish_run(self, run_id: str, summary: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET finished = ?, summary = ? WHERE run_id = ?",
                       (utc_now(), json.dumps(summary), run_id))


# The article columns a story record is built from.
ARTICLE_FIELDS = "story_id, url, feed_url, title, text, language, published, authors, site_name, body_source, body_hash"

# Tables of the database sinks: what analysts query. Upserted by id, so a rerun leaves exactly
# one current row per story, variant, event and dead letter.
SINK_TABLES = """
CREATE TABLE IF NOT EXISTS newsbeam_stories (
    story_id TEXT PRIMARY KEY, event_id TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL, language TEXT,
    languages TEXT NOT NULL, url TEXT NOT NULL, published TEXT, authors TEXT NOT NULL, site_name TEXT,
    feed_url TEXT NOT NULL, body_source TEXT NOT NULL, first_seen TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS newsbeam_variants (
    story_id TEXT NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL, language TEXT, published TEXT,
    site_name TEXT, feed_url TEXT, relation TEXT NOT NULL, PRIMARY KEY (story_id, url));
CREATE TABLE IF NOT EXISTS newsbeam_events (
    event_id TEXT NOT NULL, story_id TEXT NOT NULL, PRIMARY KEY (event_id, story_id));
CREATE TABLE IF NOT EXISTS newsbeam_dead_letters (
    url TEXT NOT NULL, stage TEXT NOT NULL, status INTEGER, reason TEXT NOT NULL, attempts INTEGER NOT NULL,
    at TEXT NOT NULL, next_due TEXT, PRIMARY KEY (url, stage))
"""
STORY_COLUMNS = ("story_id", "event_id", "title", "text", "language", "languages", "url", "published", "authors",
                 "site_name", "feed_url", "body_source", "first_seen", "updated")
VARIANT_COLUMNS = ("url", "title", "text", "language", "authors", "published", "site_name", "feed_url", "body_source",
                   "relation")
# Columns added to the sink tables after their first release: added on open to tables that lack them.
SINK_COLUMNS_ADDED = {"newsbeam_variants": {"text": "TEXT", "authors": "TEXT", "body_source": "TEXT"}}
LETTER_COLUMNS = ("url", "stage", "status", "reason", "attempts", "at", "next_due")


def _upsert(table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO " + (f"UPDATE SET {updates}" if updates else "NOTHING"))


class SinkTables:
    """The database sinks' tables (SQLite file or PostgreSQL store), on a store opened without
    its own tables: its connection handling and writer lock."""

    def __init__(self, database: Store):
        self.database = database
        self._create()

    @repeat_if_connection_lost
    def _create(self) -> None:
        with self.database.transaction() as db:
            for statement in SINK_TABLES.split(";"):
                db.execute(statement)
            for table, columns in SINK_COLUMNS_ADDED.items():
                present = {d[0] for d in db.execute(f"SELECT * FROM {table} LIMIT 0").cursor.description}
                for name, kind in columns.items():
                    if name not in present:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    @repeat_if_connection_lost
    def upsert(self, stories: Iterable[dict[str, Any]], letters: Iterable[dict[str, Any]]) -> None:
        """Each story with its variants and event, and each dead letter, in one transaction."""
        with self.database.transaction() as db:
            for record in stories:
                row = {**record, "languages": json.dumps(record["languages"]), "authors": json.dumps(record["authors"])}
                db.execute(_upsert("newsbeam_stories", STORY_COLUMNS, ("story_id",)), [row[c] for c in STORY_COLUMNS])
                db.execute("DELETE FROM newsbeam_variants WHERE story_id = ?", (record["story_id"],))
                db.executemany(_upsert("newsbeam_variants", ("story_id", *VARIANT_COLUMNS), ("story_id", "url")),
                               [(record["story_id"], *[json.dumps(v[c]) if c == "authors" else v.get(c)
                                                       for c in VARIANT_COLUMNS]) for v in record["variants"]])
                db.execute("DELETE FROM newsbeam_events WHERE story_id = ?", (record["story_id"],))
                db.execute(_upsert("newsbeam_events", ("event_id", "story_id"), ("event_id", "story_id")),
                           (record["event_id"], record["story_id"]))
            db.executemany(_upsert("newsbeam_dead_letters", LETTER_COLUMNS, ("url", "stage")),
                           [[letter.get(c) for c in LETTER_COLUMNS] for letter in letters])



def _dead_letter(row: Row) -> DeadLetter:
    return DeadLetter(url=row["url"], stage=row["stage"], reason=row["reason"], status=row["status"],
                      attempts=row["attempts"], at=row["at"], payload=row["payload"],
                      next_due=row["next_due"] or None, final=bool(row["final"]))


SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite store URL (None for another kind of store)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("", "file"):
        return parts.path if parts.scheme else url
    if parts.scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////absolute.db, as in SQLAlchemy
        return urllib.parse.unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    return None


def check_store_path(url: str) -> None:
    """Refuse, before anything is opened for writing, a SQLite store path that is a folder,
    lies under a file, or names a file that is not a newsbeam store."""
    path = sqlite_path(url)
    if path is None:
        return
    target = pathlib.Path(path)
    if target.is_dir():
        raise StoreError(f"store {path} is a folder, not a file")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise StoreError(f"store {path}: {parent} is a file, not a folder")
    if not target.exists():
        return
    try:
        with open(target, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"store {path}: {exc.strerror}") from None
    if header != SQLITE_HEADER:
        empty = "an empty file" if not header else "not a SQLite database"
        raise StoreError(f"store {path} is {empty}, not a newsbeam store (move it away to start a new store)")
    try:
        connection = sqlite3.connect(f"file:{urllib.parse.quote(str(target))}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"store {path} cannot be read: {exc}") from None
    if tables and "meta" not in tables:
        raise StoreError(f"store {path} is a SQLite database of something else, not a newsbeam store")


class SqliteStore(Store):
    """The embedded store: one SQLite file, shared safely by the processes of one machine."""

    def __init__(self, path: str, migrate: bool = True):
        self.path = path
        if migrate:
            check_store_path(path)
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path, migrate)

    def cache_path(self, name: str) -> str:
        return f"{self.path}.{name}"

    def _connect(self) -> sqlite3.Connection:
        raw = sqlite3.connect(self.path, timeout=120, isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute("PRAGMA foreign_keys=ON")
        return raw

    def _begin(self, db: Connection) -> None:
        # Wait for the writer lock on a file lock first: the kernel wakes the waiter the moment
        # it is free, where SQLite's own busy handler polls with sleeps of up to 100 ms, which
        # two workers assigning stories side by side would spend most of their time in.
        fcntl.flock(self._lock_file(), fcntl.LOCK_EX)
        try:
            db.execute("BEGIN IMMEDIATE")  # takes the write lock up front
        except BaseException:
            fcntl.flock(self._lock_file(), fcntl.LOCK_UN)
            raise

    def _end(self, db: Connection) -> None:
        fcntl.flock(self._lock_file(), fcntl.LOCK_UN)

    def _lock_file(self) -> int:
        """This thread's descriptor of the lock file (flock locks are per open file)."""
        fd = getattr(self._local, "lock_fd", None)
        if fd is None:
            fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
            self._local.lock_fd = fd
        return fd


class PostgresStore(Store):
    """The shared store: PostgreSQL through psycopg 3."""

    postgres = True
    # pg_advisory_xact_lock key for "one writer at a time", held until COMMIT/ROLLBACK
    WRITER_LOCK = 0x6E657773  # "news"

    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"cannot connect to the PostgreSQL store: {message}") from None

    def _begin(self, db: Connection) -> None:
        db.execute("BEGIN")  # the first statement: on a broken connection, it reconnects
        db.in_transaction = True
        db.execute("SELECT pg_advisory_xact_lock(?)", (self.WRITER_LOCK,))

    def cache_path(self, name: str) -> str:
        folder = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "newsbeam")
        os.makedirs(folder, exist_ok=True)
        key = hashlib.sha1(self.url.encode("utf-8")).hexdigest()[:16]
        return os.path.join(folder, f"{key}.{name}")


class StoreFn(beam.DoFn):
    """Base of the DoFns that use the store: the one place a worker opens it, once per DoFn
    instance and without migrating (the run migrated it before the pipeline started)."""

    def __init__(self, store_url: str):
        self.store_url = store_url

    def setup(self) -> None:
        self.store = open_store(self.store_url, migrate=False)

    def teardown(self) -> None:
        self.store.close()


def open_store(url: str, migrate: bool = True) -> Store:
    """Open the store named by a URL: `sqlite:///path.db`, a plain file path, or
    `postgresql://user@host:port/db`. `migrate=False` only connects (the database sinks)."""
    path = sqlite_path(url)
    if path is not None:
        return SqliteStore(path, migrate)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresStore(url, migrate)
    raise StoreError(f"unsupported store URL scheme '{parts.scheme}' (use sqlite:///path.db or postgresql://...)")
