"""Stage AssignStories: Batches of articles -> Batches of story records. Each article is filed
in the store's story index (matching.story_index: a new story, or a variant of one), then the
records of every story it changed are made. One encoder call fingerprints the whole batch, and
one transaction files it."""

from __future__ import annotations

import collections
from collections.abc import Iterator

import apache_beam as beam

from newsbeam.matching.features import Fingerprinter
from newsbeam.matching.story_index import StoryIndex
from newsbeam.schemas import Batch, DeadLetter
from newsbeam.transforms.options import RunOptions
from newsbeam.transforms.stage import SharedEncoder, StageFn


class AssignStoriesFn(StageFn):
    stage = "AssignStories"

    def __init__(self, options: RunOptions, run_id: str):
        super().__init__(options.store, options.vector_cache_dir)
        self.encoder_name, self.encoder_threads = options.encoder, options.encoder_threads
        self.window_days, self.run_id = options.window_days, run_id

    def setup(self) -> None:
        super().setup()
        fingerprinter = Fingerprinter(SharedEncoder(self.encoder_name, self.encoder_threads))
        self.index = StoryIndex(self.store, fingerprinter, self.run_id, self.window_days)

    def teardown(self) -> None:
        self.index.vectors.save()
        super().teardown()

    def run(self, batch: Batch) -> Iterator[Batch]:
        changed: list[str] = list(batch.rewrite)
        counts: collections.Counter = collections.Counter()
        fingerprints = self.index.fingerprinter.many([(a.title, a.text) for a in batch.articles],
                                                     [a.language for a in batch.articles])
        assignments = self.index.assign_many(list(batch.articles), fingerprints)
        for article, assignment in zip(batch.articles, assignments, strict=True):
            if article.body_source != "feed":
                self.store.dead_letters.resolve(article.url, DeadLetter.PAGE_STAGES)
            if assignment.how == "unchanged":
                counts["articles_unchanged"] += 1
                continue
            counts["stories_new" if assignment.new_story else "stories_updated"] += 1
            changed += [assignment.story_id, *assignment.regrouped]
        records = tuple(self.store.stories.records(changed))
        yield batch.add(counts, articles=(), rewrite=(), stories=batch.stories + records)


class AssignStories(beam.PTransform):
    """Batches of Article -> Batches of the story records they created or changed."""

    def __init__(self, options: RunOptions, run_id: str):
        super().__init__()
        self.fn = AssignStoriesFn(options, run_id)

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | "Assign" >> beam.ParDo(self.fn)
