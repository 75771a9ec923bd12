"""Progress a person can see while a run goes on.

Read from the store, not from the runner: every runner's workers file what they do there, so
this works the same on the local runner, Prism and Dask. On a terminal, a status line on stderr
that updates every second (rich); otherwise (logs, cron, Kubernetes, `--every`, streaming) a
plain line every `interval_s` (LOG_INTERVAL_S by default).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from newsbeam.state.store import open_store

# A progress line this often when stderr is not a terminal.
LOG_INTERVAL_S = 30.0


class Progress:
    """`with Progress(store_url, since, feeds):` around a run shows its progress."""

    def __init__(self, store_url: str, since: str, feeds: int, terminal: bool | None = None,
                 interval_s: float = LOG_INTERVAL_S):
        self.store_url, self.since, self.feeds, self.interval_s = store_url, since, feeds, interval_s
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._show, name="progress", daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def line(self, counts: dict[str, int]) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        return (f"newsbeam: {elapsed:.0f}s  feeds {counts['feeds_fetched']}/{self.feeds} fetched  "
                f"articles {counts['articles_filed']} filed ({counts['articles_filed'] / elapsed:.1f}/s)  "
                f"stories {counts['stories_new']} new  failures {counts['dead_letters']}")

    def _show(self) -> None:
        store = open_store(self.store_url, migrate=False)
        try:
            if self.terminal:
                from rich.console import Console

                with Console(stderr=True).status("newsbeam: starting") as status:
                    while not self._stop.wait(1.0):
                        status.update(self.line(store.runs.progress(self.since)))
            else:
                while not self._stop.wait(self.interval_s):
                    print(self.line(store.runs.progress(self.since)), file=sys.stderr, flush=True)
        except Exception as exc:  # progress is a courtesy: it never fails a run
            print(f"newsbeam: progress display stopped: {exc}", file=sys.stderr, flush=True)
        finally:
            store.close()
