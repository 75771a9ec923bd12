"""The database sinks: tables `newsbeam_stories`, `newsbeam_variants`, `newsbeam_events` and
`newsbeam_dead_letters`, what analysts query, in a SQLite file or the PostgreSQL store's
database. Upserted by id, so a rerun leaves exactly one current row per story, variant, event
and dead letter."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from typing import Any

from newsbeam.outputs.paths import check_replaceable
from newsbeam.schemas import Story, Variant
from newsbeam.state.database import Connection, open_database, sqlite_path, transactional

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
CREATE TABLE IF NOT EXISTS newsbeam_revisions (
    url TEXT NOT NULL, revision INTEGER NOT NULL, story_id TEXT NOT NULL, replaced_at TEXT NOT NULL, title TEXT,
    kicker TEXT, authors TEXT, text TEXT, changed TEXT NOT NULL, diff TEXT NOT NULL, PRIMARY KEY (url, revision));
CREATE TABLE IF NOT EXISTS newsbeam_dead_letters (
    url TEXT NOT NULL, stage TEXT NOT NULL, status INTEGER, reason TEXT NOT NULL, attempts INTEGER NOT NULL,
    at TEXT NOT NULL, next_due TEXT, PRIMARY KEY (url, stage))
"""
# The columns are the records' fields (schemas.records, where each field is defined): a story's
# but its variants (a table of their own), a variant's.
STORY_COLUMNS = tuple(field.name for field in dataclasses.fields(Story) if field.name != "variants")
VARIANT_COLUMNS = tuple(field.name for field in dataclasses.fields(Variant))
_TABLE_COLUMNS = {"newsbeam_stories": STORY_COLUMNS, "newsbeam_variants": VARIANT_COLUMNS}
REVISION_COLUMNS = ("url", "revision", "story_id", "replaced_at", "title", "kicker", "authors", "text", "changed",
                    "diff")
LETTER_COLUMNS = ("url", "stage", "status", "reason", "attempts", "at", "next_due")


def database_sink_urls(output_dir: str, store_url: str, sinks: tuple[str, ...]) -> list[str]:
    """URLs of the database sinks chosen: `sqlite` is OUTPUT/stories.db, `postgres` the store's
    PostgreSQL database."""
    return ([os.path.join(output_dir, "stories.db")] if "sqlite" in sinks else []) + (
        [store_url] if "postgres" in sinks else [])


def _column_type(name: str) -> str:
    """A record field's SQL type: flags are INTEGER (0 and 1), the rest TEXT (lists as JSON)."""
    kinds = {field.name: field.type for field in (*dataclasses.fields(Story), *dataclasses.fields(Variant))}
    return "INTEGER" if kinds[name] in ("bool", "int", "int | None") else "TEXT"


def _upsert(table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO " + (f"UPDATE SET {updates}" if updates else "NOTHING"))


def _row(record: dict[str, Any], columns: tuple[str, ...]) -> list[Any]:
    """A record's values for these columns: lists as JSON, flags as 0 and 1."""
    return [json.dumps(list(record[c])) if isinstance(record[c], list | tuple)
            else int(record[c]) if isinstance(record[c], bool) else record[c] for c in columns]


class SinkTables:
    """The database sinks' tables, in a SQLite file (OUTPUT/stories.db) or in the PostgreSQL
    store's database, with its connection handling and writer lock."""

    def __init__(self, url: str):
        path = sqlite_path(url)
        if path is not None:
            check_replaceable(path)
        self.db = open_database(url)
        self._create()

    def close(self) -> None:
        self.db.close()

    @transactional
    def _create(self, db: Connection) -> None:
        for statement in SINK_TABLES.split(";"):
            db.execute(statement)
        # a field added to the records since the tables were made: a column added to them
        for table, columns in _TABLE_COLUMNS.items():
            present = {d[0] for d in db.execute(f"SELECT * FROM {table} LIMIT 0").cursor.description}
            for name in columns:
                if name not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {_column_type(name)}")

    @transactional
    def add_revisions(self, db: Connection, revisions: Iterable[dict[str, Any]]) -> None:
        """The earlier versions of edited articles (state.revisions), upserted by (url, revision)."""
        db.executemany(_upsert("newsbeam_revisions", REVISION_COLUMNS, ("url", "revision")),
                       [[json.dumps(r[c]) if c in ("authors", "changed") else r[c] for c in REVISION_COLUMNS]
                        for r in revisions])

    @transactional
    def remove(self, db: Connection, story_ids: list[str]) -> None:
        """Stories gone from the sinks (a changed rule dropped every variant): their rows go."""
        for story_id in story_ids:
            for table in ("newsbeam_stories", "newsbeam_variants", "newsbeam_events"):
                db.execute(f"DELETE FROM {table} WHERE story_id = ?", (story_id,))

    @transactional
    def upsert(self, db: Connection, stories: Iterable[dict[str, Any]], letters: Iterable[dict[str, Any]]) -> None:
        """Each story with its variants and event, and each dead letter, in one transaction."""
        for record in stories:
            db.execute(_upsert("newsbeam_stories", STORY_COLUMNS, ("story_id",)), _row(record, STORY_COLUMNS))
            db.execute("DELETE FROM newsbeam_variants WHERE story_id = ?", (record["story_id"],))
            db.executemany(_upsert("newsbeam_variants", ("story_id", *VARIANT_COLUMNS), ("story_id", "url")),
                           [(record["story_id"], *_row(v, VARIANT_COLUMNS)) for v in record["variants"]])
            db.execute("DELETE FROM newsbeam_events WHERE story_id = ?", (record["story_id"],))
            db.execute(_upsert("newsbeam_events", ("event_id", "story_id"), ("event_id", "story_id")),
                       (record["event_id"], record["story_id"]))
        db.executemany(_upsert("newsbeam_dead_letters", LETTER_COLUMNS, ("url", "stage")),
                       [[letter.get(c) for c in LETTER_COLUMNS] for letter in letters])
