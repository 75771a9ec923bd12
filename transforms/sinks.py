"""Sinks: the stories a run created or changed, and its dead letters.

Stories go to JSON Lines (default) and/or Parquet files, per run (`stories/<run_id>-*.jsonl`,
`*.parquet`), so a reader takes the latest record per `story_id` (`newsbeam stories export`
does that for you). Records are read back from the store after assignment, so a story that
gained a variant in this run is written whole, with all its variants. Rerunning a run writes
the same records again: the latest-per-story view stays exactly one record per story.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.store import open_store, repeat_if_connection_lost
from schemas import DeadLetter, arrow_schema


def _json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


class ReadStoryRecordsFn(beam.DoFn):
    def __init__(self, store_url: str):
        self.store_url = store_url

    def setup(self) -> None:
        self.store = open_store(self.store_url)

    def teardown(self) -> None:
        self.store.close()

    def process(self, story_id: str) -> Iterator[dict]:
        record = self.store.story_record(story_id)
        if record is not None:
            yield record


class RecordDeadLettersFn(beam.DoFn):
    """Keep each dead letter in the store (counting attempts, scheduling the retry)."""

    def __init__(self, store_url: str):
        self.store_url = store_url
        self.dead_letters = Metrics.counter("newsbeam", "dead_letters")

    def setup(self) -> None:
        self.store = open_store(self.store_url)

    def teardown(self) -> None:
        self.store.close()

    def process(self, letter: DeadLetter) -> Iterator[dict]:
        self.dead_letters.inc()
        yield self.store.record_dead_letter(letter).to_dict()


SINKS = ("jsonl", "parquet", "sqlite", "postgres")

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
VARIANT_COLUMNS = ("url", "title", "language", "published", "site_name", "feed_url", "relation")
LETTER_COLUMNS = ("url", "stage", "status", "reason", "attempts", "at", "next_due")


def _upsert(table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO " + (f"UPDATE SET {updates}" if updates else "NOTHING"))


class UpsertRecordsFn(beam.DoFn):
    """The database sinks (SQLite or PostgreSQL): each story with its variants and event, or
    each dead letter, upserted in one transaction."""

    def __init__(self, database_url: str):
        self.database_url = database_url

    def setup(self) -> None:
        # the store's connection handling and writer lock, without its tables
        self.database = open_store(self.database_url, migrate=False)
        self._create_tables()

    @repeat_if_connection_lost
    def _create_tables(self) -> None:
        with self.database.transaction() as db:
            for statement in SINK_TABLES.split(";"):
                db.execute(statement)

    def teardown(self) -> None:
        self.database.close()

    @repeat_if_connection_lost
    def process(self, record: dict) -> None:
        with self.database.transaction() as db:
            if "story_id" in record:
                row = {**record, "languages": json.dumps(record["languages"]), "authors": json.dumps(record["authors"])}
                db.execute(_upsert("newsbeam_stories", STORY_COLUMNS, ("story_id",)),
                           [row[c] for c in STORY_COLUMNS])
                db.execute("DELETE FROM newsbeam_variants WHERE story_id = ?", (record["story_id"],))
                db.executemany(_upsert("newsbeam_variants", ("story_id", *VARIANT_COLUMNS), ("story_id", "url")),
                               [(record["story_id"], *[v.get(c) for c in VARIANT_COLUMNS]) for v in record["variants"]])
                db.execute("DELETE FROM newsbeam_events WHERE story_id = ?", (record["story_id"],))
                db.execute(_upsert("newsbeam_events", ("event_id", "story_id"), ("event_id", "story_id")),
                           (record["event_id"], record["story_id"]))
            else:
                db.execute(_upsert("newsbeam_dead_letters", LETTER_COLUMNS, ("url", "stage")),
                           [record.get(c) for c in LETTER_COLUMNS])


def database_sinks(sinks: tuple[str, ...], output_dir: str, store_url: str) -> list[str]:
    """URLs of the database sinks chosen: `sqlite` is OUTPUT/stories.db, `postgres` the store's
    PostgreSQL database."""
    urls = []
    if "sqlite" in sinks:
        urls.append(os.path.join(output_dir, "stories.db"))
    if "postgres" in sinks:
        if not store_url.startswith(("postgresql:", "postgres:")):
            raise ValueError("the postgres sink writes to the PostgreSQL store: give --store postgresql://...")
        urls.append(store_url)
    return urls


class AppendJsonLinesFn(beam.DoFn):
    """The unbounded runs' file sink: each worker appends to a file of its own and makes it
    durable at the end of every bundle (file sinks that finalize through a GroupByKey never
    fire unbounded on the local runner). Stories are marked written once on disk."""

    def __init__(self, prefix: str, store_url: str | None = None):
        self.prefix = prefix
        self.store_url = store_url

    def setup(self) -> None:
        os.makedirs(os.path.dirname(self.prefix), exist_ok=True)
        self.handle = open(f"{self.prefix}-{uuid.uuid4().hex[:12]}.jsonl", "a", encoding="utf-8")
        self.store = open_store(self.store_url) if self.store_url else None
        self.written: dict[str, str] = {}

    def teardown(self) -> None:
        self.handle.close()
        if self.store:
            self.store.close()

    def process(self, record: dict) -> None:
        self.handle.write(_json_line(record) + "\n")
        if "story_id" in record:
            self.written[record["story_id"]] = record["updated"]

    def finish_bundle(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        if self.store and self.written:
            self.store.mark_stories_written(self.written)
        self.written = {}


class WriteStories(beam.PTransform):
    """story_id (repeated when several variants arrived) -> one record per story, per sink."""

    def __init__(self, store_url: str, output_dir: str, run_id: str, sinks: tuple[str, ...] = ("jsonl",),
                 streaming: bool = False):
        super().__init__()
        self.store_url = store_url
        self.prefix = os.path.join(output_dir, "stories", run_id)
        self.sinks = sinks
        self.databases = database_sinks(sinks, output_dir, store_url)
        self.streaming = streaming

    def expand(self, story_ids):
        if not self.streaming:
            # In a bounded run Distinct fires after every assignment is done, so each story is
            # written once with its final set of variants. Unbounded runs write every change.
            story_ids = story_ids | "OncePerStory" >> beam.Distinct()
        records = story_ids | "ReadStory" >> beam.ParDo(ReadStoryRecordsFn(self.store_url))
        for number, url in enumerate(self.databases):
            _ = records | f"UpsertStories{number}" >> beam.ParDo(UpsertRecordsFn(url))
        if self.streaming:
            _ = records | "AppendJsonLines" >> beam.ParDo(AppendJsonLinesFn(self.prefix, self.store_url))
            return records
        if "jsonl" in self.sinks:
            _ = (records | "StoryJson" >> beam.Map(_json_line)
                 | "WriteJsonLines" >> beam.io.WriteToText(self.prefix, file_name_suffix=".jsonl",
                                                            skip_if_empty=True))
        if "parquet" in self.sinks:
            _ = records | "WriteParquet" >> beam.io.WriteToParquet(
                self.prefix, arrow_schema("story"), file_name_suffix=".parquet")
        return records


class WriteDeadLetters(beam.PTransform):
    def __init__(self, store_url: str, output_dir: str, run_id: str, streaming: bool = False,
                 sinks: tuple[str, ...] = ("jsonl",)):
        super().__init__()
        self.store_url = store_url
        self.prefix = os.path.join(output_dir, "dead_letters", run_id)
        self.streaming = streaming
        self.databases = database_sinks(sinks, output_dir, store_url)

    def expand(self, letters):
        recorded = letters | "RecordDeadLetter" >> beam.ParDo(RecordDeadLettersFn(self.store_url))
        for number, url in enumerate(self.databases):
            _ = recorded | f"UpsertDeadLetters{number}" >> beam.ParDo(UpsertRecordsFn(url))
        if self.streaming:
            return recorded | "AppendJsonLines" >> beam.ParDo(AppendJsonLinesFn(self.prefix))
        return (recorded | "DeadLetterJson" >> beam.Map(_json_line)
                | "WriteDeadLetterFiles" >> beam.io.WriteToText(self.prefix, file_name_suffix=".jsonl",
                                                               skip_if_empty=True))
