"""`ArticleWork`: the per-article steps of a run as the one ParDo they are, in this order:

    ReadArchivesFn -> FetchPagesFn -> ExtractArticlesFn -> AssignStoriesFn

each Batch a step yields handed straight to the next (`Chain`), as it comes.

Why one ParDo on every runner: a fusing runner (the local runner, Prism, Flink, Dataflow) does
this by itself, so a worker extracts and assigns the pages already fetched while the fetcher
goes on in the background. The DaskRunner does not fuse: it runs each ParDo over a whole
partition and hands the next a finished list, so every page of a shard would be fetched
before any is extracted, and the CPU would idle through the politeness waits. Chaining the
steps in the graph gives every runner the same overlap, with one graph and no
runner-specific branch.

Each step keeps its own busy time in the run summary (transforms.stage); tests run any of the
steps alone as `beam.ParDo(FetchPagesFn(options))`, or several as `beam.ParDo(Chain(...))`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from newsbeam.transforms.archives import ReadArchivesFn
from newsbeam.transforms.articles import ExtractArticlesFn
from newsbeam.transforms.options import RunOptions
from newsbeam.transforms.pages import FetchPagesFn
from newsbeam.transforms.stories import AssignStoriesFn


class Chain(beam.DoFn):
    """DoFns run one after the other inside one: each output of a step goes straight into the next."""

    def __init__(self, *steps: beam.DoFn):
        self.steps = steps

    def setup(self) -> None:
        for step in self.steps:
            step.setup()

    def teardown(self) -> None:
        for step in self.steps:
            step.teardown()

    def process(self, element: Any) -> Iterator[Any]:
        yield from self._through(element, 0)

    def _through(self, element: Any, number: int) -> Iterator[Any]:
        if number == len(self.steps):
            yield element
            return
        for output in self.steps[number].process(element) or ():
            yield from self._through(output, number + 1)


class ArticleWork(beam.PTransform):
    """Batches of feed entries (with the shard's WARC files) -> Batches of the story records
    they created or changed, with the dead letters and counts of every step."""

    def __init__(self, options: RunOptions, run_id: str):
        super().__init__()
        self.options, self.run_id = options, run_id

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        o = self.options
        steps = Chain(ReadArchivesFn(o), FetchPagesFn(o), ExtractArticlesFn(o), AssignStoriesFn(o, self.run_id))
        return batches | "ReadArchives+FetchPages+ExtractArticles+AssignStories" >> beam.ParDo(steps)
