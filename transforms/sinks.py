"""Stage WriteOutputs: the stories a run created or changed, and its dead letters, to every
sink chosen; then the stories are marked written and the batch's counts join the run's.

It is one chain, the last steps of the graph: record the dead letters in the store (attempts,
next retry), write the files (outputs.files), upsert the tables (outputs.tables), finish. Each
step writes a batch and passes it on, so when the last step sees a batch, every sink has it,
whichever runner runs the graph (one leaf; nothing emitted from `finish_bundle`).

`OncePerStory` comes before it in a bounded pass: each story is written once, with its final
set of variants.
"""

from __future__ import annotations

import collections
import time
import uuid
from collections.abc import Iterable, Iterator

import apache_beam as beam

from newsbeam.outputs.files import FileSinks
from newsbeam.outputs.tables import SinkTables, database_sink_urls
from newsbeam.schemas import Batch, DeadLetter, Story, shard_of
from newsbeam.transforms.options import RunOptions
from newsbeam.transforms.stage import BUSY, StageFn


def database_sinks(options: RunOptions) -> list[str]:
    return database_sink_urls(options.output_dir, options.store, options.sinks)


class WriteFilesFn(StageFn):
    stage = "WriteOutputs"

    def __init__(self, options: RunOptions, run_id: str):
        super().__init__()
        self.output_dir, self.run_id = options.output_dir, run_id
        self.jsonl, self.parquet = "jsonl" in options.sinks, "parquet" in options.sinks

    def setup(self) -> None:
        super().setup()
        self.files = FileSinks(self.output_dir, self.run_id, self.jsonl, self.parquet)

    def teardown(self) -> None:
        self.files.close()
        super().teardown()

    def run(self, batch: Batch) -> Iterator[Batch]:
        self.files.write([story.to_dict() for story in batch.stories],
                         [letter.to_dict() for letter in batch.dead_letters])
        yield batch


class UpsertTablesFn(StageFn):
    """The database sinks (SQLite file, PostgreSQL store): each batch in one transaction."""

    stage = "WriteOutputs"

    def __init__(self, options: RunOptions):
        super().__init__()
        self.urls = database_sinks(options)

    def setup(self) -> None:
        super().setup()
        self.tables = [SinkTables(url) for url in self.urls]

    def teardown(self) -> None:
        for tables in self.tables:
            tables.close()
        super().teardown()

    def run(self, batch: Batch) -> Iterator[Batch]:
        if batch.stories or batch.dead_letters:
            stories = [story.to_dict() for story in batch.stories]
            letters = [letter.to_dict() for letter in batch.dead_letters]
            for tables in self.tables:
                tables.upsert(stories, letters)
        yield batch


class FinishBatchFn(StageFn):
    """Every sink has the batch: its stories are written (as of their `updated` time; a story
    changed again since stays pending), and its counts, this step's own time among them, join
    the run's."""

    stage = "WriteOutputs"

    def __init__(self, options: RunOptions, run_id: str):
        super().__init__(options.store)
        self.run_id = run_id

    def process(self, batch: Batch) -> None:
        clock = time.perf_counter()
        if batch.stories:
            self.store.stories.mark_written({story.story_id: story.updated for story in batch.stories})
        busy = round((time.perf_counter() - clock) * 1e6)
        self.store.runs.add_counts(self.run_id, dict(batch.add({BUSY + self.stage: busy}).counts))


class WriteOutputs(beam.PTransform):
    """Batches of story records and dead letters -> every sink chosen, then marked written."""

    def __init__(self, options: RunOptions, run_id: str):
        super().__init__()
        self.options, self.run_id = options, run_id

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        o = self.options
        # the dead letters are in the store already, kept with their chunk (AssignStories)
        written = batches | "WriteFiles" >> beam.ParDo(WriteFilesFn(o, self.run_id))
        if database_sinks(o):
            written = written | "UpsertTables" >> beam.ParDo(UpsertTablesFn(o))
        return written | "Finish" >> beam.ParDo(FinishBatchFn(o, self.run_id))


def latest(stories: Iterable[Story]) -> list[Story]:
    """The latest record of each story (by `updated`, then by number of variants)."""
    found: dict[str, Story] = {}
    for story in stories:
        known = found.get(story.story_id)
        if known is None or (story.updated, len(story.variants)) > (known.updated, len(known.variants)):
            found[story.story_id] = story
    return list(found.values())


class OncePerStory(beam.PTransform):
    """A bounded run writes each story once, with its final set of variants: the batches'
    records are grouped by story (into `shards` groups, so the writes stay batched and spread
    over the workers) and the latest record of each story is kept. Dead letters and counts
    ride along with the group of their batch.

    A combine, not a plain grouping: runners that lift combiners (the local ones) keep only
    the latest record of each story on the producing worker, so a story updated by 30
    syndicated copies in one archive file is held once, not 30 times with its growing list
    of variants (before, a worker's memory grew with every update: benchmarks/backfill.py)."""

    def __init__(self, shards: int):
        super().__init__()
        self.shards = shards

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return (batches
                | "ByStory" >> beam.FlatMap(self._split)
                | "Latest" >> beam.CombinePerKey(LatestOfEachStory())
                | "Batches" >> beam.Values())

    def _split(self, batch: Batch) -> Iterator[tuple[int, Batch]]:
        groups: dict[int, list[Story]] = collections.defaultdict(list)
        for story in batch.stories:
            groups[shard_of(story.story_id, self.shards)].append(story)
        rest = Batch(dead_letters=batch.dead_letters, counts=batch.counts)
        for key, stories in groups.items():
            yield key, rest.add(stories=tuple(stories))
            rest = Batch()
        if rest != Batch():
            yield shard_of(uuid.uuid4().hex, self.shards), rest


class LatestOfEachStory(beam.CombineFn):
    """Batches -> one Batch: the latest record of each story, every dead letter, the counts
    summed. The accumulator is (story id -> latest record, dead letters, counts)."""

    def create_accumulator(self) -> tuple[dict[str, Story], list[DeadLetter], collections.Counter]:
        return {}, [], collections.Counter()

    def add_input(self, accumulator, batch: Batch):
        return self._add(accumulator, batch.stories, batch.dead_letters, dict(batch.counts))

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for stories, letters, counts in accumulators:
            self._add(merged, stories.values(), letters, counts)
        return merged

    @staticmethod
    def _add(accumulator, stories: Iterable[Story], letters: Iterable[DeadLetter], counts: dict[str, int]):
        kept, all_letters, all_counts = accumulator
        for story in stories:
            known = kept.get(story.story_id)
            kept[story.story_id] = latest([known, story])[0] if known else story
        all_letters.extend(letters)
        all_counts.update(counts)
        return accumulator

    def extract_output(self, accumulator) -> Batch:
        stories, letters, counts = accumulator
        return Batch(stories=tuple(stories.values()), dead_letters=tuple(letters), counts=tuple(counts.items()))
