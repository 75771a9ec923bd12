"""What every stage's DoFns have in common: `StageFn`, and the objects a worker process shares
between its DoFns (the host ledger of politeness, the sentence encoder).

A `StageFn` takes one element and yields Batches. Each Batch it yields carries the time the
stage spent making it (`busy_us <stage>`, in the batch's counts): the summary adds these up
per stage, on every runner, whatever metrics the runner has. Time a stage spends waiting for
the stages after it (while its generator is suspended) is not its own, and is not counted.
"""

from __future__ import annotations

import threading
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
    """Take the host's next request slot in the store, which every worker shares, wait for it,
    and start only once the request before started `delay_s` ago (a request started late after
    its slot would otherwise bring this one closer); this process's own pace for the host starts
    after it. For a run of several workers, where a host's feeds are read by one worker but its
    pages may be asked for by any."""
    wait = store.hosts.take(host, delay_s)
    while True:
        ledger.postpone(host, time.monotonic() + wait + delay_s)
        time.sleep(wait)
        wait = store.hosts.confirm(host, delay_s)  # the request before may have started late
        if not wait:
            return


_PRELOADED: list[Any] = []  # what preload_article_work loaded, held for the process's life
_PRELOAD_STARTED = threading.Event()


def preload_article_work(encoder: str, threads: int) -> None:
    """Load what the article stages need first (the sentence encoder, Fundus's publishers,
    langdetect's language profiles), once per process, in the background: a pass whose feeds
    brought new entries starts it while the rest of its feeds are read and its first pages wait
    out their hosts' politeness delay, where the article stage would otherwise load it before
    its first page (a second of a run's start-up, `benchmarks/profile.py`). A pass with nothing
    new never loads it."""
    if _PRELOAD_STARTED.is_set():
        return
    _PRELOAD_STARTED.set()

    def load() -> None:
        from newsbeam.extraction.language import load_language_profiles
        from newsbeam.extraction.publishers import publisher_of

        shared_encoder = SharedEncoder(encoder, threads)
        shared_encoder.encode(["The encoder loads its weights on first use."])
        _PRELOADED.append(shared_encoder)
        publisher_of("https://www.example.org/")  # builds the table of publishers' hosts
        load_language_profiles()

    # Not a daemon: the interpreter joins it before it exits. A daemon thread still inside the
    # encoder's native code when a short pass ends is torn down mid-call, and the C++ runtime
    # aborts the process (SIGABRT, exit 134) after the summary was printed.
    threading.Thread(target=load, name="newsbeam-preload").start()


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
