"""Request slots per host shared by every worker: for a request to a host outside the shard
that paces it (a redirect to another site), so that many workers' redirects to one host still
keep that host's pace."""

from __future__ import annotations

import time

from state.database import Connection, Database, transactional


class HostSlots:
    def __init__(self, db: Database):
        self.db = db

    @transactional
    def take(self, tx: Connection, host: str, delay_s: float) -> float:
        """Take the host's next request slot, `delay_s` after the one before; returns how many
        seconds from now it starts (0 when the host is free)."""
        now = time.time()
        row = tx.execute("SELECT next_start FROM host_slots WHERE host = ?", (host,)).fetchone()
        start = max(now, row["next_start"] if row else 0.0)
        tx.execute("INSERT INTO host_slots (host, next_start) VALUES (?, ?) "
                   "ON CONFLICT (host) DO UPDATE SET next_start = excluded.next_start", (host, start + delay_s))
        return start - now
