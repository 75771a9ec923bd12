"""Run history: when each run started and finished, its summary, and its counts (feeds
fetched, pages failed, ...), added up by the workers as their batches are written, so the
summary does not depend on a runner's metrics."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from newsbeam.schemas import utc_now
from newsbeam.state.database import Connection, Database, transactional


def new_run_id(suffix: str = "") -> str:
    """A run's id: its start time, to the microsecond (ids sort in time order)."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + suffix


class Runs:
    def __init__(self, db: Database):
        self.db = db

    @transactional
    def start(self, tx: Connection, run_id: str) -> None:
        tx.execute("INSERT INTO runs (run_id, started) VALUES (?, ?)", (run_id, utc_now()))

    @transactional
    def finish(self, tx: Connection, run_id: str, summary: dict[str, Any]) -> None:
        tx.execute("UPDATE runs SET finished = ?, summary = ? WHERE run_id = ?",
                   (utc_now(), json.dumps(summary), run_id))

    @transactional
    def add_counts(self, tx: Connection, run_id: str, counts: dict[str, int]) -> None:
        tx.executemany("INSERT INTO run_counts (run_id, name, value) VALUES (?, ?, ?) ON CONFLICT (run_id, name) "
                       "DO UPDATE SET value = run_counts.value + excluded.value",
                       [(run_id, name, value) for name, value in counts.items() if value])

    def latest(self) -> dict[str, Any] | None:
        """The last run that finished: its id, start and end."""
        row = self.db.read().execute("SELECT run_id, started, finished FROM runs WHERE finished IS NOT NULL "
                                     "ORDER BY started DESC, run_id DESC LIMIT 1").fetchone()
        return dict(row) if row else None

    def latest_summary(self) -> dict[str, Any] | None:
        """The last run that finished, with its summary (a dict)."""
        row = self.db.read().execute("SELECT run_id, started, finished, summary FROM runs WHERE finished IS NOT NULL "
                                     "ORDER BY started DESC, run_id DESC LIMIT 1").fetchone()
        return {**dict(row), "summary": json.loads(row["summary"] or "{}")} if row else None

    def counts(self, run_id: str) -> dict[str, int]:
        return dict(self.db.read().execute("SELECT name, value FROM run_counts WHERE run_id = ?",
                                           (run_id,)).fetchall())

    def progress(self, since: str) -> dict[str, int]:
        """What the workers have filed since a point in time: for progress while a run goes on."""
        def count(sql: str) -> int:
            return self.db.read().execute(sql, (since,)).one()[0]

        return {"feeds_fetched": count("SELECT COUNT(*) FROM feeds WHERE last_fetched >= ?"),
                "articles_filed": count("SELECT COUNT(*) FROM articles WHERE updated >= ?"),
                "stories_new": count("SELECT COUNT(*) FROM stories WHERE first_seen >= ?"),
                "dead_letters": count("SELECT COUNT(*) FROM dead_letters WHERE at >= ?")}
