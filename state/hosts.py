"""Request slots per host shared by every worker. A run of several workers spreads feeds by
host, but a host's pages can still be asked for by several of them: feeds of other sites link
to it (an aggregator's feed, a wire story's source), or redirect to it. Each such request takes
the host's next slot here, so the host keeps its pace whichever worker asks."""

from __future__ import annotations

import threading
import time

from newsbeam.state.database import Connection, Database


class HostSlots:
    def __init__(self, db: Database):
        self.db = db
        # One connection for the process's fetch threads (not one each: a cluster of many
        # workers with dozens of fetch threads would exhaust PostgreSQL's connections).
        self._lock = threading.Lock()
        self._connection: Connection | None = None

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.raw.close()
                self._connection = None

    def take(self, host: str, delay_s: float) -> float:
        """Take the host's next request slot, `delay_s` after the one before; returns how many
        seconds from now it starts (0 when the host is free). One statement, atomic on both
        backends, outside the writers' lock: pacing a request never waits for a story's write."""
        greatest = "GREATEST" if self.db.postgres else "max"
        with self._lock:
            if self._connection is None:
                self._connection = self.db.own_connection()
                if self.db.postgres:
                    # a slot lost in a crash costs nothing: no wait for the disk at each request
                    self._connection.execute("SET synchronous_commit TO off")
            now = time.time()
            row = self._connection.execute(
                "INSERT INTO host_slots (host, next_start) VALUES (?, ?) ON CONFLICT (host) DO UPDATE "
                f"SET next_start = {greatest}(host_slots.next_start, ?) + ? RETURNING next_start",
                (host, now + delay_s, now, delay_s)).one()
        return max(0.0, row[0] - delay_s - now)
