"""`Fused`: several stages run as one ParDo, each element passed from stage to stage as it
comes.

Why: a fusing runner (the local runner, Prism, Flink, Dataflow) does this by itself, so a
worker extracts and assigns the pages already fetched while the fetcher goes on in the
background. The DaskRunner does not fuse: it runs each ParDo over a whole partition and hands
the next a finished list, so every page of a shard would be fetched before any is extracted,
and the CPU would idle through the politeness waits. Fusing the per-article stages in the
graph gives every runner the same overlap, with one graph and no runner-specific branch.

The stages keep their names (the step is labelled with them) and their own busy time in the
run summary (`transforms.stage`); each stage is still a composite of its own that tests run
alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam


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


class Fused(beam.PTransform):
    """The stages (composites with one DoFn each, as `fn`) as one ParDo."""

    def __init__(self, *stages: beam.PTransform):
        super().__init__()
        self.stages = stages

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        label = "+".join(type(stage).__name__ for stage in self.stages)
        return batches | label >> beam.ParDo(Chain(*(stage.fn for stage in self.stages)))
