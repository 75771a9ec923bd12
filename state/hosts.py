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

    def _execute(self, sql: str, values: tuple) -> tuple | None:
        with self._lock:
            if self._connection is None:
                self._connection = self.db.own_connection()
                if self.db.postgres:
                    # a slot lost in a crash costs nothing: no wait for the disk at each request
                    self._connection.execute("SET synchronous_commit TO off")
            row = self._connection.execute(sql, values).fetchone()
        return tuple(row) if row is not None else None

    def _require(self, sql: str, values: tuple) -> tuple:
        row = self._execute(sql, values)
        assert row is not None, "a statement with RETURNING gives its row"
        return row

    def take(self, host: str, delay_s: float) -> float:
        """Take the host's next request slot, `delay_s` after the one before; returns how many
        seconds from now it starts (0 when the host is free). One statement, atomic on both
        backends, outside the writers' lock: pacing a request never waits for a story's write.

        The slot is reckoned from the database's clock when the statement holds the host's row
        (SQLite: its write lock), not from the time the worker asked: a worker kept waiting for
        the lock (another worker writing) would otherwise start its request late and the next
        one on time, closer than `delay_s` to it. One clock for every worker, too."""
        greatest = "GREATEST" if self.db.postgres else "max"
        row = self._require(
            f"INSERT INTO host_slots (host, next_start) VALUES (?, {self._now} + ?) ON CONFLICT (host) DO UPDATE "
            f"SET next_start = {greatest}(host_slots.next_start, {self._now}) + ? RETURNING next_start, {self._now}",
            (host, delay_s, delay_s))
        return max(0.0, row[0] - delay_s - row[1])

    def confirm(self, host: str, delay_s: float) -> float:
        """Start the host's request now, if its last request started `delay_s` ago or more:
        returns 0, and now is its last start. Else how many seconds are left (the request before
        started late after its slot: a thread woken late, a worker kept busy), to wait and
        confirm again. What keeps two requests to a host apart is when they started, not when
        their slots were."""
        while True:
            if self._execute(f"UPDATE host_slots SET last_start = {self._now} WHERE host = ? AND (last_start IS NULL "
                             f"OR last_start <= {self._now} - ?) RETURNING host", (host, delay_s)):
                return 0.0
            left = self._require(f"SELECT last_start + ? - {self._now} FROM host_slots WHERE host = ?",
                                 (delay_s, host))[0]
            if left > 0:
                return left
            # the delay ran out between the two statements: start now, recorded

    @property
    def _now(self) -> str:
        """The database's clock, in seconds since the epoch: one clock for every worker."""
        return ("extract(epoch from clock_timestamp())::double precision" if self.db.postgres
                else "((julianday('now') - 2440587.5) * 86400.0)")
