"""Sinks: the stories a run created or changed, and its dead letters, as JSON Lines files.

Files are per run (`stories/<run_id>-*.jsonl`), so a reader takes the latest record per
`story_id`. Records are read back from the store after assignment, so a story that gained a
variant in this run is written whole, with all its variants.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.store import open_store
from schemas import DeadLetter


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


class WriteStories(beam.PTransform):
    """story_id (repeated when several variants arrived) -> one JSON line per story."""

    def __init__(self, store_url: str, output_dir: str, run_id: str, streaming: bool = False):
        super().__init__()
        self.store_url = store_url
        self.output_dir = output_dir
        self.run_id = run_id
        self.streaming = streaming

    def expand(self, story_ids):
        if not self.streaming:
            # In a bounded run Distinct fires after every assignment is done, so each story is
            # written once with its final set of variants. Unbounded runs write every change.
            story_ids = story_ids | "OncePerStory" >> beam.Distinct()
        return (
            story_ids
            | "ReadStory" >> beam.ParDo(ReadStoryRecordsFn(self.store_url))
            | "StoryJson" >> beam.Map(_json_line)
            | "WriteStoryFiles" >> beam.io.WriteToText(
                os.path.join(self.output_dir, "stories", self.run_id), file_name_suffix=".jsonl")
        )


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
