"""Sinks: the stories a run created or changed, and its dead letters.

`WriteOutputs` is one chain, the last steps of the graph: record the dead letters in the store
(attempts, next retry), write each sink in turn, and only then mark the stories written and
add the batch's counts to the run. Each sink step writes a batch and passes it on, so when the
last step sees a batch, every sink has it, whichever runner runs the graph (one leaf; nothing
emitted from `finish_bundle`).

Files are per run and worker: `stories/<run_id>-<worker>.jsonl` (appended, made durable batch
by batch), `stories/<run_id>-<batch>.parquet` (one file per batch), the same for dead letters;
a run that changed nothing writes none. A reader takes the latest record per `story_id`
(`newsbeam stories export` does that for you). The database sinks upsert by id.
"""

from __future__ import annotations

import collections
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam

from schemas import Batch, arrow_schema, shard_of
from state.settings import RunOptions
from state.store import SinkTables, StoreFn, open_store


def json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def database_sinks(options: RunOptions) -> list[str]:
    """URLs of the database sinks chosen: `sqlite` is OUTPUT/stories.db, `postgres` the store's
    PostgreSQL database."""
    urls = []
    if "sqlite" in options.sinks:
        urls.append(os.path.join(options.output_dir, "stories.db"))
    if "postgres" in options.sinks:
        urls.append(options.store)
    return urls


class RecordDeadLettersFn(StoreFn):
    """Keep each dead letter in the store (counting attempts, scheduling the retry)."""

    def process(self, batch: Batch) -> Iterator[Batch]:
        if not batch.dead_letters:
            yield batch
            return
        recorded = self.store.record_dead_letters(batch.dead_letters)
        yield batch.add({"dead_letters": len(recorded)}, dead_letters=tuple(recorded))


class WriteFilesFn(beam.DoFn):
    """The file sinks: JSON Lines appended to a file per worker, opened on the first record
    (no empty files) and flushed to disk after every batch; Parquet, one file per batch."""

    def __init__(self, options: RunOptions, run_id: str):
        self.sinks = options.sinks
        self.prefixes = {kind: os.path.join(options.output_dir, kind, run_id) for kind in ("stories", "dead_letters")}

    def setup(self) -> None:
        self.worker = uuid.uuid4().hex[:12]
        self.files: dict[str, int] = {}  # kind -> file descriptor

    def teardown(self) -> None:
        for fd in self.files.values():
            os.close(fd)

    def process(self, batch: Batch) -> Iterator[Batch]:
        if batch.stories and "jsonl" in self.sinks:
            self._append("stories", batch.stories)
        if batch.dead_letters:
            self._append("dead_letters", (letter.to_dict() for letter in batch.dead_letters))
        if batch.stories and "parquet" in self.sinks:
            self._write_parquet(batch.stories)
        yield batch

    def _append(self, kind: str, records: Iterable[dict[str, Any]]) -> None:
        """Append whole lines and make them durable, or nothing: a write cut short (a full
        disk) is taken back, so a reader never meets half a line."""
        fd = self.files.get(kind)
        if fd is None:
            os.makedirs(os.path.dirname(self.prefixes[kind]), exist_ok=True)
            fd = self.files[kind] = os.open(f"{self.prefixes[kind]}-{self.worker}.jsonl",
                                            os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        data = "".join(json_line(record) + "\n" for record in records).encode("utf-8")
        end = os.lseek(fd, 0, os.SEEK_END)
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, end)
            raise

    def _write_parquet(self, records: tuple[dict[str, Any], ...]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = f"{self.prefixes['stories']}-{uuid.uuid4().hex[:12]}.parquet"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            pq.write_table(pa.Table.from_pylist(list(records), schema=arrow_schema("story")), path + ".tmp")
            os.replace(path + ".tmp", path)
        finally:
            if os.path.exists(path + ".tmp"):
                os.remove(path + ".tmp")


class UpsertTablesFn(beam.DoFn):
    """The database sinks (SQLite file, PostgreSQL store): each batch in one transaction."""

    def __init__(self, options: RunOptions):
        self.urls = database_sinks(options)

    def setup(self) -> None:
        self.databases = [open_store(url, migrate=False) for url in self.urls]
        self.tables = [SinkTables(database) for database in self.databases]

    def teardown(self) -> None:
        for database in self.databases:
            database.close()

    def process(self, batch: Batch) -> Iterator[Batch]:
        if batch.stories or batch.dead_letters:
            letters = [letter.to_dict() for letter in batch.dead_letters]
            for tables in self.tables:
                tables.upsert(batch.stories, letters)
        yield batch


class FinishBatchFn(StoreFn):
    """Every sink has the batch: its stories are written (as of their `updated` time; a story
    changed again since stays pending), and its counts join the run's."""

    def __init__(self, options: RunOptions, run_id: str):
        super().__init__(options.store)
        self.run_id = run_id

    def process(self, batch: Batch) -> None:
        if batch.stories:
            self.store.mark_stories_written({r["story_id"]: r["updated"] for r in batch.stories})
        if batch.counts:
            self.store.add_run_counts(self.run_id, dict(batch.counts))


class WriteOutputs(beam.PTransform):
    """Batches of story records and dead letters -> every sink chosen, then marked written."""

    def __init__(self, options: RunOptions, run_id: str):
        super().__init__()
        self.options, self.run_id = options, run_id

    def expand(self, batches):
        o = self.options
        written = (batches
                   | "RecordDeadLetters" >> beam.ParDo(RecordDeadLettersFn(o.store))
                   | "WriteFiles" >> beam.ParDo(WriteFilesFn(o, self.run_id)))
        if database_sinks(o):
            written = written | "UpsertTables" >> beam.ParDo(UpsertTablesFn(o))
        return written | "Finish" >> beam.ParDo(FinishBatchFn(o, self.run_id))


def _latest(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest record of each story (by `updated`, then by number of variants)."""
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        known = latest.get(record["story_id"])
        if known is None or (record["updated"], len(record["variants"])) > (known["updated"], len(known["variants"])):
            latest[record["story_id"]] = record
    return list(latest.values())


class OncePerStory(beam.PTransform):
    """A bounded run writes each story once, with its final set of variants: the batches'
    records are grouped by story (into `shards` groups, so the writes stay batched and spread
    over the workers) and the latest record of each story is kept. Dead letters and counts
    ride along with the group of their batch."""

    def __init__(self, shards: int):
        super().__init__()
        self.shards = shards

    def expand(self, batches):
        return (batches
                | "ByStory" >> beam.FlatMap(self._split)
                | "Group" >> beam.GroupByKey()
                | "Latest" >> beam.MapTuple(self._merge))

    def _split(self, batch: Batch) -> Iterator[tuple[int, Batch]]:
        groups: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
        for record in batch.stories:
            groups[shard_of(record["story_id"], self.shards)].append(record)
        rest = Batch(dead_letters=batch.dead_letters, counts=batch.counts)
        for key, records in groups.items():
            yield key, rest.add(stories=tuple(records))
            rest = Batch()
        if rest != Batch():
            yield shard_of(uuid.uuid4().hex, self.shards), rest

    @staticmethod
    def _merge(key: int, batches: Iterable[Batch]) -> Batch:
        batches = list(batches)
        counts: collections.Counter = collections.Counter()
        for batch in batches:
            counts.update(dict(batch.counts))
        return Batch(stories=tuple(_latest(r for b in batches for r in b.stories)),
                     dead_letters=tuple(d for b in batches for d in b.dead_letters), counts=tuple(counts.items()))
