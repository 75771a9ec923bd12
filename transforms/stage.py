"""What every stage's DoFns have in common: `StageFn`, and the objects a worker process shares
between its DoFns (the host ledger of politeness, the sentence encoder).

A `StageFn` takes one element and yields Batches. Each Batch it yields carries the time the
stage spent making it (`busy_us <stage>`, in the batch's counts): the summary adds these up
per stage, on every runner, whatever metrics the runner has. Time a stage spends waiting for
the stages after it (while its generator is suspended) is not its own, and is not counted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.utils import shared

from newsbeam.fetching.politeness import HostLedger
from newsbeam.matching.encoders import Encoder, load_encoder
from newsbeam.schemas import Batch
from newsbeam.state.store import Store, open_store

BUSY = "busy_us "  # the prefix of the counts that carry a stage's busy time


class StageFn(beam.DoFn):
    """Base of newsbeam's DoFns. Subclasses implement `run(element)`; with a store URL, the
    store is opened once per instance (without migrating: the run migrated it before its
    pipeline started) as `self.store`."""

    stage = "?"

    def __init__(self, store_url: str | None = None, cache_dir: str | None = None):
        self.store_url, self.cache_dir = store_url, cache_dir

    def setup(self) -> None:
        if self.store_url:
            self.store: Store = open_store(self.store_url, migrate=False, cache_dir=self.cache_dir)

    def teardown(self) -> None:
        if self.store_url:
            self.store.close()

    def run(self, element: Any) -> Iterator[Batch]:
        raise NotImplementedError

    def process(self, element: Any) -> Iterator[Batch]:
        clock = time.perf_counter()
        for batch in self.run(element):
            busy = round((time.perf_counter() - clock) * 1e6)
            yield batch.add({BUSY + self.stage: busy})
            clock = time.perf_counter()


# --- Shared in a worker process --------------------------------------------------------------------
_LEDGERS = shared.Shared()
_ENCODERS = shared.Shared()


def host_ledger() -> HostLedger:
    """The process's host ledger: politeness holds across the DoFns (feeds, pages) of a process.
    The caller keeps the reference: the ledger lives as long as someone holds it."""
    return _LEDGERS.acquire(HostLedger, tag="hosts")


def take_shared_slot(store: Store, ledger: HostLedger, host: str, delay_s: float) -> None:
    """Take the host's next request slot in the store, which every worker shares, and wait for
    it; this process's own pace for the host starts after it. For a run of several workers,
    where a host's feeds are read by one worker but its pages may be asked for by any."""
    wait = store.hosts.take(host, delay_s)
    ledger.postpone(host, time.monotonic() + wait + delay_s)
    time.sleep(wait)


class SharedEncoder:
    """The process's encoder of a name, shared by every DoFn of the process and loaded on first
    use: a pass with nothing new to read never loads it."""

    def __init__(self, name: str, threads: int = 1):
        self.name, self.threads = name, threads
        self._encoder: Encoder | None = None  # held here: the shared one lives while we do

    def encode(self, texts: list[str]) -> np.ndarray:
        if self._encoder is None:
            self._encoder = _ENCODERS.acquire(lambda: load_encoder(self.name, self.threads),
                                              tag=f"{self.name}/{self.threads}")
        return self._encoder.encode(texts)
