"""A worker preload for the test cluster (.ci/start-dask): when a worker's event loop stops for
two minutes, every thread's Python stack goes to the worker's log.

A worker whose loop sends no heartbeat for minutes is one whose task holds the GIL in C code
(or a lock the loop needs): Dask restarts it after its TTL and the stack is lost. faulthandler's
timer runs in a C thread of its own, without the GIL, so it still writes when nothing else in
the process can. The loop pushes the timer back every ten seconds while it runs; .ci/run prints
what it wrote ("Timeout (0:02:00)!") at the end. NEWSBEAM_DASK_STALL_SECONDS sets another stall time
(to see it fire: a task that holds the GIL longer, such as a regular expression that backtracks)."""

from __future__ import annotations

import faulthandler
import os
import sys
from typing import Any

STALL_SECONDS = float(os.environ.get("NEWSBEAM_DASK_STALL_SECONDS", "120"))


def dask_setup(worker: Any) -> None:
    from tornado.ioloop import PeriodicCallback

    def push_back() -> None:
        faulthandler.dump_traceback_later(STALL_SECONDS, repeat=False, file=sys.stderr, exit=False)

    push_back()
    # pushed back twelve times in the stall time (every 10 s): only a loop stopped that long lets it fire
    worker.newsbeam_stall_watchdog = PeriodicCallback(push_back, STALL_SECONDS * 1000 / 12)
    worker.newsbeam_stall_watchdog.start()


def dask_teardown(worker: Any) -> None:
    worker.newsbeam_stall_watchdog.stop()
    faulthandler.cancel_dump_traceback_later()
