"""Request slots per host shared by every worker. A run of several workers spreads feeds by
host, but a host's pages can still be asked for by several of them: feeds of other sites link
to it (an aggregator's feed, a wire story's source), or redirect to it. Each such request takes
the host's next slot here, so the host keeps its pace whichever worker asks."""

from __future__ import annotations

import time

from state.database import Database


class HostSlots:
    def __init__(self, db: Database):
        self.db = db

    def take(self, host: str, delay_s: float) -> float:
        """Take the host's next request slot, `delay_s` after the one before; returns how many
        seconds from now it starts (0 when the host is free). One statement, atomic on both
        backends, outside the writers' lock: pacing a request never waits for a story's write."""
        now = time.time()
        greatest = "GREATEST" if self.db.postgres else "max"
        row = self.db.read().execute(
            "INSERT INTO host_slots (host, next_start) VALUES (?, ?) ON CONFLICT (host) DO UPDATE "
            f"SET next_start = {greatest}(host_slots.next_start, ?) + ? RETURNING next_start",
            (host, now + delay_s, now, delay_s)).fetchone()
        return max(0.0, row[0] - delay_s - now)
