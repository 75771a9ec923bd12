"""Politeness: many fetches at once, each host at its own pace.

`PoliteScheduler.run(items)` runs `work(item)` on a bounded thread pool, keeping each host at
no more than `per_host_connections` requests at once, starting at least `per_host_delay_s` apart (or the host's
Crawl-delay). A dispatcher thread starts each fetch the moment politeness allows it, so
fetching goes on in the background while the caller works through the results already in: a
wait on one host never idles the others, nor the CPU. Wall-clock time is bound by politeness,
not by latency.

A host's timings live in a `HostLedger` that outlives a `run()` and is shared by every scheduler
of a process (the caller makes one per process): a host's feed and its pages count together,
for the worker's whole life.

A host cannot hold a pass up for long: after `host_failures_in_a_row` requests that it answered
badly (timed out, dropped, 5xx), or once its requests have taken `host_budget_s` in this
`run()`, its remaining items are handed back unsent as deferred FetchErrors, to be tried in a
later pass.
"""

from __future__ import annotations

import collections
import concurrent.futures
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from newsbeam.fetching.errors import FetchError
from newsbeam.fetching.settings import DEFAULTS, FetchSettings

Item = TypeVar("Item")


class HostLedger:
    """Per host: requests in flight, when the next may start, and the start before (to refund a
    request that was never sent)."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.in_flight: collections.Counter[str] = collections.Counter()
        self.next_start: dict[str, float] = {}
        self.last_start: dict[str, float] = {}

    def wait_for_slot(self, host: str, delay_s: float) -> None:
        """Block until `host` may have one more request (`delay_s` after its last start), and
        take that slot: for a request outside a scheduler (a redirect to another host)."""
        with self.changed:
            now = time.monotonic()
            start = max(now, self.next_start.get(host, 0.0))
            self.last_start[host] = self.next_start.get(host, 0.0)
            self.next_start[host] = start + delay_s
            self.changed.notify_all()
        if start > now:
            time.sleep(start - now)

    def postpone(self, host: str, until: float) -> None:
        """No new request to `host` before `until` (time.monotonic())."""
        with self.changed:
            self.next_start[host] = max(self.next_start.get(host, 0.0), until)
            self.changed.notify_all()


class _HostPass:
    """What one host did in one `run()`: its failures in a row and the time its requests took."""

    def __init__(self) -> None:
        self.failures_in_a_row = 0
        self.first_trouble = ""  # the reason of the first failure of the row: what went wrong
        self.busy_s = 0.0
        self.given_up: str | None = None


# Set when the user asks the process to stop (Ctrl-C, SIGTERM): every scheduler of the process
# hands back what it has not started yet, deferred to a later pass, and the pass ends with what
# it has. What already runs finishes.
_STOPPING = threading.Event()
_SCHEDULERS: weakref.WeakSet[PoliteScheduler] = weakref.WeakSet()
INTERRUPTED = "the run was interrupted"


def request_stop() -> None:
    """Start no more requests in this process (a signal handler calls it)."""
    _STOPPING.set()
    for scheduler in list(_SCHEDULERS):
        scheduler.wake()


def allow_requests() -> None:
    """Undo request_stop: a program that goes on after an interrupted pass may run another."""
    _STOPPING.clear()


class PoliteScheduler(Generic[Item]):
    def __init__(self, work: Callable[[Item], Any], host: Callable[[Item], str], ledger: HostLedger,
                 settings: FetchSettings = DEFAULTS,
                 crawl_delay: Callable[[str], float | None] | None = None):
        self.work, self.host, self.settings = work, host, settings
        self.crawl_delay = crawl_delay or (lambda host: None)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=settings.fetch_threads)
        self._ledger = ledger
        self._changed = ledger.changed
        self._queues: dict[str, collections.deque] = {}
        self._hosts: dict[str, _HostPass] = {}
        self._running = 0
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._dispatcher = threading.Thread(target=self._dispatch, name="polite-dispatcher", daemon=True)
        self._dispatcher.start()
        _SCHEDULERS.add(self)

    def wake(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._dispatcher.join()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def delay_for(self, host: str) -> float:
        """Seconds between two requests' starts on `host`."""
        if host in self.settings.unthrottled:
            return 0.0
        return max(self.settings.per_host_delay_s, min(self.crawl_delay(host) or 0.0, self.settings.max_crawl_delay_s))

    def run(self, items: Iterable[Item]) -> Iterator[tuple[Item, Any]]:
        """Yield (item, result or exception) as each finishes. Hosts start this pass afresh."""
        count = 0
        with self._changed:
            self._hosts = collections.defaultdict(_HostPass)
            for item in items:
                self._queues.setdefault(self.host(item), collections.deque()).append(item)
                count += 1
            self._changed.notify_all()
        for _ in range(count):
            yield self._done.get()

    def postpone(self, host: str, until: float) -> None:
        self._ledger.postpone(host, until)

    def _dispatch(self) -> None:
        with self._changed:
            while not self._closed:
                wake = self._start_ready()
                self._changed.wait(None if wake is None else max(0.0, wake - time.monotonic()))

    def _start_ready(self) -> float | None:
        """Start what politeness allows now (the lock is held); returns when the next queued
        item may start, or None when nothing waits on time (only on a running fetch)."""
        ledger, limit = self._ledger, self.settings.fetch_threads
        if _STOPPING.is_set():
            for name in list(self._queues):
                self._defer_all(name, INTERRUPTED)
            return None
        started = True
        while started and self._running < limit:
            started, now = False, time.monotonic()
            for name in list(self._queues):
                if self._running >= limit:
                    break
                given_up = self._hosts[name].given_up
                if given_up:
                    self._defer_all(name, given_up)
                    continue
                if (ledger.in_flight[name] >= self.settings.per_host_connections
                        or ledger.next_start.get(name, 0.0) > now):
                    continue
                item = self._queues[name].popleft()
                if not self._queues[name]:
                    del self._queues[name]
                ledger.in_flight[name] += 1
                self._running += 1
                ledger.last_start[name] = ledger.next_start.get(name, 0.0)
                ledger.next_start[name] = now + self.delay_for(name)
                self._pool.submit(self._work, name, item, ledger.next_start[name])
                started = True
        waiting = [ledger.next_start[name] for name in self._queues
                   if ledger.in_flight[name] < self.settings.per_host_connections
                   and ledger.next_start.get(name, 0.0) > time.monotonic()]
        return min(waiting) if waiting and self._running < limit else None

    def _defer_all(self, name: str, reason: str) -> None:
        """Hand back a host's queued items unsent: it gave up its place in this pass, or the
        run is stopping."""
        for item in self._queues.pop(name):
            self._done.put((item, FetchError(f"deferred to a later pass: {reason}", sent=False,
                                                      deferred=True)))

    def _work(self, name: str, item: Item, slot: float) -> None:
        with self._changed:
            # The delay counts from when the request really starts: a thread that starts late (a
            # busy process) must not bring the next request closer to this one.
            clock = time.monotonic()
            if self._ledger.next_start.get(name) == slot:
                slot = self._ledger.next_start[name] = max(slot, clock + self.delay_for(name))
        try:
            outcome: Any = self.work(item)
        except BaseException as exc:  # handed to the caller, who decides
            outcome = exc
        with self._changed:
            ledger, host = self._ledger, self._hosts[name]
            ledger.in_flight[name] -= 1
            self._running -= 1
            if isinstance(outcome, FetchError) and not outcome.sent and ledger.next_start.get(name) == slot:
                # nothing went out (refused, or disallowed by robots.txt): the host owes no delay
                ledger.next_start[name] = ledger.last_start.get(name, 0.0)
            host.busy_s += time.monotonic() - clock
            host.failures_in_a_row = host.failures_in_a_row + 1 if getattr(outcome, "host_trouble", False) else 0
            if host.failures_in_a_row == 1:
                host.first_trouble = str(getattr(outcome, "reason", outcome))[:200]
            if host.given_up is None and host.failures_in_a_row >= self.settings.host_failures_in_a_row:
                host.given_up = (f"the host failed {host.failures_in_a_row} requests in a row "
                                 f"(the first: {host.first_trouble})")
            elif host.given_up is None and host.busy_s >= self.settings.host_budget_s:
                host.given_up = f"the host's requests took their share of the pass ({host.busy_s:.0f} s)"
            self._changed.notify_all()
        self._done.put((item, outcome))
