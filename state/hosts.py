"""Request slots per host shared by every worker. A run of several workers spreads feeds by
host, but a host's pages can still be asked for by several of them: feeds of other sites link
to it (an aggregator's feed, a wire story's source), or redirect to it. Each such request takes
the host's next slot here, so the host keeps its pace whichever worker asks."""

from __future__ import annotations

import threading

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
        backends, outside the writers' lock: pacing a request never waits for a story's write.

        The slot is reckoned from the database's clock when the statement holds the host's row
        (SQLite: its write lock), not from the time the worker asked: a worker kept waiting for
        the lock (another worker writing) would otherwise start its request late and the next
        one on time, closer than `delay_s` to it. One clock for every worker, too."""
        greatest = "GREATEST" if self.db.postgres else "max"
        now = ("extract(epoch from clock_timestamp())::double precision" if self.db.postgres
               else "((julianday('now') - 2440587.5) * 86400.0)")
        with self._lock:
            if self._connection is None:
                self._connection = self.db.own_connection()
                if self.db.postgres:
                    # a slot lost in a crash costs nothing: no wait for the disk at each request
                    self._connection.execute("SET synchronous_commit TO off")
            row = self._connection.execute(
                f"INSERT INTO host_slots (host, next_start) VALUES (?, {now} + ?) ON CONFLICT (host) DO UPDATE "
                f"SET next_start = {greatest}(host_slots.next_start, {now}) + ? RETURNING next_start, {now}",
                (host, delay_s, delay_s)).one()
        return max(0.0, row[0] - delay_s - row[1])
