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
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.store import open_store
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


SINKS = ("jsonl", "parquet")


class WriteStories(beam.PTransform):
    """story_id (repeated when several variants arrived) -> one record per story, per sink."""

    def __init__(self, store_url: str, output_dir: str, run_id: str, sinks: tuple[str, ...] = ("jsonl",),
                 streaming: bool = False):
        super().__init__()
        self.store_url = store_url
        self.prefix = os.path.join(output_dir, "stories", run_id)
        self.sinks = sinks
        self.streaming = streaming

    def expand(self, story_ids):
        if not self.streaming:
            # In a bounded run Distinct fires after every assignment is done, so each story is
            # written once with its final set of variants. Unbounded runs write every change.
            story_ids = story_ids | "OncePerStory" >> beam.Distinct()
        records = story_ids | "ReadStory" >> beam.ParDo(ReadStoryRecordsFn(self.store_url))
        if "jsonl" in self.sinks:
            _ = (records | "StoryJson" >> beam.Map(_json_line)
                 | "WriteJsonLines" >> beam.io.WriteToText(self.prefix, file_name_suffix=".jsonl"))
        if "parquet" in self.sinks:
            _ = records | "WriteParquet" >> beam.io.WriteToParquet(
                self.prefix, arrow_schema("story"), file_name_suffix=".parquet")
        return records


class WriteDeadLetters(beam.PTransform):
    def __init__(self, store_url: str, output_dir: str, run_id: str):
        super().__init__()
        self.store_url = store_url
        self.output_dir = output_dir
        self.run_id = run_id

    def expand(self, letters):
        return (
            letters
            | "RecordDeadLetter" >> beam.ParDo(RecordDeadLettersFn(self.store_url))
            | "DeadLetterJson" >> beam.Map(_json_line)
            | "WriteDeadLetterFiles" >> beam.io.WriteToText(
                os.path.join(self.output_dir, "dead_letters", self.run_id), file_name_suffix=".jsonl")
        )
