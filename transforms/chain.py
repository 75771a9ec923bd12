"""`Chain`: several DoFns run one after the other inside one, on each element as it comes.

A fusing runner (the local runner, Prism, Flink, Dataflow) does this by itself: each output of
a step goes straight into the next, so a worker fetches pages in the background while it
extracts and assigns the ones already in. The DaskRunner does not fuse: it runs each ParDo over
a whole partition and hands the next a finished list, so every page of a shard would be
fetched before any is extracted. Chaining the per-article steps in one ParDo gives every runner
the same overlap, with no runner-specific branch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam


class Chain(beam.DoFn):
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
